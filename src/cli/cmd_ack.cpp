#include <fmt/format.h>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct AckOptions {
  std::string id, by;
};

void run_ack(const AckOptions& o, Context& ctx) {
  const Case c = ctx.find_case(o.id);
  const std::string by = checked_line(o.by, "--by");
  const auto a = app::acknowledge(ctx.store(), c.id, by, ctx.engineer(), ctx.now());
  ctx.out().info(a.already ? fmt::format("Level {} of #{} was already acknowledged by {}.", a.x.level, c.id,
                                         inert(a.x.acked_by))
                           : fmt::format("Recorded: level {} of #{} acknowledged by {}.", a.x.level, c.id,
                                         inert(a.x.acked_by)));
}

}  // namespace

void register_ack(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<AckOptions>();
  auto* cmd = app.add_subcommand("ack", "Record that the next level acknowledged the escalation");
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  cmd->add_option("--by", o->by, "Who acknowledged (default: you, the engineer of the next level)")->type_name("NAME");
  cmd->footer("Examples:\n  esc ack 12                  # you, in tier 2, took it\n  esc ack 12 --by \"Sam (tier 2)\"");
  cmd->callback([o, &ctx] { run_ack(*o, ctx); });
}

}  // namespace esc::cli
