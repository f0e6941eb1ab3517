// Export and import: every case with all that hangs off it, and uniting a
// record from elsewhere with the log without losing anything of either.

#include <map>

#include "store_impl.hpp"

namespace esc {

void Store::each_record(std::optional<Time> since, const std::function<void(const CaseRecord&)>& fn) {
  const std::int64_t from = since ? to_unix(*since) : INT64_MIN;
  // Four streams in case order, merged here: a log of any size is exported
  // a case at a time, with a constant number of queries.
  auto run = [&] {
    auto& c = impl_->c();
    const char* of = "IN (SELECT id FROM cases WHERE updated_at >= ?)";
    auto cases = c.prepare(
        fmt::format("SELECT {} FROM cases c WHERE c.updated_at >= ? ORDER BY c.id", rows::case_columns()), true);
    auto ents = c.prepare(fmt::format("SELECT {} FROM entries e WHERE e.case_id {} ORDER BY e.case_id, e.at, e.id",
                                      rows::entry_columns(), of),
                          true);
    auto escs = c.prepare(fmt::format("SELECT {} FROM escalations x WHERE x.case_id {} ORDER BY x.case_id, x.level, "
                                      "x.at, x.id",
                                      rows::escalation_columns("x", true), of),
                          true);
    auto dels = c.prepare(fmt::format("SELECT {} FROM deliveries d JOIN escalations x ON x.id = d.escalation_id "
                                      "WHERE x.case_id {} ORDER BY x.case_id, d.id",
                                      rows::delivery_columns(), of),
                          true);
    for (auto* q : {cases.get(), ents.get(), escs.get(), dels.get()}) q->bind(1, from);
    bool more_e = ents->step(), more_x = escs->step(), more_d = dels->step();
    CaseRecord r;
    while (cases->step()) {
      r.c = rows::read_case(*cases);
      r.entries.clear();
      r.escalations.clear();
      r.deliveries.clear();
      for (; more_e && ents->integer(2) <= r.c.id; more_e = ents->step())
        if (ents->integer(2) == r.c.id) r.entries.push_back(rows::read_entry(*ents));
      for (; more_x && escs->integer(2) <= r.c.id; more_x = escs->step())
        if (escs->integer(2) == r.c.id) r.escalations.push_back(rows::read_escalation(*escs));
      for (; more_d && dels->integer(2) <= r.c.id; more_d = dels->step())
        if (dels->integer(2) == r.c.id) r.deliveries.push_back(rows::read_delivery(*dels));
      fn(r);
    }
  };
  guarded("exporting", [&] { read(run); });
}

namespace {

// A record naming what this log holds under another case: the file and the
// log disagree on what belongs where, and neither is taken over the other.
Error elsewhere(const char* what, const std::string& uuid, std::int64_t other) {
  return data_error(fmt::format("{} {} is case #{}'s here, not this case's", what, uuid, other));
}

}  // namespace

MergeResult Store::merge_record(const CaseRecord& r) {
  MergeResult m;
  m.file_id = r.c.id;
  auto existing = case_by_uuid(r.c.uuid);
  Case c;
  auto keep_ref = [&](Case& into, const std::string& ref) {
    into.ref = ref;
    if (ref.empty()) return;
    if (auto other = case_by_ref(ref); other && other->uuid != into.uuid) {
      m.ref_conflict = ref;
      m.ref_owner = other->id;
      into.ref = existing && existing->ref != ref ? existing->ref : "";
    }
  };
  if (!existing) {
    c = r.c;
    if (c.id <= 0 || get_case(c.id)) c.id = 0;  // the number is taken here: the log gives another
    keep_ref(c, r.c.ref);
    insert_case(c);
    m.outcome = MergeResult::Outcome::added;
  } else {
    c = *existing;
    if (r.c.updated_at > existing->updated_at) {
      // The case's own fields: the newer copy's.
      Case n = r.c;
      n.id = c.id;
      keep_ref(n, r.c.ref);
      c = n;
    }
  }
  m.id = c.id;

  return guarded("importing", [&] {
    auto& s = *impl_;
    // Entries, escalations and deliveries: each added when this log lacks it
    // (by UUID, deliveries by key), never replaced or deleted.
    for (const Entry& in : r.entries) {
      auto q = s.cq("SELECT id, case_id, struck_at FROM entries WHERE uuid = ?", in.uuid);
      if (q->step()) {
        if (q->integer(1) != c.id) throw elsewhere("entry", in.uuid, q->integer(1));
        // Here already. A strike made in the other log is kept here too.
        if (q->is_null(2) && in.struck_at) {
          auto e = get_entry(q->integer(0));
          e->struck_at = in.struck_at;
          e->struck_by = in.struck_by;
          e->struck_reason = in.struck_reason;
          update_entry(*e);
        }
        continue;
      }
      Entry e = in;
      e.case_id = c.id;
      insert_entry(e);
      ++m.entries;
    }
    std::map<std::int64_t, std::int64_t> escalation_ids;  // the file's, ours
    for (const Escalation& in : r.escalations) {
      auto q = s.cq("SELECT id, case_id, acked_at FROM escalations WHERE uuid = ?", in.uuid);
      if (q->step()) {
        if (q->integer(1) != c.id) throw elsewhere("escalation", in.uuid, q->integer(1));
        escalation_ids[in.id] = q->integer(0);
        if (q->is_null(2) && in.acked_at) {
          auto x = get_escalation(q->integer(0));
          x->acked_at = in.acked_at;
          x->acked_by = in.acked_by;
          update_escalation(*x);
        }
        continue;
      }
      Escalation x = in;
      x.case_id = c.id;
      insert_escalation(x);
      escalation_ids[in.id] = x.id;
      ++m.escalations;
    }
    for (const Delivery& in : r.deliveries) {
      auto it = escalation_ids.find(in.escalation_id);
      if (it == escalation_ids.end()) continue;
      auto q = s.cq("SELECT id, status, escalation_id FROM deliveries WHERE key = ?", in.key);
      if (q->step()) {
        if (q->integer(2) != it->second)
          throw data_error(fmt::format("delivery key {} is another escalation's here", in.key));
        // Delivered in the other log: this one must not send it again.
        if (q->text(1) == "pending" && in.status == DeliveryStatus::delivered)
          s.q("UPDATE deliveries SET status = 'delivered', delivered_at = ?, next_attempt_at = NULL WHERE id = ?",
              rows::opt_seconds(in.delivered_at), q->integer(0))
              ->run();
        continue;
      }
      Delivery d = in;
      d.escalation_id = it->second;
      d.imported = true;  // history: never queued for sending from here
      insert_delivery(d);
      ++m.deliveries;
    }
    // A case with escalations is not merely open.
    if (c.status == Status::open && (m.escalations > 0 || !escalations(c.id).empty())) c.status = Status::escalated;
    if (existing) {
      const bool changed = c.updated_at != existing->updated_at || c.status != existing->status ||
                           m.entries + m.escalations + m.deliveries > 0;
      if (changed) {
        c.updated_at = std::max(c.updated_at, existing->updated_at);
        update_case(c);
      }
      m.outcome = changed ? MergeResult::Outcome::merged : MergeResult::Outcome::unchanged;
    } else if (c.status != r.c.status) {
      update_case(c);
    }
    return m;
  });
}

}  // namespace esc
