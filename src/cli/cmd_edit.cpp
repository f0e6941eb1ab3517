#include <fmt/format.h>

#include <algorithm>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct EditOptions {
  std::string id;
  std::optional<std::string> title, customer, severity, ref;
  std::vector<std::string> add_triggers, remove_triggers, add_tags, remove_tags;
};

void run_edit(const EditOptions& o, Context& ctx) {
  check_triggers(ctx, o.add_triggers);
  app::CaseEdit e;
  if (o.severity) e.severity = checked_severity(ctx, *o.severity);
  if (o.title) {
    e.title = checked_line(*o.title, "--title");
    if (e.title->empty()) throw usage_error("--title cannot be empty");
  }
  if (o.customer) e.customer = checked_line(*o.customer, "--customer");
  if (o.ref) e.ref = checked_ref(ctx, *o.ref);
  e.add_triggers = o.add_triggers;
  e.remove_triggers = o.remove_triggers;
  for (const auto& t : o.add_tags) e.add_tags.push_back(checked_line(t, "--tag"));
  e.remove_tags = o.remove_tags;
  const Case c = ctx.find_case(o.id);
  const bool changed = app::edit_case(ctx.store(), c.id, e, ctx.now());
  ctx.out().info(changed ? fmt::format("Updated case #{}.", c.id) : fmt::format("Case #{} unchanged.", c.id));
}

}  // namespace

void register_edit(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<EditOptions>();
  auto* cmd = app.add_subcommand("edit", "Change a case's title, customer, severity, ref, triggers or tags");
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  cmd->add_option("--title", o->title, "New title")->type_name("TITLE");
  cmd->add_option("--customer", o->customer, "New customer")->type_name("NAME");
  cmd->add_option("--severity", o->severity, "New severity")->type_name("SEVERITY");
  cmd->add_option("--ref", o->ref, "New external reference (\"\" clears it)")->type_name("REF");
  cmd->add_option("--trigger", o->add_triggers, "Add a trigger (repeatable)")->type_name("TRIGGER");
  cmd->add_option("--remove-trigger", o->remove_triggers, "Remove a trigger (repeatable)")->type_name("TRIGGER");
  cmd->add_option("--tag", o->add_tags, "Add a tag (repeatable)")->type_name("TAG");
  cmd->add_option("--remove-tag", o->remove_tags, "Remove a tag (repeatable)")->type_name("TAG");
  cmd->footer("Example:\n  esc edit 12 --severity critical --trigger sla-breach");
  cmd->callback([o, &ctx] { run_edit(*o, ctx); });
}

}  // namespace esc::cli
