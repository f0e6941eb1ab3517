// Corrections: striking an entry, changing a hypothesis's state, snoozing.

#include <fmt/format.h>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

std::int64_t entry_number(const std::string& word) {
  std::string s = word;
  if (s.starts_with("#")) s.erase(0, 1);
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos)
    throw usage_error(fmt::format("\"{}\" is not an entry number", inert(word)), "`esc show ID` lists each entry's number");
  return std::stoll(s);
}

struct StrikeOptions {
  std::string entry, reason;
};

void run_strike(const StrikeOptions& o, Context& ctx) {
  const auto id = entry_number(o.entry);
  const std::string reason = checked_line(o.reason, "--reason");
  if (reason.empty()) throw usage_error("--reason is required: say why the entry is wrong");
  const Entry e = app::strike(ctx.store(), id, reason, ctx.engineer(), ctx.now());
  ctx.out().info(fmt::format("Struck entry {} on #{}: kept in the timeline, left out of summaries and the checklist.",
                             id, e.case_id));
}

struct StateOptions {
  std::string entry, state;
};

void run_state(const StateOptions& o, Context& ctx) {
  const auto id = entry_number(o.entry);
  std::int64_t case_id = 0;
  const std::string was = app::set_hypothesis_state(ctx.store(), id, o.state, ctx.engineer(), ctx.now(), &case_id);
  ctx.out().info(was == o.state ? fmt::format("Hypothesis {} was already {}.", id, o.state)
                                : fmt::format("Hypothesis {} on #{} is now {}.", id, case_id, o.state));
}

struct SnoozeOptions {
  std::string id, until, reason;
  bool clear = false;
};

void run_snooze(const SnoozeOptions& o, Context& ctx) {
  const Case c = ctx.find_case(o.id);
  std::optional<Time> until;
  std::string reason;
  if (!o.clear) {
    if (o.until.empty())
      throw usage_error("say until when: `esc snooze ID UNTIL --reason TEXT`",
                        "e.g. `esc snooze 12 \"2026-12-02 09:00\" --reason ...`, or 16h from now");
    // A duration means that long from now here, not ago.
    if (auto d = parse_duration(o.until))
      until = ctx.now() + *d;
    else
      until = parse_at(o.until, ctx.now(), "UNTIL");
    if (*until <= ctx.now()) throw usage_error("the snooze would already be over");
    reason = checked_line(o.reason, "--reason");
    if (reason.empty()) throw usage_error("--reason is required: say what you are waiting for");
  }
  app::snooze(ctx.store(), c.id, until, reason, ctx.engineer(), ctx.now());
  ctx.out().info(until ? fmt::format("Case #{} is out of `esc due` until {}.", c.id, format_local(*until))
                       : fmt::format("Case #{} is back in `esc due`.", c.id));
}

}  // namespace

void register_corrections(CLI::App& app, Context& ctx) {
  auto s = std::make_shared<StrikeOptions>();
  auto* strike = app.add_subcommand("strike", "Strike a wrong entry: kept and shown struck, left out of summaries");
  strike->add_option("entry", s->entry, "Entry number, from `esc show`")->required()->type_name("ENTRY");
  strike->add_option("--reason", s->reason, "Why it is wrong (recorded)")->required()->type_name("TEXT");
  strike->footer("Example:\n  esc strike 57 --reason \"wrong customer: that was Globex\"");
  strike->callback([s, &ctx] { run_strike(*s, ctx); });

  auto t = std::make_shared<StateOptions>();
  auto* state = app.add_subcommand("state", "Mark a hypothesis confirmed, refuted or unconfirmed");
  state->add_option("entry", t->entry, "The hypothesis's entry number, from `esc show`")->required()->type_name("ENTRY");
  state->add_option("state", t->state, "unconfirmed, confirmed or refuted")
      ->required()
      ->check(CLI::IsMember(hypothesis_states()))
      ->type_name("STATE");
  state->footer("Example:\n  esc state 42 confirmed");
  state->callback([t, &ctx] { run_state(*t, ctx); });

  auto z = std::make_shared<SnoozeOptions>();
  auto* snooze = app.add_subcommand("snooze", "Keep a case out of `esc due` until a time");
  snooze->add_option("id", z->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  snooze->add_option("until", z->until, "Until: \"2026-12-02 09:00\", \"14:00\", or a duration from now (16h)")
      ->type_name("UNTIL");
  snooze->add_option("--reason", z->reason, "What you are waiting for (recorded)")->type_name("TEXT");
  snooze->add_flag("--clear", z->clear, "End the snooze now");
  snooze->footer("Example:\n  esc snooze 12 2d --reason \"client is testing the workaround until Thursday\"");
  snooze->callback([z, &ctx] { run_snooze(*z, ctx); });
}

}  // namespace esc::cli
