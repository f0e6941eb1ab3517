// The e-mail message: RFC 5322 headers (RFC 2047 encoded words, addresses
// kept out of them), the body in quoted-printable, and base64 for SMTP.
#include <date/date.h>
#include <fmt/format.h>

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
using detail::header_safe;

namespace {

bool needs_encoding(const std::string& s) {
  for (unsigned char ch : s)
    if (ch < 0x20 || ch >= 0x7f) return true;
  return false;
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

namespace detail {

std::string header_safe(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) out += (ch < 0x20 || ch == 0x7f) ? ' ' : static_cast<char>(ch);
  return out;
}

std::string email_message(const ChannelConfig& ch, const Summary& s, const std::string& key, const Sender& from,
                          Time now) {
  const std::string address = !ch.from.empty() ? ch.from : from.email;
  std::string from_header = address;
  if (!from.name.empty() && address.find('<') == std::string::npos)
    from_header = fmt::format("\"{}\" <{}>", header_safe(from.name), header_safe(address));
  std::string m;
  m += "Date: " + date::format("%a, %d %b %Y %H:%M:%S +0000", now) + "\r\n";
  m += "From: " + address_header(from_header) + "\r\n";
  if (!from.email.empty()) {
    const std::string reply =
        from.name.empty() ? from.email : fmt::format("\"{}\" <{}>", header_safe(from.name), header_safe(from.email));
    m += "Reply-To: " + address_header(reply) + "\r\n";
  }
  m += "To: " + address_list_header(ch.to) + "\r\n";
  m += "Subject: " + rfc2047_subject(s.subject) + "\r\n";
  m += "Message-ID: " + message_id(key, address) + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=utf-8\r\n";
  m += "Content-Transfer-Encoding: quoted-printable\r\n";
  m += fmt::format("X-Esc-Case: {}\r\n", s.c.id);
  m += "\r\n";
  m += quoted_printable(render_text(s));
  return m;
}

}  // namespace detail

}  // namespace esc
