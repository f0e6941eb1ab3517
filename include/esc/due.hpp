#pragma once

#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/store.hpp"

namespace esc {

struct DueItem {
  std::string kind;  // escalate | acknowledge | client-update | delivery
  std::int64_t case_id = 0;
  std::string title;
  std::string severity;
  Time due_at{};
  Seconds overdue{0};  // now - due_at, >= 0
  std::string message;
  std::string suggestion;  // the command to run next
  std::int64_t delivery_id = 0;
};

// What needs the engineer now, most urgent first: by severity, then by how
// long overdue (then escalate, acknowledge, client-update, delivery; then
// by case and delivery). An item is due from the moment its deadline is
// reached. Cases are added one at a time, in any order, so that a log of
// years need not be in memory at once.
class DueList {
 public:
  DueList(const Config& cfg, Time now) : cfg_(cfg), now_(now) {}
  void add_open(const Case& c);  // open, never escalated
  void add_escalated(const EscalatedCase& e);
  void add_pending(const Delivery& d, const Case& c);
  std::vector<DueItem> finish();

 private:
  void add(DueItem item);
  const Config& cfg_;
  Time now_;
  std::vector<DueItem> items_;
};

std::vector<DueItem> compute_due(const Config& cfg, const std::vector<Case>& open_cases,
                                 const std::vector<EscalatedCase>& escalated,
                                 const std::vector<std::pair<Delivery, Case>>& pending, Time now);

}  // namespace esc
