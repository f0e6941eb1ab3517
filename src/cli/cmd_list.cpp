#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct ListOptions {
  std::string status = "active";
  std::string severity, customer, tag, engineer;
  bool mine = false;
  int limit = 50;
  std::string format = "table";
};

void run_list(const ListOptions& o, Context& ctx) {
  CaseFilter f;
  if (o.status == "active")
    f.statuses = {Status::open, Status::escalated};
  else if (o.status != "all")
    f.statuses = {*parse_status(o.status)};
  if (!o.severity.empty()) f.severity = checked_severity(ctx, o.severity);
  f.customer = o.customer;
  f.tag = o.tag;
  if (o.mine && !o.engineer.empty()) throw usage_error("--mine and --engineer both name an engineer; give one");
  f.engineer = o.mine ? ctx.engineer().name : o.engineer;
  f.limit = o.limit ? o.limit + 1 : 0;  // one more tells whether there are more
  auto& store = ctx.store();
  // The cases shown, one at a time, in order: a log of years lists in
  // constant memory. The one past --limit only tells that there are more.
  bool more = false;
  auto each = [&](const std::function<void(const Case&)>& fn) {
    size_t shown = 0;
    store.each_case(f, [&](const Case& c) {
      if (o.limit && shown == static_cast<size_t>(o.limit)) {
        more = true;
        return;
      }
      ++shown;
      fn(c);
    });
  };
  // Text piles up to 64 KiB at a time on its way to stdout.
  std::string text;
  auto put = [&](const std::string& s) {
    text += s;
    if (text.size() >= (64 << 10)) {
      std::cout << text;
      text.clear();
    }
  };

  if (o.format == "json") {
    JsonArrayPrinter a;
    each([&](const Case& c) { a.add(to_json(c)); });
  } else if (o.format == "ids") {
    each([&](const Case& c) { put(fmt::format("{}\n", c.id)); });
    std::cout << text;
  } else if (o.format == "csv") {
    put(csv_row({"id", "uuid", "title", "customer", "severity", "status", "ref", "triggers", "tags", "engineer",
                 "created_at", "updated_at"}));
    each([&](const Case& c) {
      put(csv_row({std::to_string(c.id), c.uuid, c.title, c.customer, c.severity, std::string(to_string(c.status)),
                   c.ref, join(c.triggers, " "), join(c.tags, " "), c.engineer, format_rfc3339(c.created_at),
                   format_rfc3339(c.updated_at)}));
    });
    std::cout << text;
  } else {
    auto& out = ctx.out();
    const Time now = ctx.now();
    const std::vector<Column> columns{{"ID", false, true}, {"SEV"},         {"STATUS"},
                                      {"CUSTOMER"},        {"TITLE", true}, {"UPDATED"}};
    auto row = [&](const Case& c) -> std::vector<std::string> {
      return {fmt::format("#{}", c.id),          c.severity, std::string(to_string(c.status)), c.customer, c.title,
              format_relative(c.updated_at, now)};
    };
    auto style = [&](const Case& c) -> std::vector<Style> {
      return {Style::bold,
              out.severity_style(c.severity),
              out.status_style(std::string(to_string(c.status))),
              Style::none,
              Style::none,
              Style::dim};
    };
    // One snapshot, in case the table is long enough to be read twice.
    size_t rows = 0;
    store.read([&] {
      rows = out.table(columns, [&](const Output::RowSink& sink) {
        each([&](const Case& c) {
          auto cells = row(c);
          sink(cells, style(c));
        });
      });
    });
    if (rows == 0) {
      out.info(o.status == "active" ? "No open or escalated cases." : "No cases match.");
      if (o.status == "active") out.hint("`esc new \"TITLE\"` opens one; `esc list --status all` shows resolved ones");
      return;
    }
    if (more) out.hint(fmt::format("showing the {} most recently active; `--limit 0` shows all", o.limit));
  }
}

}  // namespace

void register_list(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ListOptions>();
  auto* cmd = app.add_subcommand("list", "List cases, most recently active first");
  cmd->add_option("--status", o->status, "open, escalated, resolved, all, or active (open and escalated; the default)")
      ->check(CLI::IsMember({"open", "escalated", "resolved", "all", "active"}))
      ->type_name("STATUS");
  cmd->add_option("--severity", o->severity, "Only this severity")->type_name("SEVERITY");
  cmd->add_option("--customer", o->customer, "Only this customer (any case)")->type_name("NAME");
  cmd->add_option("--tag", o->tag, "Only cases with this tag (any case)")->type_name("TAG");
  cmd->add_flag("--mine", o->mine, "Only the cases you own (your [engineer] name)");
  cmd->add_option("--engineer", o->engineer, "Only this engineer's cases (name or e-mail)")->type_name("NAME");
  add_number(cmd, "--limit", o->limit, "At most N cases; 0 for all")->capture_default_str();
  add_format(cmd, o->format, {"table", "json", "csv", "ids"});
  cmd->footer("Example:\n  esc list --severity critical --format json | jq '.[].title'");
  cmd->callback([o, &ctx] { run_list(*o, ctx); });
}

}  // namespace esc::cli
