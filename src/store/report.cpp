// What `esc report` reads besides the figures: the open escalations and
// the lessons of the cases of a period, each at most a page of rows.

#include "store_impl.hpp"

namespace esc {

namespace {
std::int64_t lower(std::optional<Time> t) { return t ? to_unix(*t) : INT64_MIN; }
std::int64_t upper(std::optional<Time> t) { return t ? to_unix(*t) : INT64_MAX; }
}  // namespace

std::vector<InboxItem> Store::open_escalations(std::optional<Time> since, std::optional<Time> until, int limit) {
  return guarded("reading the open escalations", [&] {
    // The unresolved cases (a partial index), each with its newest
    // escalation as inbox() and due take it.
    auto q = impl_->q(fmt::format("SELECT {}, {} FROM cases c JOIN escalations x ON x.id = (SELECT y.id FROM "
                                  "escalations y WHERE y.case_id = c.id ORDER BY y.level DESC, y.at DESC, y.id DESC "
                                  "LIMIT 1) WHERE c.status <> 'resolved' AND c.created_at >= ? AND c.created_at < ? "
                                  "ORDER BY x.at, x.id LIMIT ?",
                                  rows::case_columns(), rows::escalation_columns()),
                      lower(since), upper(until), std::int64_t{limit});
    std::vector<InboxItem> out;
    while (q->step()) out.push_back({rows::read_case(*q), rows::read_escalation(*q, rows::kCaseColumns)});
    return out;
  });
}

std::vector<LessonHit> Store::latest_lessons(std::optional<Time> since, std::optional<Time> until, int limit) {
  return guarded("reading lessons", [&] {
    // Newest first along the lessons' partial index, until `limit` belong
    // to cases of the period.
    auto q = impl_->q(fmt::format("SELECT {}, c.title, c.customer FROM entries e JOIN cases c ON c.id = e.case_id "
                                  "WHERE e.kind = 'review' AND e.state = 'lesson' AND e.struck_at IS NULL "
                                  "AND c.created_at >= ? AND c.created_at < ? ORDER BY e.at DESC, e.id DESC LIMIT ?",
                                  rows::entry_columns()),
                      lower(since), upper(until), std::int64_t{limit});
    std::vector<LessonHit> out;
    while (q->step())
      out.push_back({rows::read_entry(*q), q->text(rows::kEntryColumns), q->text(rows::kEntryColumns + 1)});
    return out;
  });
}

}  // namespace esc
