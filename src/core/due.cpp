#include "esc/due.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <tuple>

namespace esc {

void DueList::add(DueItem item) {
  item.overdue = now_ - item.due_at;
  items_.push_back(std::move(item));
}

void DueList::add_open(const Case& c) {
  auto d = cfg_.deadline(c.severity);
  if (!d || now_ < c.created_at + *d) return;
  add({"escalate",
       c.id,
       c.title,
       c.severity,
       c.created_at + *d,
       {},
       fmt::format(FMT_COMPILE("open {} without escalation (deadline for {}: {})"),
                   format_duration(now_ - c.created_at), c.severity, format_duration(*d)),
       fmt::format(FMT_COMPILE("esc check {} && esc send {}"), c.id, c.id)});
}

void DueList::add_escalated(const EscalatedCase& e) {
  const auto& x = e.latest;
  const PathConfig* path = cfg_.find_path(x.path);
  if (!x.acked_at && path && path->ack_within && now_ >= x.at + *path->ack_within) {
    std::string next = path->next.empty() ? fmt::format(FMT_COMPILE("chase {}, then `esc ack {}`"), x.path, e.c.id)
                                          : fmt::format(FMT_COMPILE("esc send {} --to {}"), e.c.id, path->next);
    add({"acknowledge",
         e.c.id,
         e.c.title,
         e.c.severity,
         x.at + *path->ack_within,
         {},
         fmt::format(FMT_COMPILE("level {} to {} not acknowledged after {}"), x.level, x.path,
                     format_duration(now_ - x.at)),
         next});
  }
  const Time base = e.last_client_contact ? std::max(*e.last_client_contact, Time{}) : x.at;
  const Time due = std::max(base, Time{}) + cfg_.client_update_every;
  if (now_ >= due)
    add({"client-update",
         e.c.id,
         e.c.title,
         e.c.severity,
         due,
         {},
         fmt::format(FMT_COMPILE("the client has heard nothing for {}"), format_duration(now_ - base)),
         fmt::format(FMT_COMPILE("esc update {} \"...\""), e.c.id)});
}

void DueList::add_pending(const Delivery& d, const Case& c) {
  DueItem item{"delivery",
               c.id,
               c.title,
               c.severity,
               d.created_at,
               {},
               d.attempts ? fmt::format(FMT_COMPILE("delivery {} to {} failing after {} attempt(s): {}"), d.id,
                                        d.channel, d.attempts, d.last_error)
                          : fmt::format(FMT_COMPILE("delivery {} to {} not yet delivered"), d.id, d.channel),
               "esc outbox retry --all"};
  item.delivery_id = d.id;
  add(std::move(item));
}

std::vector<DueItem> DueList::finish() {
  auto rank = [&](const std::string& sev) {
    auto it = std::find(cfg_.severities.begin(), cfg_.severities.end(), sev);
    return it == cfg_.severities.end() ? cfg_.severities.size() : static_cast<size_t>(it - cfg_.severities.begin());
  };
  auto kind = [](const std::string& k) {
    return k == "escalate" ? 0 : k == "acknowledge" ? 1 : k == "client-update" ? 2 : 3;
  };
  // Sorted by keys worked out once per item, then the items put in that
  // order: a log of years can have thousands due.
  struct Key {
    size_t rank;
    std::int64_t overdue;
    int kind;
    std::int64_t case_id, delivery_id;
    size_t index;
  };
  std::vector<Key> keys;
  keys.reserve(items_.size());
  for (size_t i = 0; i < items_.size(); ++i) {
    const auto& it = items_[i];
    keys.push_back({rank(it.severity), -it.overdue.count(), kind(it.kind), it.case_id, it.delivery_id, i});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return std::tie(a.rank, a.overdue, a.kind, a.case_id, a.delivery_id) <
           std::tie(b.rank, b.overdue, b.kind, b.case_id, b.delivery_id);
  });
  // The items follow their keys in place, a cycle of swaps at a time.
  std::vector<size_t> order(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) order[i] = keys[i].index;
  keys = {};
  for (size_t i = 0; i < order.size(); ++i) {
    // Position i takes the item now at order[i]; follow the cycle from i.
    size_t at = i;
    while (order[at] != i) {
      std::swap(items_[at], items_[order[at]]);
      const size_t next = order[at];
      order[at] = at;
      at = next;
    }
    order[at] = at;
  }
  return std::move(items_);
}

std::vector<DueItem> compute_due(const Config& cfg, const std::vector<Case>& open_cases,
                                 const std::vector<EscalatedCase>& escalated,
                                 const std::vector<std::pair<Delivery, Case>>& pending, Time now) {
  DueList due(cfg, now);
  for (const auto& c : open_cases) due.add_open(c);
  for (const auto& e : escalated) due.add_escalated(e);
  for (const auto& [d, c] : pending) due.add_pending(d, c);
  return due.finish();
}

}  // namespace esc
