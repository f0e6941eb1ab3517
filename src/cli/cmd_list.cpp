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
  std::string severity, customer, tag;
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
  if (o.limit < 0) throw usage_error("--limit must be 0 (no limit) or more");
  f.limit = o.limit ? o.limit + 1 : 0;  // one more tells whether there are more
  auto cases = ctx.store().list_cases(f);
  const bool more = o.limit && cases.size() > static_cast<size_t>(o.limit);
  if (more) cases.resize(static_cast<size_t>(o.limit));

  if (o.format == "json") {
    JsonArrayPrinter a;
    for (const auto& c : cases) a.add(to_json(c));
  } else if (o.format == "ids") {
    std::string s;
    for (const auto& c : cases) s += fmt::format("{}\n", c.id);
    std::cout << s;
  } else if (o.format == "csv") {
    std::cout << csv_row({"id", "uuid", "title", "customer", "severity", "status", "ref", "triggers", "tags",
                          "engineer", "created_at", "updated_at"});
    for (const auto& c : cases)
      std::cout << csv_row({std::to_string(c.id), c.uuid, c.title, c.customer, c.severity,
                            std::string(to_string(c.status)), c.ref, join(c.triggers, " "), join(c.tags, " "),
                            c.engineer, format_rfc3339(c.created_at), format_rfc3339(c.updated_at)});
  } else {
    auto& out = ctx.out();
    if (cases.empty()) {
      out.info(o.status == "active" ? "No open or escalated cases." : "No cases match.");
      if (o.status == "active") out.hint("`esc new \"TITLE\"` opens one; `esc list --status all` shows resolved ones");
      return;
    }
    const Time now = ctx.now();
    std::vector<std::vector<std::string>> rows;
    std::vector<std::vector<Style>> styles;
    for (const auto& c : cases) {
      std::string status(to_string(c.status));
      rows.push_back(
          {fmt::format("#{}", c.id), c.severity, status, c.customer, c.title, format_relative(c.updated_at, now)});
      styles.push_back({Style::bold, out.severity_style(c.severity), out.status_style(status), Style::none, Style::none,
                        Style::dim});
    }
    out.table({{"ID", false, true}, {"SEV"}, {"STATUS"}, {"CUSTOMER"}, {"TITLE", true}, {"UPDATED"}}, std::move(rows),
              styles);
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
  cmd->add_option("--customer", o->customer, "Only this customer")->type_name("NAME");
  cmd->add_option("--tag", o->tag, "Only cases with this tag")->type_name("TAG");
  cmd->add_option("--limit", o->limit, "At most N cases; 0 for all")->type_name("N")->capture_default_str();
  add_format(cmd, o->format, {"table", "json", "csv", "ids"});
  cmd->footer("Example:\n  esc list --severity critical --format json | jq '.[].title'");
  cmd->callback([o, &ctx] { run_list(*o, ctx); });
}

}  // namespace esc::cli
