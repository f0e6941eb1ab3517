// Cases: adding, changing, finding and listing them.

#include <algorithm>

#include "esc/text.hpp"
#include "store_impl.hpp"

namespace esc {

using rows::opt_seconds;
using rows::opt_text;

namespace {

void refuse_taken_ref(const db::Failure& f, const Case& c) {
  if (f.fault() == db::Fault::constraint && f.constraint().find("ref") != std::string::npos)
    throw data_error(fmt::format("ref {} already belongs to another case", c.ref));
}

}  // namespace

void Store::insert_case(Case& c) {
  guarded("adding a case", [&] {
    const std::string columns =
        "uuid, title, customer, severity, status, ref, triggers, tags, engineer, engineer_email, created_at, "
        "updated_at, resolved_at, csat, unnecessary, snoozed_until, snooze_reason";
    const bool keep_id = c.id > 0;
    auto q = impl_->cq(fmt::format("INSERT INTO cases ({}{}) VALUES ({}?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?){}",
                                   keep_id ? "id, " : "", columns, keep_id ? "?," : "", impl_->returning_id()));
    int i = 1;
    if (keep_id) q->bind(i++, c.id);
    q->bind(i++, c.uuid);
    q->bind(i++, c.title);
    q->bind(i++, c.customer);
    q->bind(i++, c.severity);
    q->bind(i++, to_string(c.status));
    q->bind(i++, opt_text(c.ref));
    q->bind(i++, rows::to_json_array(c.triggers));
    q->bind(i++, rows::to_json_array(c.tags));
    q->bind(i++, c.engineer);
    q->bind(i++, c.engineer_email);
    q->bind(i++, to_unix(c.created_at));
    q->bind(i++, to_unix(c.updated_at));
    q->bind(i++, opt_seconds(c.resolved_at));
    q->bind(i++, c.csat);
    q->bind(i++, c.unnecessary);
    q->bind(i++, opt_seconds(c.snoozed_until));
    q->bind(i++, c.snooze_reason);
    try {
      c.id = impl_->inserted_id(*q);
    } catch (const db::Failure& f) {
      refuse_taken_ref(f, c);
      throw;
    }
    // SQLite's full-text index (schema 7); PostgreSQL's is a generated column.
    if (!impl_->pg) impl_->cq("INSERT INTO case_fts (rowid, title) VALUES (?, ?)", c.id, c.title)->run();
    // A number given here must not be handed out again by the sequence.
    if (keep_id && impl_->pg)
      impl_->c().exec("SELECT setval(pg_get_serial_sequence('cases', 'id'), greatest((SELECT max(id) FROM cases), 1))");
  });
}

void Store::update_case(const Case& c) {
  guarded("changing a case", [&] {
    auto q = impl_->q(
        "UPDATE cases SET title = ?, customer = ?, severity = ?, status = ?, ref = ?, triggers = ?, tags = ?, "
        "engineer = ?, engineer_email = ?, updated_at = ?, resolved_at = ?, csat = ?, unnecessary = ?, "
        "snoozed_until = ?, snooze_reason = ? WHERE id = ?",
        c.title, c.customer, c.severity, to_string(c.status), opt_text(c.ref), rows::to_json_array(c.triggers),
        rows::to_json_array(c.tags), c.engineer, c.engineer_email, to_unix(c.updated_at), opt_seconds(c.resolved_at),
        c.csat, c.unnecessary, opt_seconds(c.snoozed_until), c.snooze_reason, c.id);
    try {
      q->run();
    } catch (const db::Failure& f) {
      refuse_taken_ref(f, c);
      throw;
    }
  });
}

namespace {
std::optional<Case> one_case(Store::Impl& s, const char* where, const auto& value) {
  // Prepared once: an import looks each case up this way.
  auto q = s.cq(fmt::format("SELECT {} FROM cases c WHERE {}", rows::case_columns(), where), value);
  if (q->step()) return rows::read_case(*q);
  return std::nullopt;
}
}  // namespace

std::optional<Case> Store::get_case(std::int64_t id) {
  return guarded("reading a case", [&] { return one_case(*impl_, "c.id = ?", id); });
}

std::optional<Case> Store::case_by_ref(const std::string& ref) {
  return guarded("reading a case", [&] { return one_case(*impl_, "c.ref = ?", ref); });
}

std::optional<Case> Store::case_by_uuid(const std::string& uuid) {
  return guarded("reading a case", [&] { return one_case(*impl_, "c.uuid = ?", uuid); });
}

void Store::each_case(const CaseFilter& f, const std::function<void(const Case&)>& fn) {
  guarded("listing cases", [&] {
    // Fixed SQL per filter shape; every value is bound, never spliced.
    const bool active = f.statuses.size() == 2 &&
                        std::count(f.statuses.begin(), f.statuses.end(), Status::resolved) == 0 &&
                        f.statuses[0] != f.statuses[1];
    std::string sql = fmt::format("SELECT {} FROM cases c WHERE 1 = 1", rows::case_columns());
    if (active) {
      sql += " AND c.status <> 'resolved'";
    } else if (!f.statuses.empty()) {
      sql += " AND c.status IN (";
      for (size_t i = 0; i < f.statuses.size(); ++i) sql += i ? ",?" : "?";
      sql += ")";
    }
    if (!f.severity.empty()) sql += " AND c.severity = ?";
    // lower() folds ASCII letters only, on both engines (PostgreSQL's in the
    // C collation), so that both find the same cases.
    const char* c_collate = impl_->pg ? " COLLATE \"C\"" : "";
    if (!f.customer.empty()) sql += fmt::format(" AND lower(c.customer{0}) = lower(?{0})", c_collate);
    if (!f.tag.empty())
      sql += impl_->pg ? " AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(c.tags::jsonb) t(v) "
                         "WHERE lower(t.v COLLATE \"C\") = lower(? COLLATE \"C\"))"
                       : " AND EXISTS (SELECT 1 FROM json_each(c.tags) WHERE lower(value) = lower(?))";
    if (!f.engineer.empty()) sql += " AND (c.engineer = ? OR (c.engineer_email <> '' AND c.engineer_email = ?))";
    sql += " ORDER BY c.updated_at DESC, c.id DESC";
    if (f.limit > 0) sql += " LIMIT ?";
    auto q = impl_->c().prepare(sql, true);
    int i = 1;
    if (!active)
      for (auto s : f.statuses) q->bind(i++, to_string(s));
    if (!f.severity.empty()) q->bind(i++, f.severity);
    if (!f.customer.empty()) q->bind(i++, f.customer);
    if (!f.tag.empty()) q->bind(i++, f.tag);
    if (!f.engineer.empty()) q->bind(i++, f.engineer), q->bind(i++, f.engineer);
    if (f.limit > 0) q->bind(i++, f.limit);
    while (q->step()) fn(rows::read_case(*q));
  });
}

std::vector<CaseId> Store::list_ids(Which which, int limit) {
  return guarded("listing cases", [&] {
    const char* where = which == Which::active     ? "WHERE status <> 'resolved'"
                        : which == Which::resolved ? "WHERE status = 'resolved'"
                                                   : "";
    auto q = impl_->q(fmt::format("SELECT id, ref, title, severity, status FROM cases {} "
                                  "ORDER BY updated_at DESC, id DESC LIMIT ?",
                                  where),
                      limit > 0 ? std::int64_t{limit} : INT64_MAX);
    std::vector<CaseId> out;
    while (q->step())
      out.push_back(
          {q->integer(0), q->text(1), q->text(2), q->text(3), parse_status(q->text(4)).value_or(Status::open)});
    return out;
  });
}

std::vector<CaseId> Store::similar_resolved(const std::string& title, int limit) {
  const std::vector<std::string> words = title_words(title);
  if (words.empty() || limit <= 0) return {};
  return guarded("looking for similar cases", [&] {
    // The 200 newest cases whose titles share a word, ranked among
    // themselves (title_similarity()): a hint every `esc new` prints must
    // stay cheap however common the title's words.
    std::string any;
    for (const auto& w : words)
      any += impl_->pg ? (any.empty() ? "" : " | ") + w : (any.empty() ? "\"" : " OR \"") + w + "\"";
    auto q = impl_->q(impl_->pg ? "SELECT c.id, c.ref, c.title, c.severity, c.status FROM cases c "
                                  "WHERE c.title_tsv @@ to_tsquery('simple', ?) ORDER BY c.id DESC LIMIT 200"
                                : "SELECT c.id, c.ref, c.title, c.severity, c.status FROM case_fts "
                                  "JOIN cases c ON c.id = case_fts.rowid WHERE case_fts MATCH ? "
                                  "ORDER BY case_fts.rowid DESC LIMIT 200",
                      any);
    std::vector<std::string> titles;
    std::vector<CaseId> found;
    while (q->step()) {
      titles.push_back(q->text(2));
      found.push_back(
          {q->integer(0), q->text(1), q->text(2), q->text(3), parse_status(q->text(4)).value_or(Status::open)});
    }
    const auto score = title_similarity(words, titles);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < found.size(); ++i)
      if (found[i].status == Status::resolved) order.push_back(i);
    // Best match first; among equals, the newest.
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return score[a] > score[b]; });
    std::vector<CaseId> out;
    for (auto i : order)
      if (out.size() < static_cast<std::size_t>(limit)) out.push_back(found[i]);
    return out;
  });
}

}  // namespace esc
