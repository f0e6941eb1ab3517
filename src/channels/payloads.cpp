// Payload shapes for each channel: Slack, Teams, Mattermost, Discord,
// PagerDuty, generic JSON, plain text, and the e-mail (message.cpp), each
// fitted to the channel's size limits.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <string_view>

#include "channels_internal.hpp"
#include "esc/channels.hpp"
#include "esc/text.hpp"

namespace esc {

using detail::header_safe;
using nlohmann::json;

std::string slack_escape(const std::string& text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string mask_url(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return "(url hidden)";
  auto rest = url.substr(scheme + 3);
  auto at = rest.find('@');
  auto slash = rest.find_first_of("/?#");
  if (at != std::string::npos && (slash == std::string::npos || at < slash)) rest = rest.substr(at + 1);
  slash = rest.find_first_of("/?#");
  std::string host = slash == std::string::npos ? rest : rest.substr(0, slash);
  return url.substr(0, scheme + 3) + host + (slash == std::string::npos ? "" : "/…");
}

std::vector<std::string> command_argv(const ChannelConfig& ch, const Summary& s, const std::string& key) {
  // Each placeholder fills part of one argument: case text can never add an
  // argument or reach a shell. Before a "--", an argument that a filled
  // value makes start with '-' would be read as an option: refused.
  std::vector<std::string> out;
  // The summary lists the escalations before this one.
  const std::string level = std::to_string(s.escalations.empty() ? 1 : s.escalations.back().level + 1);
  bool options_end = false;
  for (std::size_t n = 0; n < ch.argv.size(); ++n) {
    const std::string& arg = ch.argv[n];
    std::string a;
    bool filled_first = false;
    for (size_t i = 0; i < arg.size(); ++i) {
      if (arg[i] == '{') {
        auto close = arg.find('}', i);
        if (close != std::string::npos) {
          std::string name = arg.substr(i + 1, close - i - 1);
          std::string value;
          bool known = true;
          if (name == "subject")
            value = header_safe(s.subject);
          else if (name == "id")
            value = std::to_string(s.c.id);
          else if (name == "severity")
            value = header_safe(s.c.severity);
          else if (name == "customer")
            value = header_safe(s.c.customer);
          else if (name == "ref")
            value = header_safe(s.c.ref);
          else if (name == "level")
            value = level;
          else if (name == "key")
            value = key;
          else
            known = false;
          if (known) {
            if (a.empty()) filled_first = true;
            a += value;
            i = close;
            continue;
          }
        }
      }
      a += arg[i];
    }
    if (n > 0 && !options_end && filled_first && a.starts_with("-"))
      throw std::invalid_argument(fmt::format(
          "argument {} of the command would start with '-' from the case's text (\"{}\"), and be read as an "
          "option; put \"--\" before it in argv",
          n, a.substr(0, 40)));
    if (arg == "--") options_end = true;
    out.push_back(std::move(a));
  }
  return out;
}

namespace {

// Cut to at most n bytes, on a UTF-8 boundary, with an ellipsis.
std::string cap_text(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

// An argument as a POSIX shell would need it quoted, for showing a command.
std::string shell_quote(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./-_") ==
                        std::string::npos)
    return a;
  std::string out = "'";
  for (char ch : a) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

// Each list of entries cut to its newest `keep`, after a line that says how
// many earlier ones are left out and where they are.
Summary trimmed(const Summary& s, std::size_t keep) {
  Summary t = s;
  for (auto* v :
       {&t.impact, &t.outcome, &t.facts, &t.steps, &t.client, &t.hypotheses, &t.heads_up, &t.replies, &t.notes}) {
    if (v->size() <= keep) continue;
    const std::size_t left_out = v->size() - keep;
    SummaryItem marker{(*v)[left_out - 1].at,
                       fmt::format("({} earlier {} not shown here: `esc show {}` has them all)", left_out,
                                   left_out == 1 ? "entry is" : "entries are", s.c.id),
                       "",
                       EntryKind::note,
                       "",
                       ""};
    v->erase(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(left_out));
    v->insert(v->begin(), std::move(marker));
  }
  return t;
}

// The case's own fields (the header: customer, ref, engineer, tags; the
// title) cut to `n` bytes each: the last resort when a case's fields alone
// outgrow a channel.
Summary briefed(const Summary& s, std::size_t n) {
  Summary t = s;
  for (auto* f : {&t.subject, &t.c.title, &t.c.customer, &t.c.ref, &t.c.engineer, &t.c.engineer_email})
    *f = cap_text(*f, n);
  std::size_t room = n;
  auto kept = std::find_if(t.c.tags.begin(), t.c.tags.end(), [&](const std::string& tag) {
    if (tag.size() + 2 > room) return true;
    room -= tag.size() + 2;
    return false;
  });
  t.c.tags.erase(kept, t.c.tags.end());
  return t;
}

// What `render` (a summary and a cap on each entry's length, sections()'
// max_entry) gives that `fits` accepts: the whole summary when it fits;
// else the largest cap, found by halving, down to a floor where an entry's
// head and tail still say something; and when even that floor is too big
// (hundreds of entries), the newest entries of each list at the floor, as
// many as fit; and when not even one each does, the case's own fields cut
// too. Every channel's limit is kept, whatever the case holds.
template <class Render, class Fits>
auto fitted(const Summary& s, Render render, Fits fits) {
  auto whole = render(s, std::size_t{0});
  if (fits(whole)) return whole;
  std::size_t longest = 0, most = 0;
  for (const auto* v :
       {&s.impact, &s.outcome, &s.facts, &s.steps, &s.client, &s.hypotheses, &s.heads_up, &s.replies, &s.notes}) {
    most = std::max(most, v->size());
    for (const auto& i : *v) longest = std::max(longest, i.text.size());
  }
  longest = std::max({longest, s.note.size(), s.forced_reason.size()});
  constexpr std::size_t kFloor = 160;
  std::size_t lo = kFloor, hi = longest;  // the answer is in [lo, hi)
  auto best = render(s, lo);
  if (!fits(best)) {
    // The newest entries of each list, as many as fit (none fitting: nullopt).
    auto newest = [&](const Summary& base) -> std::optional<decltype(best)> {
      for (std::size_t keep = most / 2;; keep /= 2) {
        auto p = render(trimmed(base, keep), kFloor);
        if (fits(p)) return p;
        if (keep == 0) return std::nullopt;
      }
    };
    if (auto p = newest(s)) return std::move(*p);
    const Summary brief = briefed(s, kFloor);  // only when the case's own fields are what does not fit
    if (auto p = newest(brief)) return std::move(*p);
    return render(trimmed(brief, 0), kFloor);
  }
  while (hi - lo > 16) {
    const std::size_t mid = lo + (hi - lo) / 2;
    auto p = render(s, mid);
    if (fits(p)) {
      lo = mid;
      best = std::move(p);
    } else {
      hi = mid;
    }
  }
  return best;
}

// Slack mrkdwn: a block for the header, then one per section (a section
// longer than a block may hold continues in the next, at a line break).
constexpr std::size_t kSlackBlockText = 2900;  // Slack's limit: 3000

std::string slack_line(const Section& sec, const SectionLine& l, int n) {
  std::string t = sec.numbered ? fmt::format("{}. ", n) : std::string("• ");
  if (!l.label.empty()) t += "_" + slack_escape(inert(l.label)) + "_ ";
  if (l.at) t += "`" + format_utc(*l.at) + "` ";
  if (!l.by.empty()) t += "(" + slack_escape(inert(l.by)) + ") ";
  return t + slack_escape(inert(l.text, true)) + "\n";
}

json slack_body(const Summary& s, std::size_t max_entry) {
  json blocks = json::array();
  blocks.push_back({{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", cap_text(inert(s.subject), 150)}}}});
  std::string head;
  for (const auto& [label, value] : header_rows(s))
    head += fmt::format("*{}:* {}\n", label, slack_escape(inert(value)));
  blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", head}}}});
  for (const auto& sec : sections(s, max_entry)) {
    std::string t = "*" + slack_escape(sec.title) + "*\n";
    int n = 0;
    for (const auto& l : sec.lines) {
      std::string line = slack_line(sec, l, ++n);
      if (t.size() + line.size() > kSlackBlockText && t.size() > 0) {
        blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", t}}}});
        t = "*" + slack_escape(sec.title) + " (continued)*\n";
      }
      t += line;
    }
    blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", t}}}});
  }
  return {{"text", slack_escape(inert(s.subject))}, {"blocks", blocks}};
}

bool slack_fits(const json& body) {
  const auto& blocks = body.at("blocks");
  if (blocks.size() > 50) return false;
  for (const auto& b : blocks)
    if (b.contains("text") && b["text"].value("type", "") == "mrkdwn" &&
        b["text"]["text"].get_ref<const std::string&>().size() > 3000)
      return false;
  return true;
}

// @channel, @all and @here would notify everyone in Mattermost; a zero-width
// space after the @ keeps the text and drops the mention.
std::string no_mentions(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    out += s[i];
    if (s[i] == '@') {
      for (std::string_view word : {"channel", "all", "here", "everyone"})
        if (lower(std::string_view(s).substr(i + 1, word.size())) == word) {
          out += "\u200b";
          break;
        }
    }
  }
  return out;
}

// Discord's markdown shows HTML entities as typed: turn those of
// markdown_escape back into characters, '<' and '>' escaped with a backslash
// so that "<@id>" or "<#channel>" stays text.
std::string discord_text(const std::string& md) {
  std::string out;
  for (size_t i = 0; i < md.size(); ++i) {
    if (md.compare(i, 4, "&lt;") == 0) {
      out += "\\<";
      i += 3;
    } else if (md.compare(i, 4, "&gt;") == 0) {
      out += "\\>";
      i += 3;
    } else if (md.compare(i, 5, "&amp;") == 0) {
      out += '&';
      i += 4;
    } else {
      out += md[i];
    }
  }
  return out;
}

// Markdown without its first line (the subject, which the card shows).
std::string markdown_body(const Summary& s, std::size_t max_entry) {
  std::string md = render_markdown(s, {72, max_entry});
  auto first_break = md.find("\n\n");
  return md.substr(first_break == std::string::npos ? 0 : first_break + 2);
}

json teams_card(const Summary& s, std::size_t max_entry) {
  json body = json::array();
  body.push_back({{"type", "TextBlock"},
                  {"text", markdown_escape(inert(s.subject))},
                  {"weight", "Bolder"},
                  {"size", "Medium"},
                  {"wrap", true}});
  json facts = json::array();
  for (const auto& [label, value] : header_rows(s))
    facts.push_back({{"title", label}, {"value", markdown_escape(inert(value))}});
  body.push_back({{"type", "FactSet"}, {"facts", facts}});
  // A block per section (Adaptive Cards render a markdown subset).
  for (const auto& sec : sections(s, max_entry)) {
    std::string md;
    int n = 0;
    for (const auto& l : sec.lines) {
      md += sec.numbered ? fmt::format("{}. ", ++n) : std::string("- ");
      if (!l.label.empty()) md += "*" + markdown_escape(inert(l.label)) + "* ";
      if (l.at) md += "`" + format_utc(*l.at) + "`: ";
      md += markdown_escape(inert(l.text)) + "\n";
    }
    body.push_back({{"type", "TextBlock"}, {"text", sec.title}, {"weight", "Bolder"}, {"wrap", true}});
    body.push_back({{"type", "TextBlock"}, {"text", md}, {"wrap", true}});
  }
  json card{{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
            {"type", "AdaptiveCard"},
            {"version", "1.4"},
            {"body", body}};
  return {{"type", "message"},
          {"attachments", json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                        {"contentUrl", nullptr},
                                        {"content", card}}})}};
}

const char* pagerduty_severity(const std::string& sev) {
  if (sev == "critical") return "critical";
  if (sev == "high") return "error";
  if (sev == "medium") return "warning";
  return "info";
}

std::string dumped(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

Payload render_payload(const ChannelConfig& ch, const Summary& s, const std::string& key, const Sender& from,
                       Time now) {
  Payload p;
  const std::string fmt_name = ch.format.empty() ? "text" : ch.format;
  auto doc = [&]() -> std::string {
    if (fmt_name == "markdown") return render_markdown(s);
    if (fmt_name == "json") return to_json(s).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    return render_text(s);
  };
  if (ch.type == "stdout") {
    p = {"standard output",
         fmt_name == "json"       ? "application/json"
         : fmt_name == "markdown" ? "text/markdown"
                                  : "text/plain",
         doc()};
  } else if (ch.type == "file") {
    p = {fmt::format("a new file in {}", ch.dir), "text/plain", doc()};
  } else if (ch.type == "command") {
    std::string shown;
    try {
      for (const auto& a : command_argv(ch, s, key)) shown += (shown.empty() ? "" : " ") + shell_quote(a);
    } catch (const std::invalid_argument& e) {
      shown = fmt::format("(refused: {})", e.what());
    }
    p = {fmt::format("standard input of: {}", shown), fmt_name == "json" ? "application/json" : "text/plain", doc()};
  } else if (ch.type == "smtp") {
    p = {fmt::format("e-mail via {} to {}", mask_url(ch.url), join(ch.to, ", ")), "message/rfc822",
         detail::email_message(ch, s, key, from, now)};
  } else if (ch.type == "webhook") {
    std::string body;
    if (ch.format == "slack") {
      body = dumped(fitted(
          s, [&](const Summary& t, std::size_t cap) { return slack_body(t, cap); }, slack_fits));
    } else if (ch.format == "teams") {
      body = fitted(
          s, [&](const Summary& t, std::size_t cap) { return dumped(teams_card(t, cap)); },
          [](const std::string& b) { return b.size() <= 27'000; });
    } else if (ch.format == "mattermost") {
      body = fitted(
          s,
          [&](const Summary& t, std::size_t cap) {
            return dumped({{"text", no_mentions(render_markdown(t, {72, cap}))}});
          },
          [](const std::string& b) { return json::parse(b)["text"].get<std::string>().size() <= 16'000; });
    } else if (ch.format == "discord") {
      body = fitted(
          s,
          [&](const Summary& t, std::size_t cap) {
            return dumped(
                {{"content", cap_text(no_mentions(discord_text(markdown_escape(inert(t.subject)))), 2000)},
                 {"embeds", json::array({{{"title", cap_text(inert(t.subject), 256)},
                                          {"description", no_mentions(discord_text(markdown_body(t, cap)))}}})},
                 {"allowed_mentions", {{"parse", json::array()}}}});
          },
          [](const std::string& b) {
            return json::parse(b)["embeds"][0]["description"].get<std::string>().size() <= 4096;
          });
    } else {
      json j = to_json(s);
      j["idempotency_key"] = key;
      body = dumped(j);
    }
    p = {fmt::format("POST to the URL in {} ({})",
                     ch.url_secret.env.empty() ? ch.url_secret.file : "$" + ch.url_secret.env, ch.format),
         "application/json", std::move(body)};
  } else if (ch.type == "pagerduty") {
    p = {
        fmt::format("PagerDuty event to {}",
                    mask_url(ch.url.empty() ? "https://events.pagerduty.com/v2/enqueue" : ch.url)),
        "application/json",
        fitted(
            s,
            [&](const Summary& t, std::size_t cap) {
              json sections_json = json::object();
              for (const auto& sec : sections(t, cap)) {
                std::string text;
                for (const auto& l : sec.lines)
                  text += (l.label.empty() ? "" : "[" + l.label + "] ") + (l.at ? format_utc(*l.at) + ": " : "") +
                          l.text + "\n";
                sections_json[sec.title] = text;
              }
              json details{{"case", t.c.id}, {"customer", t.c.customer}, {"ref", t.c.ref}, {"sections", sections_json}};
              return dumped({{"routing_key", "{routing_key}"},
                             {"event_action", "trigger"},
                             {"dedup_key", key},
                             {"payload",
                              {{"summary", cap_text(inert(t.subject), 1024)},
                               {"source", "esc"},
                               {"severity", pagerduty_severity(t.c.severity)},
                               {"custom_details", details}}}});
            },
            [](const std::string& b) { return b.size() <= 500'000; })};
  } else if (ch.type == "jira" || ch.type == "github") {
    const bool jira = ch.type == "jira";
    std::string text = fitted(
        s,
        [&](const Summary& t, std::size_t cap) {
          return jira ? render_text(t, {100, cap}) : render_markdown(t, {72, cap});
        },
        [&](const std::string& t) { return t.size() <= (jira ? 30'000u : 60'000u); });
    p = {jira ? fmt::format("a Jira issue in {} at {}", ch.project, mask_url(ch.url))
              : fmt::format("a GitHub issue in {}", ch.repo),
         jira ? "text/plain" : "text/markdown", std::move(text)};
  }
  return p;
}

}  // namespace esc
