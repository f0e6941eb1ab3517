// Answering and closing: acknowledgement, resolution, reopening, and the
// entries that record each.

#include <fmt/format.h>

#include "esc/app.hpp"
#include "esc/error.hpp"

namespace esc::app {

namespace {
Case must_have(Store& store, std::int64_t id) {
  auto c = store.get_case(id);
  if (!c) throw not_found(fmt::format("no case #{}", id), "`esc list --status all` shows every case");
  return *c;
}
}  // namespace

Entry add_entry(Store& store, std::int64_t case_id, EntryKind kind, const std::string& text, const std::string& author,
                Time now, const std::string& state, std::optional<Time> at) {
  Entry e;
  e.uuid = new_uuid();
  e.case_id = case_id;
  e.kind = kind;
  e.text = text;
  e.state = state;
  e.at = at.value_or(now);
  e.author = author;
  store.insert_entry(e);
  Case c = must_have(store, case_id);
  if (c.updated_at < now) {
    c.updated_at = now;
    store.update_case(c);
  }
  return e;
}

Acked acknowledge(Store& store, std::int64_t case_id, const std::string& by, const Engineer& who, Time now) {
  Acked a;
  store.write([&] {
    a = {};
    Case c = must_have(store, case_id);
    auto xs = store.escalations(c.id);
    if (xs.empty())
      throw data_error(fmt::format("case #{} has not been escalated", c.id), fmt::format("`esc send {}` first", c.id));
    a.x = xs.back();
    if (a.x.acked_at) {
      a.already = true;
      return;
    }
    a.x.acked_at = now;
    a.x.acked_by = by.empty() ? who.name : by;
    store.update_escalation(a.x);
    add_entry(store, c.id, EntryKind::acknowledged,
              fmt::format("Level {} ({}) acknowledged by {}.", a.x.level, a.x.path, a.x.acked_by), who.name, now);
  });
  return a;
}

void resolve(Store& store, std::int64_t case_id, const std::string& text, std::optional<int> csat, bool unnecessary,
             const Engineer& who, Time now) {
  store.write([&] {
    Case c = must_have(store, case_id);
    if (c.status == Status::resolved)
      throw data_error(fmt::format("case #{} is already resolved", c.id), fmt::format("`esc reopen {}` first", c.id));
    if (unnecessary && store.escalations(c.id).empty())
      throw usage_error(fmt::format("case #{} was never escalated; --unnecessary marks an escalation", c.id));
    c.status = Status::resolved;
    c.resolved_at = now;
    c.csat = csat;
    c.unnecessary = unnecessary;
    c.updated_at = std::max(c.updated_at, now);
    store.update_case(c);
    std::string entry = text;
    if (csat) entry += fmt::format(" (CSAT {}/5)", *csat);
    if (unnecessary) entry += " The escalation turned out not to be needed.";
    add_entry(store, c.id, EntryKind::resolved, entry, who.name, now);
  });
}

Status reopen(Store& store, std::int64_t case_id, const Engineer& who, Time now) {
  Status status = Status::open;
  store.write([&] {
    Case c = must_have(store, case_id);
    if (c.status != Status::resolved) throw data_error(fmt::format("case #{} is not resolved", c.id));
    c.status = store.escalations(c.id).empty() ? Status::open : Status::escalated;
    c.resolved_at.reset();
    c.csat.reset();
    c.unnecessary = false;
    c.updated_at = std::max(c.updated_at, now);
    store.update_case(c);
    add_entry(store, c.id, EntryKind::reopened, "Reopened.", who.name, now);
    status = c.status;
  });
  return status;
}

}  // namespace esc::app
