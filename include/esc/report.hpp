#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "esc/chart.hpp"
#include "esc/config.hpp"
#include "esc/stats.hpp"

namespace esc {

// A trigger, customer or path with what its cases came to. For a trigger
// or customer: its cases, how many were escalated, sent unprepared and
// later marked unnecessary. For a path: the cases sent to it, its
// escalations, how many of those were acknowledged and sent unprepared,
// and its cases marked unnecessary.
struct TopRow {
  std::string name;
  int cases = 0, escalated = 0, acknowledged = 0, forced = 0, unnecessary = 0;
};

struct TopRows {
  std::vector<TopRow> triggers, customers, paths;
};

// An escalation of a case not yet resolved, as the report lists it.
struct WaitingEscalation {
  std::int64_t case_id = 0;
  std::string title, customer, severity, path;
  int level = 1;
  Time at{};
  std::optional<Time> acked_at;
  std::string acked_by;
};

struct ReportLesson {
  std::int64_t case_id = 0;
  std::string case_title, customer, text, author;
  Time at{};
};

// Everything `esc report` shows: figures of the cases opened in
// [since, until), a group each (every month of the period for `month`),
// the period as a whole, and the top rows; the open escalations and the
// lessons of those cases.
struct Report {
  StatsBy by = StatsBy::month;
  std::optional<Time> since, until;
  Time now{};
  StatsGroup total;
  std::vector<StatsGroup> groups;
  TopRows top;
  std::vector<WaitingEscalation> waiting;
  std::vector<ReportLesson> lessons;
};

// The report's figures from cases added one at a time: the groups of `by`,
// the whole period, and a row per trigger, customer and path (memory holds
// those rows, not the cases; of them only the top `top_n` are kept).
class ReportBuilder {
 public:
  ReportBuilder(StatsBy by, const Config& cfg, Time now, std::size_t top_n = 10);
  void add(const StatsCase& c);
  // By month, every month from since's (or the first case's) to until's
  // (or now's, or the last case's, whichever is later) is a group.
  Report finish(std::optional<Time> since, std::optional<Time> until);

 private:
  StatsBy by_;
  Time now_;
  std::size_t top_n_;
  StatsBuilder groups_, total_;
  std::unordered_map<std::string, TopRow> triggers_, customers_, paths_;
};

// Text made safe for HTML and SVG: control characters inert, invalid UTF-8
// replaced, and & < > " ' as character references, so that case text is
// only ever text, in an element or in a quoted attribute.
std::string html_escape(std::string_view s, bool keep_newlines = false);

// One chart of the report: a bar per group for each of its series.
struct ChartSpec {
  std::string id;       // unique in the page: "chart-tte"
  std::string title;    // "Time to escalate"
  std::string y_title;  // the value axis's title; empty: the axis's unit ("hours")
  std::vector<const Metric*> series;
  std::vector<std::string> series_names;  // "median", "90th percentile"
};
// The charts the report draws, in order.
std::vector<ChartSpec> report_charts();

// A <figure> with its caption and an inline SVG (role="img", a <title>
// and <desc>, both axes with their titles): per group, a <rect
// class="bar sN"> per series with data-value (the figure, or "" when there
// is none: height 0, class "na") and a <title> with its exact value.
std::string svg_chart(const ChartSpec& spec, const std::vector<StatsGroup>& groups, StatsBy by);

// The whole report: one HTML document with no scripts and nothing loaded
// from anywhere; light and dark colours from the browser's preference, a
// print style, charts that scale to the width of a phone.
std::string report_html(const Report& r);

}  // namespace esc
