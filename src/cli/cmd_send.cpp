#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "esc/channels.hpp"
#include "esc/error.hpp"
#include "esc/outbox.hpp"
#include "esc/redact.hpp"
#include "esc/summary.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct SendOptions {
  std::string id, to, channel, reason;
  bool dry_run = false, force = false;
};

void run_send(const SendOptions& o, Context& ctx) {
  const Config& cfg = ctx.config();
  auto& out = ctx.out();
  if (o.force && trim(o.reason).empty())
    throw usage_error(
        "--force needs --reason: say why this goes out before it is ready",
        fmt::format("esc send {} --force --reason \"client's CFO on the phone, no time for the rest\"", o.id));
  if (!o.force && !o.reason.empty()) throw usage_error("--reason goes with --force");
  const PathConfig* path = nullptr;
  if (!o.to.empty()) {
    path = cfg.find_path(o.to);
    if (!path) {
      std::vector<std::string> names;
      for (const auto& p : cfg.paths) names.push_back(p.name);
      throw usage_error(fmt::format("no escalation path \"{}\"", o.to), fmt::format("paths: {}", join(names, ", ")));
    }
  }
  std::vector<std::string> channels;
  if (!o.channel.empty()) {
    if (!cfg.find_channel(o.channel)) {
      std::vector<std::string> names;
      for (const auto& c : cfg.channels) names.push_back(c.name);
      throw usage_error(fmt::format("no channel \"{}\"", o.channel), fmt::format("channels: {}", join(names, ", ")));
    }
    channels.push_back(o.channel);
  }

  auto& store = ctx.store();
  Case c = ctx.find_case(o.id);
  if (!path) path = &cfg.route(c.severity);
  if (channels.empty()) channels = path->channels;
  if (c.status == Status::resolved)
    throw data_error(fmt::format("case #{} is resolved", c.id), fmt::format("reopen it first: `esc reopen {}`", c.id));

  const auto entries = store.entries(c.id);
  const auto previous = store.escalations(c.id);
  Summary s = build_summary(c, entries, previous, cfg, ctx.now());
  const bool ready = s.readiness.ready();
  if (!ready && !o.force) {
    std::cerr << fmt::format("esc: case #{} is not ready to escalate; missing:\n", c.id);
    for (const auto* m : s.readiness.missing(true)) std::cerr << fmt::format("  - {}: {}\n", m->key, m->question);
    out.hint(fmt::format("`esc check {}` asks for each; or `--force --reason TEXT` to send anyway", c.id));
    ctx.exit_code = static_cast<int>(Exit::no);
    return;
  }
  if (!ready) s.forced_reason = checked_line(o.reason, "--reason");
  if (path->external) {
    // A vendor or regulator gets the case, not the team's internal notes.
    s.notes.clear();
    s.heads_up.clear();
  }
  Redactor(cfg).apply(s);
  const int level = previous.empty() ? 1 : previous.back().level + 1;

  if (o.dry_run) {
    for (const auto& name : channels) {
      const ChannelConfig& ch = *cfg.find_channel(name);
      Payload p = render_payload(ch, s, "(key assigned when sent)", ctx.now());
      std::cerr << fmt::format("--- would send level {} to path {} via channel {}: {} ({})\n", level, path->name, name,
                               p.description, p.content_type);
      std::cout << p.body;
      if (!p.body.ends_with("\n")) std::cout << '\n';
    }
    out.info("Dry run: nothing was recorded or sent.");
    return;
  }

  // Record everything before trying to deliver anything: a crash from here
  // on leaves the escalation and its queued deliveries in the outbox.
  Escalation x;
  std::vector<std::int64_t> delivery_ids;
  // Durable: once a channel has it, the escalation must not be forgotten.
  store.write(
      [&] {
        c = *store.get_case(c.id);
        auto now_previous = store.escalations(c.id);
        x.level = now_previous.empty() ? 1 : now_previous.back().level + 1;
        x.uuid = new_uuid();
        x.case_id = c.id;
        x.path = path->name;
        x.at = ctx.now();
        x.forced = !ready;
        x.force_reason = ready ? "" : s.forced_reason;
        x.subject = s.subject;
        x.snapshot = to_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        store.insert_escalation(x);
        for (const auto& name : channels) {
          Delivery d;
          d.escalation_id = x.id;
          d.channel = name;
          d.key = new_uuid();
          d.created_at = ctx.now();
          d.next_attempt_at = ctx.now();
          store.insert_delivery(d);
          delivery_ids.push_back(d.id);
        }
        c.status = Status::escalated;
        std::string text = fmt::format("Escalated to {} (level {}) via {}.", path->name, x.level, join(channels, ", "));
        if (x.forced) text += " Sent before the checklist was complete: " + x.force_reason;
        add_entry(ctx, c, "escalated", text);
      },
      Store::Sync::durable);

  std::vector<std::string> delivered, deferred;
  for (auto id : delivery_ids) {
    auto a = attempt_delivery(store, cfg, id, ctx.now());
    if (a.ok)
      delivered.push_back(a.delivery.channel);
    else
      deferred.push_back(fmt::format("{} ({})", a.delivery.channel, inert(a.error)));
  }
  std::string msg = fmt::format("Escalated #{} to {} (level {}).", c.id, path->name, x.level);
  if (!delivered.empty()) msg += " Delivered: " + join(delivered, ", ") + ".";
  out.info(msg);
  if (!deferred.empty()) {
    std::cerr << fmt::format("esc: deferred, kept in the outbox: {}\n", join(deferred, "; "));
    out.hint("`esc outbox retry` delivers it once the channel works again (cron-friendly)");
    ctx.exit_code = static_cast<int>(Exit::temp_fail);
  } else if (path->ack_within) {
    out.hint(fmt::format("record the answer with `esc ack {}`; `esc due` flags it after {}", c.id,
                         format_duration(*path->ack_within)));
  }
}

}  // namespace

void register_send(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<SendOptions>();
  auto* cmd = app.add_subcommand("send", "Escalate: record it and deliver the summary to the path's channels");
  cmd->add_option("id", o->id, "Case: 12, #12 or its external ref")->required()->type_name("ID");
  cmd->add_option("--to", o->to, "Escalation path (default: [routing] by severity)")->type_name("PATH");
  cmd->add_option("--channel", o->channel, "Deliver to this channel only, instead of the path's")->type_name("NAME");
  cmd->add_flag("--dry-run", o->dry_run, "Print what would be sent, to which channel; record nothing");
  cmd->add_flag("--force", o->force, "Send although the checklist is incomplete (needs --reason)");
  cmd->add_option("--reason", o->reason, "Why it goes out unprepared (recorded)")->type_name("TEXT");
  cmd->footer(
      "Exit status: 0 delivered, 1 refused (not ready), 75 deferred (queued in the outbox).\n"
      "Examples:\n  esc send 12 --dry-run\n  esc send 12 | mail -s \"escalation\" tier2@example.com\n"
      "  esc send 12 --to engineering      # the next level, when tier2 does not answer");
  cmd->callback([o, &ctx] { run_send(*o, ctx); });
}

}  // namespace esc::cli
