#pragma once

// What the render targets share: the channels esc renders for, a reader of
// every string in a JSON document, and the checks on an e-mail.

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esc/channels.hpp"
#include "esc/text.hpp"

namespace fuzz {

[[noreturn]] inline void fail(const char* target, const std::string& why) {
  std::fprintf(stderr, "%s: %s\n", target, why.c_str());
  std::abort();
}

// One channel of each kind and format that esc renders a payload for.
inline std::vector<esc::ChannelConfig> every_channel() {
  std::vector<esc::ChannelConfig> out;
  for (const char* format : {"text", "markdown", "json"}) {
    esc::ChannelConfig c;
    c.name = std::string("stdout-") + format;
    c.type = "stdout";
    c.format = format;
    out.push_back(c);
  }
  {
    esc::ChannelConfig c;
    c.name = "cmd";
    c.type = "command";
    c.argv = {"notify", "--id={id}", "{subject}", "{customer}", "--", "{ref}", "{severity}", "{level}", "{key}"};
    out.push_back(c);
  }
  for (const char* format : {"slack", "teams", "mattermost", "discord", "generic"}) {
    esc::ChannelConfig c;
    c.name = std::string("hook-") + format;
    c.type = "webhook";
    c.format = format;
    c.url_secret.env = "ESC_FUZZ_HOOK";
    out.push_back(c);
  }
  for (const char* type : {"smtp", "pagerduty", "jira", "github"}) {
    esc::ChannelConfig c;
    c.name = type;
    c.type = type;
    c.url = std::string(type) == "smtp" ? "smtps://mail.example.com" : "https://example.com";
    c.to = {"tier2@example.com"};
    c.project = "ENG";
    c.repo = "acme/support";
    out.push_back(c);
  }
  return out;
}

// Every key and string of a JSON document, each followed by a newline:
// what a chat client or tracker would show.
inline void strings_of(const nlohmann::json& j, std::string& out) {
  if (j.is_string()) {
    out += j.get_ref<const std::string&>();
    out += '\n';
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      out += k;
      out += '\n';
      strings_of(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) strings_of(v, out);
  }
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Quoted-printable (RFC 2045) back to the text, CRLF back to LF. Empty
// optional when the encoding is broken.
inline std::optional<std::string> decode_quoted_printable(std::string_view qp) {
  std::string out;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    const char c = qp[i];
    if (c == '=') {
      if (qp.substr(i, 3) == "=\r\n") {
        i += 2;
        continue;
      }
      const int hi = i + 1 < qp.size() ? hex_value(qp[i + 1]) : -1;
      const int lo = i + 2 < qp.size() ? hex_value(qp[i + 2]) : -1;
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '\r') {
      if (i + 1 >= qp.size() || qp[i + 1] != '\n') return std::nullopt;
      out += '\n';
      ++i;
    } else {
      out += c;
    }
  }
  return out;
}

inline std::optional<std::string> decode_base64(std::string_view in) {
  static const std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (in.size() % 4) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 4) {
    unsigned v = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = in[i + k];
      unsigned d = 0;
      if (c == '=') {
        if (i + 4 != in.size() || k < 2) return std::nullopt;
        ++pad;
      } else {
        if (pad) return std::nullopt;
        const auto at = kB64.find(c);
        if (at == std::string_view::npos) return std::nullopt;
        d = static_cast<unsigned>(at);
      }
      v = (v << 6) | d;
    }
    out += static_cast<char>((v >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(v & 0xff);
  }
  return out;
}

// A header value from case text as e-mail must carry it: control characters
// made spaces (what esc promises, checked here independently).
inline std::string header_safe(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) out += (ch < 0x20 || ch == 0x7f) ? ' ' : static_cast<char>(ch);
  return out;
}

struct Email {
  std::vector<std::pair<std::string, std::string>> headers;  // name, value as written (folds kept)
  std::string body;
};

// Splits an RFC 5322 message, checking its shape: CRLF line ends only,
// every header line a "Name: value" or a folded continuation, lines of at
// most 998 characters, a quoted-printable body of lines of at most 76.
inline Email check_email(const char* target, const std::string& m) {
  Email e;
  const auto end = m.find("\r\n\r\n");
  if (end == std::string::npos) fail(target, "e-mail without an empty line after its headers");
  const std::string head = m.substr(0, end + 2);
  std::size_t i = 0;
  while (i < head.size()) {
    const auto eol = head.find("\r\n", i);
    if (eol == std::string::npos) fail(target, "e-mail header line without CRLF");
    const std::string line = head.substr(i, eol - i);
    if (line.size() > 998) fail(target, "e-mail header line longer than 998 characters");
    if (line.find('\r') != std::string::npos || line.find('\n') != std::string::npos)
      fail(target, "a bare CR or LF in an e-mail header: " + line.substr(0, 80));
    for (unsigned char ch : line)
      if (ch < 0x20 && ch != '\t') fail(target, "a control character in an e-mail header");
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      if (e.headers.empty()) fail(target, "e-mail starting with a continuation line");
      e.headers.back().second += "\r\n" + line;
    } else {
      const auto colon = line.find(": ");
      if (colon == std::string::npos || colon == 0) fail(target, "e-mail header line that is no header: " + line.substr(0, 80));
      e.headers.emplace_back(line.substr(0, colon), line.substr(colon + 2));
    }
    i = eol + 2;
  }
  e.body = m.substr(end + 4);
  std::size_t start = 0;
  while (start < e.body.size()) {
    auto eol = e.body.find("\r\n", start);
    const std::string_view line =
        std::string_view(e.body).substr(start, (eol == std::string::npos ? e.body.size() : eol) - start);
    if (line.size() > 76) fail(target, "quoted-printable line longer than 76 characters");
    for (unsigned char ch : line)
      if (!((ch >= 33 && ch <= 126) || ch == ' ' || ch == '\t'))
        fail(target, "a byte quoted-printable must encode is in the body");
    if (eol == std::string::npos) break;
    start = eol + 2;
  }
  return e;
}

inline const std::string* header(const Email& e, std::string_view name) {
  const std::string* found = nullptr;
  for (const auto& [k, v] : e.headers)
    if (k == name) {
      if (found) fail("e-mail", "header " + std::string(name) + " twice");
      found = &v;
    }
  return found;
}

// An unstructured header value back to its text: RFC 2047 encoded words
// (=?UTF-8?B?...?=, each at most 75 characters) or the text as written.
inline std::optional<std::string> decode_header(const std::string& value) {
  if (!value.starts_with("=?")) {
    if (value.find("\r\n") != std::string::npos) return std::nullopt;  // esc folds only encoded words
    return value;
  }
  std::string out;
  std::size_t i = 0;
  while (i < value.size()) {
    if (i > 0) {
      if (value.compare(i, 3, "\r\n ") != 0) return std::nullopt;
      i += 3;
    }
    auto close = value.find("?=", i + 10);
    if (value.compare(i, 10, "=?UTF-8?B?") != 0 || close == std::string::npos) return std::nullopt;
    if (close + 2 - i > 75) return std::nullopt;
    auto text = decode_base64(std::string_view(value).substr(i + 10, close - i - 10));
    if (!text) return std::nullopt;
    out += *text;
    i = close + 2;
  }
  return out;
}

}  // namespace fuzz
