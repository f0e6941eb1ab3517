#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/chart.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/stats.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct StatsOptions {
  std::string since, until, by, format = "table", chart;
};

std::string pct(std::optional<double> v) { return v ? fmt::format("{:.0f}%", *v * 100) : "n/a"; }
std::string dur(std::optional<Seconds> d) { return d ? format_duration(*d) : "n/a"; }

nlohmann::json jnum(std::optional<double> v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); }
nlohmann::json jdur(const Durations& d) {
  auto s = [](std::optional<Seconds> x) { return x ? nlohmann::json(x->count()) : nlohmann::json(nullptr); };
  return {{"count", d.count}, {"median_seconds", s(d.median)}, {"p90_seconds", s(d.p90)}};
}

// The metric of each figure column of the table (OPEN to CSAT), for its marks.
constexpr const char* kColumnMetrics[] = {"cases", "escalations", "resolved", "rate",        "tte", "tta",
                                          "ttr",   "forced",      "updates",  "unnecessary", "csat"};

// On a terminal, each figure of the table by month gets a mark (▁ to █)
// for its size among its column's: read down a column, they are its trend.
class Sparks {
 public:
  Sparks(const std::vector<StatsGroup>& groups, bool unicode) : unicode_(unicode) {
    for (const char* name : kColumnMetrics) {
      const Metric* m = find_metric(name);
      double max = 0;
      for (const auto& g : groups) max = std::max(max, m->value(g).value_or(0));
      columns_.push_back({m, max});
    }
  }
  void add(std::vector<std::string>& cells, const StatsGroup& g) const {
    for (std::size_t i = 0; i < columns_.size(); ++i)
      cells[i + 1] += spark(columns_[i].first->value(g), columns_[i].second, unicode_);
  }

 private:
  bool unicode_;
  std::vector<std::pair<const Metric*, double>> columns_;
};

// --chart: a bar a group, in the terminal's width ($COLUMNS, or 80 when
// stdout is not a terminal: the chart was asked for, so a pipe gets it too;
// --format csv or json give the figures to a program).
void print_chart(const Metric& m, const std::vector<StatsGroup>& groups, const std::string& by, const Output& out) {
  if (groups.empty()) {
    out.info("No cases in this period.");
    return;
  }
  std::vector<std::string> labels, texts;
  std::vector<std::optional<double>> values;
  for (const auto& g : groups) {
    labels.push_back(inert(g.group));
    values.push_back(m.value(g));
    texts.push_back(short_value(values.back(), m.unit));
  }
  const std::size_t width = out.width() ? out.width() : 80;
  const std::string title = fmt::format("{} {}", m.title, by == "month" ? "per month" : "by " + by);
  std::string s = out.paint(truncate_to_width(title, width), Style::bold);
  s += "\n";
  for (const auto& line : bar_chart(labels, values, texts, width, out.unicode())) s += line + "\n";
  std::cout << s;
}

void run_stats(const StatsOptions& o, Context& ctx) {
  const Time now = ctx.now();
  std::optional<Time> since, until;
  if (!o.since.empty()) since = parse_at(o.since, now, "--since");
  if (!o.until.empty()) until = parse_at(o.until, now, "--until");
  if (!o.chart.empty() && o.format != "table")
    throw usage_error("--chart draws a chart and takes no --format",
                      "without --chart, --format json or csv gives every figure");
  const std::string by = o.by.empty() && !o.chart.empty() ? "month" : o.by;
  StatsBuilder builder(*parse_stats_by(by), ctx.config(), now);
  ctx.store().each_stats_case(since, until, [&](const StatsCase& c) { builder.add(c); });
  auto groups = builder.finish();
  if (!o.chart.empty()) {
    if (by == "month") groups = every_month(std::move(groups), since, until, now);
    print_chart(*find_metric(o.chart), groups, by, ctx.out());
    return;
  }

  if (o.format == "json") {
    // Printed a group at a time (grouping by customer can make tens of
    // thousands), in the order print_json() gives the keys.
    auto when = [](std::optional<Time> t) { return t ? nlohmann::json(format_rfc3339(*t)) : nlohmann::json(nullptr); };
    std::cout << "{\n  \"by\": " << dumped(o.by.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.by))
              << ",\n  \"groups\": ";
    {
      JsonArrayPrinter a(1);
      for (const auto& g : groups)
        a.add({{"group", g.group},
               {"opened", g.opened},
               {"escalated", g.escalated},
               {"resolved", g.resolved},
               {"escalation_rate", jnum(g.escalation_rate())},
               {"time_to_escalate", jdur(g.to_escalate)},
               {"time_to_acknowledge", jdur(g.to_acknowledge)},
               {"time_to_resolve", jdur(g.to_resolve)},
               {"forced_share", jnum(g.forced_share())},
               {"client_update_compliance", jnum(g.update_compliance())},
               {"unnecessary_share", jnum(g.unnecessary_share())},
               {"csat_mean", jnum(g.csat_mean())},
               {"csat_count", g.csat_count}});
    }
    std::cout << ",\n  \"since\": " << dumped(when(since)) << ",\n  \"until\": " << dumped(when(until)) << "\n}\n";
    return;
  }
  auto row = [](const StatsGroup& g) -> std::vector<std::string> {
    return {g.group,
            std::to_string(g.opened),
            std::to_string(g.escalated),
            std::to_string(g.resolved),
            pct(g.escalation_rate()),
            dur(g.to_escalate.median),
            dur(g.to_escalate.p90),
            dur(g.to_acknowledge.median),
            dur(g.to_acknowledge.p90),
            dur(g.to_resolve.median),
            dur(g.to_resolve.p90),
            pct(g.forced_share()),
            pct(g.update_compliance()),
            pct(g.unnecessary_share()),
            g.csat_mean() ? fmt::format("{:.1f}", *g.csat_mean()) : "n/a"};
  };
  const std::vector<std::string> names{"group",
                                       "opened",
                                       "escalated",
                                       "resolved",
                                       "escalation rate",
                                       "to escalate (median)",
                                       "to escalate (p90)",
                                       "to acknowledge (median)",
                                       "to acknowledge (p90)",
                                       "to resolve (median)",
                                       "to resolve (p90)",
                                       "sent unprepared",
                                       "client updates on time",
                                       "unnecessary",
                                       "mean CSAT"};
  if (o.format == "csv") {
    // Numbers a spreadsheet reads: seconds and fractions, empty for none.
    auto num = [](std::optional<double> v) { return v ? fmt::format("{:.4f}", *v) : std::string(); };
    auto secs = [](std::optional<Seconds> d) { return d ? std::to_string(d->count()) : std::string(); };
    std::cout << csv_row({"group", "opened", "escalated", "resolved", "escalation_rate", "tte_median_seconds",
                          "tte_p90_seconds", "tta_median_seconds", "tta_p90_seconds", "ttr_median_seconds",
                          "ttr_p90_seconds", "forced_share", "client_update_compliance", "unnecessary_share",
                          "csat_mean"});
    for (const auto& g : groups)
      std::cout << csv_row({g.group, std::to_string(g.opened), std::to_string(g.escalated), std::to_string(g.resolved),
                            num(g.escalation_rate()), secs(g.to_escalate.median), secs(g.to_escalate.p90),
                            secs(g.to_acknowledge.median), secs(g.to_acknowledge.p90), secs(g.to_resolve.median),
                            secs(g.to_resolve.p90), num(g.forced_share()), num(g.update_compliance()),
                            num(g.unnecessary_share()), num(g.csat_mean())});
    return;
  }
  if (o.by.empty()) {
    // One group: a list of figures reads better than a one-row table.
    auto r = row(groups.front());
    std::string s;
    for (size_t i = 1; i < r.size(); ++i) s += fmt::format("{:<24} {}\n", names[i], r[i]);
    std::cout << s;
    return;
  }
  const std::vector<Column> columns{{o.by == "month" ? "MONTH" : "GROUP", true},
                                    {"OPEN", false, true},
                                    {"ESC", false, true},
                                    {"RES", false, true},
                                    {"RATE", false, true},
                                    {"TTE", false, true},
                                    {"TTA", false, true},
                                    {"TTR", false, true},
                                    {"FORCED", false, true},
                                    {"UPDATED", false, true},
                                    {"UNNEC", false, true},
                                    {"CSAT", false, true}};
  std::optional<Sparks> sparks;
  if (o.by == "month" && ctx.out().stdout_is_tty()) sparks.emplace(groups, ctx.out().unicode());
  // Each group's row made when it is measured and again when it is printed.
  if (ctx.out().table(columns, [&](const Output::RowSink& sink) {
        for (const auto& g : groups) {
          auto r = row(g);
          std::vector<std::string> cells{r[0], r[1], r[2], r[3], r[4], r[5], r[7], r[9], r[11], r[12], r[13], r[14]};
          if (sparks) sparks->add(cells, g);
          sink(cells, {});
        }
      }) == 0)
    ctx.out().table(columns, std::vector<std::vector<std::string>>{});
  ctx.out().hint("TTE/TTA/TTR are medians (--format json has p90s); FORCED = sent unprepared; UNNEC = unnecessary");
}

}  // namespace

void register_stats(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<StatsOptions>();
  auto* cmd = app.add_subcommand("stats", "Escalation metrics: rates, times, preparedness, over-escalation, CSAT");
  cmd->add_option("--since", o->since, "Cases opened from this date (2026-01-01 local midnight, or 30d ago)")
      ->type_name("DATE");
  cmd->add_option("--until", o->until, "Cases opened before this date")->type_name("DATE");
  cmd->add_option("--by", o->by, "Group by month, engineer, path, trigger, severity or customer")
      ->check(CLI::IsMember({"month", "engineer", "path", "trigger", "severity", "customer"}))
      ->type_name("GROUP");
  std::vector<std::string> charts;
  for (const auto& m : metrics()) charts.emplace_back(m.name);
  cmd->add_option("--chart", o->chart, "A bar chart of one figure per month (or --by group): " + metric_names())
      ->check(CLI::IsMember(charts))
      ->type_name("METRIC");
  add_format(cmd, o->format, {"table", "json", "csv"});
  cmd->footer(
      "On a terminal, the table by month marks each figure by its size in its column: a sparkline\n"
      "read downwards.\n"
      "Examples:\n  esc stats --since 2026-01-01 --by month\n  esc stats --chart rate --since 2026-01-01");
  cmd->callback([o, &ctx] { run_stats(*o, ctx); });
}

}  // namespace esc::cli
