#pragma once

#include <cstdio>
#include <string>
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

  // Long text: through $PAGER (default "less -FRX") when stdout is a terminal.
  void page(const std::string& text) const;

 private:
  bool stdout_tty_ = false;
  bool stderr_tty_ = false;
  bool color_ = false;
  bool quiet_ = false;
};

std::string csv_field(const std::string& s);
std::string csv_row(const std::vector<std::string>& fields);

}  // namespace esc::cli
