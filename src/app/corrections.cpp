// Opening, editing and correcting a case: strike, a hypothesis's state,
// snooze, take.

#include <fmt/format.h>

#include <algorithm>

#include "esc/app.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::app {

namespace {

Entry must_have_entry(Store& store, std::int64_t id) {
  auto e = store.get_entry(id);
  if (!e) throw not_found(fmt::format("no entry {}", id), "`esc show ID` lists each entry's number");
  return *e;
}

void refuse_taken_ref(Store& store, const Case& c) {
  if (c.ref.empty()) return;
  if (auto other = store.case_by_ref(c.ref); other && other->id != c.id)
    throw data_error(fmt::format("ref {} already belongs to case #{}", inert(c.ref), other->id),
                     fmt::format("see it with `esc show {}`", other->id));
}

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

}  // namespace

void open_case(Store& store, Case& c) {
  store.write([&] {
    c.id = 0;
    refuse_taken_ref(store, c);
    store.insert_case(c);
  });
}

bool edit_case(Store& store, std::int64_t case_id, const CaseEdit& e, Time now) {
  bool changed = false;
  store.write([&] {
    auto found = store.get_case(case_id);
    if (!found) throw not_found(fmt::format("no case #{}", case_id));
    Case c = *found;
    if (e.title) c.title = *e.title;
    if (e.customer) c.customer = *e.customer;
    if (e.severity) c.severity = *e.severity;
    if (e.ref) c.ref = *e.ref;
    for (const auto& t : e.add_triggers) add_unique(c.triggers, t);
    for (const auto& t : e.remove_triggers) std::erase(c.triggers, t);
    for (const auto& t : e.add_tags) add_unique(c.tags, t);
    for (const auto& t : e.remove_tags) std::erase(c.tags, t);
    refuse_taken_ref(store, c);
    changed = c.title != found->title || c.customer != found->customer || c.severity != found->severity ||
              c.ref != found->ref || c.triggers != found->triggers || c.tags != found->tags;
    if (!changed) return;
    c.updated_at = std::max(c.updated_at, now);
    store.update_case(c);
  });
  return changed;
}

Entry strike(Store& store, std::int64_t entry_id, const std::string& reason, const Engineer& who, Time now) {
  Entry e;
  store.write([&] {
    e = must_have_entry(store, entry_id);
    if (!is_user_kind(e.kind))
      throw data_error(fmt::format("entry {} was written by esc ({}); only what an engineer wrote can be struck",
                                   entry_id, to_string(e.kind)));
    if (e.struck()) throw data_error(fmt::format("entry {} is already struck", entry_id));
    e.struck_at = now;
    e.struck_by = who.name;
    e.struck_reason = reason;
    store.update_entry(e);
    add_entry(store, e.case_id, EntryKind::correction,
              fmt::format("Struck entry {} ({}): {}", entry_id, to_string(e.kind), reason), who.name, now);
  });
  return e;
}

std::string set_hypothesis_state(Store& store, std::int64_t entry_id, const std::string& state, const Engineer& who,
                                 Time now, std::int64_t* case_id) {
  std::string was;
  store.write([&] {
    Entry e = must_have_entry(store, entry_id);
    if (e.kind != EntryKind::hypothesis)
      throw data_error(fmt::format("entry {} is a {}, not a hypothesis", entry_id, to_string(e.kind)));
    if (case_id) *case_id = e.case_id;
    was = e.state.empty() ? "unconfirmed" : e.state;
    if (was == state) return;
    e.state = state;
    store.update_entry(e);
    add_entry(store, e.case_id, EntryKind::correction,
              fmt::format("Hypothesis {} is now {} (was {}).", entry_id, state, was), who.name, now);
  });
  return was;
}

void snooze(Store& store, std::int64_t case_id, std::optional<Time> until, const std::string& reason,
            const Engineer& who, Time now) {
  store.write([&] {
    auto c = store.get_case(case_id);
    if (!c) throw not_found(fmt::format("no case #{}", case_id));
    if (c->status == Status::resolved) throw data_error(fmt::format("case #{} is resolved", c->id));
    c->snoozed_until = until;
    c->snooze_reason = reason;
    store.update_case(*c);
    add_entry(store, c->id, EntryKind::snoozed,
              until ? fmt::format("Snoozed until {}: {}", format_utc(*until), reason) : "Snooze ended by hand.", who.name,
              now);
  });
}

std::string take(Store& store, std::int64_t case_id, const Engineer& who, Time now) {
  std::string was;
  store.write([&] {
    auto c = store.get_case(case_id);
    if (!c) throw not_found(fmt::format("no case #{}", case_id));
    was = c->engineer;
    if (c->engineer == who.name) return;
    c->engineer = who.name;
    c->engineer_email = who.email;
    store.update_case(*c);
    add_entry(store, c->id, EntryKind::taken,
              fmt::format("{} took the case{}.", who.name, was.empty() ? "" : fmt::format(" over from {}", was)),
              who.name, now);
  });
  return was;
}

}  // namespace esc::app
