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

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

void remove_all(std::vector<std::string>& v, const std::string& s) { std::erase(v, s); }

void run_edit(const EditOptions& o, Context& ctx) {
  check_triggers(ctx, o.add_triggers);
  if (o.severity) checked_severity(ctx, *o.severity);
  auto& store = ctx.store();
  Case c = ctx.find_case(o.id);
  const std::int64_t id = c.id;
  bool changed = false;
  // Only the fields given change, on the case as it is inside the
  // transaction: two people editing one case never undo each other.
  store.write([&] {
    c = *store.get_case(id);
    const Case before = c;
    if (o.title) {
      c.title = checked_line(*o.title, "--title");
      if (c.title.empty()) throw usage_error("--title cannot be empty");
    }
    if (o.customer) c.customer = checked_line(*o.customer, "--customer");
    if (o.severity) c.severity = *o.severity;
    if (o.ref) {
      c.ref = checked_line(*o.ref, "--ref");
      if (c.ref.starts_with("#") || c.ref.starts_with("ref:"))
        throw usage_error(fmt::format("--ref \"{}\" would read as a case number or a ref: prefix", inert(c.ref)));
      if (!c.ref.empty())
        if (auto other = store.case_by_ref(c.ref); other && other->id != c.id)
          throw data_error(fmt::format("ref {} already belongs to case #{}", inert(c.ref), other->id));
    }
    for (const auto& t : o.add_triggers) add_unique(c.triggers, t);
    for (const auto& t : o.remove_triggers) remove_all(c.triggers, t);
    for (const auto& t : o.add_tags) add_unique(c.tags, checked_line(t, "--tag"));
    for (const auto& t : o.remove_tags) remove_all(c.tags, t);
    changed = c.title != before.title || c.customer != before.customer || c.severity != before.severity ||
              c.ref != before.ref || c.triggers != before.triggers || c.tags != before.tags;
    if (changed) {
      c.updated_at = std::max(c.updated_at, ctx.now());
      store.update_case(c);
    }
  });
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
