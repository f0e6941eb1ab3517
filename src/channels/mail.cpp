// Replies read from a mailbox: RFC 5322 headers, MIME (RFC 2045-2047)
// bodies, and the reply's own words without what it quotes.

#include "esc/mail.hpp"

#include <date/date.h>
#include <fmt/format.h>

#include <cctype>
#include <map>

#include "esc/text.hpp"

namespace esc {

namespace {

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && ieq(s.substr(0, prefix.size()), prefix);
}

// Windows-1252's characters in 0x80-0x9f (ISO-8859-1 has controls there).
constexpr char32_t kCp1252[32] = {0x20ac, 0xfffd, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
                                  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0xfffd, 0x017d, 0xfffd,
                                  0xfffd, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
                                  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0xfffd, 0x017e, 0x0178};

// Bytes in `charset` as UTF-8. Charsets other than the Latin ones are
// taken as UTF-8 (received_text() later replaces what is not).
std::string to_utf8(std::string_view bytes, std::string_view charset) {
  const std::string cs = lower(trim(charset));
  const bool latin1 = cs == "iso-8859-1" || cs == "latin1" || cs == "iso8859-1" || cs == "iso-8859-15" ||
                      cs == "us-ascii" || cs == "ascii";
  const bool cp1252 = cs == "windows-1252" || cs == "cp1252";
  if (!latin1 && !cp1252) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (unsigned char ch : bytes) {
    if (ch >= 0x80 && ch < 0xa0 && (cp1252 || cs == "us-ascii" || cs == "ascii"))
      append_utf8(out, cp1252 ? kCp1252[ch - 0x80] : 0xfffd);
    else
      append_utf8(out, ch);
  }
  return out;
}

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

std::string decode_qp(std::string_view s, bool header) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (header && ch == '_') {
      out += ' ';
    } else if (ch == '=' && i + 1 < s.size() && s[i + 1] == '\n') {
      ++i;  // a soft line break
    } else if (ch == '=' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += ch;
    }
  }
  return out;
}

std::string decode_base64(std::string_view s) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char ch : s) {
    int v;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9')
      v = ch - '0' + 52;
    else if (ch == '+' || ch == '-')
      v = 62;
    else if (ch == '/' || ch == '_')
      v = 63;
    else if (ch == '=')
      break;
    else
      continue;
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

// Headers, unfolded, by lower-case name: the first of each name.
struct Headers {
  std::map<std::string, std::string> values;
  std::string get(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second;
  }
};

// Splits an entity (LF line ends) into its headers and body.
std::pair<Headers, std::string_view> split_entity(std::string_view entity) {
  Headers h;
  std::size_t body_at = entity.size();
  std::string name, value;
  auto flush = [&] {
    if (!name.empty()) h.values.emplace(lower(trim(name)), trim(value));
    name.clear();
    value.clear();
  };
  std::size_t pos = 0;
  while (pos < entity.size()) {
    std::size_t nl = entity.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? entity.size() : nl;
    std::string_view line = entity.substr(pos, end - pos);
    const std::size_t next = nl == std::string_view::npos ? entity.size() : nl + 1;
    if (line.empty()) {
      body_at = next;
      break;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !name.empty()) {
      value += ' ';
      value += trim(line);
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      flush();
      name = std::string(line.substr(0, colon));
      value = std::string(line.substr(colon + 1));
    } else {
      // Not a header: the body starts here (a message without a blank line).
      body_at = pos;
      break;
    }
    pos = next;
  }
  flush();
  if (body_at > entity.size()) body_at = entity.size();
  return {h, entity.substr(body_at)};
}

// "text/plain; charset=utf-8; format=flowed" -> type "text/plain", params.
struct ContentType {
  std::string type = "text/plain";
  std::map<std::string, std::string> params;
};

ContentType content_type(const std::string& value) {
  ContentType ct;
  if (trim(value).empty()) return ct;
  std::size_t semi = value.find(';');
  ct.type = lower(trim(value.substr(0, semi)));
  while (semi != std::string::npos) {
    std::size_t start = semi + 1;
    std::size_t eq = value.find('=', start);
    if (eq == std::string::npos) break;
    std::string key = lower(trim(value.substr(start, eq - start)));
    std::size_t i = eq + 1;
    while (i < value.size() && value[i] == ' ') ++i;
    std::string v;
    if (i < value.size() && value[i] == '"') {
      ++i;
      while (i < value.size() && value[i] != '"') {
        if (value[i] == '\\' && i + 1 < value.size()) ++i;
        v += value[i++];
      }
      semi = value.find(';', i);
    } else {
      semi = value.find(';', i);
      v = trim(value.substr(i, semi == std::string::npos ? std::string::npos : semi - i));
    }
    ct.params.emplace(key, v);
  }
  return ct;
}

std::string strip_html(std::string_view html) {
  std::string out;
  for (std::size_t i = 0; i < html.size(); ++i) {
    if (html[i] == '<') {
      const std::size_t close = html.find('>', i);
      if (close == std::string_view::npos) break;
      std::string tag = lower(html.substr(i + 1, std::min<std::size_t>(close - i - 1, 10)));
      if (tag.starts_with("br") || tag.starts_with("/p") || tag.starts_with("/div") || tag.starts_with("/li") ||
          tag.starts_with("/tr") || tag.starts_with("/h"))
        out += '\n';
      if (tag.starts_with("style") || tag.starts_with("script") || tag.starts_with("head")) {
        const std::string end = "</" + tag.substr(0, tag.find_first_of(" >/\t\n", 1) == std::string::npos
                                                         ? tag.size()
                                                         : tag.find_first_of(" >/\t\n", 1));
        std::size_t stop = lower(html).find(end, close);
        i = stop == std::string::npos ? html.size() : html.find('>', stop);
        if (i == std::string_view::npos) break;
        continue;
      }
      i = close;
    } else if (html[i] == '&') {
      static const std::pair<const char*, const char*> kEntities[] = {{"&amp;", "&"},   {"&lt;", "<"},  {"&gt;", ">"},
                                                                      {"&quot;", "\""}, {"&#39;", "'"}, {"&apos;", "'"},
                                                                      {"&nbsp;", " "}};
      bool done = false;
      for (const auto& [name, ch] : kEntities)
        if (html.substr(i).starts_with(name)) {
          out += ch;
          i += std::char_traits<char>::length(name) - 1;
          done = true;
          break;
        }
      if (!done) out += '&';
    } else if (html[i] != '\n' || (!out.empty() && out.back() != '\n')) {
      out += html[i] == '\n' ? ' ' : html[i];
    }
  }
  return out;
}

// The text of an entity: its first text/plain part, else its first
// text/html one. `html` receives the latter when no plain part is found.
std::optional<std::string> entity_text(std::string_view entity, std::optional<std::string>& html, int depth) {
  auto [headers, body] = split_entity(entity);
  const ContentType ct = content_type(headers.get("content-type"));
  if (ct.type.starts_with("multipart/")) {
    auto b = ct.params.find("boundary");
    if (b == ct.params.end() || b->second.empty() || depth > 8) return std::nullopt;
    const std::string delimiter = "--" + b->second;
    std::vector<std::string_view> parts;
    std::size_t pos = 0, part_start = std::string_view::npos;
    while (pos <= body.size()) {
      std::size_t nl = body.find('\n', pos);
      const std::size_t end = nl == std::string_view::npos ? body.size() : nl;
      std::string_view line = body.substr(pos, end - pos);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      if (line.starts_with(delimiter)) {
        if (part_start != std::string_view::npos) parts.push_back(body.substr(part_start, pos - part_start));
        if (line.substr(delimiter.size()).starts_with("--")) {
          part_start = std::string_view::npos;
          break;
        }
        part_start = nl == std::string_view::npos ? body.size() : nl + 1;
      }
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    if (part_start != std::string_view::npos && part_start < body.size()) parts.push_back(body.substr(part_start));
    for (auto part : parts)
      if (auto t = entity_text(part, html, depth + 1)) return t;
    return std::nullopt;
  }
  if (ct.type != "text/plain" && ct.type != "text/html") return std::nullopt;
  const std::string cte = lower(headers.get("content-transfer-encoding"));
  std::string bytes = cte == "quoted-printable" ? decode_qp(body, false)
                      : cte == "base64"         ? decode_base64(body)
                                                : std::string(body);
  auto cs = ct.params.find("charset");
  std::string text = to_utf8(bytes, cs == ct.params.end() ? "utf-8" : cs->second);
  if (ct.type == "text/html") {
    if (!html) html = strip_html(text);
    return std::nullopt;
  }
  return text;
}

std::string unquote_name(std::string name) {
  name = trim(name);
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
    std::string out;
    for (std::size_t i = 1; i + 1 < name.size(); ++i) {
      if (name[i] == '\\' && i + 2 < name.size()) ++i;
      out += name[i];
    }
    return out;
  }
  return name;
}

MailAddress parse_address(const std::string& value) {
  MailAddress a;
  // The first address of a list: a comma outside quotes and angle brackets ends it.
  std::string first;
  bool quoted = false;
  int angle = 0;
  for (char ch : value) {
    if (ch == '"') quoted = !quoted;
    if (!quoted && ch == '<') ++angle;
    if (!quoted && ch == '>') --angle;
    if (!quoted && angle <= 0 && ch == ',') break;
    first += ch;
  }
  const auto lt = first.rfind('<');
  const auto gt = first.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) {
    a.address = trim(first.substr(lt + 1, gt - lt - 1));
    a.name = decode_words(unquote_name(first.substr(0, lt)));
  } else {
    const auto paren = first.find('(');
    a.address = trim(first.substr(0, paren));
    if (paren != std::string::npos) {
      const auto close = first.find(')', paren);
      a.name = decode_words(
          trim(first.substr(paren + 1, close == std::string::npos ? std::string::npos : close - paren - 1)));
    }
  }
  return a;
}

bool is_blank(std::string_view line) { return trim(line).empty(); }

bool is_quoted(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i < line.size() && line[i] == '>';
}

// The attribution line a mail client puts before the quote.
bool is_attribution(std::string_view line) {
  const std::string t = trim(line);
  return t.ends_with("wrote:") || t.ends_with("schrieb:") || t.ends_with("a écrit :") || t.ends_with("escribió:");
}

}  // namespace

std::string decode_words(std::string_view value) {
  std::string out;
  std::string pending_space;
  bool last_was_word = false;
  std::size_t i = 0;
  while (i < value.size()) {
    if (value.substr(i).starts_with("=?")) {
      // =?charset?Q|B?text?=
      const std::size_t q1 = value.find('?', i + 2);
      const std::size_t q2 = q1 == std::string_view::npos ? q1 : value.find('?', q1 + 1);
      const std::size_t end = q2 == std::string_view::npos ? q2 : value.find("?=", q2 + 1);
      if (end != std::string_view::npos && q2 == q1 + 2) {
        std::string charset(value.substr(i + 2, q1 - i - 2));
        if (auto star = charset.find('*'); star != std::string::npos) charset.resize(star);  // RFC 2231 language
        const char enc = static_cast<char>(std::tolower(static_cast<unsigned char>(value[q1 + 1])));
        const std::string_view text = value.substr(q2 + 1, end - q2 - 1);
        if (enc == 'q' || enc == 'b') {
          // White space between two encoded words is not part of the text.
          if (!last_was_word) out += pending_space;
          pending_space.clear();
          out += to_utf8(enc == 'q' ? decode_qp(text, true) : decode_base64(text), charset);
          last_was_word = true;
          i = end + 2;
          continue;
        }
      }
    }
    const char ch = value[i];
    if (ch == ' ' || ch == '\t') {
      pending_space += ch;
    } else {
      out += pending_space;
      pending_space.clear();
      out += ch;
      last_was_word = false;
    }
    ++i;
  }
  out += pending_space;
  return out;
}

std::vector<std::string> message_ids(std::string_view value) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = value.find('<', pos)) != std::string_view::npos) {
    const std::size_t end = value.find('>', pos);
    if (end == std::string_view::npos) break;
    std::string id(value.substr(pos, end - pos + 1));
    if (id.find_first_of(" \t") == std::string::npos && id.size() > 2) out.push_back(std::move(id));
    pos = end + 1;
  }
  return out;
}

std::optional<Time> parse_mail_date(std::string_view text) {
  // Tokens: [day-name ","] day month year hh:mm[:ss] zone, comments in () dropped.
  std::string clean;
  int depth = 0;
  for (char ch : text) {
    if (ch == '(') ++depth;
    if (depth == 0) clean += (ch == ',' ? ' ' : ch);
    if (ch == ')' && depth > 0) --depth;
  }
  std::vector<std::string> tok;
  std::string cur;
  for (char ch : clean + " ") {
    if (ch == ' ' || ch == '\t' || ch == '\n') {
      if (!cur.empty()) tok.push_back(cur), cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!tok.empty() && !std::isdigit(static_cast<unsigned char>(tok[0][0]))) tok.erase(tok.begin());
  if (tok.size() < 4) return std::nullopt;
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  auto number = [](const std::string& s) -> std::optional<int> {
    if (s.empty() || s.size() > 4 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoi(s);
  };
  auto day = number(tok[0]);
  int month = 0;
  for (int m = 0; m < 12; ++m)
    if (tok[1].size() >= 3 && ieq(tok[1].substr(0, 3), kMonths[m])) month = m + 1;
  auto year = number(tok[2]);
  if (!day || !month || !year || *day < 1 || *day > 31) return std::nullopt;
  int y = *year;
  if (tok[2].size() <= 2)
    y += y < 50 ? 2000 : 1900;
  else if (tok[2].size() == 3)
    y += 1900;
  int hh = 0, mm = 0, ss = 0;
  {
    const std::string& t = tok[3];
    unsigned parts[3] = {0, 0, 0};
    int n = 0;
    std::string piece;
    for (char ch : t + ":") {
      if (ch == ':') {
        auto v = number(piece);
        if (!v || n >= 3) return std::nullopt;
        parts[n++] = static_cast<unsigned>(*v);
        piece.clear();
      } else {
        piece += ch;
      }
    }
    if (n < 2 || parts[0] > 23 || parts[1] > 59 || parts[2] > 60) return std::nullopt;
    hh = static_cast<int>(parts[0]), mm = static_cast<int>(parts[1]), ss = static_cast<int>(std::min(parts[2], 59u));
  }
  int offset_min = 0;
  if (tok.size() > 4) {
    const std::string& z = tok[4];
    if ((z[0] == '+' || z[0] == '-') && z.size() == 5 && z.find_first_not_of("0123456789", 1) == std::string::npos) {
      offset_min = std::stoi(z.substr(1, 2)) * 60 + std::stoi(z.substr(3, 2));
      if (z[0] == '-') offset_min = -offset_min;
    } else {
      static const std::pair<const char*, int> kZones[] = {{"ut", 0},     {"gmt", 0},    {"z", 0},      {"utc", 0},
                                                           {"est", -300}, {"edt", -240}, {"cst", -360}, {"cdt", -300},
                                                           {"mst", -420}, {"mdt", -360}, {"pst", -480}, {"pdt", -420}};
      for (const auto& [name, off] : kZones)
        if (ieq(z, name)) offset_min = off;
    }
  }
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(month)},
                                 date::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) return std::nullopt;
  const auto t = date::sys_days{ymd} + std::chrono::hours{hh} + std::chrono::minutes{mm} + Seconds{ss} -
                 std::chrono::minutes{offset_min};
  return std::chrono::time_point_cast<Seconds>(t);
}

MailMessage parse_mail(std::string_view raw) {
  std::string lf;
  lf.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i)
    if (!(raw[i] == '\r' && i + 1 < raw.size() && raw[i + 1] == '\n')) lf += raw[i];
  MailMessage m;
  auto [headers, body] = split_entity(lf);
  (void)body;
  const auto ids = message_ids(headers.get("message-id"));
  if (!ids.empty()) m.message_id = ids.front();
  m.in_reply_to = message_ids(headers.get("in-reply-to"));
  m.references = message_ids(headers.get("references"));
  m.from = parse_address(headers.get("from"));
  m.date = parse_mail_date(headers.get("date"));
  m.subject = decode_words(headers.get("subject"));
  std::optional<std::string> html;
  if (auto t = entity_text(lf, html, 0))
    m.text = *t;
  else if (html)
    m.text = *html;
  return m;
}

std::string reply_text(std::string_view text) {
  const auto lines = split_lines(text);
  std::vector<std::string> kept;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::string t = trim(line);
    // Below the signature, or an original message quoted Outlook's way: nothing more of the reply.
    if (line == "-- " || line == "--" || t == "-----Original Message-----" || t.starts_with("-----Original") ||
        (t.size() >= 10 && t.find_first_not_of('_') == std::string::npos))
      break;
    if (starts_with_ci(t, "From:") && (kept.empty() || is_blank(kept.back()))) {
      bool header_block = false;
      for (std::size_t k = i + 1; k < lines.size() && k <= i + 4; ++k) {
        const std::string n = trim(lines[k]);
        if (starts_with_ci(n, "Sent:") || starts_with_ci(n, "Date:")) header_block = true;
      }
      if (header_block) break;
    }
    if (is_quoted(line)) {
      // The attribution above the quote, perhaps wrapped onto two lines.
      while (!kept.empty() && is_blank(kept.back())) kept.pop_back();
      if (!kept.empty() && is_attribution(kept.back())) {
        kept.pop_back();
        if (!kept.empty() && starts_with_ci(trim(kept.back()), "On ") && !is_attribution(kept.back()) &&
            trim(kept.back()).find(" wrote") == std::string::npos)
          kept.pop_back();
      }
      continue;
    }
    kept.push_back(line);
  }
  // Blank lines: none at either end, at most one in a row.
  std::string out;
  bool blank = false;
  for (const auto& line : kept) {
    if (is_blank(line)) {
      blank = !out.empty();
      continue;
    }
    if (blank) out += "\n";
    blank = false;
    std::string l = line;
    while (!l.empty() && (l.back() == ' ' || l.back() == '\t')) l.pop_back();
    out += l + "\n";
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  if (out.empty()) return trim(text);
  return out;
}

std::string received_text(std::string_view text, std::size_t max) {
  std::string out;
  out.reserve(std::min(text.size(), max) + 64);
  std::size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    bool valid = n > 0 && i + n <= text.size();
    for (std::size_t k = 1; valid && k < n; ++k) valid = (static_cast<unsigned char>(text[i + k]) & 0xc0) == 0x80;
    if (valid && n > 1 && !is_valid_utf8(text.substr(i, n))) valid = false;
    if (!valid) {
      if (out.size() + 3 > max) break;
      out += "\xef\xbf\xbd";
      ++i;
      continue;
    }
    if (out.size() + n > max) break;
    if (n == 1) {
      if (c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f)) out += static_cast<char>(c);
    } else if (!(n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0)) {
      out.append(text.substr(i, n));  // C1 controls (U+0080..U+009F) are dropped
    }
    i += n;
  }
  if (i < text.size()) out += fmt::format("\n[... {} more bytes not kept]", text.size() - i);
  return out;
}

}  // namespace esc
