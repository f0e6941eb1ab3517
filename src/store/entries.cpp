// Timeline entries and the lessons among them.

#include "store_impl.hpp"

namespace esc {

using rows::opt_seconds;
using rows::opt_text;

void Store::insert_entry(Entry& e) {
  guarded("adding an entry", [&] {
    auto q = impl_->cq(
        std::string("INSERT INTO entries (uuid, case_id, kind, text, state, at, author, source, remote_id, struck_at, "
                    "struck_by, struck_reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)") +
            impl_->returning_id(),
        e.uuid, e.case_id, to_string(e.kind), e.text, e.state, to_unix(e.at), e.author, e.source, opt_text(e.remote_id),
        opt_seconds(e.struck_at), e.struck_by, e.struck_reason);
    e.id = impl_->inserted_id(*q);
    // SQLite's full-text index (schema 7); PostgreSQL's is a generated column.
    if (!impl_->pg) impl_->cq("INSERT INTO entry_fts (rowid, text) VALUES (?, ?)", e.id, e.text)->run();
  });
}

std::vector<Entry> Store::entries(std::int64_t case_id) {
  return guarded("reading entries", [&] {
    auto q =
        impl_->q(fmt::format("SELECT {} FROM entries e WHERE e.case_id = ? ORDER BY e.at, e.id", rows::entry_columns()),
                 case_id);
    std::vector<Entry> out;
    while (q->step()) out.push_back(rows::read_entry(*q));
    return out;
  });
}

std::optional<Entry> Store::get_entry(std::int64_t id) {
  return guarded("reading an entry", [&]() -> std::optional<Entry> {
    auto q = impl_->q(fmt::format("SELECT {} FROM entries e WHERE e.id = ?", rows::entry_columns()), id);
    if (q->step()) return rows::read_entry(*q);
    return std::nullopt;
  });
}

bool Store::has_remote_entry(const std::string& source, const std::string& remote_id) {
  return guarded("reading entries", [&] {
    return impl_->q("SELECT 1 FROM entries WHERE source = ? AND remote_id = ?", source, remote_id)->step();
  });
}

std::vector<Entry> Store::live_remote_entries(std::int64_t case_id, const std::string& source, EntryKind kind) {
  return guarded("reading entries", [&] {
    auto q = impl_->q(fmt::format("SELECT {} FROM entries e WHERE e.source = ? AND e.remote_id IS NOT NULL "
                                  "AND e.case_id = ? AND e.kind = ? AND e.struck_at IS NULL ORDER BY e.id",
                                  rows::entry_columns()),
                      source, case_id, to_string(kind));
    std::vector<Entry> out;
    while (q->step()) out.push_back(rows::read_entry(*q));
    return out;
  });
}

void Store::update_entry(const Entry& e) {
  guarded("changing an entry", [&] {
    impl_
        ->q("UPDATE entries SET state = ?, struck_at = ?, struck_by = ?, struck_reason = ? WHERE id = ?", e.state,
            opt_seconds(e.struck_at), e.struck_by, e.struck_reason, e.id)
        ->run();
  });
}

void Store::each_lesson(const std::string& query, int limit, const std::function<void(const LessonHit&)>& fn) {
  if (!query.empty()) {
    // The lessons among the best matches of the words, best first.
    int shown = 0;
    for (const auto& h : search(query, "review", limit > 0 ? std::max(limit * 4, 200) : 2000, false)) {
      if (limit > 0 && shown >= limit) break;
      auto e = get_entry(h.entry_id);
      if (!e || e->state != "lesson" || e->struck()) continue;
      auto c = get_case(e->case_id);
      fn({*e, c ? c->title : "", c ? c->customer : ""});
      ++shown;
    }
    return;
  }
  guarded("reading lessons", [&] {
    auto q = impl_->c().prepare(fmt::format("SELECT {}, c.title, c.customer FROM entries e JOIN cases c ON c.id = "
                                            "e.case_id WHERE e.kind = 'review' AND e.state = 'lesson' AND "
                                            "e.struck_at IS NULL ORDER BY e.at DESC, e.id DESC LIMIT ?",
                                            rows::entry_columns()),
                                true);
    q->bind(1, limit > 0 ? std::int64_t{limit} : INT64_MAX);
    while (q->step()) fn({rows::read_entry(*q), q->text(rows::kEntryColumns), q->text(rows::kEntryColumns + 1)});
  });
}

}  // namespace esc
