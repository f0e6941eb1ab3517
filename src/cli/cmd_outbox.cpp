#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/outbox.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct OutboxOptions {
  std::string format = "table";
  bool all = false;
  std::string delivery;
};

void run_list(const OutboxOptions& o, Context& ctx) {
  auto pending = ctx.store().pending_deliveries();
  if (o.format == "json") {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& d : pending) a.push_back(to_json(d));
    print_json(a);
    return;
  }
  if (o.format == "csv") {
    std::cout << csv_row({"id", "case", "channel", "key", "status", "attempts", "next_attempt_at", "last_error"});
    for (const auto& d : pending)
      std::cout << csv_row({std::to_string(d.id), std::to_string(d.case_id), d.channel, d.key,
                            std::string(to_string(d.status)), std::to_string(d.attempts),
                            d.next_attempt_at ? format_rfc3339(*d.next_attempt_at) : "", d.last_error});
    return;
  }
  auto& out = ctx.out();
  if (pending.empty()) {
    out.info("The outbox is empty: every escalation was delivered.");
    return;
  }
  const Time now = ctx.now();
  std::vector<std::vector<std::string>> rows;
  for (const auto& d : pending)
    rows.push_back(
        {std::to_string(d.id), fmt::format("#{}", d.case_id), d.channel, std::to_string(d.attempts),
         d.next_attempt_at ? (*d.next_attempt_at <= now ? "now" : format_relative(*d.next_attempt_at, now)) : "now",
         d.last_error});
  out.table({{"DELIVERY", false, true}, {"CASE"}, {"CHANNEL"}, {"TRIES", false, true}, {"NEXT"}, {"LAST ERROR", true}},
            std::move(rows));
  out.hint("`esc outbox retry` delivers what is due; `esc outbox drop DELIVERY` gives one up");
}

void run_retry(const OutboxOptions& o, Context& ctx) {
  auto& store = ctx.store();
  const Config& cfg = ctx.config();
  const Time now = ctx.now();
  int delivered = 0, failed = 0, waiting = 0;
  for (const auto& d : store.pending_deliveries()) {
    if (!o.all && d.next_attempt_at && *d.next_attempt_at > now) {
      ++waiting;
      continue;
    }
    auto a = attempt_delivery(store, cfg, d.id, now);
    if (!a.attempted) {
      ++waiting;
    } else if (a.ok) {
      ++delivered;
      ctx.out().info(fmt::format("Delivered {} (case #{}) to {}.", d.id, d.case_id, d.channel));
    } else {
      ++failed;
      std::cerr << fmt::format("esc: delivery {} (case #{}) to {} failed again: {}\n", d.id, d.case_id, d.channel,
                               inert(a.error));
    }
  }
  if (delivered + failed + waiting == 0) {
    ctx.out().info("Nothing to deliver.");
    return;
  }
  ctx.out().info(fmt::format("{} delivered, {} failed, {} not yet due.", delivered, failed, waiting));
  if (failed + waiting > 0) ctx.exit_code = static_cast<int>(Exit::temp_fail);
}

void run_drop(const OutboxOptions& o, Context& ctx) {
  auto& store = ctx.store();
  std::string id = o.delivery;
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos || id.size() > 18)
    throw usage_error(fmt::format("\"{}\" is not a delivery number", inert(id)), "`esc outbox` lists them");
  store.write([&] {
    auto d = store.get_delivery(std::stoll(id));
    if (!d) throw not_found(fmt::format("no delivery {}", id), "`esc outbox` lists them");
    if (d->status != DeliveryStatus::pending)
      throw data_error(fmt::format("delivery {} is already {}", id, to_string(d->status)));
    d->status = DeliveryStatus::dropped;
    d->next_attempt_at.reset();
    store.update_delivery(*d);
    auto c = store.get_case(d->case_id);
    if (c)
      add_entry(ctx, *c, "delivery",
                fmt::format("Delivery to {} dropped by hand after {} attempt(s).", d->channel, d->attempts));
  });
  ctx.out().info(fmt::format("Dropped delivery {}.", id));
}

}  // namespace

void register_outbox(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<OutboxOptions>();
  auto* cmd = app.add_subcommand("outbox", "Deliveries not yet delivered; retry or drop them");
  add_format(cmd, o->format, {"table", "json", "csv"});
  cmd->require_subcommand(0, 1);
  cmd->footer(
      "Examples:\n  esc outbox --format json\n  esc outbox retry --all     # now, ignoring the back-off\n"
      "  esc outbox drop 7");
  auto* retry = cmd->add_subcommand("retry", "Deliver what is due (exit 75 while something is still pending)");
  retry->add_flag("--all", o->all, "Ignore the back-off: try every pending delivery now");
  retry->footer("For cron:\n  */5 * * * * esc outbox retry --quiet");
  auto* drop = cmd->add_subcommand("drop", "Give up on one delivery (recorded on the case)");
  drop->add_option("delivery", o->delivery, "Delivery number, from `esc outbox`")->required()->type_name("DELIVERY");
  cmd->callback([o, cmd, retry, drop, &ctx] {
    if (retry->parsed())
      run_retry(*o, ctx);
    else if (drop->parsed())
      run_drop(*o, ctx);
    else
      run_list(*o, ctx);
  });
}

}  // namespace esc::cli
