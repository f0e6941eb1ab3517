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
  auto& store = ctx.store();
  Case c = ctx.find_case(o.id);
  const std::string by = checked_line(o.by, "--by");
  bool already = false;
  int level = 0;
  store.write([&] {
    c = *store.get_case(c.id);
    auto xs = store.escalations(c.id);
    if (xs.empty())
      throw data_error(fmt::format("case #{} has not been escalated", c.id), fmt::format("`esc send {}` first", c.id));
    auto x = xs.back();
    level = x.level;
    if (x.acked_at) {
      already = true;
      return;
    }
    x.acked_at = ctx.now();
    x.acked_by = by;
    store.update_escalation(x);
    add_entry(ctx, c, "acknowledged",
              fmt::format("Level {} ({}) acknowledged{}.", x.level, x.path, by.empty() ? "" : " by " + by));
  });
  ctx.out().info(already ? fmt::format("Level {} of #{} was already acknowledged.", level, c.id)
                         : fmt::format("Recorded: level {} of #{} acknowledged.", level, c.id));
}

}  // namespace

void register_ack(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<AckOptions>();
  auto* cmd = app.add_subcommand("ack", "Record that the next level acknowledged the escalation");
  cmd->add_option("id", o->id, "Case: 12, #12 or its external ref")->required()->type_name("ID");
  cmd->add_option("--by", o->by, "Who acknowledged")->type_name("NAME");
  cmd->footer("Example:\n  esc ack 12 --by \"Sam (tier 2)\"");
  cmd->callback([o, &ctx] { run_ack(*o, ctx); });
}

}  // namespace esc::cli
