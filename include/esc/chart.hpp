#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esc/stats.hpp"

namespace esc {

// What a figure measures, which decides its axis and how it reads.
enum class Unit {
  count,     // cases, escalations
  share,     // a fraction from 0 to 1, shown as a percentage
  duration,  // seconds
  score,     // CSAT, 1 to 5
};

// One figure of a StatsGroup that can be charted: `esc stats --chart NAME`
// and the report's charts read the same table, so that both show the
// figures `esc stats` prints.
struct Metric {
  std::string_view name;   // as --chart takes it: "tte"
  std::string_view title;  // "Time to escalate (median)"
  Unit unit;
  std::optional<double> (*value)(const StatsGroup&);  // nullopt: nothing to measure (n/a)
  // The exact figure with what it is made of: "37.5% (3 of 8 cases)",
  // "2h 30m (9000 s, 4 escalated cases)", "n/a (no ratings)".
  std::string (*exact)(const StatsGroup&);
};
const std::vector<Metric>& metrics();
const Metric* find_metric(std::string_view name);
// "cases, escalations, rate, ...": every name, for help and errors.
std::string metric_names();

// A figure as `esc stats` prints it: "12", "38%", "2h 30m", "4.3", "n/a".
std::string short_value(std::optional<double> v, Unit unit);
// A share with up to one decimal: "37.5%", "50%".
std::string percent(double share);

// The value axis of a chart: from 0 to `top` in `step`s, read in `per`
// (3600 for an axis in hours), named `label` ("hours", "%", "cases").
struct Axis {
  double top = 1, step = 1, per = 1;
  std::string label;
  std::vector<double> ticks() const;      // 0, step, ..., top
  std::string tick_text(double v) const;  // "12", "25%", "1.5"
};
// An axis that holds `max` (the largest value, >= 0) with 2 to 5 round steps.
Axis axis_for(double max, Unit unit);

// Terminal charts. `unicode`: block characters (▁▂▃▄▅▆▇█, eighths of a
// cell); otherwise plain ASCII, for a locale that is not UTF-8.

// One glyph for `v` on a scale from 0 to `max`; a space for no value.
std::string spark(std::optional<double> v, double max, bool unicode);

// A horizontal bar chart, a line a group: the label, a bar as long as the
// value's share of the largest, and the value's text, in at most `width`
// columns (labels are cut to fit; bars get at least 10 columns).
std::vector<std::string> bar_chart(const std::vector<std::string>& labels,
                                   const std::vector<std::optional<double>>& values,
                                   const std::vector<std::string>& texts, std::size_t width, bool unicode);

// Every month from `first` to `last` ("2026-01" to "2026-11"), both included;
// empty when last is before first.
std::vector<std::string> month_range(std::string_view first, std::string_view last);
// The groups of `--by month` with a group of zeros for each month of the
// period that had no case, in month order: from since's month (without
// it, the first group's) to the month before until (without it, now's or
// the last group's, whichever is later). None when there is no group and
// no since.
std::vector<StatsGroup> every_month(std::vector<StatsGroup> months, std::optional<Time> since,
                                    std::optional<Time> until, Time now);

}  // namespace esc
