#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct SendOptions {
  std::string id, to, channel, reason, note;
  bool dry_run = false, force = false, again = false;
};

// What became of each delivery, said once: delivered, kept for later, or
// needing a person.
struct Report {
  std::vector<std::string> delivered, deferred, failed, unrecorded, other;
};

void report(Context& ctx, const Report& r) {
  auto& out = ctx.out();
  if (!r.delivered.empty()) out.info("Delivered: " + join(r.delivered, ", ") + ".");
  for (const auto& u : r.unrecorded)
    std::cerr << fmt::format(
        "esc: delivered to {} but not recorded; `esc outbox retry` will record it without sending again\n", u);
  if (!r.deferred.empty()) {
    std::cerr << fmt::format("esc: deferred, kept in the outbox: {}\n", join(r.deferred, "; "));
    out.hint("`esc outbox retry` delivers it once the channel works again (cron-friendly)");
  }
  if (!r.failed.empty()) {
    std::cerr << fmt::format("esc: failed for good, needs a person: {}\n", join(r.failed, "; "));
    out.hint("fix the channel (`esc config check`), then `esc outbox retry DELIVERY`");
  }
  for (const auto& o : r.other) std::cerr << fmt::format("esc: {}\n", o);
  ctx.exit_code = deliveries_exit(!r.failed.empty(), !r.deferred.empty() || !r.unrecorded.empty() || !r.other.empty());
}

// Checks the request and records the escalation and its deliveries (false:
// refused, or a dry run). `recording` is set once the change is under way.
bool record(SendOptions& o, Context& ctx, app::Sent& sent, bool& recording) {
  if ((o.force || o.again) && trim(o.reason).empty())
    throw usage_error(fmt::format("{} needs --reason: say why it goes out {}", o.force ? "--force" : "--again",
                                  o.force ? "before it is ready" : "again"),
                      fmt::format("esc send {} {} --reason \"...\"", o.id, o.force ? "--force" : "--again"));
  if (!o.force && !o.again && !o.reason.empty()) throw usage_error("--reason goes with --force or --again");
  o.reason = checked_line(o.reason, "--reason");
  o.note = checked_line(o.note, "--note");
  const Config& cfg = ctx.strict_config();
  app::SendRequest req;
  if (!o.to.empty()) {
    req.path = cfg.find_path(o.to);
    if (!req.path) {
      std::vector<std::string> names;
      for (const auto& p : cfg.paths) names.push_back(p.name);
      throw usage_error(fmt::format("no escalation path \"{}\"", inert(o.to)),
                        fmt::format("paths: {}", join(names, ", ")));
    }
  }
  const Case found = ctx.find_case(o.id);
  req.case_id = found.id;
  req.channel = o.channel;
  req.force = o.force;
  req.again = o.again;
  req.reason = o.reason;
  req.note = o.note;
  auto& store = ctx.store();
  // Sending to a level that came before: say why it is sent now (asked on
  // a terminal). Whether it is, the escalations alone tell; the whole plan
  // (a summary of every entry) is made only where it is shown or sent.
  const auto previous = store.escalations(found.id);
  const PathConfig& to = req.path ? *req.path : cfg.route(found.severity);
  const bool unanswered = [&] {
    for (auto it = previous.rbegin(); it != previous.rend(); ++it)
      if (it->path == to.name) return !it->acked_at;
    return false;
  }();
  const bool re_escalating = !previous.empty() && !(unanswered && !req.channel.empty() && !req.again);
  if (re_escalating && req.note.empty() && !o.dry_run && ctx.out().stdin_is_tty() && (!unanswered || req.again)) {
    auto answer = ask("Why is it sent now (e.g. \"tier2 did not answer in 4h\")? ");
    if (answer) req.note = checked_line(*answer, "the note");
  }

  if (o.dry_run) {
    const auto plan = app::plan_send(store, cfg, req, ctx.now());
    for (const auto& name : plan.channels) {
      const ChannelConfig& ch = *cfg.find_channel(name);
      Payload p = render_payload(ch, plan.summary, "(key assigned when sent)", {cfg.engineer_name, cfg.engineer_email},
                                 ctx.now());
      std::cerr << fmt::format("--- would {} level {} to path {} via channel {}: {} ({})\n",
                               plan.redeliver ? "deliver again" : "send", plan.level, plan.path->name, name,
                               inert(p.description), p.content_type);
      std::cout << p.body;
      if (!p.body.ends_with("\n")) std::cout << '\n';
    }
    ctx.out().info("Dry run: nothing was recorded or sent.");
    // What a real send would say, and its exit status: a script that
    // checks first must not be told that a refused send would go.
    if (auto no = app::refusal(plan, req)) {
      std::cerr << "esc: a real send would refuse: " << no->what() << '\n';
      ctx.out().hint(no->hint());
      ctx.exit_code = static_cast<int>(Exit::no);
    }
    return false;
  }
  recording = true;

  try {
    sent = app::record_send(store, cfg, req, ctx.engineer(), ctx.now());
  } catch (const Error& e) {
    if (e.code() != Exit::no) throw;
    std::cerr << "esc: " << e.what() << '\n';
    ctx.out().hint(e.hint());
    ctx.exit_code = static_cast<int>(Exit::no);
    return false;
  }
  return true;
}

void run_send(SendOptions o, Context& ctx) {
  app::Sent sent;
  // Nothing is delivered that was not first recorded: when the log cannot
  // be written, or cannot be reached for now, nothing went out, and the
  // escalation can simply be sent again (75, as for a deferred delivery).
  bool recording = false;
  try {
    if (!record(o, ctx, sent, recording)) return;
  } catch (const Error& e) {
    if (e.code() == Exit::io && (recording || dynamic_cast<const TransientError*>(&e)))
      throw Error(Exit::temp_fail, fmt::format("{}; the escalation was not recorded and nothing was sent", e.what()),
                  fmt::format("`esc send {}` again once the log can be written", inert(o.id)));
    throw;
  }
  const Config& cfg = ctx.config();
  auto& store = ctx.store();
  Report r;
  std::vector<std::string> tickets;  // "ENG-4411 https://...", each made or found
  for (auto id : sent.deliveries) {
    const auto a = app::attempt_delivery(store, cfg, id, ctx.now());
    const std::string& name = a.delivery.channel;
    using W = app::Attempted::What;
    switch (a.what) {
      case W::delivered:
        r.delivered.push_back(name);
        if (!a.delivery.remote_key.empty())
          tickets.push_back(
              inert(a.delivery.remote_key + (a.delivery.remote_url.empty() ? "" : " " + a.delivery.remote_url)) +
              (a.adopted ? " (made by an earlier attempt)" : ""));
        break;
      case W::deferred:
        r.deferred.push_back(fmt::format("{} ({})", name, inert(a.error)));
        break;
      case W::failed:
        r.failed.push_back(fmt::format("{}, delivery {} ({})", name, a.delivery.id, inert(a.error)));
        break;
      case W::unrecorded:
        r.unrecorded.push_back(name);
        break;
      case W::lost_claim:
        r.other.push_back(fmt::format("{}: {}; nothing was recorded", name, a.error));
        break;
      case W::busy:
        r.other.push_back(fmt::format("{}: another esc is delivering it now", name));
        break;
    }
  }
  const std::int64_t case_id = sent.x.case_id;
  // The tickets the next level works in, where the engineer sees them first:
  // "Escalated #12 to engineering: ENG-4411 https://...".
  if (tickets.empty())
    ctx.out().info(sent.new_level ? fmt::format("Escalated #{} to {} (level {}).", case_id, sent.x.path, sent.x.level)
                                  : fmt::format("Delivered level {} of #{} again.", sent.x.level, case_id));
  else
    ctx.out().info(
        sent.new_level
            ? fmt::format("Escalated #{} to {}{}: {}", case_id, sent.x.path,
                          sent.x.level > 1 ? fmt::format(" (level {})", sent.x.level) : "", join(tickets, ", "))
            : fmt::format("Delivered level {} of #{} again: {}", sent.x.level, case_id, join(tickets, ", ")));
  report(ctx, r);
  const PathConfig* path = cfg.find_path(sent.x.path);
  if (ctx.exit_code == 0 && path && path->ack_within)
    ctx.out().hint(fmt::format("record the answer with `esc ack {}`; `esc due` flags it after {}", case_id,
                               format_duration(*path->ack_within)));
}

}  // namespace

void register_send(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<SendOptions>();
  auto* cmd = app.add_subcommand("send", "Escalate: record it and deliver the summary to the path's channels");
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  cmd->add_option("--to", o->to, "Escalation path (default: [routing] by severity)")->type_name("PATH");
  cmd->add_option("--channel", o->channel,
                  "Only this channel; while the path's escalation is unanswered, deliver that one again")
      ->type_name("NAME");
  cmd->add_flag("--dry-run", o->dry_run, "Print what would be sent, to which channel; record nothing");
  cmd->add_flag("--force", o->force, "Send although the checklist is incomplete (needs --reason)");
  cmd->add_flag("--again", o->again, "Escalate to a path whose last escalation is unanswered (needs --reason)");
  cmd->add_option("--reason", o->reason, "Why it goes out unprepared, or again (recorded)")->type_name("TEXT");
  cmd->add_option("--note", o->note, "Why it is sent now; heads the summary (asked on a terminal when re-escalating)")
      ->type_name("TEXT");
  cmd->footer(
      "Exit status: 0 delivered, 1 refused (not ready, or the path has not answered), 75 deferred (queued).\n"
      "Examples:\n  esc send 12 --dry-run\n  esc send 12 | mail -s \"escalation\" tier2@example.com\n"
      "  esc send 12 --to engineering --note \"tier2 did not answer in 4h\"");
  cmd->callback([o, &ctx] { run_send(*o, ctx); });
}

}  // namespace esc::cli
