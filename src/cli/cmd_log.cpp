#include <fmt/format.h>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct LogOptions {
  std::string id, kind, at, state;
  std::vector<std::string> text;
};

void run_log(const LogOptions& o, Context& ctx) {
  auto kind = parse_entry_kind(o.kind);
  if (!kind || !is_user_kind(*kind))
    throw usage_error(fmt::format("unknown entry kind \"{}\"", inert(o.kind)),
                      fmt::format("expected one of: {}", join(user_entry_kind_names(), ", ")));
  std::string state;
  if (!o.state.empty()) {
    if (*kind != EntryKind::hypothesis) throw usage_error("--state applies to a hypothesis only");
    state = o.state;
  } else if (*kind == EntryKind::hypothesis) {
    state = "unconfirmed";
  }
  std::optional<Time> at;
  if (!o.at.empty()) {
    at = parse_at(o.at, ctx.now(), "--at");
    if (*at > ctx.now()) throw usage_error("--at is in the future");
  }
  const Case c = ctx.find_case(o.id);
  const std::string text = entry_text(ctx, o.text, o.kind);
  Entry e;
  ctx.store().write([&] { e = app::add_entry(ctx.store(), c.id, *kind, text, ctx.engineer().name, ctx.now(), state, at); });
  ctx.out().info(fmt::format("Logged {} {} on #{}.", o.kind, e.id, c.id));
}

}  // namespace

void register_log(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<LogOptions>();
  auto* cmd = app.add_subcommand("log", "Add a timeline entry: a fact, a step taken, a hypothesis...");
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  cmd->add_option("kind", o->kind,
                  "fact, diagnostic, step, contact, hypothesis, impact, outcome, notice, heads-up, "
                  "update or note")
      ->required()
      ->type_name("KIND");
  cmd->add_option("text", o->text, "The text; `-` reads stdin; none opens $VISUAL/$EDITOR on a terminal")
      ->type_name("TEXT");
  cmd->add_option("--at", o->at, "When it happened: \"2026-12-01 10:00\", \"10:00\", \"yesterday 14:00\", 30m ago...")
      ->type_name("TIME");
  cmd->add_option("--state", o->state, "For a hypothesis: unconfirmed (default), confirmed, refuted")
      ->check(CLI::IsMember(hypothesis_states()))
      ->type_name("STATE");
  cmd->footer(
      "Examples:\n  esc log 12 fact \"Only cards issued in the EU fail; US cards pass\"\n"
      "  esc log 12 step --at 2h \"Rolled back the 3-D Secure config\"\n"
      "  kubectl logs checkout-7f9 | esc log 12 diagnostic -");
  cmd->callback([o, &ctx] { run_log(*o, ctx); });
}

}  // namespace esc::cli
