// Time, duration and text parsing with arbitrary input: RFC 3339 round-trips,
// durations are positive, inert() output is safe for a terminal and valid
// UTF-8, wrapping and truncation hold their width.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "esc/error.hpp"
#include "esc/text.hpp"
#include "esc/time.hpp"

namespace {

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_parse: %s\n", why);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  const esc::Time now{esc::Seconds{1'790'000'000}};
  if (auto t = esc::parse_rfc3339(s)) {
    // What parses formats back to something that parses to the same time.
    if (esc::parse_rfc3339(esc::format_rfc3339(*t)) != t) fail("RFC 3339 does not round-trip");
    (void)esc::format_utc(*t);
    (void)esc::format_relative(*t, now);
  }
  if (auto d = esc::parse_duration(s)) {
    if (d->count() <= 0) fail("a duration that is not positive");
    (void)esc::format_duration(*d);
  }
  if (auto w = esc::parse_when(s, now)) (void)esc::format_rfc3339(*w);

  // inert(): no terminal control survives, the result is valid UTF-8, and
  // printable ASCII is left as it is.
  for (bool keep : {false, true}) {
    const std::string shown = esc::inert(s, keep);
    for (char ch : shown)
      if (ch == '\x1b' || ch == '\a' || ch == '\r' || ch == '\0') fail("inert() kept a control character");
    if (!esc::is_valid_utf8(shown)) fail("inert() gave invalid UTF-8");
    if (esc::has_control_chars(shown, keep ? "\n\t" : "")) fail("inert() kept a control character");
    if (!keep && shown.find('\n') != std::string::npos) fail("inert() kept a newline it was told to drop");
  }
  if (esc::is_printable_ascii(s) && esc::inert(s) != s) fail("inert() changed printable ASCII");

  const std::string shown = esc::inert(s, true);
  const std::string head = shown.substr(0, 4096);
  for (const auto& line : esc::wrap(head, 40))
    if (esc::display_width(line) > 40) fail("wrap() gave a line wider than asked");
  const std::size_t width = size ? data[0] % 50 : 0;
  if (esc::display_width(esc::truncate_to_width(head, width)) > width) fail("truncate_to_width() too wide");

  try {
    const std::string line = esc::checked_line(s, "input");
    if (esc::has_control_chars(line) || !esc::is_valid_utf8(line)) fail("checked_line() let a control through");
  } catch (const esc::Error&) {
  }
  try {
    const std::string text = esc::checked_text(s, "input");
    if (text.find('\r') != std::string::npos || !esc::is_valid_utf8(text)) fail("checked_text() kept a CR");
  } catch (const esc::Error&) {
  }

  const auto words = esc::title_words(head);
  const auto scores = esc::title_similarity(words, esc::split_lines(head));
  for (double x : scores)
    if (!std::isfinite(x) || x < 0) fail("title_similarity() gave a score that is not a number");
  return 0;
}
