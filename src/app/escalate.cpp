// Escalating: one escalation per path until it is answered, recorded with
// its deliveries before any is tried.

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "esc/app.hpp"
#include "esc/error.hpp"
#include "esc/redact.hpp"
#include "esc/text.hpp"

namespace esc::app {

namespace {

const PathConfig& path_for(const Config& cfg, const SendRequest& r, const Case& c) {
  return r.path ? *r.path : cfg.route(c.severity);
}

// The path's newest escalation of this case, when it has not been answered.
std::optional<Escalation> unanswered_on(const std::vector<Escalation>& xs, const std::string& path) {
  for (auto it = xs.rbegin(); it != xs.rend(); ++it)
    if (it->path == path) {
      if (it->acked_at) return std::nullopt;
      return *it;
    }
  return std::nullopt;
}

// The plan, from what the log holds now (inside or outside a transaction).
SendPlan make_plan(Store& store, const Config& cfg, const SendRequest& r, Time now) {
  if (!r.channel.empty() && !cfg.find_channel(r.channel)) {
    std::vector<std::string> names;
    for (const auto& c : cfg.channels) names.push_back(c.name);
    throw usage_error(fmt::format("no channel \"{}\"", r.channel), fmt::format("channels: {}", join(names, ", ")));
  }
  SendPlan p;
  auto c = store.get_case(r.case_id);
  if (!c) throw not_found(fmt::format("no case #{}", r.case_id));
  p.c = *c;
  if (p.c.status == Status::resolved)
    throw data_error(fmt::format("case #{} is resolved", p.c.id),
                     fmt::format("reopen it first: `esc reopen {}`", p.c.id));
  p.path = &path_for(cfg, r, p.c);
  const auto previous = store.escalations(p.c.id);
  p.unanswered = unanswered_on(previous, p.path->name);
  p.redeliver = p.unanswered && !r.channel.empty() && !r.again;
  if (!r.channel.empty())
    p.channels = {r.channel};
  else
    p.channels = p.path->channels;
  p.level = previous.empty() ? 1 : previous.back().level + 1;
  if (p.redeliver) p.level = p.unanswered->level;
  // The summary of the escalations before this one.
  p.summary = summary_of(store, cfg, p.c, now, p.redeliver ? p.unanswered->id : 0);
  p.summary.note = r.note;
  p.summary.c.status = Status::escalated;  // what the next level receives it as
  if (!p.summary.readiness.ready() && r.force) p.summary.forced_reason = r.reason;
  if (p.path->external) {
    // A vendor or regulator gets the case, not the team's internal notes.
    p.summary.notes.clear();
    p.summary.heads_up.clear();
  }
  Redactor(cfg).apply(p.summary);
  return p;
}

}  // namespace

Summary summary_of(Store& store, const Config& cfg, const Case& c, Time now, std::int64_t leave_out) {
  std::vector<Escalation> before;
  for (const auto& x : store.escalations(c.id))
    if (x.id != leave_out) before.push_back(x);
  Summary s = build_summary(c, store.entries(c.id), before, cfg, now);
  for (std::size_t i = 0; i < before.size(); ++i)
    for (const auto& d : store.deliveries(before[i].id))
      if (!d.remote_key.empty())
        s.escalations[i].ticket += (s.escalations[i].ticket.empty() ? "" : ", ") + d.remote_key +
                                   (d.remote_url.empty() ? "" : " " + d.remote_url);
  return s;
}

SendPlan plan_send(Store& store, const Config& cfg, const SendRequest& r, Time now) {
  return make_plan(store, cfg, r, now);
}

std::optional<Error> refusal(const SendPlan& p, const SendRequest& r) {
  if (!p.summary.readiness.ready() && !r.force) {
    std::string missing;
    for (const auto* m : p.summary.readiness.missing(true)) missing += fmt::format("\n  - {}: {}", m->key, m->question);
    return Error(Exit::no, fmt::format("case #{} is not ready to escalate; missing:{}", p.c.id, missing),
                 fmt::format("`esc check {}` asks for each; or `--force --reason TEXT` to send anyway", p.c.id));
  }
  if (p.unanswered && !r.again && !p.redeliver) {
    const auto& u = *p.unanswered;
    return Error(Exit::no,
                 fmt::format("case #{} was escalated to {} at {} (level {}) and has no answer yet; nothing was sent",
                             p.c.id, u.path, format_utc(u.at), u.level),
                 fmt::format("`esc outbox retry` delivers what is still queued; `esc send {} --to NEXT` goes to the "
                             "next level{}; `esc send {} --again --reason TEXT` sends to {} once more",
                             p.c.id, p.path->next.empty() ? "" : fmt::format(" ({})", p.path->next), p.c.id, u.path));
  }
  return std::nullopt;
}

Sent record_send(Store& store, const Config& cfg, const SendRequest& r, const Engineer& who, Time now) {
  Sent sent;
  // Durable: once a channel has it, the escalation must not be forgotten.
  store.write(
      [&] {
        sent = {};
        const SendPlan p = make_plan(store, cfg, r, now);
        const bool ready = p.summary.readiness.ready();
        if (auto no = refusal(p, r)) throw *no;
        Escalation x;
        if (p.redeliver) {
          x = *p.unanswered;
        } else {
          x.uuid = new_uuid();
          x.case_id = p.c.id;
          x.level = p.level;
          x.path = p.path->name;
          x.at = now;
          x.sent_by = who.name;
          x.forced = !ready;
          x.force_reason = ready ? "" : r.reason;
          x.again_reason = p.unanswered ? r.reason : "";
          x.note = r.note;
          x.subject = p.summary.subject;
          x.snapshot = to_json(p.summary).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
          store.insert_escalation(x);
          sent.new_level = true;
        }
        const auto existing = p.redeliver ? store.deliveries(x.id) : std::vector<Delivery>{};
        for (const auto& name : p.channels) {
          // Re-delivering to a channel it already went to: that delivery again, same key.
          auto same =
              std::find_if(existing.begin(), existing.end(), [&](const Delivery& d) { return d.channel == name; });
          if (same != existing.end()) {
            if (same->status == DeliveryStatus::delivered)
              throw Error(Exit::no,
                          fmt::format("level {} of case #{} was already delivered to {}; nothing was sent", x.level,
                                      p.c.id, name),
                          fmt::format("`esc send {} --again --reason TEXT` escalates to {} anew", p.c.id, x.path));
            if (same->status == DeliveryStatus::dropped) {
              Delivery d = *same;
              d.status = DeliveryStatus::pending;
              d.next_attempt_at = now;
              store.update_delivery(d);
            }
            sent.deliveries.push_back(same->id);
            continue;
          }
          Delivery d;
          d.escalation_id = x.id;
          d.case_id = p.c.id;
          d.channel = name;
          d.key = new_uuid();
          d.created_at = now;
          d.next_attempt_at = now;
          store.insert_delivery(d);
          sent.deliveries.push_back(d.id);
        }
        if (sent.new_level) {
          Case c = p.c;
          c.status = Status::escalated;
          c.updated_at = std::max(c.updated_at, now);
          store.update_case(c);
          std::string text =
              fmt::format("Escalated to {} (level {}) via {}.", p.path->name, x.level, join(p.channels, ", "));
          if (x.forced) text += " Sent before the checklist was complete: " + x.force_reason;
          if (!x.again_reason.empty()) text += " Sent again while unanswered: " + x.again_reason;
          if (!x.note.empty()) text += " Why now: " + x.note;
          add_entry(store, c.id, EntryKind::escalated, text, who.name, now);
        }
        sent.x = x;
      },
      Store::Sync::durable);
  return sent;
}

}  // namespace esc::app
