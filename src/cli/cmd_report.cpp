#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/files.hpp"
#include "esc/redact.hpp"
#include "esc/report.hpp"

namespace esc::cli {

namespace {

struct ReportOptions {
  std::string since, until, by = "month", output;
};

// How many open escalations and lessons the report lists.
constexpr int kListed = 10;

void add_lists(Report& r, Store& store) {
  for (const auto& [c, x] : store.open_escalations(r.since, r.until, kListed))
    r.waiting.push_back({c.id, c.title, c.customer, c.severity, x.path, x.level, x.at, x.acked_at, x.acked_by});
  for (const auto& l : store.latest_lessons(r.since, r.until, kListed))
    r.lessons.push_back({l.entry.case_id, l.case_title, l.customer, l.entry.text, l.entry.author, l.entry.at});
}

// A report is made to be mailed and printed: what leaves the machine is
// masked as a summary is, in every text the log gave it.
void mask(Report& r, const Redactor& redactor) {
  auto m = [&](std::string& s) { s = redactor.apply(s); };
  for (auto& g : r.groups) m(g.group);
  for (auto* rows : {&r.top.triggers, &r.top.customers, &r.top.paths})
    for (auto& row : *rows) m(row.name);
  for (auto& w : r.waiting) {
    m(w.title);
    m(w.customer);
    m(w.path);
    m(w.acked_by);
  }
  for (auto& l : r.lessons) {
    m(l.case_title);
    m(l.customer);
    m(l.text);
    m(l.author);
  }
}

void run_report(const ReportOptions& o, Context& ctx) {
  if (o.output.empty() && ctx.out().stdout_is_tty())
    throw usage_error("where should the report go?", "give -o FILE.html, or -o - for standard output");
  const Time now = ctx.now();
  std::optional<Time> since, until;
  if (!o.since.empty()) since = parse_at(o.since, now, "--since");
  if (!o.until.empty()) until = parse_at(o.until, now, "--until");
  if (since && until && *until <= *since)
    throw usage_error(fmt::format("--until {} is not after --since {}: the period is empty", o.until, o.since));
  auto& store = ctx.store();
  ReportBuilder builder(*parse_stats_by(o.by), ctx.config(), now);
  store.each_stats_case(since, until, [&](const StatsCase& c) { builder.add(c); });
  Report r = builder.finish(since, until);
  add_lists(r, store);
  mask(r, Redactor(ctx.config()));
  const std::string html = report_html(r);
  if (o.output.empty() || o.output == "-") {
    std::cout << html;
    return;
  }
  write_output_file(o.output, html);
  ctx.out().info(fmt::format("Wrote {}: {} case{}, {} escalated.", o.output, r.total.opened,
                             r.total.opened == 1 ? "" : "s", r.total.escalated));
}

}  // namespace

void register_report(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = app.add_subcommand("report", "An HTML report with charts for team leads: trends, tops, what waits");
  cmd->add_option("--since", o->since, "Cases opened from this date (2026-01-01 local midnight, or 30d ago)")
      ->type_name("DATE");
  cmd->add_option("--until", o->until, "Cases opened before this date")->type_name("DATE");
  cmd->add_option("--by", o->by, "A bar per month (default), engineer, path, trigger or severity")
      ->check(CLI::IsMember({"month", "engineer", "path", "trigger", "severity"}))
      ->type_name("GROUP");
  cmd->add_option("-o,--output", o->output, "Write the report to this file (- for standard output)")->type_name("FILE");
  cmd->footer(
      "The report is one HTML file that loads nothing: open it in any browser, mail it, print it.\n"
      "Example:\n  esc report --since 2026-01-01 -o report.html");
  cmd->callback([o, &ctx] { run_report(*o, ctx); });
}

}  // namespace esc::cli
