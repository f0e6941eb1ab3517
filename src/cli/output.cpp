#include "output.hpp"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>

#include "esc/text.hpp"

namespace esc::cli {

Output::Output(const std::string& color_flag, bool quiet) : quiet_(quiet) {
  stdout_tty_ = ::isatty(STDOUT_FILENO);
  stderr_tty_ = ::isatty(STDERR_FILENO);
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  if (color_flag == "always")
    color_ = true;
  else if (color_flag == "never")
    color_ = false;
  else
    color_ = stdout_tty_ && !(no_color && *no_color) && !(term && std::string(term) == "dumb");
}

bool Output::stdin_is_tty() const { return ::isatty(STDIN_FILENO); }

std::size_t Output::width() const {
  if (const char* c = std::getenv("COLUMNS"); c && *c) {
    long v = std::strtol(c, nullptr, 10);
    if (v >= 20 && v <= 1000) return static_cast<size_t>(v);
  }
  winsize ws{};
  if (stdout_tty_ && ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return stdout_tty_ ? 80 : 0;  // 0: not a terminal, no limit
}

bool Output::unicode() const {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* v = std::getenv(name);
    if (!v || !*v) continue;
    const std::string s = lower(v);
    return s.find("utf-8") != std::string::npos || s.find("utf8") != std::string::npos;
  }
  return false;
}

std::string Output::paint(const std::string& s, Style style) const {
  if (!color_ || style == Style::none || s.empty()) return s;
  const char* code = "";
  switch (style) {
    case Style::bold:
      code = "1";
      break;
    case Style::dim:
      code = "2";
      break;
    case Style::red:
      code = "31";
      break;
    case Style::red_bold:
      code = "1;31";
      break;
    case Style::yellow:
      code = "33";
      break;
    case Style::green:
      code = "32";
      break;
    case Style::blue:
      code = "34";
      break;
    case Style::magenta:
      code = "35";
      break;
    case Style::cyan:
      code = "36";
      break;
    case Style::none:
      break;
  }
  return fmt::format("\x1b[{}m{}\x1b[0m", code, s);
}

Style Output::severity_style(const std::string& s) const {
  if (s == "critical") return Style::red_bold;
  if (s == "high") return Style::red;
  if (s == "medium") return Style::yellow;
  if (s == "low") return Style::dim;
  return Style::none;
}

Style Output::status_style(const std::string& s) const {
  if (s == "escalated") return Style::magenta;
  if (s == "resolved") return Style::green;
  return Style::none;
}

// Each line goes to stderr in one write: no other process's output lands
// inside it, and a command's few lines cost a system call each.
void Output::info(const std::string& m) const {
  if (!quiet_) std::cerr << fmt::format("{}\n", m);
}

void Output::hint(const std::string& m) const {
  if (!quiet_) std::cerr << fmt::format("hint: {}\n", m);
}

void Output::warn(const std::string& m) const { std::cerr << fmt::format("esc: warning: {}\n", m); }

std::vector<std::size_t> Output::fit(const std::vector<Column>& columns, std::vector<std::size_t> w) const {
  const size_t n = columns.size();
  const size_t total = width();
  if (!total) return w;
  // The fixed columns keep their width; the flexible ones share what is
  // left, each getting at least an even share (or what it needs, if less),
  // so that none of them is squeezed out by another.
  size_t fixed = 2 * (n - 1), want = 0;
  std::vector<size_t> flex;
  for (size_t i = 0; i < n; ++i) {
    if (columns[i].flex)
      flex.push_back(i), want += w[i];
    else
      fixed += w[i];
  }
  if (flex.empty()) return w;
  size_t room = total > fixed + 10 * flex.size() ? total - fixed : 10 * flex.size();
  if (want <= room) return w;
  std::sort(flex.begin(), flex.end(), [&](size_t a, size_t b) { return w[a] < w[b]; });
  for (size_t k = 0; k < flex.size(); ++k) {
    const size_t share = room / (flex.size() - k);
    const size_t i = flex[k];
    w[i] = std::min(w[i], share);
    room -= w[i];
  }
  return w;
}

void Output::table_row(std::string& out, const std::vector<Column>& columns, const std::vector<std::size_t>& w,
                       const std::string_view* cells, const std::size_t* widths, const Style* st, bool header) const {
  const size_t n = columns.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string_view cell = cells[i];
    std::size_t cw = widths ? widths[i] : display_width(cell);
    std::string cut;
    const bool truncated = cw > w[i];
    if (truncated) {
      cut = truncate_to_width(cell, w[i]);
      cw = display_width(cut);
    }
    const std::string_view v = truncated ? std::string_view(cut) : cell;
    const size_t pad = w[i] - std::min(w[i], cw);
    const bool last = i + 1 == n;
    const Style s = header ? Style::bold : (st ? st[i] : Style::none);
    if (columns[i].right) out.append(pad, ' ');
    if (color_ && s != Style::none && !v.empty())
      out += paint(std::string(v), s);
    else
      out += v;
    if (!columns[i].right && !last) out.append(pad, ' ');
    if (!last) out += "  ";
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  out += '\n';
}

namespace {
// Makes a row's cells inert and appends their display widths to `widths`,
// widening the columns in `w`. A missing cell is an empty one.
void measure(std::vector<std::string>& r, size_t n, std::vector<std::size_t>& w, std::vector<std::size_t>& widths) {
  r.resize(std::max(r.size(), n));
  for (size_t i = 0; i < n; ++i) {
    if (is_printable_ascii(r[i]))
      widths.push_back(r[i].size());  // a column a character
    else
      r[i] = inert(r[i]), widths.push_back(display_width(r[i]));
    w[i] = std::max(w[i], widths.back());
  }
}

// Appends a row's styles to `out`, one per column: those not given, none.
void append_styles(std::vector<Style>& out, const std::vector<Style>& styles, size_t n) {
  const size_t given = std::min(n, styles.size());
  out.insert(out.end(), styles.begin(), styles.begin() + static_cast<std::ptrdiff_t>(given));
  out.resize(out.size() + n - given, Style::none);
}
}  // namespace

std::vector<std::size_t> Output::header_widths(const std::vector<Column>& columns) const {
  std::vector<size_t> w;
  for (const auto& c : columns) w.push_back(display_width(c.header));
  return w;
}

std::string Output::header_row(const std::vector<Column>& columns, const std::vector<std::size_t>& w) const {
  std::vector<std::string_view> headers;
  for (const auto& c : columns) headers.emplace_back(c.header);
  std::string out;
  table_row(out, columns, w, headers.data(), nullptr, nullptr, true);
  return out;
}

void Output::table(const std::vector<Column>& columns, std::vector<std::vector<std::string>> cells,
                   const std::vector<std::vector<Style>>& styles) const {
  if (cells.empty()) {
    page(header_row(columns, fit(columns, header_widths(columns))));
    return;
  }
  const std::vector<Style> none;
  table(columns, [&](const RowSink& sink) {
    for (size_t k = 0; k < cells.size(); ++k) sink(cells[k], k < styles.size() ? styles[k] : none);
  });
}

std::size_t Output::table(const std::vector<Column>& columns, const std::function<void(const RowSink&)>& rows) const {
  // Up to kKeptRows rows are kept from the first pass and printed from
  // memory, their cells one after another in one string; past that they
  // are let go, and made again on a second pass.
  constexpr size_t kKeptRows = 5000;
  const size_t n = columns.size();
  std::vector<size_t> w = header_widths(columns), cell_w;
  std::string kept;
  std::vector<size_t> ends;  // where each kept cell ends in `kept`
  std::vector<Style> kept_styles;
  size_t count = 0;
  rows([&](std::vector<std::string>& r, const std::vector<Style>& styles) {
    if (++count > kKeptRows) {
      if (!ends.empty()) kept = {}, ends = {}, kept_styles = {}, cell_w = {};
      std::vector<std::size_t> widths;
      measure(r, n, w, widths);
      return;
    }
    measure(r, n, w, cell_w);
    for (size_t i = 0; i < n; ++i) {
      kept += r[i];
      ends.push_back(kept.size());
    }
    if (color_) append_styles(kept_styles, styles, n);  // without colour, unused
  });
  if (count == 0) return 0;
  w = fit(columns, std::move(w));
  std::vector<std::string_view> views(n);
  if (count <= kKeptRows) {
    std::string out = header_row(columns, w);
    size_t line_width = 2 * n + 1;
    for (size_t x : w) line_width += x;
    out.reserve((count + 1) * line_width);  // one allocation, however many rows
    for (size_t k = 0, from = 0; k < count; ++k) {
      for (size_t i = 0; i < n; ++i) {
        const size_t to = ends[k * n + i];
        views[i] = std::string_view(kept).substr(from, to - from);
        from = to;
      }
      table_row(out, columns, w, views.data(), cell_w.data() + k * n, color_ ? kept_styles.data() + k * n : nullptr,
                false);
    }
    page(out);
    return count;
  }
  Pager pager(*this);
  std::string out = header_row(columns, w);
  std::vector<Style> row_styles;
  rows([&](std::vector<std::string>& r, const std::vector<Style>& styles) {
    r.resize(std::max(r.size(), n));
    for (size_t i = 0; i < n; ++i) {
      if (!is_printable_ascii(r[i])) r[i] = inert(r[i]);
      views[i] = r[i];
    }
    row_styles.clear();
    if (color_) append_styles(row_styles, styles, n);
    table_row(out, columns, w, views.data(), nullptr, color_ ? row_styles.data() : nullptr, false);
    if (out.size() >= (64 << 10)) {
      pager.write(out);
      out.clear();
    }
  });
  pager.write(out);
  return count;
}

namespace {

// Whether the program a command line starts with can be run: a path, or a
// name found on $PATH.
bool runnable(const std::string& command) {
  const std::string program = command.substr(0, command.find_first_of(" \t"));
  if (program.empty()) return false;
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    const auto end = dirs.find(':', start);
    const std::string dir = dirs.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return false;
}

}  // namespace

Output::Pager::Pager(const Output& o) {
  if (!o.stdout_tty_ || !o.stdin_is_tty()) return;
  std::string pager = "less -FRX";
  if (const char* p = std::getenv("PAGER"); p) pager = p;
  // No pager to run (none installed, or a typo in $PAGER): the text is
  // printed as it is, as git does.
  if (pager.empty() || pager == "cat" || !runnable(pager)) return;
  std::cout << std::flush;
  pipe_ = ::popen(pager.c_str(), "w");
  if (pipe_) ::signal(SIGPIPE, SIG_IGN);
}

Output::Pager::~Pager() {
  if (pipe_)
    ::pclose(pipe_);
  else
    std::cout << std::flush;
}

void Output::Pager::write(std::string_view text) {
  if (pipe_)
    std::fwrite(text.data(), 1, text.size(), pipe_);
  else
    std::cout << text;
}

void Output::page(const std::string& text) const {
  Pager pager(*this);
  pager.write(text);
}

std::string csv_field(const std::string& raw) {
  // A spreadsheet or a terminal may read the field: no control character
  // gets through live (OSC 52 clipboard writes, OSC 8 links...).
  const std::string s = inert(raw, true);
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string csv_row(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    out += csv_field(fields[i]);
  }
  return out + "\n";
}

}  // namespace esc::cli
