#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace esc::cli {

enum class Style { none, bold, dim, red, red_bold, yellow, green, blue, magenta, cyan };

struct Column {
  std::string header;
  bool flex = false;   // takes what width is left, truncated to fit
  bool right = false;  // right-aligned
};

// Terminal-aware printing: colour only on a terminal (or --color always),
// never with NO_COLOR; tables cut to the terminal width; case text made
// inert before it reaches the terminal.
class Output {
 public:
  Output(const std::string& color_flag, bool quiet);

  bool stdout_is_tty() const { return stdout_tty_; }
  bool stdin_is_tty() const;
  bool color() const { return color_; }
  std::size_t width() const;
  // The locale takes UTF-8 (LC_ALL, LC_CTYPE or LANG, the first set, says
  // UTF-8): charts may draw with block characters, else plain ASCII.
  bool unicode() const;

  std::string paint(const std::string& s, Style style) const;
  Style severity_style(const std::string& severity) const;
  Style status_style(const std::string& status) const;

  // Messages on stderr (silenced by --quiet, except errors).
  void info(const std::string& message) const;
  void hint(const std::string& message) const;
  void warn(const std::string& message) const;

  // A table on stdout. Cells are made inert; colour styles per cell optional.
  void table(const std::vector<Column>& columns, std::vector<std::vector<std::string>> rows,
             const std::vector<std::vector<Style>>& styles = {}) const;

  // A table of any length: `rows` gives each row to the sink, which makes
  // its cells inert in place and keeps none of them (a row source can fill
  // the same vector for every row). A table of a few thousand rows is kept
  // from that one pass; a longer one is measured on it and printed on a
  // second call of `rows`, which must give the same rows again, so that
  // memory stays constant. Prints nothing when there are none; returns how
  // many there were.
  using RowSink = std::function<void(std::vector<std::string>& cells, const std::vector<Style>& styles)>;
  std::size_t table(const std::vector<Column>& columns, const std::function<void(const RowSink&)>& rows) const;

  // Long text: through $PAGER (default "less -FRX") when stdout is a terminal.
  void page(const std::string& text) const;

  // The same, written a piece at a time.
  class Pager {
   public:
    explicit Pager(const Output& out);
    ~Pager();
    Pager(const Pager&) = delete;
    Pager& operator=(const Pager&) = delete;
    void write(std::string_view text);

   private:
    FILE* pipe_ = nullptr;
  };

 private:
  std::vector<std::size_t> header_widths(const std::vector<Column>& columns) const;
  // The header line of a table whose columns are `w` wide.
  std::string header_row(const std::vector<Column>& columns, const std::vector<std::size_t>& w) const;
  // The widths of the columns, the flexible one cut to what the terminal has left.
  std::vector<std::size_t> fit(const std::vector<Column>& columns, std::vector<std::size_t> w) const;
  // One line of a table into `out`, from a cell per column; `widths` are
  // their display widths when known, `styles` a style per column or none.
  void table_row(std::string& out, const std::vector<Column>& columns, const std::vector<std::size_t>& w,
                 const std::string_view* cells, const std::size_t* widths, const Style* styles, bool header) const;

  bool stdout_tty_ = false;
  bool stderr_tty_ = false;
  bool color_ = false;
  bool quiet_ = false;
};

std::string csv_field(const std::string& s);
std::string csv_row(const std::vector<std::string>& fields);

}  // namespace esc::cli
