#include "esc/due.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace esc {

std::vector<DueItem> compute_due(const Config& cfg, const std::vector<Case>& open_cases,
                                 const std::vector<EscalatedCase>& escalated,
                                 const std::vector<std::pair<Delivery, Case>>& pending, Time now) {
  std::vector<DueItem> out;
  auto add = [&](DueItem item) {
    item.overdue = now - item.due_at;
    out.push_back(std::move(item));
  };
  for (const auto& c : open_cases) {
    auto d = cfg.deadline(c.severity);
    if (!d || now < c.created_at + *d) continue;
    add({"escalate",
         c.id,
         c.title,
         c.severity,
         c.created_at + *d,
         {},
         fmt::format("open {} without escalation (deadline for {}: {})", format_duration(now - c.created_at),
                     c.severity, format_duration(*d)),
         fmt::format("esc check {} && esc send {}", c.id, c.id)});
  }
  for (const auto& e : escalated) {
    const auto& x = e.latest;
    const PathConfig* path = cfg.find_path(x.path);
    if (!x.acked_at && path && path->ack_within && now >= x.at + *path->ack_within) {
      std::string next = path->next.empty() ? fmt::format("chase {}, then `esc ack {}`", x.path, e.c.id)
                                            : fmt::format("esc send {} --to {}", e.c.id, path->next);
      add({"acknowledge",
           e.c.id,
           e.c.title,
           e.c.severity,
           x.at + *path->ack_within,
           {},
           fmt::format("level {} to {} not acknowledged after {}", x.level, x.path, format_duration(now - x.at)),
           next});
    }
    const Time base = e.last_client_contact ? std::max(*e.last_client_contact, Time{}) : x.at;
    const Time due = std::max(base, Time{}) + cfg.client_update_every;
    if (now >= due)
      add({"client-update",
           e.c.id,
           e.c.title,
           e.c.severity,
           due,
           {},
           fmt::format("the client has heard nothing for {}", format_duration(now - base)),
           fmt::format("esc update {} \"...\"", e.c.id)});
  }
  for (const auto& [d, c] : pending) {
    DueItem item{"delivery",
                 c.id,
                 c.title,
                 c.severity,
                 d.created_at,
                 {},
                 d.attempts ? fmt::format("delivery {} to {} failing after {} attempt(s): {}", d.id, d.channel,
                                          d.attempts, d.last_error)
                            : fmt::format("delivery {} to {} not yet delivered", d.id, d.channel),
                 "esc outbox retry --all"};
    item.delivery_id = d.id;
    add(std::move(item));
  }
  auto rank = [&](const std::string& sev) {
    auto it = std::find(cfg.severities.begin(), cfg.severities.end(), sev);
    return it == cfg.severities.end() ? cfg.severities.size() : static_cast<size_t>(it - cfg.severities.begin());
  };
  std::stable_sort(out.begin(), out.end(), [&](const DueItem& a, const DueItem& b) {
    if (rank(a.severity) != rank(b.severity)) return rank(a.severity) < rank(b.severity);
    return a.overdue > b.overdue;
  });
  return out;
}

}  // namespace esc
