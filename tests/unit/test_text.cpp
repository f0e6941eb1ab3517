#include <doctest/doctest.h>

#include <clocale>

#include "esc/error.hpp"
#include "esc/text.hpp"
#include "esc/uri.hpp"

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

TEST_CASE("title words: four characters or more, lowercased, each once") {
  CHECK(title_words("Checkout fails for EU cards") == std::vector<std::string>{"checkout", "fails", "cards"});
  CHECK(title_words("LOGIN loop; login-loop again") == std::vector<std::string>{"login", "loop", "again"});
  CHECK(title_words("Zahlung über SEPA") == std::vector<std::string>{"zahlung", "über", "sepa"});
  CHECK(title_words("a b c 42").empty());
}

TEST_CASE("title similarity: rarer and more shared words rank higher") {
  const std::vector<std::string> words = {"checkout", "fails", "cards"};
  const std::vector<std::string> titles = {
      "Login fails",                  // 0: the common word only
      "Export fails",                 // 1: the common word only
      "Checkout fails for EU cards",  // 2: all three
      "Checkout slow for EU cards",   // 3: the two rarer ones
      "Sync fails",                   // 4: the common word only
      "Checkout fails",               // 5: two, one common
      "Nothing in common",            // 6: none (found through another form)
      "Checkout fails fails",         // 7: the common word twice
      "Checkout fails later",         // 8: the same length, once
  };
  auto s = title_similarity(words, titles);
  REQUIRE(s.size() == titles.size());
  CHECK(s[6] == 0.0);
  CHECK(s[2] > s[3]);
  CHECK(s[3] > s[5]);  // checkout and cards, each rarer here than fails
  CHECK(s[5] > s[0]);
  CHECK(s[0] == doctest::Approx(s[1]));
  CHECK(s[0] > 0.0);
  // A word twice counts for more, but not twice as much; a longer title
  // holding the same words counts for less.
  CHECK(s[7] > s[8]);
  CHECK(s[7] < s[8] * 2);
  CHECK(s[8] < s[5]);
  CHECK(title_similarity(words, {}).empty());
  CHECK(title_similarity({}, {"Checkout fails"}) == std::vector<double>{0.0});
}

TEST_CASE("a PostgreSQL URI's password is found wherever libpq would find one") {
  CHECK_FALSE(esc::uri_has_password("postgresql://esc@db.example.com:5432/esc?sslmode=verify-full"));
  CHECK(esc::uri_without_password("postgresql://esc:pw@db/esc") == "postgresql://esc:***@db/esc");
  CHECK(esc::uri_without_password("postgresql://esc:a@b@db/esc") == "postgresql://esc:***@db/esc");
  CHECK(esc::uri_without_password("postgresql://esc@db/esc?sslmode=require&password=pw&x=1") ==
        "postgresql://esc@db/esc?sslmode=require&password=***&x=1");
  CHECK(esc::uri_without_password("postgresql://esc@db/esc?PASS%77ord=pw") == "postgresql://esc@db/esc?PASS%77ord=***");
  CHECK(esc::uri_has_password("postgresql://esc@db/esc?sslpassword=k"));
  CHECK(esc::uri_password_pieces("postgresql://esc:Wr@ngPart7@db/esc") ==
        std::vector<std::string>{"Wr@ngPart7", "ngPart7"});
}
