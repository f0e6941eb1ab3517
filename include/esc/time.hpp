#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace esc {

using Time = std::chrono::sys_seconds;
using Seconds = std::chrono::seconds;

// The clock for everything esc does: $ESC_NOW (RFC 3339) when set, else the
// system clock. Throws a usage Error when ESC_NOW is malformed.
Time now();

// "2026-11-22T10:00:00Z", "2026-11-22T11:00:00+01:00", fractions allowed.
std::optional<Time> parse_rfc3339(std::string_view text);

// "90s", "30m", "2h", "1d", "1w", "1h30m". Zero and negative are refused.
std::optional<Seconds> parse_duration(std::string_view text);

// A point in time given on the command line: RFC 3339; a local date or
// time ("2026-11-01" is local midnight, "2026-11-01 10:00", "10:00" today,
// "yesterday 14:00"); or a duration meaning that long before `now`.
std::optional<Time> parse_when(std::string_view text, Time now);

std::string format_rfc3339(Time t);             // 2026-11-22T10:00:00Z
std::string format_utc(Time t);                 // 2026-11-22 10:00 UTC
std::string format_local(Time t);               // 2026-11-22 11:00 (local zone)
std::string format_duration(Seconds d);         // 45s, 12m, 3h 5m, 2d 4h
std::string format_relative(Time t, Time now);  // 3h ago, in 20m, just now

inline std::int64_t to_unix(Time t) { return t.time_since_epoch().count(); }
inline Time from_unix(std::int64_t s) { return Time{Seconds{s}}; }

}  // namespace esc
