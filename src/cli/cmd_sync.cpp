#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/sync.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

std::string what_came(const app::SyncedDelivery& d) {
  std::vector<std::string> parts;
  if (!d.acknowledged_by.empty()) parts.push_back("acknowledged by " + inert(d.acknowledged_by));
  if (d.replies) parts.push_back(d.replies == 1 ? std::string("1 reply") : fmt::format("{} replies", d.replies));
  if (d.resolved) parts.push_back("resolved upstream");
  if (d.reopened) parts.push_back("reopened upstream");
  if (parts.empty()) parts.push_back("updated");
  return join(parts, ", ");
}

void run_sync(Context& ctx) {
  const Config& cfg = ctx.config();
  auto& store = ctx.store();
  const auto r = app::sync(store, cfg, ctx.now());
  auto& out = ctx.out();
  bool refused = false, later = false;
  for (const auto& d : r.changed) {
    if (d.case_id && (d.replies || d.resolved || d.reopened || !d.acknowledged_by.empty()))
      out.info(fmt::format("#{} {} ({}): {}.", d.case_id, inert(d.path), inert(d.source), what_came(d)));
    if (!d.error.empty()) {
      std::cerr << fmt::format("esc: #{} {}: {}; the next sync looks again\n", d.case_id, inert(d.channel),
                               inert(d.error));
      later = true;
    }
  }
  for (const auto& p : r.problems) {
    if (p.failure == FollowResult::Failure::refused) {
      std::cerr << fmt::format("esc: error: {}: {}\n", inert(p.channel), inert(p.error));
      refused = true;
    } else {
      std::cerr << fmt::format("esc: {}: not synced this time: {}; the next sync tries again\n", inert(p.channel),
                               inert(p.error));
      later = true;
    }
  }
  for (const auto& [name, why] : r.not_followed) out.hint(fmt::format("channel {} is not followed: {}", name, why));
  if (r.followed == 0 && r.problems.empty()) {
    out.info("Nothing to sync: no escalation of an open case went to a tracker or a mailbox esc can read.");
  } else {
    std::string what = r.entries == 0   ? std::string(r.reopened ? "no new entry" : "nothing new")
                       : r.entries == 1 ? std::string("1 new entry")
                                        : fmt::format("{} new entries", r.entries);
    if (r.reopened) what += fmt::format(", {} reopened upstream", r.reopened);
    out.info(fmt::format("Synced {} {}: {}.", r.followed, r.followed == 1 ? "delivery" : "deliveries", what));
    if (r.entries || r.reopened) out.hint("`esc due` shows what needs you now; `esc show ID` the answers");
  }
  if (refused)
    ctx.exit_code = static_cast<int>(Exit::config);
  else if (later)
    ctx.exit_code = static_cast<int>(Exit::temp_fail);
}

}  // namespace

void register_sync(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "sync", "Bring the next level's answers into the cases: assignments, comments, resolutions, e-mail replies");
  cmd->footer(
      "Reads every tracker (jira, github), PagerDuty (with api_token_env) and mailbox (an smtp channel's imap_url)\n"
      "that an escalation of a case not yet resolved went to, and records what is new, once.\n"
      "Exit status: 0 synced, 75 a tracker or mailbox could not be read now (the others were),\n"
      "78 one refused esc's credentials.\n"
      "For cron:\n  */10 * * * * esc sync --quiet");
  cmd->callback([&ctx] { run_sync(ctx); });
}

}  // namespace esc::cli
