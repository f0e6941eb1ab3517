#include "esc/time.hpp"

#include <date/date.h>
#include <fmt/compile.h>
#include <fmt/format.h>

#include <array>
#include <cstdlib>
#include <ctime>

#include "esc/error.hpp"

namespace esc {

using namespace std::chrono;

namespace {

bool digits(std::string_view s, size_t from, size_t n) {
  if (from + n > s.size()) return false;
  for (size_t i = from; i < from + n; ++i)
    if (s[i] < '0' || s[i] > '9') return false;
  return true;
}

// RFC 3339's grammar, checked before any arithmetic: a four-digit year,
// two-digit fields, at most nine fraction digits, Z or a +hh:mm offset
// below 24h: each field can then be read without overflow.
bool rfc3339_shape(std::string_view s) {
  if (!digits(s, 0, 4) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2))
    return false;
  if (!(s[10] == 'T' || s[10] == 't' || s[10] == ' ')) return false;
  if (!digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2)) return false;
  size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start || i - start > 9) return false;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == s.size();
  if (i < s.size() && (s[i] == '+' || s[i] == '-'))
    return i + 6 == s.size() && digits(s, i + 1, 2) && s[i + 3] == ':' && digits(s, i + 4, 2) &&
           (s[i + 1] - '0') * 10 + (s[i + 2] - '0') < 24;
  return false;
}

}  // namespace

std::optional<Time> parse_rfc3339(std::string_view s) {
  if (!rfc3339_shape(s)) return std::nullopt;
  // The shape is checked: every field is there, digits where digits belong.
  auto number = [&](size_t at, size_t n) {
    int v = 0;
    for (size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  const date::year_month_day day{date::year{number(0, 4)}, date::month{static_cast<unsigned>(number(5, 2))},
                                 date::day{static_cast<unsigned>(number(8, 2))}};
  const int h = number(11, 2), m = number(14, 2), sec = number(17, 2);
  if (!day.ok() || h > 23 || m > 59 || sec > 59) return std::nullopt;
  size_t i = 19;
  if (s[i] == '.')  // a fraction: dropped, a Time is whole seconds (floored)
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9';) ++i;
  seconds offset{0};
  if (s[i] == '+' || s[i] == '-') {
    if (number(i + 4, 2) > 59) return std::nullopt;
    offset = hours{number(i + 1, 2)} + minutes{number(i + 4, 2)};
    if (s[i] == '-') offset = -offset;
  }
  const Time t = Time{date::sys_days{day}} + hours{h} + minutes{m} + seconds{sec} - offset;
  // An offset can carry a time out of the years RFC 3339 can write.
  constexpr date::sys_days first{date::year{0} / 1 / 1}, past{date::year{10000} / 1 / 1};
  if (t < first || t >= past) return std::nullopt;
  return t;
}

std::optional<Seconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  long long total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    size_t start = i;
    long long n = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      n = n * 10 + (text[i] - '0');
      if (n > 100'000'000) return std::nullopt;
      ++i;
    }
    if (i == start || i == text.size()) return std::nullopt;
    long long unit = 0;
    switch (text[i]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return std::nullopt;
    }
    ++i;
    total += n * unit;
    any = true;
  }
  // Nothing esc measures spans more than a century; more is a typo.
  if (!any || total <= 0 || total > 100LL * 366 * 86400) return std::nullopt;
  return Seconds{total};
}

namespace {

// A wall-clock time in the local zone (what the engineer sees on a clock),
// as a point in time; nullopt for a time the clock skips or a field out of
// range.
std::optional<Time> local_time(int year, int month, int day, int hour, int minute, int second) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  const std::time_t t = std::mktime(&tm);
  if (t == -1 || tm.tm_mday != day) return std::nullopt;  // 31 February and the like
  return from_unix(t);
}

int number(std::string_view s, std::size_t from, std::size_t n) {
  int v = 0;
  for (std::size_t i = from; i < from + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// "HH:MM" or "HH:MM:SS" from `at`: the time of day and how long it is.
std::optional<std::pair<int, std::size_t>> clock_time(std::string_view s, std::size_t at) {
  if (!digits(s, at, 2) || s.size() < at + 5 || s[at + 2] != ':' || !digits(s, at + 3, 2)) return std::nullopt;
  int secs = number(s, at, 2) * 3600 + number(s, at + 3, 2) * 60;
  std::size_t len = 5;
  if (s.size() >= at + 8 && s[at + 5] == ':' && digits(s, at + 6, 2)) {
    secs += number(s, at + 6, 2);
    len = 8;
  }
  if (number(s, at, 2) > 23 || number(s, at + 3, 2) > 59) return std::nullopt;
  return std::pair{secs, len};
}

}  // namespace

std::optional<Time> parse_when(std::string_view text, Time now) {
  if (auto t = parse_rfc3339(text)) return t;
  if (auto d = parse_duration(text)) return now - *d;
  // The day `now` falls on, in the local zone, `back` days before.
  auto local_day = [&](int back) {
    std::time_t t = to_unix(now);
    std::tm tm{};
    localtime_r(&t, &tm);
    tm.tm_mday -= back;
    tm.tm_hour = 12;  // noon: a day's length changes at midnight, never noon
    tm.tm_isdst = -1;
    t = std::mktime(&tm);
    localtime_r(&t, &tm);
    return std::array<int, 3>{tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday};
  };
  auto at_day = [&](std::array<int, 3> day, int secs) {
    return local_time(day[0], day[1], day[2], secs / 3600, secs / 60 % 60, secs % 60);
  };
  // "10:00", "today 10:00", "yesterday 14:00"
  for (auto [word, back] : {std::pair{"", 0}, std::pair{"today ", 0}, std::pair{"yesterday ", 1}}) {
    const std::string_view w(word);
    if (!text.starts_with(w)) continue;
    if (auto c = clock_time(text, w.size()); c && w.size() + c->second == text.size())
      return at_day(local_day(back), c->first);
  }
  // "2026-12-01", "2026-12-01 10:00", "2026-12-01T10:00[:00]" (local time)
  if (text.size() >= 10 && digits(text, 0, 4) && text[4] == '-' && digits(text, 5, 2) && text[7] == '-' &&
      digits(text, 8, 2)) {
    const std::array<int, 3> day{number(text, 0, 4), number(text, 5, 2), number(text, 8, 2)};
    if (text.size() == 10) return at_day(day, 0);
    if (text[10] == ' ' || text[10] == 'T')
      if (auto c = clock_time(text, 11); c && 11 + c->second == text.size()) return at_day(day, c->first);
  }
  return std::nullopt;
}

Time now() {
  if (const char* fixed = std::getenv("ESC_NOW"); fixed && *fixed) {
    auto t = parse_rfc3339(fixed);
    if (!t)
      throw usage_error(fmt::format("ESC_NOW is not an RFC 3339 time: {}", fixed),
                        "use a form like 2026-11-22T10:00:00Z, or unset ESC_NOW");
    return *t;
  }
  return floor<seconds>(system_clock::now());
}

std::string format_rfc3339(Time t) { return date::format("%FT%TZ", t); }

std::string format_utc(Time t) { return date::format("%F %H:%M UTC", t); }

std::string format_local(Time t) {
  std::time_t tt = to_unix(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string format_duration(Seconds d) {
  // Compiled formats: `due` and `list` make thousands of these.
  long long s = d.count();
  if (s < 0) s = -s;
  if (s < 60) return fmt::format(FMT_COMPILE("{}s"), s);
  if (s < 3600) return fmt::format(FMT_COMPILE("{}m"), s / 60);
  if (s < 86400) {
    long long h = s / 3600, m = (s % 3600) / 60;
    return m ? fmt::format(FMT_COMPILE("{}h {}m"), h, m) : fmt::format(FMT_COMPILE("{}h"), h);
  }
  long long days = s / 86400, h = (s % 86400) / 3600;
  return h ? fmt::format(FMT_COMPILE("{}d {}h"), days, h) : fmt::format(FMT_COMPILE("{}d"), days);
}

std::string format_relative(Time t, Time now) {
  auto d = now - t;
  if (d >= Seconds{0} && d < Seconds{60}) return "just now";
  if (d > Seconds{0}) return format_duration(d) + " ago";
  return "in " + format_duration(-d);
}

}  // namespace esc
