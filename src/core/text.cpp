#include "esc/text.hpp"

#include <algorithm>
#include <clocale>
#include <cmath>

#include <fmt/format.h>

#include <cwchar>

#include "esc/error.hpp"

namespace esc {

namespace {

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
size_t decode(std::string_view s, size_t i, char32_t& cp) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  size_t n;
  char32_t min;
  if ((c & 0xe0) == 0xc0) {
    n = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

bool is_control(char32_t cp) { return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0); }

// Bidirectional overrides can make text read differently from what it is.
bool is_bidi_control(char32_t cp) { return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069); }

int cp_width(char32_t cp) {
  if (cp >= 0x20 && cp < 0x7f) return 1;
  if (cp == 0) return 0;
  // wcwidth() needs a UTF-8 locale; loading one costs a few hundred
  // microseconds, so only the first text that is not ASCII pays for it.
  static const bool utf8 = std::setlocale(LC_CTYPE, "C.UTF-8") != nullptr;
  (void)utf8;
  int w = ::wcwidth(static_cast<wchar_t>(cp));
  return w < 0 ? 1 : w;
}

}  // namespace

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t n = decode(s, i, cp);
    if (!n) return false;
    i += n;
  }
  return true;
}

bool has_control_chars(std::string_view s, std::string_view allowed) {
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t n = decode(s, i, cp);
    if (!n) return true;
    if (is_control(cp) && !(cp < 0x80 && allowed.find(static_cast<char>(cp)) != std::string_view::npos)) return true;
    i += n;
  }
  return false;
}

std::string checked_line(std::string_view s, std::string_view what) {
  if (!is_valid_utf8(s)) throw data_error(fmt::format("{} is not valid UTF-8", what));
  if (has_control_chars(s))
    throw data_error(fmt::format("{} holds control characters (a line of plain text is expected)", what));
  return trim(s);
}

std::string checked_text(std::string_view s, std::string_view what) {
  if (!is_valid_utf8(s)) throw data_error(fmt::format("{} is not valid UTF-8", what));
  std::string out;
  out.reserve(s.size());
  for (char ch : s)
    if (ch != '\r') out += ch;
  // Trailing blank lines (an editor's final newline) carry nothing.
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '\t')) out.pop_back();
  return out;
}

namespace {
bool printable_ascii(char c) { return c >= 0x20 && c < 0x7f; }
}  // namespace

bool is_printable_ascii(std::string_view s) {
  // No early exit: the compiler does this many bytes at a time.
  unsigned bad = 0;
  for (unsigned char c : s) bad |= static_cast<unsigned>(c < 0x20) | static_cast<unsigned>(c >= 0x7f);
  return !bad;
}

std::string inert(std::string_view s, bool keep_newlines) {
  if (is_printable_ascii(s)) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t n = decode(s, i, cp);
    if (!n) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
      continue;
    }
    if (cp == '\n' && keep_newlines) {
      out += '\n';
    } else if (cp == '\t') {
      out += keep_newlines ? "\t" : " ";
    } else if (cp == '\n') {
      out += " ";
    } else if (cp < 0x20 || cp == 0x7f) {
      out += '^';
      out += static_cast<char>(cp == 0x7f ? '?' : cp + '@');
    } else if (is_control(cp) || is_bidi_control(cp)) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(cp));
    } else {
      append_utf8(out, cp);
    }
    i += n;
  }
  return out;
}

std::size_t display_width(std::string_view s) {
  if (is_printable_ascii(s)) return s.size();  // one column each
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    if (printable_ascii(s[i])) {  // one column each
      ++w, ++i;
      continue;
    }
    char32_t cp;
    size_t n = decode(s, i, cp);
    if (!n) {
      ++w, ++i;
      continue;
    }
    // Skip SGR colour sequences we emit ourselves.
    if (cp == 0x1b && i + 1 < s.size() && s[i + 1] == '[') {
      size_t j = i + 2;
      while (j < s.size() && s[j] != 'm') ++j;
      i = j + 1;
      continue;
    }
    w += static_cast<size_t>(cp_width(cp));
    i += n;
  }
  return w;
}

std::string truncate_to_width(std::string_view s, std::size_t width) {
  if (display_width(s) <= width) return std::string(s);
  if (width == 0) return {};
  std::string out;
  size_t w = 0;
  for (size_t i = 0; i < s.size();) {
    char32_t cp;
    size_t n = decode(s, i, cp);
    if (!n) n = 1, cp = 0xfffd;
    int cw = cp_width(cp);
    if (w + static_cast<size_t>(cw) + 1 > width) break;
    out.append(s.substr(i, n));
    w += static_cast<size_t>(cw);
    i += n;
  }
  return out + "…";
}

std::vector<std::string> wrap(std::string_view s, std::size_t width) {
  // One pass over the text, each byte looked at a bounded number of times:
  // a pasted log of any size wraps in linear time.
  if (width == 0) width = 1;
  std::vector<std::string> lines;
  std::string line;
  std::size_t line_w = 0;
  auto push = [&] {
    lines.push_back(std::move(line));
    line.clear();
    line_w = 0;
  };
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    std::size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j == i) break;
    std::string_view word = s.substr(i, j - i);
    i = j;
    std::size_t ww = display_width(word);
    if (line_w && line_w + 1 + ww > width) push();
    // A word longer than a line is split between UTF-8 sequences.
    while (ww > width) {
      if (line_w) push();
      std::size_t cut = 0, w = 0;
      while (cut < word.size()) {
        char32_t cp;
        std::size_t n = decode(word, cut, cp);
        if (!n) n = 1, cp = 0xfffd;
        const auto cw = static_cast<std::size_t>(cp_width(cp));
        if (w + cw > width && cut > 0) break;
        w += cw;
        cut += n;
      }
      line.assign(word.substr(0, cut));
      push();
      word.remove_prefix(cut);
      ww -= std::min(ww, w);
    }
    if (!word.empty()) {
      if (line_w) line += ' ', ++line_w;
      line += word;
      line_w += ww;
    }
  }
  if (!line.empty() || lines.empty()) lines.push_back(std::move(line));
  return lines;
}

std::string trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && (s[a] == ' ' || s[a] == '\t' || s[a] == '\n' || s[a] == '\r')) ++a;
  while (b > a && (s[b - 1] == ' ' || s[b - 1] == '\t' || s[b - 1] == '\n' || s[b - 1] == '\r')) --b;
  return std::string(s.substr(a, b - a));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  return out;
}

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '\n') {
      out.emplace_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

namespace {

// Calls fn(word) for each word of s, lowercased (ASCII letters only).
template <typename F>
void each_word(std::string_view s, F&& fn) {
  std::string w;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c >= 0x80) {
      w += ch;
    } else if (c >= 'A' && c <= 'Z') {
      w += static_cast<char>(c - 'A' + 'a');
    } else if (!w.empty()) {
      fn(w);
      w.clear();
    }
  }
  if (!w.empty()) fn(w);
}

}  // namespace

std::vector<std::string> title_words(std::string_view title) {
  std::vector<std::string> out;
  each_word(title, [&](const std::string& w) {
    if (w.size() >= 4 && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  });
  return out;
}

std::vector<double> title_similarity(const std::vector<std::string>& words, const std::vector<std::string>& titles) {
  constexpr double k1 = 1.2, b = 0.75;
  const std::size_t n = titles.size();
  // Per title: its length in words, and how often it holds each word.
  std::vector<double> length(n, 0.0);
  std::vector<double> freq(n * words.size(), 0.0);
  std::vector<double> holding(words.size(), 0.0);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    each_word(titles[i], [&](const std::string& w) {
      length[i] += 1;
      for (std::size_t k = 0; k < words.size(); ++k)
        if (w == words[k] && freq[i * words.size() + k]++ == 0) holding[k] += 1;
    });
    total += length[i];
  }
  const double avg = n && total > 0 ? total / static_cast<double>(n) : 1.0;
  std::vector<double> idf(words.size());
  for (std::size_t k = 0; k < words.size(); ++k)
    idf[k] = std::log(1.0 + (static_cast<double>(n) - holding[k] + 0.5) / (holding[k] + 0.5));
  std::vector<double> score(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double norm = k1 * (1 - b + b * length[i] / avg);
    for (std::size_t k = 0; k < words.size(); ++k) {
      const double f = freq[i * words.size() + k];
      if (f > 0) score[i] += idf[k] * f * (k1 + 1.0) / (f + norm);
    }
  }
  return score;
}

}  // namespace esc
