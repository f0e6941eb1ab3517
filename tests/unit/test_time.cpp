#include <doctest/doctest.h>

#include <cstdlib>

#include "esc/error.hpp"
#include "esc/time.hpp"

using namespace esc;

TEST_CASE("RFC 3339 times parse in UTC and with offsets") {
  auto t = parse_rfc3339("2026-11-22T10:00:00Z");
  REQUIRE(t);
  CHECK(format_rfc3339(*t) == "2026-11-22T10:00:00Z");
  CHECK(parse_rfc3339("2026-11-22T11:30:00+01:30") == t);
  CHECK(parse_rfc3339("2026-11-22t10:00:00z") == t);
  CHECK(parse_rfc3339("2026-11-22 10:00:00Z") == t);
  CHECK(parse_rfc3339("2026-11-22T10:00:00.250Z") == t);
  CHECK_FALSE(parse_rfc3339("2026-11-22"));
  CHECK_FALSE(parse_rfc3339("2026-13-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-22T10:00:00Zjunk"));
  CHECK_FALSE(parse_rfc3339(""));
  // Found by fuzz_parse: out-of-range fields must be refused before any arithmetic.
  CHECK_FALSE(parse_rfc3339("99999-01-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-01-01T00:00:00+99:99"));
  CHECK_FALSE(parse_rfc3339("2026-01-01T00:00:00.1234567890123Z"));
  // Dates and times that do not exist; the offset's minutes too.
  CHECK_FALSE(parse_rfc3339("2023-02-29T00:00:00Z"));
  CHECK(format_rfc3339(*parse_rfc3339("2024-02-29T00:00:00Z")) == "2024-02-29T00:00:00Z");
  CHECK_FALSE(parse_rfc3339("2026-04-31T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-00-10T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-01-00T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-22T24:00:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-22T23:60:00Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-22T23:59:60Z"));
  CHECK_FALSE(parse_rfc3339("2026-11-22T10:00:00+05:60"));
  // Nanoseconds (trackers send them) are read and floored to the second.
  CHECK(parse_rfc3339("2026-11-22T10:00:00.999999999Z") == t);
  CHECK(parse_rfc3339("2026-11-22T09:30:00-00:30") == t);
  CHECK(to_unix(*parse_rfc3339("1969-12-31T23:59:59.5Z")) == -1);
  CHECK(to_unix(*parse_rfc3339("0000-01-01T00:00:00Z")) == -62167219200);
  CHECK_FALSE(parse_rfc3339("0000-01-01T00:30:00+01:00"));  // the year before year 0
  CHECK_FALSE(parse_rfc3339("9999-12-31T23:30:00-01:00"));  // year 10000
  CHECK(format_rfc3339(*parse_rfc3339("9999-12-31T23:30:00+01:00")) == "9999-12-31T22:30:00Z");
  CHECK_FALSE(parse_rfc3339("2026-01-01T999:00:00Z"));
}

TEST_CASE("durations: single and combined units, nothing else") {
  CHECK(parse_duration("90s") == Seconds{90});
  CHECK(parse_duration("30m") == Seconds{1800});
  CHECK(parse_duration("2h") == Seconds{7200});
  CHECK(parse_duration("1d") == Seconds{86400});
  CHECK(parse_duration("1w") == Seconds{7 * 86400});
  CHECK(parse_duration("1h30m") == Seconds{5400});
  CHECK_FALSE(parse_duration("0m"));
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration("m"));
  CHECK_FALSE(parse_duration("-5m"));
  CHECK_FALSE(parse_duration("5y"));
  CHECK_FALSE(parse_duration("99999999999d"));
  CHECK_FALSE(parse_duration("99999999w99999999w"));  // over a century
}

TEST_CASE("parse_when takes a time, a date, or a duration ago") {
  const Time now = *parse_rfc3339("2026-11-22T10:00:00Z");
  CHECK(parse_when("2h", now) == *parse_rfc3339("2026-11-22T08:00:00Z"));
  CHECK(parse_when("2026-11-01", now) == *parse_rfc3339("2026-11-01T00:00:00Z"));
  CHECK(parse_when("2026-11-21T09:00:00Z", now) == *parse_rfc3339("2026-11-21T09:00:00Z"));
  CHECK_FALSE(parse_when("yesterday", now));
}

TEST_CASE("durations and relative times read naturally") {
  CHECK(format_duration(Seconds{45}) == "45s");
  CHECK(format_duration(Seconds{12 * 60}) == "12m");
  CHECK(format_duration(Seconds{3 * 3600 + 5 * 60}) == "3h 5m");
  CHECK(format_duration(Seconds{2 * 86400 + 4 * 3600}) == "2d 4h");
  const Time now = *parse_rfc3339("2026-11-22T10:00:00Z");
  CHECK(format_relative(now - Seconds{10}, now) == "just now");
  CHECK(format_relative(now - Seconds{3 * 3600}, now) == "3h ago");
  CHECK(format_relative(now + Seconds{20 * 60}, now) == "in 20m");
}

TEST_CASE("ESC_NOW fixes the clock; a malformed one is a usage error") {
  ::setenv("ESC_NOW", "2026-01-02T03:04:05Z", 1);
  CHECK(format_rfc3339(now()) == "2026-01-02T03:04:05Z");
  ::setenv("ESC_NOW", "soon", 1);
  CHECK_THROWS_AS(now(), Error);
  ::unsetenv("ESC_NOW");
  CHECK(now() > *parse_rfc3339("2026-01-01T00:00:00Z"));
}
