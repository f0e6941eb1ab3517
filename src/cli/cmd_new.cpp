#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct NewOptions {
  std::vector<std::string> title;
  std::string customer, severity, ref;
  std::vector<std::string> triggers, tags;
};

void run_new(const NewOptions& o, Context& ctx) {
  Case c;
  c.title = checked_line(join(o.title, " "), "the title");
  if (c.title.empty()) throw usage_error("the title is empty", "esc new \"Checkout fails for EU cards\"");
  c.customer = checked_line(o.customer, "--customer");
  c.ref = checked_ref(ctx, o.ref);
  c.severity = checked_severity(ctx, o.severity);
  check_triggers(ctx, o.triggers);
  for (const auto& t : o.triggers)
    if (std::find(c.triggers.begin(), c.triggers.end(), t) == c.triggers.end()) c.triggers.push_back(t);
  for (const auto& t : o.tags) {
    auto tag = checked_line(t, "--tag");
    if (!tag.empty() && std::find(c.tags.begin(), c.tags.end(), tag) == c.tags.end()) c.tags.push_back(tag);
  }
  c.uuid = new_uuid();
  const auto who = ctx.engineer();
  c.engineer = who.name;
  c.engineer_email = who.email;
  c.created_at = c.updated_at = ctx.now();
  auto& store = ctx.store_creating();
  app::open_case(store, c);
  std::cout << c.id << '\n';
  auto& out = ctx.out();
  out.info(fmt::format("Opened case #{}: {}", c.id, inert(c.title)));
  auto similar = store.similar_resolved(c.title, 3);
  if (!similar.empty()) {
    out.info("Similar resolved cases (their lessons may help: `esc lessons`):");
    for (const auto& s : similar) out.info(fmt::format("  #{}  {}", s.id, inert(s.title)));
  }
  out.hint(fmt::format("record what you know: `esc log {} fact \"...\"`, then `esc check {}`", c.id, c.id));
}

}  // namespace

void register_new(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<NewOptions>();
  auto* cmd = app.add_subcommand("new", "Open a case; prints its id alone on stdout");
  cmd->add_option("title", o->title, "What is wrong, in a line")->required()->type_name("TITLE");
  cmd->add_option("--customer", o->customer, "The client or account")->type_name("NAME");
  cmd->add_option("--severity", o->severity, "critical, high, medium (default) or low")->type_name("SEVERITY");
  cmd->add_option("--ref", o->ref, "External reference, e.g. a ticket number (ZD-4411)")->type_name("REF");
  cmd->add_option("--trigger", o->triggers, "Why it may need escalating (repeatable)")->type_name("TRIGGER");
  cmd->add_option("--tag", o->tags, "A tag (repeatable)")->type_name("TAG");
  cmd->footer(
      "Example:\n  id=$(esc new \"Checkout fails for EU cards\" --customer \"ACME Corp\" --severity high \\\n"
      "         --ref ZD-4411 --trigger sla-breach)");
  cmd->callback([o, &ctx] { run_new(*o, ctx); });
}

}  // namespace esc::cli
