#include <fmt/compile.h>
#include <fmt/format.h>

#include <iostream>

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
  auto& store = ctx.store();
  const Time now = ctx.now();
  DueList due(ctx.config(), now);
  store.each_active([&](const Case& c) { due.add_open(c); }, [&](const EscalatedCase& e) { due.add_escalated(e); });
  for (const auto& d : store.pending_deliveries())
    if (auto c = store.get_case(d.case_id)) due.add_pending(d, *c);
  auto items = due.finish();
  if (o.format == "json") {
    JsonArrayPrinter a;
    for (const auto& i : items)
      a.add({{"kind", i.kind},
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
      std::cout << csv_row({i.kind, std::to_string(i.case_id), i.title, i.severity, format_rfc3339(i.due_at),
                            std::to_string(i.overdue.count()), i.message, i.suggestion});
  } else if (items.empty()) {
    ctx.out().info("Nothing is due.");
  } else {
    auto& out = ctx.out();
    const std::vector<Column> columns{{"CASE", false, true},    {"SEV"},          {"WHAT"},
                                      {"OVERDUE", false, true}, {"DETAIL", true}, {"NEXT"}};
    std::vector<Style> style{Style::bold, Style::none, Style::cyan, Style::red, Style::none, Style::dim};
    out.table(columns, [&](const Output::RowSink& sink) {
      // One row's cells, filled again for each item: a table can have
      // thousands of rows, and the table keeps none of them.
      std::vector<std::string> cells(6);
      for (const auto& i : items) {
        cells[0].clear();
        fmt::format_to(std::back_inserter(cells[0]), FMT_COMPILE("#{}"), i.case_id);
        cells[1] = i.severity;
        cells[2] = i.kind;
        cells[3] = i.overdue.count() < 60 ? "now" : format_duration(i.overdue);
        cells[4] = i.message;
        cells[5] = i.suggestion;
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
