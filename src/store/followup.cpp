// What follow-up and metrics read: the cases not yet resolved with their
// newest escalation, the inbox of a path, and every case of a period in one
// streaming pass.

#include "store_impl.hpp"

namespace esc {

void Store::each_active(const std::function<void(const ActiveCase&)>& fn) {
  guarded("reading the active cases", [&] {
    // The newest escalation of each case: the highest level, then the
    // latest. What sync brought counts as new until the engineer writes on
    // the case again (entries are numbered in the order they were
    // recorded, whenever they were said); a reply's state names the path
    // that answered.
    auto q = impl_->c().prepare(
        "SELECT c.id, c.title, c.severity, c.status, c.created_at, c.snoozed_until, "
        "x.id, x.level, x.path, x.at, x.acked_at, x.acked_by, "
        "(SELECT count(*) FROM deliveries d WHERE d.escalation_id = x.id AND d.status = 'delivered'), "
        "(SELECT count(*) FROM deliveries d WHERE d.escalation_id = x.id AND d.status = 'pending' AND d.imported = 0), "
        "(SELECT count(*) FROM deliveries d WHERE d.escalation_id = x.id AND d.status IN ('failed', 'dropped')), "
        "(SELECT max(e.at) FROM entries e WHERE e.case_id = c.id AND e.kind IN ('contact', 'notice', 'update') "
        " AND e.struck_at IS NULL), "
        "(SELECT count(*) FROM entries r WHERE r.case_id = c.id AND r.kind = 'reply' AND r.struck_at IS NULL "
        " AND r.id > coalesce((SELECT max(m.id) FROM entries m WHERE m.case_id = c.id AND m.source = '' "
        " AND m.kind IN ('fact', 'diagnostic', 'step', 'contact', 'hypothesis', 'impact', 'outcome', 'notice', "
        " 'heads-up', 'update', 'note', 'acknowledged')), 0)), "
        "coalesce((SELECT r.state FROM entries r WHERE r.case_id = c.id AND r.kind = 'reply' AND r.struck_at IS NULL "
        " ORDER BY r.id DESC LIMIT 1), ''), "
        "(SELECT count(*) FROM entries u WHERE u.case_id = c.id AND u.kind = 'resolved-upstream' "
        " AND u.struck_at IS NULL) "
        "FROM cases c LEFT JOIN escalations x ON x.id = (SELECT y.id FROM escalations y WHERE y.case_id = c.id "
        "ORDER BY y.level DESC, y.at DESC, y.id DESC LIMIT 1) "
        "WHERE c.status <> 'resolved' ORDER BY c.id",
        true);
    while (q->step()) {
      ActiveCase a;
      a.id = q->integer(0);
      a.title = q->text(1);
      a.severity = q->text(2);
      a.status = parse_status(q->text(3)).value_or(Status::open);
      a.created_at = rows::time(*q, 4);
      a.snoozed_until = rows::opt_time(*q, 5);
      if (!q->is_null(6)) {
        Escalation& x = a.latest.emplace();
        x.id = q->integer(6);
        x.case_id = a.id;
        x.level = static_cast<int>(q->integer(7));
        x.path = q->text(8);
        x.at = rows::time(*q, 9);
        x.acked_at = rows::opt_time(*q, 10);
        x.acked_by = q->text(11);
      }
      a.delivered = static_cast<int>(q->integer(12));
      a.queued = static_cast<int>(q->integer(13));
      a.lost = static_cast<int>(q->integer(14));
      a.last_client_contact = rows::opt_time(*q, 15);
      a.new_replies = static_cast<int>(q->integer(16));
      a.replied_from = q->text(17);
      a.resolved_upstream = q->integer(18) > 0;
      fn(a);
    }
  });
}

std::vector<InboxItem> Store::inbox(const std::vector<std::string>& paths) {
  if (paths.empty()) return {};
  return guarded("reading the inbox", [&] {
    std::string in;
    for (std::size_t i = 0; i < paths.size(); ++i) in += i ? ",?" : "?";
    auto q = impl_->c().prepare(
        fmt::format("SELECT {}, {} FROM cases c JOIN escalations x ON x.id = (SELECT y.id FROM escalations y "
                    "WHERE y.case_id = c.id ORDER BY y.level DESC, y.at DESC, y.id DESC LIMIT 1) "
                    "WHERE c.status <> 'resolved' AND x.acked_at IS NULL AND x.path IN ({}) ORDER BY x.at, x.id",
                    rows::case_columns(), rows::escalation_columns(), in));
    int i = 1;
    for (const auto& p : paths) q->bind(i++, p);
    std::vector<InboxItem> out;
    while (q->step()) out.push_back({rows::read_case(*q), rows::read_escalation(*q, rows::kCaseColumns)});
    return out;
  });
}

void Store::each_stats_case(std::optional<Time> since, std::optional<Time> until,
                            const std::function<void(const StatsCase&)>& fn) {
  const std::int64_t lo = since ? to_unix(*since) : INT64_MIN, hi = until ? to_unix(*until) : INT64_MAX;
  // Three streams in case order, merged here: the cases of the period, their
  // escalations, and when their clients heard from us (a partial index).
  // Nothing is held but the case at hand.
  auto run = [&] {
    // The whole history is read in the table's own order (`+` keeps the
    // planner from the created_at index, whose order would need a sort of
    // every case); a period, through that index.
    const bool all = !since && !until;
    auto cases = impl_->c().prepare(
        fmt::format("SELECT id, created_at, resolved_at, csat, unnecessary, severity, engineer, customer, triggers "
                    "FROM cases WHERE {0}created_at >= ? AND {0}created_at < ? ORDER BY id",
                    all ? "+" : ""),
        true);
    cases->with(lo, hi);
    auto escs = impl_->c().prepare(
        "SELECT x.case_id, x.level, x.path, x.at, x.acked_at, x.forced FROM escalations x "
        "ORDER BY x.case_id, x.level, x.at, x.id",
        true);
    auto contacts = impl_->c().prepare(
        "SELECT case_id, at FROM entries WHERE kind IN ('contact', 'notice', 'update') AND struck_at IS NULL "
        "ORDER BY case_id, at",
        true);
    bool more_escs = escs->step(), more_contacts = contacts->step();
    StatsCase c;
    while (cases->step()) {
      c.id = cases->integer(0);
      c.created_at = rows::time(*cases, 1);
      c.resolved_at = rows::opt_time(*cases, 2);
      c.csat = cases->is_null(3) ? std::nullopt : std::optional<int>(static_cast<int>(cases->integer(3)));
      c.unnecessary = cases->integer(4) != 0;
      c.severity = cases->text(5);
      c.engineer = cases->text(6);
      c.customer = cases->text(7);
      c.triggers = rows::from_json_array(cases->text(8));
      c.escalations.clear();
      c.contacts.clear();
      while (more_escs && escs->integer(0) < c.id) more_escs = escs->step();
      while (more_escs && escs->integer(0) == c.id) {
        c.escalations.push_back({static_cast<int>(escs->integer(1)), escs->text(2), rows::time(*escs, 3),
                                 rows::opt_time(*escs, 4), escs->integer(5) != 0});
        more_escs = escs->step();
      }
      if (!c.escalations.empty()) {
        while (more_contacts && contacts->integer(0) < c.id) more_contacts = contacts->step();
        while (more_contacts && contacts->integer(0) == c.id) {
          c.contacts.push_back(rows::time(*contacts, 1));
          more_contacts = contacts->step();
        }
      }
      fn(c);
    }
  };
  guarded("computing statistics", [&] { read(run); });
}

}  // namespace esc
