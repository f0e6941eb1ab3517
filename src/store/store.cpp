#include "esc/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <cmath>
#include <nlohmann/json.hpp>

#include "esc/error.hpp"
#include "schema.hpp"

namespace esc {

namespace {

constexpr int kBusyTimeoutMs = 10000;

// Turns a SQLite failure into an esc Error with context and a hint.
[[noreturn]] void rethrow(const SQLite::Exception& e, const char* doing) {
  const int code = e.getErrorCode();
  switch (code) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw io_error(fmt::format("database is locked while {} (another esc kept it busy too long)", doing),
                     "try again in a moment");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw io_error(fmt::format("database is damaged or not an esc database ({}) while {}", e.what(), doing),
                     "check --db / $ESC_DB; restore from `esc export` output if you have one");
    case SQLITE_FULL:
      throw io_error(fmt::format("disk full while {}; nothing was written", doing));
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      throw io_error(fmt::format("cannot write the database while {} ({})", doing, e.what()),
                     "check the permissions of the database file and its folder");
    case SQLITE_IOERR:
      throw io_error(fmt::format("database I/O error while {} ({})", doing, e.what()));
    default:
      throw io_error(fmt::format("database error while {}: {}", doing, e.what()));
  }
}

template <class F>
auto guarded(const char* doing, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const SQLite::Exception& e) {
    rethrow(e, doing);
  }
}

std::string to_json_array(const std::vector<std::string>& v) { return nlohmann::json(v).dump(); }

std::vector<std::string> from_json_array(const std::string& s) {
  auto j = nlohmann::json::parse(s, nullptr, false);
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& x : j)
      if (x.is_string()) out.push_back(x.get<std::string>());
  return out;
}

std::optional<Time> opt_time(const SQLite::Column& c) {
  if (c.isNull()) return std::nullopt;
  return from_unix(c.getInt64());
}

void bind_opt_time(SQLite::Statement& q, int i, const std::optional<Time>& t) {
  if (t)
    q.bind(i, static_cast<int64_t>(to_unix(*t)));
  else
    q.bind(i);
}

void bind_text_or_null(SQLite::Statement& q, int i, const std::string& s) {
  if (s.empty())
    q.bind(i);
  else
    q.bind(i, s);
}

constexpr const char* kCaseColumns =
    "c.id, c.uuid, c.title, c.customer, c.severity, c.status, c.ref, c.triggers, c.tags, "
    "c.engineer, c.created_at, c.updated_at, c.resolved_at, c.csat, c.unnecessary";
constexpr int kCaseColumnCount = 15;

Case read_case(SQLite::Statement& q, int o = 0) {
  Case c;
  c.id = q.getColumn(o + 0).getInt64();
  c.uuid = q.getColumn(o + 1).getString();
  c.title = q.getColumn(o + 2).getString();
  c.customer = q.getColumn(o + 3).getString();
  c.severity = q.getColumn(o + 4).getString();
  c.status = parse_status(q.getColumn(o + 5).getString()).value_or(Status::open);
  c.ref = q.getColumn(o + 6).isNull() ? "" : q.getColumn(o + 6).getString();
  c.triggers = from_json_array(q.getColumn(o + 7).getString());
  c.tags = from_json_array(q.getColumn(o + 8).getString());
  c.engineer = q.getColumn(o + 9).getString();
  c.created_at = from_unix(q.getColumn(o + 10).getInt64());
  c.updated_at = from_unix(q.getColumn(o + 11).getInt64());
  c.resolved_at = opt_time(q.getColumn(o + 12));
  if (!q.getColumn(o + 13).isNull()) c.csat = q.getColumn(o + 13).getInt();
  c.unnecessary = q.getColumn(o + 14).getInt() != 0;
  return c;
}

constexpr const char* kEntryColumns = "e.id, e.uuid, e.case_id, e.kind, e.text, e.state, e.at, e.author";

Entry read_entry(SQLite::Statement& q, int o = 0) {
  Entry e;
  e.id = q.getColumn(o + 0).getInt64();
  e.uuid = q.getColumn(o + 1).getString();
  e.case_id = q.getColumn(o + 2).getInt64();
  e.kind = q.getColumn(o + 3).getString();
  e.text = q.getColumn(o + 4).getString();
  e.state = q.getColumn(o + 5).getString();
  e.at = from_unix(q.getColumn(o + 6).getInt64());
  e.author = q.getColumn(o + 7).getString();
  return e;
}

constexpr const char* kEscalationColumns =
    "x.id, x.uuid, x.case_id, x.level, x.path, x.at, x.forced, x.force_reason, x.subject, "
    "x.snapshot, x.acked_at, x.acked_by";

Escalation read_escalation(SQLite::Statement& q, int o = 0) {
  Escalation x;
  x.id = q.getColumn(o + 0).getInt64();
  x.uuid = q.getColumn(o + 1).getString();
  x.case_id = q.getColumn(o + 2).getInt64();
  x.level = q.getColumn(o + 3).getInt();
  x.path = q.getColumn(o + 4).getString();
  x.at = from_unix(q.getColumn(o + 5).getInt64());
  x.forced = q.getColumn(o + 6).getInt() != 0;
  x.force_reason = q.getColumn(o + 7).getString();
  x.subject = q.getColumn(o + 8).getString();
  x.snapshot = q.getColumn(o + 9).getString();
  x.acked_at = opt_time(q.getColumn(o + 10));
  x.acked_by = q.getColumn(o + 11).getString();
  return x;
}

constexpr const char* kDeliveryColumns =
    "d.id, d.escalation_id, x.case_id, d.channel, d.key, d.status, d.attempts, d.last_error, "
    "d.created_at, d.next_attempt_at, d.delivered_at";

Delivery read_delivery(SQLite::Statement& q) {
  Delivery d;
  d.id = q.getColumn(0).getInt64();
  d.escalation_id = q.getColumn(1).getInt64();
  d.case_id = q.getColumn(2).getInt64();
  d.channel = q.getColumn(3).getString();
  d.key = q.getColumn(4).getString();
  d.status = parse_delivery_status(q.getColumn(5).getString()).value_or(DeliveryStatus::pending);
  d.attempts = q.getColumn(6).getInt();
  d.last_error = q.getColumn(7).getString();
  d.created_at = from_unix(q.getColumn(8).getInt64());
  d.next_attempt_at = opt_time(q.getColumn(9));
  d.delivered_at = opt_time(q.getColumn(10));
  return d;
}

// Turns what the user typed into a safe FTS5 query: every word quoted (so
// punctuation cannot be FTS syntax), a trailing * kept as a prefix search,
// OR kept as the operator. Words are ANDed.
std::string fts_query(const std::string& text, bool any_word = false) {
  std::string out;
  std::string word;
  auto flush = [&] {
    if (word.empty()) return;
    bool prefix = false;
    if (word.size() > 1 && word.back() == '*') {
      prefix = true;
      word.pop_back();
    }
    if (word == "OR" && !any_word) {
      if (!out.empty()) out += " OR";
    } else {
      std::string quoted = "\"";
      for (char ch : word) {
        if (ch == '"') quoted += "\"\"";
        else quoted += ch;
      }
      quoted += prefix ? "\"*" : "\"";
      if (!out.empty()) out += any_word && !out.ends_with(" OR") ? " OR " : " ";
      out += quoted;
    }
    word.clear();
  };
  for (char ch : text) {
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
      flush();
    else
      word += ch;
  }
  flush();
  while (out.ends_with(" OR")) out.resize(out.size() - 3);
  if (out.starts_with(" OR")) out.erase(0, 3);
  return out;
}

void ensure_private_file(const std::filesystem::path& file) {
  std::error_code ec;
  auto dir = file.parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      throw io_error(fmt::format("cannot create the database folder {}: {}", dir.string(), ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  if (!std::filesystem::exists(file, ec)) {
    int fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
      throw io_error(fmt::format("cannot create the database {}: {}", file.string(), std::strerror(errno)),
                     "check that the folder is writable");
    if (fd >= 0) ::close(fd);
  }
}

}  // namespace

struct Store::Impl {
  SQLite::Database db;
  explicit Impl(const std::string& path, int flags) : db(path, flags, kBusyTimeoutMs) {}
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

namespace {

void migrate(SQLite::Database& db, const std::string& name) {
  // Read the version before touching anything: a newer database, or a file
  // that is not SQLite at all, must be left exactly as it was.
  int version = 0;
  try {
    version = db.execAndGet("PRAGMA user_version").getInt();
    if (version == 0) {
      int tables = db.execAndGet("SELECT count(*) FROM sqlite_master").getInt();
      if (tables > 0)
        throw io_error(fmt::format("{} is an SQLite database, but not an esc database", name),
                       "point --db or $ESC_DB at an esc database, or at a new file");
    }
  } catch (const SQLite::Exception& e) {
    if (e.getErrorCode() == SQLITE_NOTADB || e.getErrorCode() == SQLITE_CORRUPT)
      throw io_error(fmt::format("{} is not an esc database (not SQLite, or damaged); left untouched", name),
                     "point --db or $ESC_DB at an esc database, or at a new file");
    rethrow(e, "opening the database");
  }
  if (version > schema::kCount)
    throw io_error(fmt::format("{} has schema version {}, newer than this esc understands ({}); left untouched",
                               name, version, schema::kCount),
                   "upgrade esc");
  guarded("opening the database", [&] {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    return 0;
  });
  while (version < schema::kCount) {
    guarded("upgrading the database schema", [&] {
      db.exec("BEGIN IMMEDIATE");
      try {
        // Another process may have migrated while we waited for the lock.
        int now_version = db.execAndGet("PRAGMA user_version").getInt();
        if (now_version == version) {
          db.exec(schema::kMigrations[version]);
          db.exec(fmt::format("PRAGMA user_version = {}", version + 1));
        }
        db.exec("COMMIT");
      } catch (...) {
        db.exec("ROLLBACK");
        throw;
      }
      version = db.execAndGet("PRAGMA user_version").getInt();
      return 0;
    });
  }
}

}  // namespace

Store Store::open(const std::filesystem::path& file) {
  ensure_private_file(file);
  try {
    auto impl = std::make_unique<Impl>(file.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    migrate(impl->db, file.string());
    return Store(std::move(impl));
  } catch (const SQLite::Exception& e) {
    rethrow(e, "opening the database");
  }
}

Store Store::open_memory() {
  auto impl = std::make_unique<Impl>(":memory:", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  migrate(impl->db, ":memory:");
  return Store(std::move(impl));
}

void Store::write(const std::function<void()>& fn) {
  auto& db = impl_->db;
  guarded("starting a change", [&] {
    db.exec("BEGIN IMMEDIATE");
    return 0;
  });
  try {
    fn();
    guarded("saving the change", [&] {
      db.exec("COMMIT");
      return 0;
    });
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

// ---- cases ---------------------------------------------------------------

void Store::insert_case(Case& c) {
  guarded("adding a case", [&] {
    SQLite::Statement q(impl_->db,
                        "INSERT INTO cases (id, uuid, title, customer, severity, status, ref, triggers, tags, "
                        "engineer, created_at, updated_at, resolved_at, csat, unnecessary) "
                        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (c.id > 0)
      q.bind(1, static_cast<int64_t>(c.id));
    else
      q.bind(1);
    q.bind(2, c.uuid);
    q.bind(3, c.title);
    q.bind(4, c.customer);
    q.bind(5, c.severity);
    q.bind(6, std::string(to_string(c.status)));
    bind_text_or_null(q, 7, c.ref);
    q.bind(8, to_json_array(c.triggers));
    q.bind(9, to_json_array(c.tags));
    q.bind(10, c.engineer);
    q.bind(11, static_cast<int64_t>(to_unix(c.created_at)));
    q.bind(12, static_cast<int64_t>(to_unix(c.updated_at)));
    bind_opt_time(q, 13, c.resolved_at);
    if (c.csat) q.bind(14, *c.csat); else q.bind(14);
    q.bind(15, c.unnecessary ? 1 : 0);
    q.exec();
    c.id = impl_->db.getLastInsertRowid();
    return 0;
  });
}

void Store::update_case(const Case& c) {
  guarded("updating a case", [&] {
    SQLite::Statement q(impl_->db,
                        "UPDATE cases SET title=?, customer=?, severity=?, status=?, ref=?, triggers=?, tags=?, "
                        "engineer=?, updated_at=?, resolved_at=?, csat=?, unnecessary=? WHERE id=?");
    q.bind(1, c.title);
    q.bind(2, c.customer);
    q.bind(3, c.severity);
    q.bind(4, std::string(to_string(c.status)));
    bind_text_or_null(q, 5, c.ref);
    q.bind(6, to_json_array(c.triggers));
    q.bind(7, to_json_array(c.tags));
    q.bind(8, c.engineer);
    q.bind(9, static_cast<int64_t>(to_unix(c.updated_at)));
    bind_opt_time(q, 10, c.resolved_at);
    if (c.csat) q.bind(11, *c.csat); else q.bind(11);
    q.bind(12, c.unnecessary ? 1 : 0);
    q.bind(13, static_cast<int64_t>(c.id));
    q.exec();
    return 0;
  });
}

namespace {
std::optional<Case> one_case(SQLite::Database& db, const std::string& where, const auto& value) {
  SQLite::Statement q(db, fmt::format("SELECT {} FROM cases c WHERE {}", kCaseColumns, where));
  q.bind(1, value);
  if (q.executeStep()) return read_case(q);
  return std::nullopt;
}
}  // namespace

std::optional<Case> Store::get_case(std::int64_t id) {
  return guarded("reading a case", [&] { return one_case(impl_->db, "c.id = ?", static_cast<int64_t>(id)); });
}

std::optional<Case> Store::find_case_by_ref(const std::string& ref) {
  return guarded("reading a case", [&] { return one_case(impl_->db, "c.ref = ?", ref); });
}

std::optional<Case> Store::find_case_by_uuid(const std::string& uuid) {
  return guarded("reading a case", [&] { return one_case(impl_->db, "c.uuid = ?", uuid); });
}

std::vector<Case> Store::list_cases(const CaseFilter& f) {
  return guarded("listing cases", [&] {
    std::string sql = fmt::format("SELECT {} FROM cases c WHERE 1", kCaseColumns);
    // Fixed SQL text per filter shape; every value is bound, never spliced.
    if (!f.statuses.empty()) {
      sql += " AND c.status IN (";
      for (size_t i = 0; i < f.statuses.size(); ++i) sql += i ? ",?" : "?";
      sql += ")";
    }
    if (!f.severity.empty()) sql += " AND c.severity = ?";
    if (!f.customer.empty()) sql += " AND c.customer = ? COLLATE NOCASE";
    if (!f.tag.empty()) sql += " AND EXISTS (SELECT 1 FROM json_each(c.tags) WHERE value = ?)";
    if (f.since) sql += " AND c.updated_at >= ?";
    sql += " ORDER BY c.updated_at DESC, c.id DESC";
    if (f.limit > 0) sql += " LIMIT ?";
    SQLite::Statement q(impl_->db, sql);
    int i = 1;
    for (auto s : f.statuses) q.bind(i++, std::string(to_string(s)));
    if (!f.severity.empty()) q.bind(i++, f.severity);
    if (!f.customer.empty()) q.bind(i++, f.customer);
    if (!f.tag.empty()) q.bind(i++, f.tag);
    if (f.since) q.bind(i++, static_cast<int64_t>(to_unix(*f.since)));
    if (f.limit > 0) q.bind(i++, f.limit);
    std::vector<Case> out;
    while (q.executeStep()) out.push_back(read_case(q));
    return out;
  });
}

std::vector<CaseId> Store::list_ids(bool include_resolved) {
  return guarded("listing cases", [&] {
    SQLite::Statement q(impl_->db, include_resolved
                                       ? "SELECT id, ref, title, severity, status FROM cases ORDER BY updated_at DESC, id DESC"
                                       : "SELECT id, ref, title, severity, status FROM cases WHERE status IN "
                                         "('open','escalated') ORDER BY updated_at DESC, id DESC");
    std::vector<CaseId> out;
    while (q.executeStep()) {
      CaseId c;
      c.id = q.getColumn(0).getInt64();
      c.ref = q.getColumn(1).isNull() ? "" : q.getColumn(1).getString();
      c.title = q.getColumn(2).getString();
      c.severity = q.getColumn(3).getString();
      c.status = parse_status(q.getColumn(4).getString()).value_or(Status::open);
      out.push_back(std::move(c));
    }
    return out;
  });
}

std::vector<CaseId> Store::similar_resolved(const std::string& title, int limit) {
  std::string words;
  std::string w;
  auto flush = [&] {
    if (w.size() >= 4) words += (words.empty() ? "" : " ") + w;
    w.clear();
  };
  for (char ch : title) {
    if (std::isalnum(static_cast<unsigned char>(ch)) || (static_cast<unsigned char>(ch) >= 0x80))
      w += ch;
    else
      flush();
  }
  flush();
  if (words.empty()) return {};
  return guarded("looking for similar cases", [&] {
    // Rank only among the newest matches so that a common word stays cheap.
    SQLite::Statement q(impl_->db,
                        "WITH hits AS (SELECT rowid AS id, bm25(case_fts) AS r FROM case_fts WHERE case_fts MATCH ? "
                        "ORDER BY rowid DESC LIMIT 2000) "
                        "SELECT c.id, c.ref, c.title, c.severity, c.status FROM hits JOIN cases c ON c.id = hits.id "
                        "WHERE c.status = 'resolved' ORDER BY hits.r LIMIT ?");
    q.bind(1, fts_query(words, true));
    q.bind(2, limit);
    std::vector<CaseId> out;
    while (q.executeStep()) {
      CaseId c;
      c.id = q.getColumn(0).getInt64();
      c.ref = q.getColumn(1).isNull() ? "" : q.getColumn(1).getString();
      c.title = q.getColumn(2).getString();
      c.severity = q.getColumn(3).getString();
      c.status = Status::resolved;
      out.push_back(std::move(c));
    }
    return out;
  });
}

// ---- entries -------------------------------------------------------------

void Store::insert_entry(Entry& e) {
  guarded("adding an entry", [&] {
    SQLite::Statement q(impl_->db,
                        "INSERT INTO entries (id, uuid, case_id, kind, text, state, at, author) VALUES (?,?,?,?,?,?,?,?)");
    if (e.id > 0) q.bind(1, static_cast<int64_t>(e.id)); else q.bind(1);
    q.bind(2, e.uuid);
    q.bind(3, static_cast<int64_t>(e.case_id));
    q.bind(4, e.kind);
    q.bind(5, e.text);
    q.bind(6, e.state);
    q.bind(7, static_cast<int64_t>(to_unix(e.at)));
    q.bind(8, e.author);
    q.exec();
    e.id = impl_->db.getLastInsertRowid();
    return 0;
  });
}

std::vector<Entry> Store::entries(std::int64_t case_id) {
  return guarded("reading entries", [&] {
    SQLite::Statement q(impl_->db, fmt::format("SELECT {} FROM entries e WHERE e.case_id = ? ORDER BY e.at, e.id",
                                               kEntryColumns));
    q.bind(1, static_cast<int64_t>(case_id));
    std::vector<Entry> out;
    while (q.executeStep()) out.push_back(read_entry(q));
    return out;
  });
}

std::vector<SearchHit> Store::search(const std::string& query, const std::string& kind, int limit,
                                     bool newest_first) {
  const std::string match = fts_query(query);
  if (match.empty()) return {};
  // Ranking every hit of a very common word costs seconds on a large log, so
  // bm25 ranks the newest kCap hits of each index; "best match" is best
  // among those. --newest skips ranking altogether.
  constexpr int kCap = 2000;
  return guarded("searching", [&] {
    std::vector<SearchHit> hits;
    {
      SQLite::Statement q(
          impl_->db,
          "WITH hits AS (SELECT rowid AS id, bm25(entry_fts) AS r FROM entry_fts WHERE entry_fts MATCH ?1 "
          "ORDER BY rowid DESC LIMIT ?2) "
          "SELECT e.id, e.case_id, e.kind, e.at, c.title, hits.r FROM hits JOIN entries e ON e.id = hits.id "
          "JOIN cases c ON c.id = e.case_id WHERE (?3 = '' OR e.kind = ?3)");
      q.bind(1, match);
      q.bind(2, kCap);
      q.bind(3, kind);
      while (q.executeStep()) {
        SearchHit h;
        h.entry_id = q.getColumn(0).getInt64();
        h.case_id = q.getColumn(1).getInt64();
        h.kind = q.getColumn(2).getString();
        h.at = from_unix(q.getColumn(3).getInt64());
        h.title = q.getColumn(4).getString();
        h.rank = q.getColumn(5).getDouble();
        hits.push_back(std::move(h));
      }
    }
    if (kind.empty() || kind == "title") {
      SQLite::Statement q(impl_->db,
                          "WITH hits AS (SELECT rowid AS id, bm25(case_fts) AS r FROM case_fts WHERE case_fts MATCH ?1 "
                          "ORDER BY rowid DESC LIMIT ?2) "
                          "SELECT c.id, c.updated_at, c.title, hits.r FROM hits JOIN cases c ON c.id = hits.id");
      q.bind(1, match);
      q.bind(2, kCap);
      while (q.executeStep()) {
        SearchHit h;
        h.case_id = q.getColumn(0).getInt64();
        h.kind = "title";
        h.at = from_unix(q.getColumn(1).getInt64());
        h.title = q.getColumn(2).getString();
        h.rank = q.getColumn(3).getDouble() * 2.0;  // a title match weighs double
        hits.push_back(std::move(h));
      }
    }
    if (newest_first)
      std::stable_sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.at > b.at; });
    else
      std::stable_sort(hits.begin(), hits.end(), [](const auto& a, const auto& b) { return a.rank < b.rank; });
    if (limit > 0 && hits.size() > static_cast<size_t>(limit)) hits.resize(static_cast<size_t>(limit));
    // Snippets only for what is shown.
    SQLite::Statement se(impl_->db,
                         "SELECT snippet(entry_fts, 0, char(2), char(3), '…', 16) FROM entry_fts "
                         "WHERE entry_fts MATCH ?1 AND rowid = ?2");
    SQLite::Statement sc(impl_->db,
                         "SELECT highlight(case_fts, 0, char(2), char(3)) FROM case_fts "
                         "WHERE case_fts MATCH ?1 AND rowid = ?2");
    for (auto& h : hits) {
      auto& q = h.entry_id ? se : sc;
      q.reset();
      q.bind(1, match);
      q.bind(2, static_cast<int64_t>(h.entry_id ? h.entry_id : h.case_id));
      if (q.executeStep()) h.snippet = q.getColumn(0).getString();
    }
    return hits;
  });
}

std::vector<LessonHit> Store::lessons(const std::string& query, int limit) {
  return guarded("reading lessons", [&] {
    std::string match = fts_query(query);
    std::string sql;
    if (match.empty())
      sql = fmt::format(
          "SELECT {}, c.title, c.customer FROM entries e JOIN cases c ON c.id = e.case_id "
          "WHERE e.kind = 'review' AND e.state = 'lesson' ORDER BY e.at DESC, e.id DESC LIMIT ?1",
          kEntryColumns);
    else
      sql = fmt::format(
          "SELECT {}, c.title, c.customer FROM entry_fts JOIN entries e ON e.id = entry_fts.rowid "
          "JOIN cases c ON c.id = e.case_id WHERE entry_fts MATCH ?2 AND e.kind = 'review' AND e.state = 'lesson' "
          "ORDER BY bm25(entry_fts) LIMIT ?1",
          kEntryColumns);
    SQLite::Statement q(impl_->db, sql);
    q.bind(1, limit > 0 ? limit : -1);
    if (!match.empty()) q.bind(2, match);
    std::vector<LessonHit> out;
    while (q.executeStep()) {
      LessonHit h;
      h.entry = read_entry(q);
      h.case_title = q.getColumn(8).getString();
      h.customer = q.getColumn(9).getString();
      out.push_back(std::move(h));
    }
    return out;
  });
}

// ---- escalations and deliveries -----------------------------------------

void Store::insert_escalation(Escalation& x) {
  guarded("recording the escalation", [&] {
    SQLite::Statement q(impl_->db,
                        "INSERT INTO escalations (id, uuid, case_id, level, path, at, forced, force_reason, subject, "
                        "snapshot, acked_at, acked_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
    if (x.id > 0) q.bind(1, static_cast<int64_t>(x.id)); else q.bind(1);
    q.bind(2, x.uuid);
    q.bind(3, static_cast<int64_t>(x.case_id));
    q.bind(4, x.level);
    q.bind(5, x.path);
    q.bind(6, static_cast<int64_t>(to_unix(x.at)));
    q.bind(7, x.forced ? 1 : 0);
    q.bind(8, x.force_reason);
    q.bind(9, x.subject);
    q.bind(10, x.snapshot);
    bind_opt_time(q, 11, x.acked_at);
    q.bind(12, x.acked_by);
    q.exec();
    x.id = impl_->db.getLastInsertRowid();
    return 0;
  });
}

std::vector<Escalation> Store::escalations(std::int64_t case_id) {
  return guarded("reading escalations", [&] {
    SQLite::Statement q(impl_->db, fmt::format("SELECT {} FROM escalations x WHERE x.case_id = ? ORDER BY x.level, x.id",
                                               kEscalationColumns));
    q.bind(1, static_cast<int64_t>(case_id));
    std::vector<Escalation> out;
    while (q.executeStep()) out.push_back(read_escalation(q));
    return out;
  });
}

std::optional<Escalation> Store::get_escalation(std::int64_t id) {
  return guarded("reading an escalation", [&]() -> std::optional<Escalation> {
    SQLite::Statement q(impl_->db, fmt::format("SELECT {} FROM escalations x WHERE x.id = ?", kEscalationColumns));
    q.bind(1, static_cast<int64_t>(id));
    if (q.executeStep()) return read_escalation(q);
    return std::nullopt;
  });
}

void Store::update_escalation(const Escalation& x) {
  guarded("updating an escalation", [&] {
    SQLite::Statement q(impl_->db, "UPDATE escalations SET acked_at = ?, acked_by = ? WHERE id = ?");
    bind_opt_time(q, 1, x.acked_at);
    q.bind(2, x.acked_by);
    q.bind(3, static_cast<int64_t>(x.id));
    q.exec();
    return 0;
  });
}

void Store::insert_delivery(Delivery& d) {
  guarded("queueing a delivery", [&] {
    SQLite::Statement q(impl_->db,
                        "INSERT INTO deliveries (id, escalation_id, channel, key, status, attempts, last_error, "
                        "created_at, next_attempt_at, delivered_at) VALUES (?,?,?,?,?,?,?,?,?,?)");
    if (d.id > 0) q.bind(1, static_cast<int64_t>(d.id)); else q.bind(1);
    q.bind(2, static_cast<int64_t>(d.escalation_id));
    q.bind(3, d.channel);
    q.bind(4, d.key);
    q.bind(5, std::string(to_string(d.status)));
    q.bind(6, d.attempts);
    q.bind(7, d.last_error);
    q.bind(8, static_cast<int64_t>(to_unix(d.created_at)));
    bind_opt_time(q, 9, d.next_attempt_at);
    bind_opt_time(q, 10, d.delivered_at);
    q.exec();
    d.id = impl_->db.getLastInsertRowid();
    return 0;
  });
}

namespace {
std::vector<Delivery> query_deliveries(SQLite::Database& db, const std::string& where, std::optional<int64_t> arg) {
  SQLite::Statement q(db, fmt::format("SELECT {} FROM deliveries d JOIN escalations x ON x.id = d.escalation_id "
                                      "WHERE {} ORDER BY d.id",
                                      kDeliveryColumns, where));
  if (arg) q.bind(1, *arg);
  std::vector<Delivery> out;
  while (q.executeStep()) out.push_back(read_delivery(q));
  return out;
}
}  // namespace

std::optional<Delivery> Store::get_delivery(std::int64_t id) {
  return guarded("reading a delivery", [&]() -> std::optional<Delivery> {
    auto v = query_deliveries(impl_->db, "d.id = ?", id);
    if (v.empty()) return std::nullopt;
    return v.front();
  });
}

std::vector<Delivery> Store::deliveries(std::int64_t escalation_id) {
  return guarded("reading deliveries", [&] { return query_deliveries(impl_->db, "d.escalation_id = ?", escalation_id); });
}

std::vector<Delivery> Store::pending_deliveries() {
  return guarded("reading the outbox", [&] { return query_deliveries(impl_->db, "d.status = 'pending'", std::nullopt); });
}

void Store::update_delivery(const Delivery& d) {
  guarded("updating a delivery", [&] {
    SQLite::Statement q(impl_->db,
                        "UPDATE deliveries SET status = ?, attempts = ?, last_error = ?, next_attempt_at = ?, "
                        "delivered_at = ?, claimed_by = NULL, claimed_until = NULL WHERE id = ?");
    q.bind(1, std::string(to_string(d.status)));
    q.bind(2, d.attempts);
    q.bind(3, d.last_error);
    bind_opt_time(q, 4, d.next_attempt_at);
    bind_opt_time(q, 5, d.delivered_at);
    q.bind(6, static_cast<int64_t>(d.id));
    q.exec();
    return 0;
  });
}

bool Store::claim_delivery(std::int64_t id, int pid, std::int64_t until, std::int64_t wall_now,
                           const std::function<bool(int)>& alive) {
  return guarded("claiming a delivery", [&] {
    SQLite::Statement q(impl_->db, "SELECT status, claimed_by, claimed_until FROM deliveries WHERE id = ?");
    q.bind(1, static_cast<int64_t>(id));
    if (!q.executeStep() || q.getColumn(0).getString() != "pending") return false;
    if (!q.getColumn(1).isNull()) {
      const int holder = q.getColumn(1).getInt();
      const int64_t held_until = q.getColumn(2).isNull() ? 0 : q.getColumn(2).getInt64();
      if (holder != pid && held_until > wall_now && alive(holder)) return false;
    }
    SQLite::Statement u(impl_->db, "UPDATE deliveries SET claimed_by = ?, claimed_until = ? WHERE id = ?");
    u.bind(1, pid);
    u.bind(2, static_cast<int64_t>(until));
    u.bind(3, static_cast<int64_t>(id));
    u.exec();
    return true;
  });
}

// ---- follow-up and metrics -----------------------------------------------

std::vector<Case> Store::open_unescalated() {
  return guarded("reading open cases", [&] {
    SQLite::Statement q(impl_->db, fmt::format("SELECT {} FROM cases c WHERE c.status = 'open' ORDER BY c.created_at",
                                               kCaseColumns));
    std::vector<Case> out;
    while (q.executeStep()) out.push_back(read_case(q));
    return out;
  });
}

std::vector<EscalatedCase> Store::escalated_cases() {
  return guarded("reading escalated cases", [&] {
    SQLite::Statement q(
        impl_->db,
        fmt::format("SELECT {}, {}, (SELECT max(e.at) FROM entries e WHERE e.case_id = c.id AND e.kind IN "
                    "('notice','update','contact')) FROM cases c JOIN escalations x ON x.case_id = c.id "
                    "AND x.level = (SELECT max(level) FROM escalations WHERE case_id = c.id) "
                    "WHERE c.status = 'escalated' ORDER BY x.at",
                    kCaseColumns, kEscalationColumns));
    std::vector<EscalatedCase> out;
    while (q.executeStep()) {
      EscalatedCase ec;
      ec.c = read_case(q);
      ec.latest = read_escalation(q, kCaseColumnCount);
      ec.last_client_contact = opt_time(q.getColumn(kCaseColumnCount + 12));
      out.push_back(std::move(ec));
    }
    return out;
  });
}

std::vector<StatsRow> Store::stats_rows(std::optional<Time> since, std::optional<Time> until) {
  return guarded("computing statistics", [&] {
    const int64_t lo = since ? to_unix(*since) : INT64_MIN;
    const int64_t hi = until ? to_unix(*until) : INT64_MAX;
    SQLite::Statement q(
        impl_->db,
        fmt::format("SELECT {}, x.first_at, x.first_acked, x.first_path, x.forced "
                    "FROM cases c LEFT JOIN ("
                    "  SELECT case_id, min(at) AS first_at, max(forced) AS forced, "
                    "    (SELECT acked_at FROM escalations y WHERE y.case_id = e.case_id ORDER BY level, id LIMIT 1) AS first_acked, "
                    "    (SELECT path FROM escalations y WHERE y.case_id = e.case_id ORDER BY level, id LIMIT 1) AS first_path "
                    "  FROM escalations e GROUP BY case_id) x ON x.case_id = c.id "
                    "WHERE c.created_at >= ?1 AND c.created_at < ?2 ORDER BY c.id",
                    kCaseColumns));
    q.bind(1, lo);
    q.bind(2, hi);
    std::vector<StatsRow> out;
    std::map<int64_t, size_t> index;
    const int o = kCaseColumnCount;
    while (q.executeStep()) {
      StatsRow r;
      r.c = read_case(q);
      r.first_escalated_at = opt_time(q.getColumn(o));
      r.first_acked_at = opt_time(q.getColumn(o + 1));
      r.first_path = q.getColumn(o + 2).isNull() ? "" : q.getColumn(o + 2).getString();
      r.forced = !q.getColumn(o + 3).isNull() && q.getColumn(o + 3).getInt() != 0;
      if (r.first_escalated_at) index[r.c.id] = out.size();
      out.push_back(std::move(r));
    }
    // Client contacts matter for escalated cases only.
    SQLite::Statement e(impl_->db,
                        "SELECT e.case_id, e.at FROM entries e JOIN cases c ON c.id = e.case_id "
                        "WHERE e.kind IN ('notice','update','contact') AND c.created_at >= ?1 AND c.created_at < ?2 "
                        "AND EXISTS (SELECT 1 FROM escalations x WHERE x.case_id = c.id) ORDER BY e.case_id, e.at");
    e.bind(1, lo);
    e.bind(2, hi);
    while (e.executeStep()) {
      auto it = index.find(e.getColumn(0).getInt64());
      if (it != index.end()) out[it->second].client_contacts.push_back(from_unix(e.getColumn(1).getInt64()));
    }
    return out;
  });
}

// ---- export and import ---------------------------------------------------

void Store::for_each_record(std::optional<Time> since, const std::function<void(const CaseRecord&)>& fn) {
  guarded("exporting", [&] {
    auto& db = impl_->db;
    SQLite::Statement cases(db, fmt::format("SELECT {} FROM cases c WHERE c.updated_at >= ? ORDER BY c.id", kCaseColumns));
    cases.bind(1, static_cast<int64_t>(since ? to_unix(*since) : INT64_MIN));
    SQLite::Statement ent(db, fmt::format("SELECT {} FROM entries e WHERE e.case_id = ? ORDER BY e.at, e.id", kEntryColumns));
    SQLite::Statement esc(db, fmt::format("SELECT {} FROM escalations x WHERE x.case_id = ? ORDER BY x.level, x.id",
                                          kEscalationColumns));
    SQLite::Statement del(db, fmt::format("SELECT {} FROM deliveries d JOIN escalations x ON x.id = d.escalation_id "
                                          "WHERE x.case_id = ? ORDER BY d.id",
                                          kDeliveryColumns));
    while (cases.executeStep()) {
      CaseRecord r;
      r.c = read_case(cases);
      const auto id = static_cast<int64_t>(r.c.id);
      for (auto* q : {&ent, &esc, &del}) {
        q->reset();
        q->bind(1, id);
      }
      while (ent.executeStep()) r.entries.push_back(read_entry(ent));
      while (esc.executeStep()) r.escalations.push_back(read_escalation(esc));
      while (del.executeStep()) r.deliveries.push_back(read_delivery(del));
      fn(r);
    }
    return 0;
  });
}

Store::Upsert Store::upsert_record(const CaseRecord& r) {
  return guarded("importing", [&] {
    auto& db = impl_->db;
    auto existing = find_case_by_uuid(r.c.uuid);
    if (existing && existing->updated_at >= r.c.updated_at) return Upsert::kept;  // ours is as new or newer
    Case c = r.c;
    if (existing) {
      SQLite::Statement del(db, "DELETE FROM cases WHERE id = ?");
      del.bind(1, static_cast<int64_t>(existing->id));
      del.exec();
      c.id = existing->id;
    } else if (get_case(c.id)) {
      c.id = 0;  // the number is taken here by another case: take a new one
    }
    if (!c.ref.empty()) {
      auto other = find_case_by_ref(c.ref);
      if (other) c.ref.clear();  // refs are unique; keep the local case's
    }
    insert_case(c);
    auto free_id = [&](const char* table, int64_t id) {
      if (id <= 0) return false;
      SQLite::Statement q(db, fmt::format("SELECT 1 FROM {} WHERE id = ?", table));
      q.bind(1, id);
      return !q.executeStep();
    };
    auto uuid_taken = [&](const char* table, const std::string& uuid) {
      SQLite::Statement q(db, fmt::format("SELECT 1 FROM {} WHERE uuid = ?", table));
      q.bind(1, uuid);
      return q.executeStep();
    };
    for (Entry e : r.entries) {
      e.case_id = c.id;
      if (!free_id("entries", e.id)) e.id = 0;
      if (uuid_taken("entries", e.uuid)) e.uuid = new_uuid();
      insert_entry(e);
    }
    std::map<int64_t, int64_t> escalation_ids;
    for (Escalation x : r.escalations) {
      const auto old = x.id;
      x.case_id = c.id;
      if (!free_id("escalations", x.id)) x.id = 0;
      if (uuid_taken("escalations", x.uuid)) x.uuid = new_uuid();
      insert_escalation(x);
      escalation_ids[old] = x.id;
    }
    for (Delivery d : r.deliveries) {
      auto it = escalation_ids.find(d.escalation_id);
      if (it == escalation_ids.end()) continue;
      d.escalation_id = it->second;
      if (!free_id("deliveries", d.id)) d.id = 0;
      SQLite::Statement k(db, "SELECT 1 FROM deliveries WHERE key = ?");
      k.bind(1, d.key);
      if (k.executeStep()) continue;
      insert_delivery(d);
    }
    return existing ? Upsert::replaced : Upsert::added;
  });
}

std::string Store::integrity_check() {
  return guarded("checking the database", [&] { return impl_->db.execAndGet("PRAGMA integrity_check").getString(); });
}

std::string Store::fts_integrity_check() {
  return guarded("checking the search index", [&]() -> std::string {
    try {
      impl_->db.exec("INSERT INTO entry_fts(entry_fts) VALUES('integrity-check')");
      impl_->db.exec("INSERT INTO case_fts(case_fts) VALUES('integrity-check')");
      return "ok";
    } catch (const SQLite::Exception& e) {
      return e.what();
    }
  });
}

}  // namespace esc
