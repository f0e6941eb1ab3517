#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct OutboxOptions {
  std::string format = "table";
  bool all = false;
  std::string delivery;
};

std::int64_t delivery_number(const std::string& id) {
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos || id.size() > 18)
    throw usage_error(fmt::format("\"{}\" is not a delivery number", inert(id)), "`esc outbox` lists them");
  return std::stoll(id);
}

void run_list(const OutboxOptions& o, Context& ctx) {
  auto open = ctx.store().outbox();
  if (o.format == "json") {
    JsonArrayPrinter a;
    for (const auto& d : open) a.add(to_json(d));
    return;
  }
  if (o.format == "csv") {
    std::cout << csv_row({"id", "case", "channel", "key", "status", "attempts", "next_attempt_at", "last_error"});
    for (const auto& d : open)
      std::cout << csv_row({std::to_string(d.id), std::to_string(d.case_id), d.channel, d.key,
                            std::string(to_string(d.status)), std::to_string(d.attempts),
                            d.next_attempt_at ? format_rfc3339(*d.next_attempt_at) : "", d.last_error});
    return;
  }
  auto& out = ctx.out();
  if (open.empty()) {
    out.info("The outbox is empty: every escalation was delivered.");
    return;
  }
  const Time now = ctx.now();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<Style>> styles;
  for (const auto& d : open) {
    const bool failed = d.status == DeliveryStatus::failed;
    std::string next = failed                                            ? "needs you"
                       : !d.next_attempt_at || *d.next_attempt_at <= now ? "now"
                                                                         : format_relative(*d.next_attempt_at, now);
    rows.push_back({std::to_string(d.id), fmt::format("#{}", d.case_id), d.channel, std::string(to_string(d.status)),
                    std::to_string(d.attempts), next, d.last_error});
    styles.push_back({Style::bold, Style::none, Style::none, failed ? Style::red : Style::yellow, Style::none,
                      failed ? Style::red : Style::none, Style::none});
  }
  out.table({{"DELIVERY", false, true},
             {"CASE"},
             {"CHANNEL"},
             {"STATUS"},
             {"TRIES", false, true},
             {"NEXT"},
             {"LAST ERROR", true}},
            std::move(rows), styles);
  out.hint(
      "`esc outbox retry` delivers what is due; `esc outbox retry DELIVERY` tries one now (a failed one after "
      "the fix); `esc outbox drop DELIVERY` gives one up");
}

void run_retry(const OutboxOptions& o, Context& ctx) {
  auto& store = ctx.store();
  const Config& cfg = ctx.strict_config();
  const Time now = ctx.now();
  // Outcomes an earlier run delivered but could not record come first.
  const int kept = app::record_kept_outcomes(store, cfg, now);
  if (kept) ctx.out().info(fmt::format("Recorded {} delivery outcome(s) kept from an earlier run.", kept));
  std::vector<Delivery> todo;
  if (!o.delivery.empty()) {
    const auto id = delivery_number(o.delivery);
    auto d = store.get_delivery(id);
    if (!d) throw not_found(fmt::format("no delivery {}", id), "`esc outbox` lists them");
    if (d->imported)
      throw data_error(fmt::format("delivery {} is history from another log; nothing here sends it", id));
    if (d->status == DeliveryStatus::delivered || d->status == DeliveryStatus::dropped)
      throw data_error(fmt::format("delivery {} is already {}", id, to_string(d->status)));
    todo.push_back(*d);
  } else {
    todo = store.outbox();
  }
  int delivered = 0, deferred = 0, waiting = 0, failed = 0, other = 0;
  std::vector<std::int64_t> elsewhere;  // claimed by another esc, here or on another machine
  using W = app::Attempted::What;
  for (const auto& d : todo) {
    if (o.delivery.empty()) {
      // A failed delivery needs a person: cron never tries it again.
      if (d.status == DeliveryStatus::failed) {
        ++failed;
        continue;
      }
      if (!o.all && d.next_attempt_at && *d.next_attempt_at > now) {
        ++waiting;
        continue;
      }
    }
    const auto a = app::attempt_delivery(store, cfg, d.id, now);
    switch (a.what) {
      case W::delivered:
        ++delivered;
        ctx.out().info(fmt::format(
            "Delivered {} (case #{}) to {}{}{}.", d.id, d.case_id, d.channel,
            a.delivery.remote_key.empty()
                ? ""
                : ": " +
                      inert(a.delivery.remote_key + (a.delivery.remote_url.empty() ? "" : " " + a.delivery.remote_url)),
            a.adopted ? ", the ticket an earlier attempt had made (no second one)" : ""));
        break;
      case W::deferred:
        ++deferred;
        std::cerr << fmt::format("esc: delivery {} (case #{}) to {} deferred: {}\n", d.id, d.case_id, d.channel,
                                 inert(a.error));
        break;
      case W::failed:
        ++failed;
        std::cerr << fmt::format("esc: delivery {} (case #{}) to {} failed for good: {}\n", d.id, d.case_id, d.channel,
                                 inert(a.error));
        break;
      case W::unrecorded:
        ++other;
        std::cerr << fmt::format(
            "esc: delivered {} to {} but not recorded; `esc outbox retry` will record it "
            "without sending again\n",
            d.id, d.channel);
        break;
      case W::lost_claim:
        ++other;
        std::cerr << fmt::format("esc: delivery {}: {}; nothing was recorded\n", d.id, a.error);
        break;
      case W::busy:
        elsewhere.push_back(d.id);
        break;
    }
  }
  // What another esc was delivering meanwhile counts as pending only if it
  // still is.
  int by_other = 0;
  for (auto id : elsewhere)
    if (auto d = store.get_delivery(id); d && d->status == DeliveryStatus::delivered) ++by_other;
  const int held = static_cast<int>(elsewhere.size()) - by_other;
  if (todo.empty() && kept == 0) {
    ctx.out().info("Nothing to deliver.");
    return;
  }
  std::string line = fmt::format("{} delivered, {} deferred, {} not yet due, {} failed for good", delivered, deferred,
                                 waiting, failed);
  if (by_other) line += fmt::format(", {} delivered by another esc", by_other);
  if (held) line += fmt::format(", {} still held by another esc", held);
  ctx.out().info(line + ".");
  if (failed) ctx.out().hint("a failed delivery needs a person: fix the channel, then `esc outbox retry DELIVERY`");
  if (held)
    ctx.out().hint(
        "another esc claimed it and is delivering it, or died: its claim runs out after the channel's "
        "timeout and a margin, and the next `esc outbox retry` takes it over");
  ctx.exit_code = deliveries_exit(failed > 0, deferred + waiting + other + held > 0);
}

void run_drop(const OutboxOptions& o, Context& ctx) {
  const auto id = delivery_number(o.delivery);
  app::drop_delivery(ctx.store(), id, ctx.engineer(), ctx.now());
  ctx.out().info(fmt::format("Dropped delivery {}.", id));
}

}  // namespace

void register_outbox(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<OutboxOptions>();
  auto* cmd = app.add_subcommand("outbox", "Deliveries not yet delivered: queued, or failed for good; retry or drop");
  add_format(cmd, o->format, {"table", "json", "csv"});
  cmd->require_subcommand(0, 1);
  cmd->footer(
      "Examples:\n  esc outbox --format json\n  esc outbox retry --all     # now, ignoring the back-off\n"
      "  esc outbox retry 7         # one delivery, a failed one too\n  esc outbox drop 7");
  auto* retry = cmd->add_subcommand("retry", "Deliver what is due (exit 75 while something is still open)");
  retry->add_flag("--all", o->all, "Ignore the back-off: try every queued delivery now");
  retry->add_option("delivery", o->delivery, "Only this delivery, now (a failed one after its fix)")
      ->type_name("DELIVERY");
  retry->footer("For cron:\n  */5 * * * * esc outbox retry --quiet");
  auto* drop = cmd->add_subcommand("drop", "Give up on one delivery (recorded on the case)");
  drop->add_option("delivery", o->delivery, "Delivery number, from `esc outbox`")->required()->type_name("DELIVERY");
  cmd->callback([o, retry, drop, &ctx] {
    if (retry->parsed())
      run_retry(*o, ctx);
    else if (drop->parsed())
      run_drop(*o, ctx);
    else
      run_list(*o, ctx);
  });
}

}  // namespace esc::cli
