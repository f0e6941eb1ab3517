// Jira (REST API v2) and GitHub (REST API): the hand-over as an issue.

#include "tickets.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "channels_internal.hpp"
#include "esc/text.hpp"
#include "esc/time.hpp"

namespace esc::detail {

using nlohmann::json;

std::string ticket_marker(const std::string& key) {
  std::string m = "esc";
  for (char ch : key)
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) m += ch;
  return m;
}

std::string percent_encode(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '-' || ch == '_' ||
        ch == '.' || ch == '~')
      out += static_cast<char>(ch);
    else
      out += fmt::format("%{:02X}", ch);
  }
  return out;
}

TrackerAuth tracker_auth(const ChannelConfig& ch) {
  TrackerAuth a;
  auto token = read_secret(ch.token);
  if (!token) {
    a.problem = secret_problem(ch.token, "the API token");
    return a;
  }
  a.secrets = {*token, base64(*token)};
  if (ch.type == "github") {
    a.headers = {"Authorization: Bearer " + *token, "Accept: application/vnd.github+json",
                 "X-GitHub-Api-Version: 2022-11-28"};
  } else if (ch.auth == "bearer") {
    a.headers = {"Authorization: Bearer " + *token, "Accept: application/json"};
  } else {
    a.user = ch.username;
    if (auto u = read_secret(ch.username_secret)) a.user = *u;
    a.password = *token;
    a.headers = {"Accept: application/json"};
    a.secrets.push_back(base64(a.user + ":" + *token));
  }
  return a;
}

std::string json_text(const json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string tracker_base(const ChannelConfig& ch) {
  std::string u = ch.url;
  while (!u.empty() && u.back() == '/') u.pop_back();
  return u;
}

HttpResponse tracker_call(const ChannelConfig& ch, const TrackerAuth& a, const std::string& method,
                          const std::string& url, const std::string& body) {
  HttpRequest r{method, url, a.headers, body, a.user, a.password};
  if (!body.empty()) r.headers.push_back("Content-Type: application/json; charset=utf-8");
  return http(ch, r, a.secrets);
}

namespace {

using Auth = TrackerAuth;

// How long Jira's search may take to show a new issue: "from a few seconds
// to minutes" (Atlassian, "Search after write with search and reconcile").
constexpr auto kJiraSearchSettles = std::chrono::minutes(5);

std::string base_url(const ChannelConfig& ch) { return tracker_base(ch); }

HttpResponse call(const ChannelConfig& ch, const Auth& a, const std::string& method, const std::string& url,
                  const std::string& body = {}) {
  return tracker_call(ch, a, method, url, body);
}

const char* jira_priority(const std::string& severity) {
  if (severity == "critical") return "Highest";
  if (severity == "high") return "High";
  if (severity == "low") return "Low";
  return "Medium";
}

DeliveryResult answer(const std::string& key, const std::string& url, bool adopted) {
  DeliveryResult d = delivered();
  d.remote_key = key;
  d.remote_url = url;
  d.adopted = adopted;
  return d;
}

std::optional<json> parse(const HttpResponse& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

// The issue for this key, searched for; nullopt and `failure` set when the
// search itself failed.
std::optional<DeliveryResult> search(const ChannelConfig& ch, const Auth& a, const std::string& key,
                                     DeliveryResult& failure) {
  const std::string marker = ticket_marker(key);
  if (ch.type == "jira") {
    const std::string jql = fmt::format("project = \"{}\" AND labels = \"{}\"", ch.project, marker);
    // Jira Cloud searches at /search/jql; Data Center (personal tokens) at /search.
    const std::string path = ch.auth == "bearer" ? "/rest/api/2/search" : "/rest/api/2/search/jql";
    auto r = call(ch, a, "GET",
                  fmt::format("{}{}?jql={}&fields=summary&maxResults=5", base_url(ch), path, percent_encode(jql)));
    if (!r.error.empty() || r.status != 200) {
      failure = http_failure(mask_url(ch.url), r, a.secrets);
      return std::nullopt;
    }
    auto j = parse(r);
    if (!j || !j->contains("issues") || !(*j)["issues"].is_array()) {
      failure =
          not_delivered(fmt::format("{}: the search answered something that is not Jira's JSON", mask_url(ch.url)));
      return std::nullopt;
    }
    for (const auto& issue : (*j)["issues"])
      if (issue.contains("key") && issue["key"].is_string()) {
        const std::string k = issue["key"];
        return answer(k, fmt::format("{}/browse/{}", base_url(ch), k), true);
      }
    return not_delivered("");
  }
  const std::string q = fmt::format("repo:{} is:issue in:body {}", ch.repo, marker);
  auto r = call(ch, a, "GET", fmt::format("{}/search/issues?q={}&per_page=5", base_url(ch), percent_encode(q)));
  if (!r.error.empty() || r.status != 200) {
    failure = http_failure(mask_url(ch.url), r, a.secrets);
    return std::nullopt;
  }
  auto j = parse(r);
  if (!j || !j->contains("items") || !(*j)["items"].is_array()) {
    failure =
        not_delivered(fmt::format("{}: the search answered something that is not GitHub's JSON", mask_url(ch.url)));
    return std::nullopt;
  }
  auto carrying = [&](const json& items) -> std::optional<DeliveryResult> {
    for (const auto& item : items)
      if (item.is_object() && !item.contains("pull_request") && item.contains("number") &&
          item["number"].is_number_integer() && json_text(item, "body").find(marker) != std::string::npos)
        return answer(fmt::format("{}#{}", ch.repo, item["number"].get<long long>()), json_text(item, "html_url"),
                      true);
    return std::nullopt;
  };
  if (auto hit = carrying((*j)["items"])) return *hit;
  // GitHub's search index lags behind a new issue by up to minutes: the
  // repository's newest issues, listed from the database, hold one that an
  // attempt moments ago made.
  r = call(ch, a, "GET",
           fmt::format("{}/repos/{}/issues?state=all&sort=created&direction=desc&per_page=50", base_url(ch), ch.repo));
  if (!r.error.empty() || r.status != 200) {
    failure = http_failure(mask_url(ch.url), r, a.secrets);
    return std::nullopt;
  }
  j = parse(r);
  if (!j || !j->is_array()) {
    failure =
        not_delivered(fmt::format("{}: the list of issues is something that is not GitHub's JSON", mask_url(ch.url)));
    return std::nullopt;
  }
  if (auto hit = carrying(*j)) return *hit;
  return not_delivered("");
}

// A create that failed. A 4xx answer refused the request, so no issue was
// made; a 5xx or no answer at all may hide one that was.
DeliveryResult create_failure(const std::string& where, const HttpResponse& r,
                              const std::vector<std::string>& secrets) {
  auto f = http_failure(where, r, secrets);
  f.unsent = r.error.empty() && r.status >= 400 && r.status < 500;
  return f;
}

}  // namespace

DeliveryResult deliver_ticket(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key,
                              const Attempt& attempt) {
  Auth a = tracker_auth(ch);
  if (!a.problem.empty()) {
    auto r = not_delivered(a.problem, true);
    r.unsent = true;
    return r;
  }
  // A retry after a crash or a timeout must not open a second issue.
  DeliveryResult failure;
  auto found = search(ch, a, key, failure);
  if (!found) {
    failure.unsent = true;
    return failure;
  }
  if (found->ok) return *found;
  // Jira's search is eventually consistent: an issue made moments ago may
  // be missing from it for seconds to minutes (GitHub's list of newest
  // issues, above, is not). Until that time has passed since an earlier
  // attempt that may have made one, a miss proves nothing.
  if (ch.type == "jira" && attempt.earlier && attempt.now < *attempt.earlier + kJiraSearchSettles) {
    const Time after = *attempt.earlier + kJiraSearchSettles;
    auto r =
        not_delivered(fmt::format("{}: Jira's search shows no issue for this delivery, but the attempt at {} "
                                  "may have made one that its search does not show yet; no second issue is "
                                  "made before {}",
                                  mask_url(ch.url), format_local(*attempt.earlier), format_local(after)));
    r.retry_after = std::chrono::duration_cast<Seconds>(after - attempt.now);
    r.unsent = true;
    return r;
  }

  const std::string marker = ticket_marker(key);
  std::string title = inert(s.subject);
  if (title.size() > 250) title = title.substr(0, 250);
  while (!title.empty() && (static_cast<unsigned char>(title.back()) & 0xc0) == 0x80) title.pop_back();
  if (ch.type == "jira") {
    std::vector<std::string> labels = ch.labels;
    labels.push_back(marker);
    json fields{{"project", {{"key", ch.project}}},
                {"summary", title},
                {"description", p.body + fmt::format("\n----\nSent by esc (delivery {}).\n", marker)},
                {"issuetype", {{"name", ch.issue_type}}},
                {"priority", {{"name", jira_priority(s.c.severity)}}},
                {"labels", labels}};
    auto r = call(ch, a, "POST", base_url(ch) + "/rest/api/2/issue",
                  json{{"fields", fields}}.dump(-1, ' ', false, json::error_handler_t::replace));
    if (!r.error.empty() || r.status != 201) return create_failure(mask_url(ch.url), r, a.secrets);
    auto j = parse(r);
    if (!j || !(*j).contains("key") || !(*j)["key"].is_string())
      return not_delivered(
          fmt::format("{}: Jira made the issue but answered no key; the next attempt finds it", mask_url(ch.url)));
    const std::string k = (*j)["key"];
    return answer(k, fmt::format("{}/browse/{}", base_url(ch), k), false);
  }
  json body{{"title", title},
            {"body", p.body + fmt::format("\n\n---\n_Sent by esc (delivery {})._\n", marker)},
            {"labels", ch.labels}};
  auto r = call(ch, a, "POST", fmt::format("{}/repos/{}/issues", base_url(ch), ch.repo),
                body.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!r.error.empty() || r.status != 201) return create_failure(mask_url(ch.url), r, a.secrets);
  auto j = parse(r);
  if (!j || !(*j).contains("number") || !(*j)["number"].is_number_integer())
    return not_delivered(
        fmt::format("{}: GitHub made the issue but answered no number; the next attempt finds it", mask_url(ch.url)));
  return answer(fmt::format("{}#{}", ch.repo, (*j)["number"].get<long long>()), json_text(*j, "html_url"), false);
}

}  // namespace esc::detail
