// Payload shapes for each channel: e-mail (RFC 5322), Slack, Teams,
// Mattermost, Discord, PagerDuty, generic JSON, plain text.
#include <date/date.h>
#include <fmt/format.h>

#include <cctype>
#include <nlohmann/json.hpp>
#include <string_view>

#include "channels_internal.hpp"
#include "esc/channels.hpp"
#include "esc/text.hpp"

namespace esc {

namespace detail {

namespace {
const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string base64(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace detail

using detail::base64;
using nlohmann::json;

namespace {

bool needs_encoding(const std::string& s) {
  for (unsigned char ch : s)
    if (ch < 0x20 || ch >= 0x7f) return true;
  return false;
}

// Header values from case text: no CR, LF or other control character survives.
std::string header_safe(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) out += (ch < 0x20 || ch == 0x7f) ? ' ' : static_cast<char>(ch);
  return out;
}

std::string domain_of(const std::string& addr) {
  auto at = addr.rfind('@');
  std::string d = at == std::string::npos ? "esc.invalid" : addr.substr(at + 1);
  while (!d.empty() && (d.back() == '>' || d.back() == ' ')) d.pop_back();
  std::string clean;
  for (char ch : d)
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-') clean += ch;
  return clean.empty() ? "esc.invalid" : clean;
}

// RFC 2047 encoded words of at most 75 characters, never splitting a UTF-8
// sequence, folded onto continuation lines.
std::string encoded_words(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    size_t take = 0;
    while (i + take < s.size()) {
      size_t len = 1;
      unsigned char c = static_cast<unsigned char>(s[i + take]);
      if (c >= 0xf0)
        len = 4;
      else if (c >= 0xe0)
        len = 3;
      else if (c >= 0xc0)
        len = 2;
      if (((take + len + 2) / 3) * 4 > 60) break;
      take += len;
    }
    if (take == 0) take = 1;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64(std::string_view(s).substr(i, take)) + "?=";
    i += take;
  }
  return out;
}

// One address for a From or To header: a display name outside ASCII is
// encoded, the address itself is kept as written.
std::string address_header(const std::string& addr) {
  std::string a = header_safe(addr);
  if (!needs_encoding(a)) return a;
  auto lt = a.rfind('<');
  if (lt == std::string::npos || a.find('>', lt) == std::string::npos) return encoded_words(a);
  std::string name = trim(a.substr(0, lt));
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
  std::string rest = a.substr(lt);
  if (name.empty()) return rest;
  return encoded_words(name) + " " + rest;
}

std::string address_list_header(const std::vector<std::string>& addrs) {
  std::string out;
  for (const auto& a : addrs) {
    if (!out.empty()) out += ",\r\n ";
    out += address_header(a);
  }
  return out;
}

}  // namespace

std::string rfc2047_subject(const std::string& subject) {
  std::string s = header_safe(subject);
  if (!needs_encoding(s) && s.size() <= 900) return s;
  return encoded_words(s);
}

std::string quoted_printable(const std::string& text) {
  std::string out;
  size_t line_len = 0;
  auto put = [&](const std::string& token) {
    if (line_len + token.size() > 75) {
      out += "=\r\n";
      line_len = 0;
    }
    out += token;
    line_len += token.size();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char ch = static_cast<unsigned char>(text[i]);
    if (ch == '\n') {
      // Trailing white space before a line break must be encoded.
      if (!out.empty() && (out.back() == ' ' || out.back() == '\t')) {
        char last = out.back();
        out.pop_back();
        --line_len;
        put(fmt::format("={:02X}", static_cast<unsigned char>(last)));
      }
      out += "\r\n";
      line_len = 0;
    } else if (ch == '\r') {
      continue;
    } else if ((ch >= 33 && ch <= 126 && ch != '=') || ch == ' ' || ch == '\t') {
      // A '.' opening a line is safe (libcurl dot-stuffs), but "From " is mangled by some MTAs.
      if (line_len == 0 && ch == 'F' && text.compare(i, 5, "From ") == 0)
        put("=46");
      else
        put(std::string(1, static_cast<char>(ch)));
    } else {
      put(fmt::format("={:02X}", ch));
    }
  }
  return out;
}

std::string message_id(const std::string& key, const std::string& from) {
  return fmt::format("<{}@{}>", key, domain_of(from));
}

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
  // Each placeholder fills part of one argument; case text can never add an
  // argument or reach a shell.
  std::vector<std::string> out;
  // The summary lists the escalations before this one.
  const std::string level = std::to_string(s.escalations.empty() ? 1 : s.escalations.back().level + 1);
  for (const auto& arg : ch.argv) {
    std::string a;
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
            value = s.c.severity;
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
            a += value;
            i = close;
            continue;
          }
        }
      }
      a += arg[i];
    }
    out.push_back(std::move(a));
  }
  return out;
}

namespace {

// Slack mrkdwn from the summary, in sections no longer than Slack allows.
std::vector<std::string> slack_sections(const Summary& s) {
  std::vector<std::string> out;
  auto items = [&](const char* heading, const std::vector<SummaryItem>& v, bool numbered) {
    if (v.empty()) return;
    std::string t = fmt::format("*{}*\n", heading);
    int n = 0;
    for (const auto& i : v) {
      std::string prefix = numbered ? fmt::format("{}. ", ++n) : "• ";
      std::string state = i.kind == "hypothesis" ? fmt::format("_{}_ ", i.state.empty() ? "unconfirmed" : i.state) : "";
      t += prefix + state + "`" + format_utc(i.at) + "` " + slack_escape(inert(i.text, true)) + "\n";
    }
    out.push_back(t);
  };
  std::string head;
  const Case& c = s.c;
  auto row = [&](const char* label, const std::string& v) {
    if (!v.empty()) head += fmt::format("*{}* {}\n", label, slack_escape(inert(v)));
  };
  row("Case:", fmt::format("#{}{}", c.id, c.ref.empty() ? "" : " (ref " + c.ref + ")"));
  row("Customer:", c.customer);
  row("Severity:", c.severity);
  row("Engineer:", c.engineer);
  row("Opened:",
      fmt::format("{} ({} before this summary)", format_utc(c.created_at), format_duration(s.as_of - c.created_at)));
  out.push_back(head);
  if (!s.forced_reason.empty())
    out.push_back("*Sent before the checklist was complete*\n" + slack_escape(inert(s.forced_reason)));
  if (!s.why.empty()) {
    std::string t = "*Why it is escalated*\n";
    for (const auto& w : s.why) t += "• " + slack_escape(inert(w.text)) + "\n";
    out.push_back(t);
  }
  items("Impact", s.impact, false);
  items("Desired outcome", s.outcome, false);
  items("Facts and diagnostic results", s.facts, false);
  items("Steps already taken", s.steps, true);
  items("Client interactions and what the client was told", s.client, false);
  items("Hypothesis (unconfirmed: a suggestion, not a confirmed diagnosis)", s.hypotheses, false);
  items("Notes", s.notes, false);
  auto missing = s.readiness.missing(false);
  if (!missing.empty()) {
    std::string t = "*Still missing from the checklist*\n";
    for (const auto* m : missing) t += "• " + slack_escape(m->key) + ": " + slack_escape(m->question) + "\n";
    out.push_back(t);
  }
  // Slack caps a section's text at 3000 characters: longer ones are split,
  // at a line break or else a space in the second half, never inside an
  // escape such as "&amp;" or a UTF-8 sequence.
  constexpr size_t kMax = 2900;
  std::vector<std::string> capped;
  for (auto& t : out) {
    while (t.size() > kMax) {
      size_t cut = t.rfind('\n', kMax);
      if (cut == std::string::npos || cut < kMax / 2) {
        size_t space = t.rfind(' ', kMax);
        cut = space != std::string::npos && space >= kMax / 2 ? space : kMax;
      }
      if (size_t amp = t.rfind('&', cut - 1); amp != std::string::npos && cut - amp < 6) {
        size_t semi = t.find(';', amp);
        if (semi == std::string::npos || semi >= cut) cut = amp;
      }
      while (cut > 0 && (static_cast<unsigned char>(t[cut]) & 0xc0) == 0x80) --cut;
      if (cut == 0) cut = kMax;
      capped.push_back(t.substr(0, cut));
      size_t next = cut;
      while (next < t.size() && (t[next] == '\n' || t[next] == ' ')) ++next;
      t = t.substr(next);
    }
    if (!t.empty()) capped.push_back(t);
  }
  return capped;
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

std::string cap(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  return s.substr(0, cut) + "…";
}

json teams_card(const Summary& s) {
  json body = json::array();
  body.push_back({{"type", "TextBlock"},
                  {"text", markdown_escape(inert(s.subject))},
                  {"weight", "Bolder"},
                  {"size", "Medium"},
                  {"wrap", true}});
  json facts = json::array();
  auto fact = [&](const char* t, const std::string& v) {
    if (!v.empty()) facts.push_back({{"title", t}, {"value", markdown_escape(inert(v))}});
  };
  fact("Case", fmt::format("#{}", s.c.id));
  fact("Ref", s.c.ref);
  fact("Customer", s.c.customer);
  fact("Severity", s.c.severity);
  fact("Engineer", s.c.engineer);
  fact("Opened", format_utc(s.c.created_at));
  body.push_back({{"type", "FactSet"}, {"facts", facts}});
  // The rest as one markdown block (Adaptive Cards render a markdown subset).
  std::string md = render_markdown(s);
  auto first_break = md.find("\n\n");
  body.push_back({{"type", "TextBlock"},
                  {"text", md.substr(first_break == std::string::npos ? 0 : first_break + 2)},
                  {"wrap", true}});
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

}  // namespace

Payload render_payload(const ChannelConfig& ch, const Summary& s, const std::string& key, Time now) {
  Payload p;
  const std::string fmt_name = ch.format.empty() ? "text" : ch.format;
  auto doc = [&]() -> std::string {
    if (fmt_name == "markdown") return render_markdown(s);
    if (fmt_name == "json") return to_json(s).dump(2, ' ', false, json::error_handler_t::replace) + "\n";
    return render_text(s);
  };
  if (ch.type == "stdout") {
    p = {"standard output", "text/plain", doc()};
  } else if (ch.type == "file") {
    p = {fmt::format("a new file in {}", ch.dir), "text/plain", doc()};
  } else if (ch.type == "command") {
    p = {fmt::format("standard input of: {}", join(command_argv(ch, s, key), " ")), "text/plain", doc()};
  } else if (ch.type == "smtp") {
    std::string m;
    m += "Date: " + date::format("%a, %d %b %Y %H:%M:%S +0000", now) + "\r\n";
    m += "From: " + address_header(ch.from) + "\r\n";
    m += "To: " + address_list_header(ch.to) + "\r\n";
    m += "Subject: " + rfc2047_subject(s.subject) + "\r\n";
    m += "Message-ID: " + message_id(key, ch.from) + "\r\n";
    m += "MIME-Version: 1.0\r\n";
    m += "Content-Type: text/plain; charset=utf-8\r\n";
    m += "Content-Transfer-Encoding: quoted-printable\r\n";
    m += fmt::format("X-Esc-Case: {}\r\n", s.c.id);
    m += "\r\n";
    m += quoted_printable(render_text(s));
    p = {fmt::format("e-mail via {} to {}", mask_url(ch.url), join(ch.to, ", ")), "message/rfc822", m};
  } else if (ch.type == "webhook") {
    json body;
    if (ch.format == "slack") {
      json blocks = json::array();
      blocks.push_back({{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", cap(inert(s.subject), 150)}}}});
      for (const auto& sec : slack_sections(s))
        blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", sec}}}});
      // Slack takes at most 50 blocks: say so rather than drop the rest unseen.
      if (blocks.size() > 50) {
        const size_t left_out = blocks.size() - 49;
        blocks.erase(blocks.begin() + 49, blocks.end());
        blocks.push_back({{"type", "section"},
                          {"text",
                           {{"type", "mrkdwn"},
                            {"text", fmt::format("_{} more part(s) of this summary did not fit in one Slack "
                                                 "message: `esc summary {}` shows it all._",
                                                 left_out, s.c.id)}}}});
      }
      body = {{"text", slack_escape(inert(s.subject))}, {"blocks", blocks}};
    } else if (ch.format == "teams") {
      body = teams_card(s);
    } else if (ch.format == "mattermost") {
      body = {{"text", cap(no_mentions(render_markdown(s)), 16000)}};
    } else if (ch.format == "discord") {
      body = {{"content", cap(no_mentions(discord_text(markdown_escape(inert(s.subject)))), 2000)},
              {"embeds", json::array({{{"title", cap(inert(s.subject), 256)},
                                       {"description", cap(discord_text(render_markdown(s)), 4096)}}})},
              {"allowed_mentions", {{"parse", json::array()}}}};
    } else {
      body = to_json(s);
      body["idempotency_key"] = key;
    }
    p = {fmt::format("POST to the URL in {} ({})", ch.url_env.empty() ? ch.url_file : "$" + ch.url_env, ch.format),
         "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace)};
  } else if (ch.type == "pagerduty") {
    json details{{"case", s.c.id}, {"customer", s.c.customer}, {"ref", s.c.ref}, {"summary", render_text(s)}};
    json body{{"routing_key", "{routing_key}"},
              {"event_action", "trigger"},
              {"dedup_key", key},
              {"payload",
               {{"summary", cap(inert(s.subject), 1024)},
                {"source", "esc"},
                {"severity", pagerduty_severity(s.c.severity)},
                {"custom_details", details}}}};
    p = {fmt::format("PagerDuty event to {}",
                     mask_url(ch.url.empty() ? "https://events.pagerduty.com/v2/enqueue" : ch.url)),
         "application/json", body.dump(-1, ' ', false, json::error_handler_t::replace)};
  }
  return p;
}

}  // namespace esc
