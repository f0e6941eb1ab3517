// Following deliveries up in Jira (REST API v2), GitHub (REST API) and
// PagerDuty (REST API v2): assignment, progress, comments, resolution.

#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "esc/mail.hpp"
#include "esc/text.hpp"
#include "follow_internal.hpp"
#include "tickets.hpp"

namespace esc {

namespace detail {

std::string secret_place(const SecretRef& ref) { return !ref.env.empty() ? "$" + ref.env : ref.file; }

std::optional<Time> parse_api_time(const std::string& text) {
  std::string t = text;
  // Jira writes the zone without a colon: +0000.
  if (t.size() > 5 && (t[t.size() - 5] == '+' || t[t.size() - 5] == '-') &&
      t.find_first_not_of("0123456789", t.size() - 4) == std::string::npos)
    t.insert(t.size() - 2, ":");
  return parse_rfc3339(t);
}

}  // namespace detail

namespace {

using detail::HttpResponse;
using detail::json_text;
using detail::TrackerAuth;
using nlohmann::json;
using Failure = FollowResult::Failure;

constexpr int kMaxPages = 50;

// One GET, answered as JSON, with one wait for a server that asks for a
// short one. `missing`: 404 (that ticket alone).
struct Got {
  json body;
  HttpResponse r;
  bool ok = false, missing = false;
  Failure failure = Failure::none;
  std::string error;
};

std::string snippet(const HttpResponse& r, const std::vector<std::string>& secrets) {
  std::string s = r.body.substr(0, 160);
  for (auto& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  s = trim(s);
  return s.empty() ? std::string() : ": " + inert(detail::scrub(s, secrets));
}

// How long the server asked us to wait: Retry-After (seconds or a date),
// else GitHub's x-ratelimit-reset (epoch seconds).
std::optional<Seconds> wait_asked(const HttpResponse& r, const std::vector<std::string>& secrets) {
  DeliveryResult d = detail::http_failure("", r, secrets);
  if (d.retry_after) return d.retry_after;
  if (auto it = r.headers.find("retry-after"); it != r.headers.end()) {
    const std::string& v = it->second;
    if (!v.empty() && v.size() < 9 && v.find_first_not_of("0123456789") == std::string::npos)
      return Seconds{std::stoll(v)};
  }
  if (auto it = r.headers.find("x-ratelimit-reset"); it != r.headers.end()) {
    const std::string& v = it->second;
    if (!v.empty() && v.size() < 12 && v.find_first_not_of("0123456789") == std::string::npos) {
      const auto now = std::chrono::floor<Seconds>(std::chrono::system_clock::now()).time_since_epoch().count();
      return Seconds{std::max<long long>(0, std::stoll(v) - now)};
    }
  }
  return std::nullopt;
}

bool rate_limited(const HttpResponse& r) {
  if (r.status == 429) return true;
  if (r.status != 403) return false;
  // GitHub's primary and secondary rate limits answer 403.
  if (auto it = r.headers.find("x-ratelimit-remaining"); it != r.headers.end() && it->second == "0") return true;
  return lower(r.body.substr(0, 400)).find("rate limit") != std::string::npos;
}

class Reader {
 public:
  Reader(const ChannelConfig& ch, TrackerAuth auth, std::string vendor, std::string secret_where)
      : ch_(ch), auth_(std::move(auth)), vendor_(std::move(vendor)), secret_where_(std::move(secret_where)) {}

  Got get(const std::string& url) {
    Got g;
    for (int attempt = 0;; ++attempt) {
      g.r = detail::tracker_call(ch_, auth_, "GET", url);
      const HttpResponse& r = g.r;
      if (!r.error.empty()) {
        g.failure = r.permanent ? Failure::refused : Failure::unreachable;
        g.error = inert(r.error);
        return g;
      }
      if (r.status == 200) {
        g.body = json::parse(r.body, nullptr, false);
        if (g.body.is_discarded()) {
          g.failure = Failure::unreachable;
          g.error = fmt::format("{}: answered something that is not {}'s JSON", mask_url(url), vendor_);
          return g;
        }
        g.ok = true;
        return g;
      }
      if (rate_limited(r) || r.status == 503) {
        auto wait = wait_asked(r, auth_.secrets);
        if (attempt == 0 && wait && *wait <= kSyncWaitMax && waited_ + *wait <= 3 * kSyncWaitMax) {
          waited_ += *wait;
          std::this_thread::sleep_for(std::max(*wait, Seconds{0}));
          continue;
        }
        g.failure = Failure::unreachable;
        g.error = fmt::format(
            "{}: {} asks esc to slow down (HTTP {}){}", mask_url(url), vendor_, r.status,
            wait ? fmt::format("; try again in {}", format_duration(std::max(*wait, Seconds{1}))) : std::string());
        return g;
      }
      if (r.status == 401) {
        g.failure = Failure::refused;
        g.error = fmt::format("{} refused the credentials (HTTP 401): check the token in {}", vendor_, secret_where_);
        return g;
      }
      if (r.status == 403) {
        g.failure = Failure::refused;
        g.error = fmt::format("{}: {} refused access (HTTP 403){}; the token in {} may lack a permission",
                              mask_url(url), vendor_, snippet(r, auth_.secrets), secret_where_);
        return g;
      }
      if (r.status == 404 || r.status == 410) {
        g.missing = true;
        g.error =
            fmt::format("not found at {} (HTTP {}): deleted, moved, or out of the token's sight", vendor_, r.status);
        return g;
      }
      g.failure = r.status >= 500 || r.status == 408 ? Failure::unreachable : Failure::refused;
      g.error =
          fmt::format("{}: HTTP {}{}{}", mask_url(url), r.status, detail::redirect_note(r), snippet(r, auth_.secrets));
      return g;
    }
  }

  const std::vector<std::string>& secrets() const { return auth_.secrets; }

 private:
  const ChannelConfig& ch_;
  TrackerAuth auth_;
  std::string vendor_, secret_where_;
  Seconds waited_{0};
};

std::string id_of(const json& j) {
  if (!j.is_object()) return {};
  auto it = j.find("id");
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  return {};
}

const json& field(const json& j, const char* key) {
  static const json null;
  if (!j.is_object()) return null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}

std::string person(const json& user) {
  for (const char* k : {"displayName", "login", "summary", "name", "emailAddress"})
    if (auto s = json_text(user, k); !s.empty()) return received_text(s, 200);
  return {};
}

RemoteEvent event(RemoteEvent::Kind kind, std::string id, std::string author, std::optional<Time> at,
                  std::string text) {
  return {kind, std::move(id), std::move(author), at, std::move(text)};
}

std::string by(const std::string& what, const std::string& who) { return who.empty() ? what : what + " by " + who; }

std::string percent(const std::string& s) { return detail::percent_encode(s); }

// Puts a failure on the result: the first one of the worst kind wins.
void fail(FollowResult& out, const Got& g, const std::string& where) {
  if (g.failure == Failure::none) return;
  if (out.failure == Failure::none || (g.failure == Failure::refused && out.failure != Failure::refused)) {
    out.failure = g.failure;
    out.error = where.empty() ? g.error : where + ": " + g.error;
  }
}

// A tracker's answer when its credentials are missing: nothing was read.
FollowResult refused(const std::string& why) {
  FollowResult out;
  out.failure = Failure::refused;
  out.error = why;
  return out;
}

// ---- Jira --------------------------------------------------------------------

FollowResult follow_jira(const ChannelConfig& ch, const std::vector<Delivery>& ds) {
  FollowResult out;
  TrackerAuth auth = detail::tracker_auth(ch);
  if (!auth.problem.empty()) return refused(auth.problem);
  Reader reader(ch, auth, "Jira", detail::secret_place(ch.token));
  const std::string base = detail::tracker_base(ch);
  for (const auto& d : ds) {
    if (d.remote_key.empty()) continue;
    FollowedDelivery f;
    f.delivery_id = d.id;
    f.source = "jira " + d.remote_key;
    f.cursor = d.sync_cursor;
    const std::string key = percent(d.remote_key);
    Got issue = reader.get(fmt::format(
        "{}/rest/api/2/issue/{}?fields=status,assignee,resolution,resolutiondate&expand=changelog", base, key));
    if (issue.missing) {
      f.error = d.remote_key + " " + issue.error;
      out.deliveries.push_back(std::move(f));
      continue;
    }
    if (!issue.ok) {
      fail(out, issue, "");
      return out;
    }
    const json& fields = field(issue.body, "fields");
    const std::string assignee = person(field(fields, "assignee"));
    const json& status = field(fields, "status");
    const std::string status_name = received_text(json_text(status, "name"), 200);
    const std::string category = json_text(field(status, "statusCategory"), "key");
    const std::string resolution = received_text(json_text(field(fields, "resolution"), "name"), 200);
    const std::string resolved_at = json_text(fields, "resolutiondate");
    const bool done = category == "done" || !resolution.empty();
    // Who moved it to its status: the newest change to it in the changelog.
    std::string moved_by;
    for (const auto& h : field(field(issue.body, "changelog"), "histories"))
      for (const auto& item : field(h, "items"))
        if (json_text(item, "field") == "status" && received_text(json_text(item, "toString"), 200) == status_name)
          moved_by = person(field(h, "author"));
    const std::string status_text = "status " + status_name + (moved_by.empty() ? "" : ", set by " + moved_by);

    if (!assignee.empty())
      f.events.push_back(
          event(RemoteEvent::Kind::acknowledged, "acknowledged", assignee, std::nullopt, "assigned to " + assignee));
    else if (category == "indeterminate" || done)
      f.events.push_back(event(RemoteEvent::Kind::acknowledged, "acknowledged", moved_by, std::nullopt, status_text));

    // Comments, oldest first, a page at a time.
    for (int page = 0, start = 0; page < kMaxPages; ++page) {
      Got c = reader.get(
          fmt::format("{}/rest/api/2/issue/{}/comment?startAt={}&maxResults=100&orderBy=created", base, key, start));
      if (c.missing) break;
      if (!c.ok) {
        fail(out, c, "");
        out.deliveries.push_back(std::move(f));
        return out;
      }
      const json& comments = field(c.body, "comments");
      if (!comments.is_array() || comments.empty()) break;
      for (const auto& cm : comments) {
        const std::string id = id_of(cm);
        if (id.empty()) continue;
        const json& body = field(cm, "body");
        // v2 bodies are wiki text; anything else (v3's document) is kept as its JSON.
        std::string text =
            body.is_string() ? body.get<std::string>() : body.dump(-1, ' ', false, json::error_handler_t::replace);
        f.events.push_back(event(RemoteEvent::Kind::reply, "comment:" + id, person(field(cm, "author")),
                                 detail::parse_api_time(json_text(cm, "created")), received_text(text)));
      }
      start += static_cast<int>(comments.size());
      const json& total = field(c.body, "total");
      if (total.is_number_integer() && start >= total.get<long long>()) break;
    }
    if (!done)
      f.events.push_back(event(RemoteEvent::Kind::reopened, "", "", std::nullopt, status_text));
    else
      f.events.push_back(event(
          RemoteEvent::Kind::resolved, "resolved:" + (resolved_at.empty() ? "status " + status_name : resolved_at),
          moved_by.empty() ? assignee : moved_by, detail::parse_api_time(resolved_at),
          resolution.empty() ? status_text : fmt::format("resolution {} ({})", resolution, status_text)));
    out.deliveries.push_back(std::move(f));
  }
  return out;
}

// ---- GitHub ------------------------------------------------------------------

// scheme://host[:port] of a URL.
std::string origin(const std::string& url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return {};
  const auto end = url.find_first_of("/?#", sep + 3);
  return lower(url.substr(0, end));
}

// The rel="next" target of a Link header.
std::string next_link(const HttpResponse& r) {
  auto it = r.headers.find("link");
  if (it == r.headers.end()) return {};
  const std::string& v = it->second;
  std::size_t pos = 0;
  while ((pos = v.find('<', pos)) != std::string::npos) {
    const auto close = v.find('>', pos);
    if (close == std::string::npos) break;
    const auto comma = v.find(",", close);
    const std::string params = v.substr(close + 1, comma == std::string::npos ? std::string::npos : comma - close - 1);
    if (params.find("rel=\"next\"") != std::string::npos || params.find("rel=next") != std::string::npos)
      return v.substr(pos + 1, close - pos - 1);
    pos = close + 1;
  }
  return {};
}

FollowResult follow_github(const ChannelConfig& ch, const std::vector<Delivery>& ds) {
  FollowResult out;
  TrackerAuth auth = detail::tracker_auth(ch);
  if (!auth.problem.empty()) return refused(auth.problem);
  Reader reader(ch, auth, "GitHub", detail::secret_place(ch.token));
  const std::string base = detail::tracker_base(ch);
  for (const auto& d : ds) {
    // remote_key: owner/name#number
    const auto hash = d.remote_key.rfind('#');
    if (hash == std::string::npos || hash + 1 >= d.remote_key.size()) continue;
    const std::string repo = d.remote_key.substr(0, hash), number = d.remote_key.substr(hash + 1);
    if (number.find_first_not_of("0123456789") != std::string::npos || repo.find('/') == std::string::npos) continue;
    FollowedDelivery f;
    f.delivery_id = d.id;
    f.source = "github " + d.remote_key;
    f.cursor = d.sync_cursor;
    const std::string issue_url = fmt::format("{}/repos/{}/issues/{}", base, repo, number);
    Got issue = reader.get(issue_url);
    if (issue.missing) {
      f.error = d.remote_key + " " + issue.error;
      out.deliveries.push_back(std::move(f));
      continue;
    }
    if (!issue.ok) {
      fail(out, issue, "");
      return out;
    }
    std::vector<std::string> assignees;
    for (const auto& a : field(issue.body, "assignees"))
      if (auto p = person(a); !p.empty()) assignees.push_back(p);
    if (assignees.empty())
      if (auto p = person(field(issue.body, "assignee")); !p.empty()) assignees.push_back(p);
    const bool closed = json_text(issue.body, "state") == "closed";
    const std::string closed_by = person(field(issue.body, "closed_by"));
    if (!assignees.empty())
      f.events.push_back(event(RemoteEvent::Kind::acknowledged, "acknowledged", assignees.front(), std::nullopt,
                               "assigned to " + join(assignees, ", ")));
    else if (closed)
      f.events.push_back(
          event(RemoteEvent::Kind::acknowledged, "acknowledged", closed_by, std::nullopt, by("closed", closed_by)));

    // Comments since the last sync (GitHub's `since` is inclusive: those seen are skipped by their id).
    std::string url = issue_url + "/comments?per_page=100";
    if (!d.sync_cursor.empty()) url += "&since=" + percent(d.sync_cursor);
    const std::string home = origin(base);
    std::string newest = d.sync_cursor;
    for (int page = 0; page < kMaxPages && !url.empty(); ++page) {
      Got c = reader.get(url);
      if (!c.ok) {
        if (c.missing) break;
        fail(out, c, "");
        out.deliveries.push_back(std::move(f));
        return out;
      }
      if (!c.body.is_array()) break;
      for (const auto& cm : c.body) {
        const std::string id = id_of(cm);
        if (id.empty()) continue;
        f.events.push_back(event(RemoteEvent::Kind::reply, "comment:" + id, person(field(cm, "user")),
                                 detail::parse_api_time(json_text(cm, "created_at")),
                                 received_text(json_text(cm, "body"))));
        const std::string updated = json_text(cm, "updated_at");
        if (updated > newest) newest = updated;
      }
      url = next_link(c.r);
      // The token goes only where the channel points.
      if (!url.empty() && origin(url) != home) url.clear();
    }
    f.cursor = newest;
    if (closed) {
      std::string reason = json_text(issue.body, "state_reason");
      for (auto& chr : reason)
        if (chr == '_') chr = ' ';
      f.events.push_back(
          event(RemoteEvent::Kind::resolved, "closed:" + json_text(issue.body, "closed_at"), closed_by,
                detail::parse_api_time(json_text(issue.body, "closed_at")),
                by(reason.empty() ? std::string("closed") : "closed as " + received_text(reason, 100), closed_by)));
    } else {
      f.events.push_back(event(RemoteEvent::Kind::reopened, "", "", std::nullopt, "open"));
    }
    out.deliveries.push_back(std::move(f));
  }
  return out;
}

// ---- PagerDuty ---------------------------------------------------------------

FollowResult follow_pagerduty(const ChannelConfig& ch, const std::vector<Delivery>& ds) {
  FollowResult out;
  auto token = read_secret(ch.api_token);
  if (!token) {
    out.failure = Failure::refused;
    out.error = secret_problem(ch.api_token, "the REST API token");
    return out;
  }
  TrackerAuth auth;
  auth.headers = {"Authorization: Token token=" + *token, "Accept: application/vnd.pagerduty+json;version=2"};
  auth.secrets = {*token};
  // The REST API's address, with what the tracker calls use as its base.
  ChannelConfig rest = ch;
  rest.url = ch.api_url.empty() ? "https://api.pagerduty.com" : ch.api_url;
  Reader reader(rest, auth, "PagerDuty", detail::secret_place(ch.api_token));
  const std::string base = detail::tracker_base(rest);
  for (const auto& d : ds) {
    Got list = reader.get(
        fmt::format("{}/incidents?incident_key={}&date_range=all&limit=25&total=true", base, percent(d.key)));
    if (!list.ok) {
      if (list.missing) continue;
      fail(out, list, "");
      return out;
    }
    for (const auto& inc : field(list.body, "incidents")) {
      const std::string id = id_of(inc);
      if (id.empty() || id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos) continue;
      const json& number = field(inc, "incident_number");
      const std::string name = number.is_number_integer() ? fmt::format("#{}", number.get<long long>()) : id;
      FollowedDelivery f;
      f.delivery_id = d.id;
      f.source = "pagerduty " + name;
      f.cursor = d.sync_cursor;
      if (d.remote_key.empty()) {
        f.remote_key = name;
        f.remote_url = received_text(json_text(inc, "html_url"), 2000);
      }
      // What happened to it, oldest first: acknowledgements and resolutions, with who.
      std::vector<json> log;
      for (int page = 0, offset = 0; page < kMaxPages; ++page) {
        Got l = reader.get(
            fmt::format("{}/incidents/{}/log_entries?is_overview=true&limit=100&offset={}", base, id, offset));
        if (!l.ok) {
          if (l.missing) break;
          fail(out, l, "");
          return out;
        }
        const json& entries = field(l.body, "log_entries");
        if (!entries.is_array() || entries.empty()) break;
        for (const auto& e : entries) log.push_back(e);
        offset += static_cast<int>(entries.size());
        if (!field(l.body, "more").is_boolean() || !field(l.body, "more").get<bool>()) break;
      }
      std::sort(log.begin(), log.end(),
                [](const json& a, const json& b) { return json_text(a, "created_at") < json_text(b, "created_at"); });
      for (const auto& e : log) {
        const std::string type = json_text(e, "type");
        const std::string who = person(field(e, "agent"));
        const auto at = detail::parse_api_time(json_text(e, "created_at"));
        if (type == "acknowledge_log_entry")
          f.events.push_back(
              event(RemoteEvent::Kind::acknowledged, "acknowledged", who, at, by("incident acknowledged", who)));
        else if (type == "resolve_log_entry") {
          f.events.push_back(
              event(RemoteEvent::Kind::acknowledged, "acknowledged", who, at, by("incident resolved", who)));
          f.events.push_back(
              event(RemoteEvent::Kind::resolved, "resolved:" + id_of(e), who, at, by("incident resolved", who)));
        }
      }
      // Notes on the incident are the responders' words.
      Got notes = reader.get(fmt::format("{}/incidents/{}/notes", base, id));
      if (notes.ok) {
        for (const auto& n : field(notes.body, "notes")) {
          const std::string nid = id_of(n);
          if (nid.empty()) continue;
          f.events.push_back(event(RemoteEvent::Kind::reply, "note:" + nid, person(field(n, "user")),
                                   detail::parse_api_time(json_text(n, "created_at")),
                                   received_text(json_text(n, "content"))));
        }
      } else if (!notes.missing) {
        fail(out, notes, "");
        out.deliveries.push_back(std::move(f));
        return out;
      }
      out.deliveries.push_back(std::move(f));
    }
  }
  return out;
}

}  // namespace

bool followable(const ChannelConfig& ch, std::string* why) {
  auto say = [&](const char* text) {
    if (why) *why = text;
    return false;
  };
  if (ch.type == "jira" || ch.type == "github") return true;
  if (ch.type == "pagerduty")
    return ch.api_token.set() ? true : say("set api_token_env or api_token_file (a REST API token) to follow it");
  if (ch.type == "smtp")
    return !ch.imap_url.empty() ? true : say("set imap_url (the mailbox replies reach) to follow it");
  if (why) why->clear();
  return false;
}

FollowResult follow(const ChannelConfig& ch, const std::vector<Delivery>& deliveries, const Config& cfg) {
  if (deliveries.empty()) return {};
  if (ch.type == "jira") return follow_jira(ch, deliveries);
  if (ch.type == "github") return follow_github(ch, deliveries);
  if (ch.type == "pagerduty") return follow_pagerduty(ch, deliveries);
  if (ch.type == "smtp") return detail::follow_mailbox(ch, deliveries, cfg);
  return {};
}

}  // namespace esc
