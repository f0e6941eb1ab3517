#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esc/config.hpp"
#include "esc/model.hpp"

namespace esc {

// What `esc due` reads of a case not yet resolved.
struct ActiveCase {
  std::int64_t id = 0;
  std::string title;
  std::string severity;
  Status status = Status::open;
  Time created_at{};
  std::optional<Time> snoozed_until;
  // Its newest escalation (the highest level, then the latest): id, level,
  // path, time and acknowledgement.
  std::optional<Escalation> latest;
  // That escalation's deliveries: how many reached the channel, are still
  // queued, or never will (failed or dropped).
  int delivered = 0, queued = 0, lost = 0;
  std::optional<Time> last_client_contact;
  // What `esc sync` found since the engineer last wrote on the case.
  int new_replies = 0;
  std::string replied_from;  // the path that answered
  bool resolved_upstream = false;
};

enum class DueKind { escalate, acknowledge, unreached, reply, resolved_upstream, client_update, delivery };
std::string_view to_string(DueKind k);

struct DueItem {
  DueKind kind = DueKind::escalate;
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
// long overdue (then by kind, case and delivery). An item is due from the
// moment its deadline is reached. A snoozed case is left out until its
// snooze ends. Cases are added one at a time, in any order.
class DueList {
 public:
  DueList(const Config& cfg, Time now) : cfg_(cfg), now_(now) {}
  void add(const ActiveCase& c);
  // A delivery still queued or failed, of a case not snoozed.
  void add_delivery(const Delivery& d, const ActiveCase& c);
  std::vector<DueItem> finish();

 private:
  void push(DueItem item);
  const Config& cfg_;
  Time now_;
  std::vector<DueItem> items_;
};

bool snoozed(const ActiveCase& c, Time now);

}  // namespace esc
