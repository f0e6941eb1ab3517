#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace esc {

bool is_valid_utf8(std::string_view s);

// Appends the code point `cp` to `out` as UTF-8.
void append_utf8(std::string& out, char32_t cp);

// True when `s` holds a C0/C1 control character or DEL other than those in
// `allowed` (e.g. "\n\t" for multi-line text).
bool has_control_chars(std::string_view s, std::string_view allowed = {});

// Checks text given by the user; throws a data Error (65) naming `what`.
// Single-line fields refuse every control character; multi-line ones allow
// newline and tab (carriage returns are dropped).
std::string checked_line(std::string_view s, std::string_view what);
std::string checked_text(std::string_view s, std::string_view what);

// Makes text safe to print on a terminal: control characters, including
// ESC and C1 codes, are shown inert as ^X or \uXXXX; invalid UTF-8 as U+FFFD.
// Newlines survive only when keep_newlines is set.
std::string inert(std::string_view s, bool keep_newlines = false);
// Printable ASCII only: what inert() gives back unchanged, told quickly.
bool is_printable_ascii(std::string_view s);

// Columns the UTF-8 text takes on a terminal.
std::size_t display_width(std::string_view s);

// Cuts to at most `width` columns, ending with "…" when cut.
std::string truncate_to_width(std::string_view s, std::size_t width);

// Word-wraps one paragraph to `width` columns; long words are split.
std::vector<std::string> wrap(std::string_view s, std::size_t width);

std::string trim(std::string_view s);
std::string lower(std::string_view s);
std::vector<std::string> split_lines(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// The words of a title that say something (four characters or more; a word
// is a run of letters and digits, or of any non-ASCII text), lowercased,
// each once, in the order given: what similar cases are looked up by.
std::vector<std::string> title_words(std::string_view title);

// How well each title matches the words (from title_words()): BM25
// (k1 = 1.2, b = 0.75) with how many of these titles hold each word as its
// rarity, so a word most of them share counts for little. The titles are
// the candidates a full-text search found; higher is better.
std::vector<double> title_similarity(const std::vector<std::string>& words, const std::vector<std::string>& titles);

}  // namespace esc
