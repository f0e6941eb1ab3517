#include <fmt/format.h>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct ResolveOptions {
  std::string id;
  std::vector<std::string> text;
  std::optional<int> csat;
  bool unnecessary = false;
};

void run_resolve(const ResolveOptions& o, Context& ctx) {
  const Case c = ctx.find_case(o.id);
  std::string text = o.text.empty() ? std::string("Resolved.") : checked_text(join(o.text, " "), "the resolution");
  app::resolve(ctx.store(), c.id, text, o.csat, o.unnecessary, ctx.engineer(), ctx.now());
  ctx.out().info(fmt::format("Resolved case #{}.", c.id));
  ctx.out().hint(fmt::format("capture what you learned: `esc review {}`", c.id));
}

struct ReopenOptions {
  std::string id;
};

void run_reopen(const ReopenOptions& o, Context& ctx) {
  const Case c = ctx.find_case(o.id);
  const Status s = app::reopen(ctx.store(), c.id, ctx.engineer(), ctx.now());
  ctx.out().info(fmt::format("Reopened case #{} ({}).", c.id, to_string(s)));
}

struct UpdateOptions {
  std::string id;
  std::vector<std::string> text;
};

void run_update(const UpdateOptions& o, Context& ctx) {
  const Case c = ctx.find_case(o.id);
  const std::string text = entry_text(ctx, o.text, "update to the client");
  ctx.store().write(
      [&] { app::add_entry(ctx.store(), c.id, EntryKind::update, text, ctx.engineer().name, ctx.now()); });
  ctx.out().info(fmt::format("Recorded an update to the client on #{}.", c.id));
}

}  // namespace

void register_resolve(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ResolveOptions>();
  auto* cmd = app.add_subcommand("resolve", "Resolve a case");
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  cmd->add_option("text", o->text, "How it was resolved")->type_name("TEXT");
  cmd->add_option("--csat", o->csat, "Client satisfaction, 1 to 5")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return v.size() == 1 && v[0] >= '1' && v[0] <= '5' ? "" : "expected a whole number from 1 to 5, got \"" + v + "\"";
          },
          "1-5"))
      ->type_name("N");
  cmd->add_flag("--unnecessary", o->unnecessary, "The escalation turned out not to be needed");
  cmd->footer("Example:\n  esc resolve 12 \"3-D Secure timeout raised to 10s by payments team\" --csat 4");
  cmd->callback([o, &ctx] { run_resolve(*o, ctx); });

  auto r = std::make_shared<ReopenOptions>();
  auto* reopen = app.add_subcommand("reopen", "Reopen a resolved case");
  reopen->add_option("id", r->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  reopen->footer("Example:\n  esc reopen 12      # back to escalated (or open, if it never was)");
  reopen->callback([r, &ctx] { run_reopen(*r, ctx); });

  auto u = std::make_shared<UpdateOptions>();
  auto* update = app.add_subcommand("update", "Record a follow-up update to the client");
  update->add_option("id", u->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  update->add_option("text", u->text, "What the client was told; `-` reads stdin")->type_name("TEXT");
  update->footer("Example:\n  esc update 12 \"Still with engineering; next update by 16:00 CET\"");
  update->callback([u, &ctx] { run_update(*u, ctx); });
}

}  // namespace esc::cli
