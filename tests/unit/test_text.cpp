#include <doctest/doctest.h>

#include <clocale>

#include "esc/error.hpp"
#include "esc/text.hpp"

using namespace esc;

TEST_CASE("UTF-8 validation") {
  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("Zürich – 東京"));
  CHECK_FALSE(is_valid_utf8("\xff\xfe"));
  CHECK_FALSE(is_valid_utf8("\xc3"));          // truncated
  CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
  CHECK_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong
}

TEST_CASE("single-line fields refuse control characters; text keeps lines") {
  CHECK(checked_line("  a title ", "title") == "a title");
  CHECK_THROWS_AS(checked_line("a\r\nBcc: x@y", "title"), Error);
  CHECK_THROWS_AS(checked_line("bell\a", "title"), Error);
  CHECK_THROWS_AS(checked_line("\xff", "title"), Error);
  CHECK(checked_text("line one\r\nline two\n\n", "text") == "line one\nline two");
  CHECK_THROWS_AS(checked_text("\xff", "text"), Error);
}

TEST_CASE("inert() neutralises terminal escapes") {
  const std::string osc52 = "\x1b]52;c;ZWNobyBoaQ==\x07";
  std::string shown = inert(osc52);
  CHECK(shown.find('\x1b') == std::string::npos);
  CHECK(shown.find('\x07') == std::string::npos);
  CHECK(shown.starts_with("^[]52;"));
  CHECK(inert("a\nb") == "a b");
  CHECK(inert("a\nb", true) == "a\nb");
  CHECK(inert("\xc2\x9b"
              "2J") == "\\u009b2J");  // C1 CSI
  CHECK(inert("\xff") == "\xef\xbf\xbd");
  CHECK(inert("\u202e") == "\\u202e");  // right-to-left override
}

TEST_CASE("display width, truncation and wrapping") {
  std::setlocale(LC_CTYPE, "C.UTF-8");
  CHECK(display_width("abc") == 3);
  CHECK(display_width("東京") == 4);
  CHECK(display_width("\x1b[31mred\x1b[0m") == 3);
  CHECK(truncate_to_width("abcdef", 4) == "abc…");
  CHECK(truncate_to_width("abc", 4) == "abc");
  CHECK(display_width(truncate_to_width("東京東京", 5)) <= 5);
  auto lines = wrap("the quick brown fox jumps over the lazy dog", 10);
  CHECK(lines.size() == 5);
  for (const auto& l : lines) CHECK(display_width(l) <= 10);
  auto long_word = wrap(std::string(25, 'x'), 10);
  CHECK(long_word.size() == 3);
  CHECK(wrap("", 10) == std::vector<std::string>{""});
}
