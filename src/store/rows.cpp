// Rows and the domain's structs, both ways.

#include <nlohmann/json.hpp>

#include "store_impl.hpp"

namespace esc::rows {

std::string to_json_array(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

std::vector<std::string> from_json_array(const std::string& s) {
  if (s == "[]" || s.empty()) return {};
  auto j = nlohmann::json::parse(s, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& x : j)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

std::optional<Time> opt_time(const db::Statement& q, int col) {
  if (q.is_null(col)) return std::nullopt;
  return from_unix(q.integer(col));
}

namespace {
std::string columns(const char* alias, std::initializer_list<const char*> names) {
  std::string out;
  for (const char* n : names) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}.{}", alias, n);
  }
  return out;
}
}  // namespace

std::string case_columns(const char* a) {
  return columns(a, {"id", "uuid", "title", "customer", "severity", "status", "ref", "triggers", "tags", "engineer",
                     "engineer_email", "created_at", "updated_at", "resolved_at", "csat", "unnecessary",
                     "snoozed_until", "snooze_reason"});
}

Case read_case(const db::Statement& q, int o) {
  Case c;
  c.id = q.integer(o + 0);
  c.uuid = q.text(o + 1);
  c.title = q.text(o + 2);
  c.customer = q.text(o + 3);
  c.severity = q.text(o + 4);
  c.status = parse_status(q.text(o + 5)).value_or(Status::open);
  c.ref = q.text(o + 6);
  c.triggers = from_json_array(q.text(o + 7));
  c.tags = from_json_array(q.text(o + 8));
  c.engineer = q.text(o + 9);
  c.engineer_email = q.text(o + 10);
  c.created_at = time(q, o + 11);
  c.updated_at = time(q, o + 12);
  c.resolved_at = opt_time(q, o + 13);
  if (!q.is_null(o + 14)) c.csat = static_cast<int>(q.integer(o + 14));
  c.unnecessary = q.integer(o + 15) != 0;
  c.snoozed_until = opt_time(q, o + 16);
  c.snooze_reason = q.text(o + 17);
  return c;
}

std::string entry_columns(const char* a) {
  return columns(a, {"id", "uuid", "case_id", "kind", "text", "state", "at", "author", "source", "remote_id",
                     "struck_at", "struck_by", "struck_reason"});
}

Entry read_entry(const db::Statement& q, int o) {
  Entry e;
  e.id = q.integer(o + 0);
  e.uuid = q.text(o + 1);
  e.case_id = q.integer(o + 2);
  e.kind = parse_entry_kind(q.text(o + 3)).value_or(EntryKind::note);
  e.text = q.text(o + 4);
  e.state = q.text(o + 5);
  e.at = time(q, o + 6);
  e.author = q.text(o + 7);
  e.source = q.text(o + 8);
  e.remote_id = q.text(o + 9);
  e.struck_at = opt_time(q, o + 10);
  e.struck_by = q.text(o + 11);
  e.struck_reason = q.text(o + 12);
  return e;
}

std::string escalation_columns(const char* a, bool snapshot) {
  return columns(a, {"id", "uuid", "case_id", "level", "path", "at", "sent_by", "forced", "force_reason",
                     "again_reason", "note", "subject"}) +
         (snapshot ? fmt::format(", {}.snapshot, ", a) : std::string(", '', ")) + columns(a, {"acked_at", "acked_by"});
}

Escalation read_escalation(const db::Statement& q, int o) {
  Escalation x;
  x.id = q.integer(o + 0);
  x.uuid = q.text(o + 1);
  x.case_id = q.integer(o + 2);
  x.level = static_cast<int>(q.integer(o + 3));
  x.path = q.text(o + 4);
  x.at = time(q, o + 5);
  x.sent_by = q.text(o + 6);
  x.forced = q.integer(o + 7) != 0;
  x.force_reason = q.text(o + 8);
  x.again_reason = q.text(o + 9);
  x.note = q.text(o + 10);
  x.subject = q.text(o + 11);
  x.snapshot = q.text(o + 12);
  x.acked_at = opt_time(q, o + 13);
  x.acked_by = q.text(o + 14);
  return x;
}

std::string delivery_columns(const char* d, const char* x) {
  return columns(d, {"id", "escalation_id"}) + fmt::format(", {}.case_id, ", x) +
         columns(d, {"channel", "key", "status", "attempts", "last_error", "created_at", "next_attempt_at",
                     "delivered_at", "remote_key", "remote_url", "sync_cursor", "imported", "attempted_at"});
}

Delivery read_delivery(const db::Statement& q, int o) {
  Delivery d;
  d.id = q.integer(o + 0);
  d.escalation_id = q.integer(o + 1);
  d.case_id = q.integer(o + 2);
  d.channel = q.text(o + 3);
  d.key = q.text(o + 4);
  d.status = parse_delivery_status(q.text(o + 5)).value_or(DeliveryStatus::pending);
  d.attempts = static_cast<int>(q.integer(o + 6));
  d.last_error = q.text(o + 7);
  d.created_at = time(q, o + 8);
  d.next_attempt_at = opt_time(q, o + 9);
  d.delivered_at = opt_time(q, o + 10);
  d.remote_key = q.text(o + 11);
  d.remote_url = q.text(o + 12);
  d.sync_cursor = q.text(o + 13);
  d.imported = q.integer(o + 14) != 0;
  d.attempted_at = opt_time(q, o + 15);
  return d;
}

}  // namespace esc::rows
