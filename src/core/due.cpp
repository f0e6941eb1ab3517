#include "esc/due.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace esc {

std::string_view to_string(DueKind k) {
  switch (k) {
    case DueKind::escalate:
      return "escalate";
    case DueKind::acknowledge:
      return "acknowledge";
    case DueKind::unreached:
      return "unreached";
    case DueKind::reply:
      return "reply";
    case DueKind::resolved_upstream:
      return "resolved-upstream";
    case DueKind::client_update:
      return "client-update";
    case DueKind::delivery:
      return "delivery";
  }
  return "escalate";
}

bool snoozed(const ActiveCase& c, Time now) { return c.snoozed_until && *c.snoozed_until > now; }

void DueList::push(DueItem item) {
  item.overdue = std::max(Seconds{0}, now_ - item.due_at);
  items_.push_back(std::move(item));
}

void DueList::add(const ActiveCase& c) {
  if (snoozed(c, now_)) return;
  auto item = [&](DueKind kind, Time due_at, std::string message, std::string suggestion) {
    push({kind, c.id, c.title, c.severity, due_at, {}, std::move(message), std::move(suggestion), 0});
  };
  if (!c.latest) {
    auto d = cfg_.deadline(c.severity);
    if (!d || now_ < c.created_at + *d) return;
    item(DueKind::escalate, c.created_at + *d,
         fmt::format("open {} without escalation (deadline for {}: {})", format_duration(now_ - c.created_at),
                     c.severity, format_duration(*d)),
         fmt::format("esc check {} && esc send {}", c.id, c.id));
    return;
  }
  const Escalation& x = *c.latest;
  const PathConfig* path = cfg_.find_path(x.path);
  if (c.resolved_upstream) {
    item(DueKind::resolved_upstream, x.at,
         fmt::format("resolved upstream by {}: confirm with the client and resolve", x.path),
         fmt::format("esc resolve {} \"...\"", c.id));
  } else if (c.new_replies > 0) {
    item(DueKind::reply, x.at,
         fmt::format("{} replied ({} new)", c.replied_from.empty() ? x.path : c.replied_from, c.new_replies),
         fmt::format("esc show {}", c.id));
  }
  if (x.acked_at) {
    // Answered: nothing to chase on this level.
  } else if (c.delivered == 0 && c.queued == 0 && c.lost > 0) {
    // Every delivery failed or was dropped: nobody is there to acknowledge.
    item(DueKind::unreached, x.at, fmt::format("nothing reached {}: every delivery failed or was dropped", x.path),
         fmt::format("esc outbox; then esc send {} --channel NAME", c.id));
  } else if (c.delivered > 0 && path && path->ack_within && now_ >= x.at + *path->ack_within) {
    std::string next = path->next.empty() ? fmt::format("chase {}, then `esc ack {}`", x.path, c.id)
                                          : fmt::format("esc send {} --to {}", c.id, path->next);
    item(DueKind::acknowledge, x.at + *path->ack_within,
         fmt::format("level {} to {} not acknowledged after {}", x.level, x.path, format_duration(now_ - x.at)), next);
  }
  const Time base = c.last_client_contact ? std::max(*c.last_client_contact, Time{}) : x.at;
  const Time due = base + cfg_.client_update_every;
  if (now_ >= due)
    item(DueKind::client_update, due, fmt::format("the client has heard nothing for {}", format_duration(now_ - base)),
         fmt::format("esc update {} \"...\"", c.id));
}

void DueList::add_delivery(const Delivery& d, const ActiveCase& c) {
  if (snoozed(c, now_)) return;
  DueItem item{DueKind::delivery, c.id, c.title, c.severity, d.created_at, {}, {}, {}, d.id};
  if (d.status == DeliveryStatus::failed) {
    item.message = fmt::format("delivery {} to {} failed for good after {} attempt(s): {}", d.id, d.channel, d.attempts,
                               d.last_error);
    item.suggestion = fmt::format("fix it, then esc outbox retry {}", d.id);
  } else {
    item.message = d.attempts ? fmt::format("delivery {} to {} failing after {} attempt(s): {}", d.id, d.channel,
                                            d.attempts, d.last_error)
                              : fmt::format("delivery {} to {} not yet delivered", d.id, d.channel);
    item.suggestion = "esc outbox retry --all";
  }
  push(std::move(item));
}

std::vector<DueItem> DueList::finish() {
  auto rank = [&](const std::string& sev) {
    auto it = std::find(cfg_.severities.begin(), cfg_.severities.end(), sev);
    return it == cfg_.severities.end() ? cfg_.severities.size() : static_cast<size_t>(it - cfg_.severities.begin());
  };
  std::stable_sort(items_.begin(), items_.end(), [&](const DueItem& a, const DueItem& b) {
    return std::make_tuple(rank(a.severity), -a.overdue.count(), static_cast<int>(a.kind), a.case_id, a.delivery_id) <
           std::make_tuple(rank(b.severity), -b.overdue.count(), static_cast<int>(b.kind), b.case_id, b.delivery_id);
  });
  return std::move(items_);
}

}  // namespace esc
