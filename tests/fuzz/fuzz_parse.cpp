// Time, duration and text parsing with arbitrary input.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "esc/error.hpp"
#include "esc/text.hpp"
#include "esc/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  const esc::Time now{esc::Seconds{1'790'000'000}};
  if (auto t = esc::parse_rfc3339(s)) {
    // What parses formats back to something that parses to the same time.
    if (esc::parse_rfc3339(esc::format_rfc3339(*t)) != t) std::abort();
  }
  if (auto d = esc::parse_duration(s))
    if (d->count() <= 0) std::abort();
  (void)esc::parse_when(s, now);
  const std::string shown = esc::inert(s, true);
  for (char ch : shown)
    if (ch == '\x1b' || ch == '\a' || ch == '\r') std::abort();
  if (!esc::is_valid_utf8(shown)) std::abort();
  for (const auto& line : esc::wrap(shown.substr(0, 4096), 40))
    if (esc::display_width(line) > 40 && line.find(' ') != std::string::npos) std::abort();
  try {
    (void)esc::checked_line(s, "input");
  } catch (const esc::Error&) {
  }
  return 0;
}
