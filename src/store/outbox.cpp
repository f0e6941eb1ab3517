// Escalations and their deliveries: the outbox, and the claims that keep a
// delivery from being sent twice.

#include "store_impl.hpp"

namespace esc {

using rows::opt_seconds;

void Store::insert_escalation(Escalation& x) {
  guarded("recording the escalation", [&] {
    auto q = impl_->cq(
        "INSERT INTO escalations (uuid, case_id, level, path, at, sent_by, forced, force_reason, again_reason, note, "
        "subject, snapshot, acked_at, acked_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)" +
            std::string(impl_->returning_id()),
        x.uuid, x.case_id, x.level, x.path, to_unix(x.at), x.sent_by, x.forced, x.force_reason, x.again_reason, x.note,
        x.subject, x.snapshot, opt_seconds(x.acked_at), x.acked_by);
    x.id = impl_->inserted_id(*q);
  });
}

std::vector<Escalation> Store::escalations(std::int64_t case_id) {
  return guarded("reading escalations", [&] {
    auto q = impl_->q(fmt::format("SELECT {} FROM escalations x WHERE x.case_id = ? ORDER BY x.level, x.at, x.id",
                                  rows::escalation_columns()),
                      case_id);
    std::vector<Escalation> out;
    while (q->step()) out.push_back(rows::read_escalation(*q));
    return out;
  });
}

std::optional<Escalation> Store::get_escalation(std::int64_t id) {
  return guarded("reading an escalation", [&]() -> std::optional<Escalation> {
    auto q =
        impl_->q(fmt::format("SELECT {} FROM escalations x WHERE x.id = ?", rows::escalation_columns("x", true)), id);
    if (q->step()) return rows::read_escalation(*q);
    return std::nullopt;
  });
}

void Store::update_escalation(const Escalation& x) {
  guarded("changing an escalation", [&] {
    impl_
        ->q("UPDATE escalations SET acked_at = ?, acked_by = ? WHERE id = ?", opt_seconds(x.acked_at), x.acked_by, x.id)
        ->run();
  });
}

void Store::insert_delivery(Delivery& d) {
  guarded("queueing a delivery", [&] {
    auto q = impl_->cq(
        "INSERT INTO deliveries (escalation_id, channel, key, status, attempts, last_error, created_at, "
        "next_attempt_at, delivered_at, remote_key, remote_url, sync_cursor, imported) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)" +
            std::string(impl_->returning_id()),
        d.escalation_id, d.channel, d.key, to_string(d.status), d.attempts, d.last_error, to_unix(d.created_at),
        opt_seconds(d.next_attempt_at), opt_seconds(d.delivered_at), d.remote_key, d.remote_url, d.sync_cursor,
        d.imported);
    d.id = impl_->inserted_id(*q);
  });
}

namespace {
template <class... T>
std::vector<Delivery> query_deliveries(Store::Impl& s, const std::string& where, const T&... values) {
  auto q = s.q(fmt::format("SELECT {} FROM deliveries d JOIN escalations x ON x.id = d.escalation_id "
                           "WHERE {} ORDER BY d.id",
                           rows::delivery_columns(), where),
               values...);
  std::vector<Delivery> out;
  while (q->step()) out.push_back(rows::read_delivery(*q));
  return out;
}
}  // namespace

std::optional<Delivery> Store::get_delivery(std::int64_t id) {
  return guarded("reading a delivery", [&]() -> std::optional<Delivery> {
    auto v = query_deliveries(*impl_, "d.id = ?", id);
    if (v.empty()) return std::nullopt;
    return v.front();
  });
}

std::optional<Delivery> Store::delivery_by_key(const std::string& key) {
  return guarded("reading a delivery", [&]() -> std::optional<Delivery> {
    auto v = query_deliveries(*impl_, "d.key = ?", key);
    if (v.empty()) return std::nullopt;
    return v.front();
  });
}

std::vector<Delivery> Store::deliveries(std::int64_t escalation_id) {
  return guarded("reading deliveries", [&] { return query_deliveries(*impl_, "d.escalation_id = ?", escalation_id); });
}

std::vector<Delivery> Store::outbox() {
  // From the outbox's partial index: the few still open, not every delivery.
  return guarded("reading the outbox",
                 [&] { return query_deliveries(*impl_, "d.status IN ('pending', 'failed') AND d.imported = 0"); });
}

std::vector<Delivery> Store::delivered_open() {
  return guarded("reading deliveries", [&] {
    return query_deliveries(
        *impl_, "d.status = 'delivered' AND x.case_id IN (SELECT id FROM cases WHERE status <> 'resolved')");
  });
}

bool Store::claim_delivery(std::int64_t id, const std::string& token, int lease_seconds, Time now,
                           const std::string& take_over) {
  // One statement decides: two processes, on one machine or two, cannot
  // both see the row unclaimed, so at most one holds it. A claim whose
  // lease ran out (its holder died or stopped) can be taken over.
  return guarded("claiming a delivery", [&] {
    // On PostgreSQL, a row another machine is claiming right now is
    // skipped rather than waited for (FOR UPDATE SKIP LOCKED): that one
    // claims it, this one goes on.
    const std::string clock = impl_->c().clock_sql();
    auto q = impl_->q(fmt::format("UPDATE deliveries SET claim_token = ?, claimed_until = {0} + ?, attempted_at = ? "
                                  "WHERE id = (SELECT id FROM deliveries WHERE id = ? "
                                  "AND status IN ('pending', 'failed') AND imported = 0 "
                                  "AND (claim_token IS NULL OR claimed_until IS NULL OR claimed_until < {0} "
                                  "OR claim_token = ?){1}) RETURNING id",
                                  clock, impl_->pg ? " FOR UPDATE SKIP LOCKED" : ""),
                      token, lease_seconds, to_unix(now), id, take_over.empty() ? std::string("\n") : take_over);
    return q->step();
  });
}

std::string Store::claim_of(std::int64_t id) {
  return guarded("reading a delivery", [&] {
    auto q = impl_->q(
        fmt::format("SELECT claim_token FROM deliveries WHERE id = ? AND claimed_until >= {}", impl_->c().clock_sql()),
        id);
    return q->step() && !q->is_null(0) ? q->text(0) : std::string();
  });
}

bool Store::record_delivery(const Delivery& d, const std::string& token) {
  return guarded("recording a delivery", [&] {
    auto q = impl_->q(
        "UPDATE deliveries SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?, delivered_at = ?, "
        "remote_key = ?, remote_url = ?, sync_cursor = ?, attempted_at = ?, claim_token = NULL, claimed_until = NULL "
        "WHERE id = ? AND claim_token = ? RETURNING id",
        to_string(d.status), d.attempts, d.last_error, opt_seconds(d.next_attempt_at), opt_seconds(d.delivered_at),
        d.remote_key, d.remote_url, d.sync_cursor, opt_seconds(d.attempted_at), d.id, token);
    return q->step();
  });
}

void Store::update_delivery(const Delivery& d) {
  guarded("changing a delivery", [&] {
    impl_
        ->q("UPDATE deliveries SET status = ?, next_attempt_at = ?, last_error = ?, sync_cursor = ?, remote_key = ?, "
            "remote_url = ? WHERE id = ?",
            to_string(d.status), opt_seconds(d.next_attempt_at), d.last_error, d.sync_cursor, d.remote_key,
            d.remote_url, d.id)
        ->run();
  });
}

}  // namespace esc
