#include <fmt/format.h>

#include <iostream>
#include <map>
#include <set>

#include "common.hpp"
#include "esc/due.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"

namespace esc::cli {

namespace {

struct DueOptions {
  std::string format = "table";
  bool exit_code = false;
};

void run_due(const DueOptions& o, Context& ctx) {
  const Config& cfg = ctx.strict_config();
  auto& store = ctx.store();
  const Time now = ctx.now();
  DueList due(cfg, now);
  // The cases not yet resolved, and the deliveries still open: one read.
  std::map<std::int64_t, ActiveCase> with_deliveries;
  const auto open = store.outbox();
  std::set<std::int64_t> wanted;
  for (const auto& d : open) wanted.insert(d.case_id);
  store.read([&] {
    store.each_active([&](const ActiveCase& c) {
      due.add(c);
      if (wanted.count(c.id)) with_deliveries.emplace(c.id, c);
    });
  });
  for (const auto& d : open)
    if (auto it = with_deliveries.find(d.case_id); it != with_deliveries.end()) due.add_delivery(d, it->second);
  auto items = due.finish();
  if (o.format == "json") {
    JsonArrayPrinter a;
    for (const auto& i : items)
      a.add({{"kind", to_string(i.kind)},
             {"case", i.case_id},
             {"title", i.title},
             {"severity", i.severity},
             {"due_at", format_rfc3339(i.due_at)},
             {"overdue_seconds", i.overdue.count()},
             {"message", i.message},
             {"suggestion", i.suggestion},
             {"delivery", i.delivery_id ? nlohmann::json(i.delivery_id) : nlohmann::json(nullptr)}});
  } else if (o.format == "csv") {
    std::cout << csv_row({"kind", "case", "title", "severity", "due_at", "overdue_seconds", "message", "suggestion"});
    for (const auto& i : items)
      std::cout << csv_row({std::string(to_string(i.kind)), std::to_string(i.case_id), i.title, i.severity,
                            format_rfc3339(i.due_at), std::to_string(i.overdue.count()), i.message, i.suggestion});
  } else if (items.empty()) {
    ctx.out().info("Nothing is due.");
  } else {
    auto& out = ctx.out();
    const std::vector<Column> columns{{"CASE", false, true},    {"SEV"},          {"TITLE", true}, {"WHAT"},
                                      {"OVERDUE", false, true}, {"DETAIL", true}, {"NEXT"}};
    std::vector<Style> style{Style::bold, Style::none, Style::none, Style::cyan, Style::red, Style::none, Style::dim};
    out.table(columns, [&](const Output::RowSink& sink) {
      std::vector<std::string> cells(7);
      for (const auto& i : items) {
        cells[0] = fmt::format("#{}", i.case_id);
        cells[1] = i.severity;
        cells[2] = i.title;
        cells[3] = std::string(to_string(i.kind));
        cells[4] = i.overdue.count() < 60 ? "now" : format_duration(i.overdue);
        cells[5] = i.message;
        cells[6] = i.suggestion;
        style[1] = out.severity_style(i.severity);
        sink(cells, style);
      }
    });
  }
  if (o.exit_code && !items.empty()) ctx.exit_code = static_cast<int>(Exit::no);
}

}  // namespace

void register_due(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<DueOptions>();
  auto* cmd = app.add_subcommand("due", "What needs you now: deadlines, unanswered escalations, clients to update");
  add_format(cmd, o->format, {"table", "json", "csv"});
  cmd->add_flag("--exit-code", o->exit_code, "Exit 1 when anything is due (for cron and prompts)");
  cmd->footer("For cron:\n  esc due --exit-code >/dev/null || notify-send \"esc\" \"$(esc due)\"");
  cmd->callback([o, &ctx] { run_due(*o, ctx); });
}

}  // namespace esc::cli
