#include "esc/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <date/date.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "esc/error.hpp"
#include "esc/text.hpp"
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
  if (s == "[]") return {};  // most cases: no parse
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

// A row's own id when it has one (an import keeps ids), else NULL: SQLite picks.
void bind_id(SQLite::Statement& q, int i, std::int64_t id) {
  if (id > 0)
    q.bind(i, static_cast<int64_t>(id));
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

// What `esc due` shows of a case (see DueList): read into the same Case,
// case after case, without the rest (tags and triggers are JSON to parse).
constexpr const char* kDueColumns = "c.id, c.title, c.severity, c.created_at";
constexpr int kDueColumnCount = 4;

// A statement through SQLite's C API, for loops over thousands of rows
// (`due`, `stats`): each of SQLiteCpp's columns takes a reference to the
// statement.
class RawStatement {
 public:
  RawStatement(SQLite::Database& db, const std::string& sql) : db_(db.getHandle()) {
    if (int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st_, nullptr); rc != SQLITE_OK)
      throw SQLite::Exception(db_, rc);
  }
  ~RawStatement() { sqlite3_finalize(st_); }
  RawStatement(const RawStatement&) = delete;
  RawStatement& operator=(const RawStatement&) = delete;
  bool step() {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) throw SQLite::Exception(db_, rc);
    return false;
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(st_, i, v); }
  std::int64_t integer(int col) const { return sqlite3_column_int64(st_, col); }
  bool null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::string text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st_, col))) : std::string();
  }
  Time time(int col) const { return from_unix(integer(col)); }
  std::optional<Time> opt_time(int col) const {
    if (null(col)) return std::nullopt;
    return time(col);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

const Case& read_due_case(const RawStatement& q, Case& c) {
  c.id = q.integer(0);
  c.title = q.text(1);
  c.severity = q.text(2);
  c.created_at = q.time(3);
  return c;
}

std::optional<Case> one_case(SQLite::Database& db, const std::string& where, const auto& value) {
  SQLite::Statement q(db, fmt::format("SELECT {} FROM cases c WHERE {}", kCaseColumns, where));
  q.bind(1, value);
  if (q.executeStep()) return read_case(q);
  return std::nullopt;
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
        if (ch == '"')
          quoted += "\"\"";
        else
          quoted += ch;
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
    if (ec) throw io_error(fmt::format("cannot create the database folder {}: {}", dir.string(), ec.message()));
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

namespace {

// A set of row ids, kept as runs of consecutive ids: an import's ids come
// in long runs, so a million of them take a few hundred runs.
class IdRuns {
 public:
  void add(std::int64_t id) {
    auto next = runs_.upper_bound(id);
    if (next != runs_.begin()) {
      auto prev = std::prev(next);
      if (prev->second >= id) return;
      if (prev->second + 1 == id) {
        prev->second = id;
        if (next != runs_.end() && next->first == id + 1) {
          prev->second = next->second;
          runs_.erase(next);
        }
        return;
      }
    }
    if (next != runs_.end() && next->first == id + 1) {
      const auto last = next->second;
      runs_.erase(next);
      runs_.emplace(id, last);
      return;
    }
    runs_.emplace(id, id);
  }
  // True when the id was in the set.
  bool remove(std::int64_t id) {
    auto it = runs_.upper_bound(id);
    if (it == runs_.begin()) return false;
    --it;
    const auto [first, last] = *it;
    if (last < id) return false;
    runs_.erase(it);
    if (first < id) runs_.emplace(first, id - 1);
    if (id < last) runs_.emplace(id + 1, last);
    return true;
  }
  std::size_t runs() const { return runs_.size(); }
  const std::map<std::int64_t, std::int64_t>& all() const { return runs_; }
  void clear() { runs_.clear(); }

 private:
  std::map<std::int64_t, std::int64_t> runs_;  // first id -> last id
};

// A prepared statement from the cache, reset and unbound when done with, so
// that it never holds a read transaction open.
class Reused {
 public:
  explicit Reused(SQLite::Statement& q) : q_(q) {}
  ~Reused() {
    q_.tryReset();
    try {
      q_.clearBindings();
    } catch (...) {
    }
  }
  Reused(const Reused&) = delete;
  Reused& operator=(const Reused&) = delete;
  SQLite::Statement* operator->() { return &q_; }
  SQLite::Statement& operator*() { return q_; }

 private:
  SQLite::Statement& q_;
};

// What the triggers of schema versions 1 to 4 did (migration 5 says why
// Store does it now): each case in the full-text index of titles and each
// entry in that of texts; the cases opened, resolved and rated by month
// (case_months, added to or taken from with a sign); and a month's stored
// stats forgotten when one of its escalated cases changes.
constexpr const char* kCaseFtsInsert = "INSERT INTO case_fts(rowid, title) VALUES (?, ?)";
constexpr const char* kCaseFtsDelete = "INSERT INTO case_fts(case_fts, rowid, title) VALUES ('delete', ?, ?)";
constexpr const char* kEntryFtsInsert = "INSERT INTO entry_fts(rowid, text) VALUES (?, ?)";
constexpr const char* kEntryFtsDelete = "INSERT INTO entry_fts(entry_fts, rowid, text) VALUES ('delete', ?, ?)";
constexpr const char* kCountInMonth =
    "INSERT INTO case_months(month, opened, resolved, csat_count, csat_sum) "
    "VALUES (unixepoch(?1, 'unixepoch', 'start of month'), ?2, ?3, ?4, ?5) "
    "ON CONFLICT(month) DO UPDATE SET opened = opened + excluded.opened, resolved = resolved + excluded.resolved, "
    "csat_count = csat_count + excluded.csat_count, csat_sum = csat_sum + excluded.csat_sum";
constexpr const char* kForgetStats =
    "DELETE FROM stats_months WHERE month IN (unixepoch(?1, 'unixepoch', 'start of month'), "
    "unixepoch(?2, 'unixepoch', 'start of month'))";

void index_text(SQLite::Statement& stmt, std::int64_t id, const std::string& text) {
  Reused q(stmt);
  q->bind(1, static_cast<int64_t>(id));
  q->bind(2, text);
  q->exec();
}

// A case opened at `created`, counted (sign 1) or no longer (sign -1).
void count_in_month(SQLite::Statement& stmt, std::int64_t created, bool resolved, std::optional<int> csat, int sign) {
  Reused q(stmt);
  q->bind(1, static_cast<int64_t>(created));
  q->bind(2, sign);
  q->bind(3, resolved ? sign : 0);
  q->bind(4, csat ? sign : 0);
  q->bind(5, csat ? sign * *csat : 0);
  q->exec();
}

// The stored stats of the months of these two openings (often the same).
void forget_stats(SQLite::Statement& stmt, std::int64_t created_a, std::int64_t created_b) {
  Reused q(stmt);
  q->bind(1, static_cast<int64_t>(created_a));
  q->bind(2, static_cast<int64_t>(created_b));
  q->exec();
}

// Past this many runs of ids waiting for the full-text index, they are
// indexed at once, so that memory stays small whatever the ids.
constexpr std::size_t kMaxUnindexedRuns = 20000;

}  // namespace

namespace {

// esc_rank(): FTS5's bm25 (k1 = 1.2, b = 0.75), but for how many rows hold
// each phrase. bm25 counts them all, a walk of the phrase's whole list:
// tens of milliseconds for a word in most entries. esc_rank counts up to
// kPhraseCountCap rows and, past that, estimates the count from how densely
// those rows lie among the rowids. Up to the cap it is bm25 exactly; past
// it only the weight of a very common word changes, a little, which moves
// no row of a one-word search and few of a longer one.
constexpr sqlite3_int64 kPhraseCountCap = 4000;

struct RankData {
  double avgdl = 0;
  std::vector<double> idf, freq;
};

struct PhraseCount {
  sqlite3_int64 rows = 0;
  sqlite3_int64 last_rowid = 0;
};

int count_rows(const Fts5ExtensionApi* api, Fts5Context* fts, void* user) {
  auto* c = static_cast<PhraseCount*>(user);
  c->rows++;
  c->last_rowid = api->xRowid(fts);
  return c->rows >= kPhraseCountCap ? SQLITE_DONE : SQLITE_OK;
}

int rank_data(const Fts5ExtensionApi* api, Fts5Context* fts, RankData*& out) {
  out = static_cast<RankData*>(api->xGetAuxdata(fts, 0));
  if (out) return SQLITE_OK;
  auto d = std::make_unique<RankData>();
  const int phrases = api->xPhraseCount(fts);
  sqlite3_int64 rows = 0, tokens = 0;
  int rc = api->xRowCount(fts, &rows);
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &tokens);
  if (rc != SQLITE_OK) return rc;
  d->avgdl = static_cast<double>(tokens) / static_cast<double>(rows);
  for (int i = 0; i < phrases; ++i) {
    PhraseCount c;
    rc = api->xQueryPhrase(fts, i, &c, count_rows);
    if (rc != SQLITE_OK) return rc;
    double hits = static_cast<double>(c.rows);
    if (c.rows >= kPhraseCountCap && c.last_rowid > 0)
      hits = std::clamp(hits * static_cast<double>(rows) / static_cast<double>(c.last_rowid), hits,
                        static_cast<double>(rows));
    double idf = std::log((static_cast<double>(rows) - hits + 0.5) / (hits + 0.5));
    if (idf <= 0.0) idf = 1e-6;
    d->idf.push_back(idf);
  }
  d->freq.assign(d->idf.size(), 0.0);
  out = d.get();
  rc = api->xSetAuxdata(fts, d.release(), [](void* p) { delete static_cast<RankData*>(p); });
  return rc;
}

void esc_rank(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* ctx, int n, sqlite3_value** args) {
  constexpr double k1 = 1.2, b = 0.75;
  RankData* d = nullptr;
  int rc = rank_data(api, fts, d);
  int insts = 0, tokens = 0;
  if (rc == SQLITE_OK) rc = api->xInstCount(fts, &insts);
  if (rc == SQLITE_OK) {
    std::fill(d->freq.begin(), d->freq.end(), 0.0);
    for (int i = 0; rc == SQLITE_OK && i < insts; ++i) {
      int phrase = 0, column = 0, offset = 0;
      rc = api->xInst(fts, i, &phrase, &column, &offset);
      if (rc == SQLITE_OK) d->freq[phrase] += n > column ? sqlite3_value_double(args[column]) : 1.0;
    }
  }
  if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &tokens);
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(ctx, rc);
    return;
  }
  double score = 0;
  const double len = static_cast<double>(tokens);
  for (size_t i = 0; i < d->idf.size(); ++i)
    score += d->idf[i] * ((d->freq[i] * (k1 + 1.0)) / (d->freq[i] + k1 * (1 - b + b * len / d->avgdl)));
  sqlite3_result_double(ctx, -1.0 * score);
}

// Registers esc_rank() on this connection; bm25() serves if it cannot.
const char* register_rank(sqlite3* db) {
  fts5_api* api = nullptr;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_pointer(st, 1, static_cast<void*>(&api), "fts5_api_ptr", nullptr);
    sqlite3_step(st);
  }
  sqlite3_finalize(st);
  if (!api || api->iVersion < 2 || api->xCreateFunction(api, "esc_rank", nullptr, esc_rank, nullptr) != SQLITE_OK)
    return "bm25";
  return "esc_rank";
}

}  // namespace

// Before SQLite initialises, so before the first connection: no count of
// memory in use, kept under a mutex at every allocation (esc never asks
// for it, and parsing the schema allocates thousands). SQLite's page cache
// comes from malloc, whose heap grows in transparent huge pages once a
// command opens the log (src/cli/memory.cpp).
namespace {
void configure_sqlite() {
  static const bool done = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
  (void)done;
}
}  // namespace

struct Store::Impl {
  SQLite::Database db;
  // Statements run once per row of a long loop (import), prepared once.
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>> cache;

  // Bulk mode, while upsert_record() runs inside a transaction: see
  // begin_bulk(). Any other method that writes, or reads the full-text
  // indexes, ends it first (settle()).
  bool bulk = false;
  IdRuns unindexed_entries, unindexed_cases;
  std::int64_t bulk_entries = 0;
  std::int64_t bulk_defer_after = 0;
  std::string deferred_index;  // the SQL of entries_uuid, while it is dropped
  const char* rank = nullptr;  // esc_rank, once registered (see rank_function())

  const char* rank_function() {
    if (!rank) rank = register_rank(db.getHandle());
    return rank;
  }

  // One connection, used by one thread: no SQLite mutex around every call.
  explicit Impl(const std::string& path, int flags) : db(open(path, flags)) {
    sqlite3_wal_hook(db.getHandle(), &Impl::on_commit, this);
  }
  static SQLite::Database open(const std::string& path, int flags) {
    configure_sqlite();
    return SQLite::Database(path, flags | SQLite::OPEN_NOMUTEX, kBusyTimeoutMs);
  }

  // Commits go to the WAL without an fsync, and the WAL is not copied into
  // the database when esc exits: a command that writes a few pages waits
  // for no disk. But every esc that opens the log after that reads the
  // whole WAL again (3 us a page), so the one that leaves it past
  // kCheckpointFrames copies it into the database (fsyncs included),
  // unless a reader holds it, and starts the WAL afresh. The WAL stays
  // under half a megabyte plus one command's writes; SQLite's own automatic
  // checkpoint is replaced by this. SQLite writes a WAL started afresh over
  // the old file rather than shrink it, so a command that wrote more (an
  // import) would leave a file as large as what it wrote for good: the
  // start cuts it back to kWalFileLimit (journal_size_limit).
  static constexpr int kCheckpointFrames = 128;
  static constexpr int kWalFileLimit = 4 << 20;
  int wal_frames = 0;
  static int on_commit(void* self, sqlite3*, const char*, int frames) {
    static_cast<Impl*>(self)->wal_frames = frames;
    return SQLITE_OK;
  }
  ~Impl() {
    if (wal_frames < kCheckpointFrames) return;
    sqlite3* h = db.getHandle();
    sqlite3_busy_timeout(h, 200);
    int in_wal = 0, copied = 0;
    if (sqlite3_wal_checkpoint_v2(h, nullptr, SQLITE_CHECKPOINT_RESTART, &in_wal, &copied) != SQLITE_OK ||
        copied < in_wal)
      return;
    // Every page is in the database now, but the WAL's frames stay valid
    // until a writer starts the WAL again from its first frame, so the next
    // esc would still read them all. Writing one page, the schema version
    // as it is, starts it now: a new header, with one sync, over the old
    // frames. Truncating the file instead costs more here (an ftruncate of
    // synced blocks, then a sync for the next writer's header); it is cut
    // only past kWalFileLimit.
    char restart[128];  // no allocation in a destructor
    *fmt::format_to_n(restart, sizeof restart - 1,
                      "PRAGMA journal_size_limit = {}; BEGIN IMMEDIATE; PRAGMA user_version = {}; COMMIT",
                      kWalFileLimit, schema::kCount)
         .out = '\0';
    if (sqlite3_exec(h, restart, nullptr, nullptr, nullptr) != SQLITE_OK && !sqlite3_get_autocommit(h))
      sqlite3_exec(h, "ROLLBACK", nullptr, nullptr, nullptr);
  }

  SQLite::Statement& cached(const char* sql) {
    auto& q = cache[sql];
    if (!q) q = std::make_unique<SQLite::Statement>(db, sql);
    return *q;
  }

  // A case by its number, from a statement prepared once: a command that
  // changes a case reads it more than once, and the statement, with all of
  // a case's columns, costs more to prepare than to run.
  std::optional<Case> case_by_id(std::int64_t id) {
    static const std::string sql = fmt::format("SELECT {} FROM cases c WHERE c.id = ?", kCaseColumns);
    Reused q(cached(sql.c_str()));
    q->bind(1, static_cast<int64_t>(id));
    if (q->executeStep()) return read_case(*q);
    return std::nullopt;
  }

  // For scans, which read each page once: a small page cache keeps the
  // memory (and the page faults that come with touching new memory) down.
  bool small_cache_set = false;
  void small_cache() {
    if (!small_cache_set) db.exec("PRAGMA cache_size = 64");
    small_cache_set = true;
  }

  void begin_bulk();
  void settle() {
    if (bulk) end_bulk();
  }
  // Keep the full-text indexes and the month tables (kCaseFtsInsert and
  // the statements beside it) as cases and entries come and go; in bulk
  // mode, the new rows are indexed at its end.
  void case_added(const Case& c, bool escalated);
  void entry_added(const Entry& e);
  void case_removing(std::int64_t id);  // with its entries, before its DELETE
  void count_entries(std::size_t n);
  void index_unindexed();
  void end_bulk();
  void reset_bulk() {
    bulk = false;
    unindexed_entries.clear();
    unindexed_cases.clear();
    bulk_entries = 0;
    deferred_index.clear();
  }
};

// FTS5 adds rows cheaply in increasing rowid order, but flushes its pending
// terms whenever a smaller rowid comes; an import brings entries whose ids
// interleave from case to case, so indexing row by row would flush at
// almost every case. Inside the import's transaction, the new rows are
// noted, and indexed at the end in rowid order. All of it commits or rolls
// back with the import.
void Store::Impl::begin_bulk() {
  bulk = true;
  bulk_entries = 0;
  // A large import also drops the entries' UUID index and builds it again
  // at its end: one sort instead of a random write per entry, once the
  // import has added about an eighth of the rows (and more than the page
  // cache holds anyway).
  const auto rows = db.execAndGet("SELECT ifnull(max(id), 0) FROM main.entries").getInt64();
  bulk_defer_after = std::max<std::int64_t>(20000, rows / 8);
  if (db.execAndGet("SELECT count(*) FROM main.sqlite_master WHERE type = 'index' AND name = 'entries_uuid'")
          .getInt() == 0)
    bulk_defer_after = std::numeric_limits<std::int64_t>::max();
  deferred_index.clear();
}

void Store::Impl::case_added(const Case& c, bool escalated) {
  const auto created = to_unix(c.created_at);
  count_in_month(cached(kCountInMonth), created, c.resolved_at.has_value(), c.csat, 1);
  if (escalated) forget_stats(cached(kForgetStats), created, created);
  if (!bulk) return index_text(cached(kCaseFtsInsert), c.id, c.title);
  unindexed_cases.add(c.id);
  if (unindexed_cases.runs() > kMaxUnindexedRuns) index_unindexed();
}

void Store::Impl::entry_added(const Entry& e) {
  if (!bulk) return index_text(cached(kEntryFtsInsert), e.id, e.text);
  unindexed_entries.add(e.id);
  if (!deferred_index.empty()) {
    Reused q(cached("INSERT INTO temp.esc_inserted_entries(id) VALUES (?)"));
    q->bind(1, static_cast<int64_t>(e.id));
    q->exec();
  }
  if (unindexed_entries.runs() > kMaxUnindexedRuns) index_unindexed();
}

// Meanwhile esc_inserted_entries keeps the order in which entries come, so
// that when two share a UUID the later one takes a new UUID, as it would
// have with the index in place.
void Store::Impl::count_entries(std::size_t n) {
  bulk_entries += static_cast<std::int64_t>(n);
  if (!deferred_index.empty() || bulk_entries < bulk_defer_after) return;
  deferred_index =
      db.execAndGet("SELECT sql FROM main.sqlite_master WHERE type = 'index' AND name = 'entries_uuid'").getString();
  db.exec(
      "CREATE TEMP TABLE esc_inserted_entries(seq INTEGER PRIMARY KEY, id INTEGER NOT NULL);"
      "DROP INDEX main.entries_uuid;");
}

// The entries go with the case (ON DELETE CASCADE), so they leave the
// full-text index here too.
void Store::Impl::case_removing(std::int64_t id) {
  std::vector<std::pair<std::int64_t, std::string>> rows;
  {
    Reused q(cached("SELECT id, text FROM entries WHERE case_id = ?"));
    q->bind(1, static_cast<int64_t>(id));
    while (q->executeStep()) rows.emplace_back(q->getColumn(0).getInt64(), q->getColumn(1).getString());
  }
  for (const auto& [entry, text] : rows)
    if (!unindexed_entries.remove(entry)) index_text(cached(kEntryFtsDelete), entry, text);
  std::string title;
  std::int64_t created = 0;
  bool resolved = false, escalated = false;
  std::optional<int> csat;
  {
    Reused q(
        cached("SELECT title, created_at, resolved_at IS NOT NULL, csat, esc_at IS NOT NULL FROM cases "
               "WHERE id = ?"));
    q->bind(1, static_cast<int64_t>(id));
    if (!q->executeStep()) return;
    title = q->getColumn(0).getString();
    created = q->getColumn(1).getInt64();
    resolved = q->getColumn(2).getInt() != 0;
    if (!q->getColumn(3).isNull()) csat = q->getColumn(3).getInt();
    escalated = q->getColumn(4).getInt() != 0;
  }
  count_in_month(cached(kCountInMonth), created, resolved, csat, -1);
  if (escalated) forget_stats(cached(kForgetStats), created, created);
  if (!unindexed_cases.remove(id)) index_text(cached(kCaseFtsDelete), id, title);
}

void Store::Impl::index_unindexed() {
  for (const auto& [first, last] : unindexed_entries.all()) {
    Reused q(
        cached("INSERT INTO entry_fts(rowid, text) SELECT id, text FROM entries WHERE id BETWEEN ? AND ? ORDER BY id"));
    q->bind(1, static_cast<int64_t>(first));
    q->bind(2, static_cast<int64_t>(last));
    q->exec();
  }
  unindexed_entries.clear();
  for (const auto& [first, last] : unindexed_cases.all()) {
    Reused q(
        cached("INSERT INTO case_fts(rowid, title) SELECT id, title FROM cases WHERE id BETWEEN ? AND ? ORDER BY id"));
    q->bind(1, static_cast<int64_t>(first));
    q->bind(2, static_cast<int64_t>(last));
    q->exec();
  }
  unindexed_cases.clear();
}

void Store::Impl::end_bulk() {
  if (!deferred_index.empty()) {
    try {
      db.exec(deferred_index);
    } catch (const SQLite::Exception& e) {
      if ((e.getErrorCode() & 0xff) != SQLITE_CONSTRAINT) throw;
      // Some entries share a UUID: the first keeps it (one that was here
      // before, else the first imported), the others take new ones.
      db.exec(
          "CREATE TEMP TABLE esc_dup_uuids AS SELECT uuid FROM main.entries GROUP BY uuid HAVING count(*) > 1;"
          "CREATE INDEX temp.esc_inserted_entries_id ON esc_inserted_entries(id);");
      std::vector<std::int64_t> renew;
      {
        SQLite::Statement q(db,
                            "SELECT e.id, e.uuid FROM main.entries e JOIN esc_dup_uuids d ON d.uuid = e.uuid "
                            "LEFT JOIN (SELECT id, max(seq) AS seq FROM esc_inserted_entries GROUP BY id) l "
                            "ON l.id = e.id ORDER BY e.uuid, l.seq IS NOT NULL, l.seq");
        std::string last;
        while (q.executeStep()) {
          std::string uuid = q.getColumn(1).getString();
          if (uuid == last) renew.push_back(q.getColumn(0).getInt64());
          last = std::move(uuid);
        }
      }
      SQLite::Statement u(db, "UPDATE main.entries SET uuid = ? WHERE id = ?");
      for (auto id : renew) {
        u.reset();
        u.bind(1, new_uuid());
        u.bind(2, static_cast<int64_t>(id));
        u.exec();
      }
      db.exec("DROP TABLE temp.esc_dup_uuids");
      db.exec(deferred_index);
    }
    db.exec("DROP TABLE temp.esc_inserted_entries");
    deferred_index.clear();
  }
  index_unindexed();
  reset_bulk();
}

static_assert(Store::kSchemaVersion == schema::kCount);

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

namespace {

void refresh_facts(SQLite::Database& db, int64_t case_id);

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
    throw io_error(fmt::format("{} has schema version {}, newer than this esc understands ({}); left untouched", name,
                               version, schema::kCount),
                   "upgrade esc");
  guarded("opening the database", [&] {
    if (version == 0) db.exec("PRAGMA journal_mode = WAL");  // kept in the file from then on
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    // No checkpoint, with its fsyncs, at the end of every command: see ~Impl.
    sqlite3_db_config(db.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    return 0;
  });
  const bool migrating = version < schema::kCount;
  // Every migration still to run, in one transaction.
  if (migrating) {
    guarded("upgrading the database schema", [&] {
      db.exec("BEGIN IMMEDIATE");
      try {
        // Another process may have migrated while we waited for the lock.
        const int from = db.execAndGet("PRAGMA user_version").getInt();
        for (int v = from; v < schema::kCount; ++v) db.exec(schema::kMigrations[v]);
        // Migrations 2 and 3 add escalation facts to the cases. refresh_facts()
        // writes all of them, as the newest schema has them, so they are
        // computed once, at the end, for every case that was ever escalated.
        if (from < 3) {
          SQLite::Statement q(db, "SELECT DISTINCT case_id FROM escalations");
          while (q.executeStep()) refresh_facts(db, q.getColumn(0).getInt64());
        }
        if (from < schema::kCount) db.exec(fmt::format("PRAGMA user_version = {}", schema::kCount));
        db.exec("COMMIT");
      } catch (...) {
        db.exec("ROLLBACK");
        throw;
      }
      return 0;
    });
  }
  // A new or upgraded schema goes to the database file at once, synced.
  if (migrating) guarded("upgrading the database schema", [&] { return db.exec("PRAGMA wal_checkpoint(TRUNCATE)"); });
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

void Store::write(const std::function<void()>& fn, Sync sync) {
  auto& db = impl_->db;
  struct Synchronous {
    SQLite::Database& db;
    bool full;
    Synchronous(SQLite::Database& d, bool f) : db(d), full(f) {
      if (full) guarded("starting a change", [&] { return db.exec("PRAGMA synchronous = FULL"); });
    }
    ~Synchronous() {
      if (full) sqlite3_exec(db.getHandle(), "PRAGMA synchronous = NORMAL", nullptr, nullptr, nullptr);
    }
  } synchronous(db, sync == Sync::durable);
  guarded("starting a change", [&] {
    db.exec("BEGIN IMMEDIATE");
    return 0;
  });
  try {
    fn();
    guarded("saving the change", [&] {
      if (impl_->bulk) impl_->end_bulk();
      db.exec("COMMIT");
      return 0;
    });
  } catch (...) {
    // The rollback also undoes begin_bulk().
    impl_->reset_bulk();
    try {
      db.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

void Store::read(const std::function<void()>& fn) {
  auto& db = impl_->db;
  guarded("reading the log", [&] {
    db.exec("BEGIN");
    return 0;
  });
  try {
    fn();
  } catch (...) {
    sqlite3_exec(db.getHandle(), "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  sqlite3_exec(db.getHandle(), "COMMIT", nullptr, nullptr, nullptr);
}

// ---- cases ---------------------------------------------------------------

namespace {

constexpr const char* kInsertCase =
    "INSERT INTO cases (id, uuid, title, customer, severity, status, ref, triggers, tags, "
    "engineer, created_at, updated_at, resolved_at, csat, unnecessary, esc_at, esc_acked_at, esc_path, esc_forced, "
    "silence, contact_at, latest_id, latest_level, latest_path, latest_at, latest_acked_at) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertEntry =
    "INSERT INTO entries (id, uuid, case_id, kind, text, state, at, author) VALUES (?,?,?,?,?,?,?,?)";
constexpr const char* kInsertEscalation =
    "INSERT INTO escalations (id, uuid, case_id, level, path, at, forced, force_reason, subject, "
    "snapshot, acked_at, acked_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)";
constexpr const char* kInsertDelivery =
    "INSERT INTO deliveries (id, escalation_id, channel, key, status, attempts, last_error, "
    "created_at, next_attempt_at, delivered_at) VALUES (?,?,?,?,?,?,?,?,?,?)";

// The inserts, throwing SQLite's own exceptions (see upsert_record).
// Each takes the statement of its k*Insert constant, from the cache.
void insert_case_raw(SQLite::Database& db, SQLite::Statement& stmt, Case& c, const EscalationFacts& facts);
void insert_entry_raw(SQLite::Database& db, SQLite::Statement& stmt, Entry& e);
void insert_escalation_raw(SQLite::Database& db, SQLite::Statement& stmt, Escalation& x);
void insert_delivery_raw(SQLite::Database& db, SQLite::Statement& stmt, Delivery& d);

}  // namespace

void Store::insert_case(Case& c) {
  guarded("adding a case", [&] {
    impl_->settle();
    insert_case_raw(impl_->db, impl_->cached(kInsertCase), c, EscalationFacts{});
    impl_->case_added(c, /*escalated=*/false);
    return 0;
  });
}

namespace {
void bind_facts(SQLite::Statement& q, int i, const EscalationFacts& f) {
  bind_opt_time(q, i, f.first_at);
  bind_opt_time(q, i + 1, f.first_acked_at);
  bind_text_or_null(q, i + 2, f.first_path);
  q.bind(i + 3, f.forced ? 1 : 0);
  if (f.silence)
    q.bind(i + 4, static_cast<int64_t>(f.silence->count()));
  else
    q.bind(i + 4);
  bind_opt_time(q, i + 5, f.last_contact);
  if (f.latest) {
    q.bind(i + 6, static_cast<int64_t>(f.latest->id));
    q.bind(i + 7, f.latest->level);
    q.bind(i + 8, f.latest->path);
    q.bind(i + 9, static_cast<int64_t>(to_unix(f.latest->at)));
    bind_opt_time(q, i + 10, f.latest->acked_at);
  } else {
    for (int k = 6; k <= 10; ++k) q.bind(i + k);
  }
}

void insert_case_raw(SQLite::Database& db, SQLite::Statement& stmt, Case& c, const EscalationFacts& facts) {
  Reused q(stmt);
  bind_id(*q, 1, c.id);
  q->bind(2, c.uuid);
  q->bind(3, c.title);
  q->bind(4, c.customer);
  q->bind(5, c.severity);
  q->bind(6, std::string(to_string(c.status)));
  bind_text_or_null(*q, 7, c.ref);
  q->bind(8, to_json_array(c.triggers));
  q->bind(9, to_json_array(c.tags));
  q->bind(10, c.engineer);
  q->bind(11, static_cast<int64_t>(to_unix(c.created_at)));
  q->bind(12, static_cast<int64_t>(to_unix(c.updated_at)));
  bind_opt_time(*q, 13, c.resolved_at);
  if (c.csat)
    q->bind(14, *c.csat);
  else
    q->bind(14);
  q->bind(15, c.unnecessary ? 1 : 0);
  bind_facts(*q, 16, facts);
  q->exec();
  c.id = db.getLastInsertRowid();
}

std::vector<Escalation> case_escalations(SQLite::Database& db, int64_t case_id) {
  SQLite::Statement q(
      db, fmt::format("SELECT {} FROM escalations x WHERE x.case_id = ? ORDER BY x.level, x.id", kEscalationColumns));
  q.bind(1, case_id);
  std::vector<Escalation> out;
  while (q.executeStep()) out.push_back(read_escalation(q));
  return out;
}

// When the client heard from us on this case, in time order.
constexpr const char* kClientContacts =
    "SELECT at FROM entries INDEXED BY entries_kind WHERE kind IN ('contact', 'notice', 'update') AND case_id = ? "
    "ORDER BY at";

std::vector<Time> client_contacts(SQLite::Database& db, int64_t case_id) {
  SQLite::Statement q(db, kClientContacts);
  q.bind(1, case_id);
  std::vector<Time> out;
  while (q.executeStep()) out.push_back(from_unix(q.getColumn(0).getInt64()));
  return out;
}

// Recomputes a case's escalation facts (schema migration 2) after anything
// they depend on changed: its escalations, client contacts or resolution.
void refresh_facts(SQLite::Database& db, int64_t case_id) {
  auto c = one_case(db, "c.id = ?", case_id);
  if (!c) return;
  const auto facts = escalation_facts(*c, case_escalations(db, case_id), client_contacts(db, case_id));
  // What the stored stats of the case's month hold of it (see
  // Store::escalated_stats), as they were.
  SQLite::Statement was(db, "SELECT esc_at, esc_acked_at, esc_forced, silence FROM cases WHERE id = ?");
  was.bind(1, case_id);
  if (!was.executeStep()) return;
  auto column = [&](int i) -> std::optional<std::int64_t> {
    if (was.getColumn(i).isNull()) return std::nullopt;
    return was.getColumn(i).getInt64();
  };
  const auto esc_at = column(0), acked_at = column(1), silence = column(3);
  const bool forced = was.getColumn(2).getInt() != 0;
  SQLite::Statement q(
      db,
      "UPDATE cases SET esc_at=?, esc_acked_at=?, esc_path=?, esc_forced=?, silence=?, contact_at=?, latest_id=?, "
      "latest_level=?, latest_path=?, latest_at=?, latest_acked_at=? WHERE id=?");
  bind_facts(q, 1, facts);
  q.bind(12, case_id);
  q.exec();
  auto seconds = [](const std::optional<Time>& t) -> std::optional<std::int64_t> {
    if (!t) return std::nullopt;
    return to_unix(*t);
  };
  std::optional<std::int64_t> new_silence;
  if (facts.silence) new_silence = facts.silence->count();
  // The silence counts only once the case is resolved.
  const bool changed = esc_at != seconds(facts.first_at) || acked_at != seconds(facts.first_acked_at) ||
                       forced != facts.forced || (c->resolved_at && silence != new_silence);
  if (changed && (esc_at || facts.first_at)) {
    SQLite::Statement forget(db, kForgetStats);
    forget_stats(forget, to_unix(c->created_at), to_unix(c->created_at));
  }
}
}  // namespace

void Store::update_case(const Case& c) {
  guarded("updating a case", [&] {
    impl_->settle();
    // Only the columns that changed: SQLite rewrites the entry of every index
    // on a column that is SET, changed or not, and the title's full-text
    // entry with it. Adding an entry changes updated_at alone.
    const auto old = impl_->case_by_id(c.id);
    if (!old) return 0;
    std::string set;
    auto changed = [&](bool differs, const char* column) {
      if (differs) set += fmt::format("{}{} = :{}", set.empty() ? "" : ", ", column, column);
      return differs;
    };
    const bool title = changed(c.title != old->title, "title");
    const bool customer = changed(c.customer != old->customer, "customer");
    const bool severity = changed(c.severity != old->severity, "severity");
    const bool status = changed(c.status != old->status, "status");
    const bool ref = changed(c.ref != old->ref, "ref");
    const bool triggers = changed(c.triggers != old->triggers, "triggers");
    const bool tags = changed(c.tags != old->tags, "tags");
    const bool engineer = changed(c.engineer != old->engineer, "engineer");
    const bool updated = changed(c.updated_at != old->updated_at, "updated_at");
    const bool resolved = changed(c.resolved_at != old->resolved_at, "resolved_at");
    const bool csat = changed(c.csat != old->csat, "csat");
    const bool unnecessary = changed(c.unnecessary != old->unnecessary, "unnecessary");
    if (set.empty()) return 0;
    SQLite::Statement q(impl_->db, fmt::format("UPDATE cases SET {} WHERE id = :id RETURNING esc_at", set));
    if (title) q.bind(":title", c.title);
    if (customer) q.bind(":customer", c.customer);
    if (severity) q.bind(":severity", c.severity);
    if (status) q.bind(":status", std::string(to_string(c.status)));
    if (ref) bind_text_or_null(q, q.getIndex(":ref"), c.ref);
    if (triggers) q.bind(":triggers", to_json_array(c.triggers));
    if (tags) q.bind(":tags", to_json_array(c.tags));
    if (engineer) q.bind(":engineer", c.engineer);
    if (updated) q.bind(":updated_at", static_cast<int64_t>(to_unix(c.updated_at)));
    if (resolved) bind_opt_time(q, q.getIndex(":resolved_at"), c.resolved_at);
    if (csat) {
      if (c.csat)
        q.bind(":csat", *c.csat);
      else
        q.bind(":csat");
    }
    if (unnecessary) q.bind(":unnecessary", c.unnecessary ? 1 : 0);
    q.bind(":id", static_cast<int64_t>(c.id));
    const bool escalated = q.executeStep() && !q.getColumn(0).isNull();
    q.reset();
    if (title) {
      index_text(impl_->cached(kCaseFtsDelete), c.id, old->title);
      index_text(impl_->cached(kCaseFtsInsert), c.id, c.title);
    }
    if (resolved || csat) {
      auto& month = impl_->cached(kCountInMonth);
      const auto created = to_unix(old->created_at);
      count_in_month(month, created, old->resolved_at.has_value(), old->csat, -1);
      count_in_month(month, created, c.resolved_at.has_value(), c.csat, 1);
    }
    if (escalated && (resolved || unnecessary)) {
      forget_stats(impl_->cached(kForgetStats), to_unix(old->created_at), to_unix(old->created_at));
      // Of the facts, only an escalated case's silence depends on what
      // changes here: its resolution.
      if (resolved) refresh_facts(impl_->db, c.id);
    }
    return 0;
  });
}

std::optional<Case> Store::get_case(std::int64_t id) {
  return guarded("reading a case", [&] { return impl_->case_by_id(id); });
}

std::optional<Case> Store::find_case_by_ref(const std::string& ref) {
  return guarded("reading a case", [&] { return one_case(impl_->db, "c.ref = ?", ref); });
}

std::optional<Case> Store::find_case_by_uuid(const std::string& uuid) {
  return guarded("reading a case", [&] { return one_case(impl_->db, "c.uuid = ?", uuid); });
}

std::vector<Case> Store::list_cases(const CaseFilter& f) {
  std::vector<Case> out;
  each_case(f, [&](const Case& c) { out.push_back(c); });
  return out;
}

void Store::each_case(const CaseFilter& f, const std::function<void(const Case&)>& fn) {
  guarded("listing cases", [&] {
    // Fixed SQL text per filter shape; every value is bound, never spliced.
    // Open and escalated, the default, come straight from cases_active,
    // newest first, whatever the number of resolved cases.
    const bool active = f.statuses.size() == 2 && std::count(f.statuses.begin(), f.statuses.end(), Status::open) == 1 &&
                        std::count(f.statuses.begin(), f.statuses.end(), Status::escalated) == 1;
    std::string sql =
        fmt::format("SELECT {} FROM cases c{} WHERE 1", kCaseColumns, active ? " INDEXED BY cases_active" : "");
    if (active) {
      sql += " AND (c.status = 'open' OR c.status = 'escalated')";
    } else if (!f.statuses.empty()) {
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
    if (!active)
      for (auto s : f.statuses) q.bind(i++, std::string(to_string(s)));
    if (!f.severity.empty()) q.bind(i++, f.severity);
    if (!f.customer.empty()) q.bind(i++, f.customer);
    if (!f.tag.empty()) q.bind(i++, f.tag);
    if (f.since) q.bind(i++, static_cast<int64_t>(to_unix(*f.since)));
    if (f.limit > 0) q.bind(i++, f.limit);
    while (q.executeStep()) fn(read_case(q));
    return 0;
  });
}

std::vector<CaseId> Store::list_ids(Which which, int limit) {
  return guarded("listing cases", [&] {
    const char* where = which == Which::active ? "INDEXED BY cases_active WHERE status = 'open' OR status = 'escalated'"
                        : which == Which::resolved ? "WHERE status = 'resolved'"
                                                   : "";
    SQLite::Statement q(impl_->db, fmt::format("SELECT id, ref, title, severity, status FROM cases {} "
                                               "ORDER BY updated_at DESC, id DESC LIMIT ?",
                                               where));
    q.bind(1, limit > 0 ? limit : -1);
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
  const std::vector<std::string> words = title_words(title);
  if (words.empty() || limit <= 0) return {};
  return guarded("looking for similar cases", [&] {
    impl_->settle();
    // The 200 newest cases whose titles share a word, ranked among
    // themselves (title_similarity()): a hint printed by every `esc new`
    // must stay cheap however common the title's words, so neither FTS5's
    // ranking, which counts every row holding each word, nor a lookup per
    // case is made.
    std::vector<std::string> titles;
    std::vector<std::optional<CaseId>> found;  // the resolved ones
    {
      Reused q(
          impl_->cached("SELECT c.id, c.ref, c.title, c.severity, c.status = 'resolved' FROM case_fts "
                        "JOIN cases c ON c.id = case_fts.rowid WHERE case_fts MATCH ? "
                        "ORDER BY case_fts.rowid DESC LIMIT 200"));
      q->bind(1, fts_query(join(words, " "), true));
      while (q->executeStep()) {
        titles.push_back(q->getColumn(2).getString());
        auto& c = found.emplace_back();
        if (!q->getColumn(4).getInt()) continue;
        c.emplace();
        c->id = q->getColumn(0).getInt64();
        c->ref = q->getColumn(1).isNull() ? "" : q->getColumn(1).getString();
        c->title = titles.back();
        c->severity = q->getColumn(3).getString();
        c->status = Status::resolved;
      }
    }
    const std::vector<double> score = title_similarity(words, titles);
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < found.size(); ++i)
      if (found[i]) order.push_back(i);
    // Best match first; among equals, the newest.
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
    std::vector<CaseId> out;
    for (std::size_t i : order) {
      if (out.size() >= static_cast<std::size_t>(limit)) break;
      out.push_back(std::move(*found[i]));
    }
    return out;
  });
}

// ---- entries -------------------------------------------------------------

void Store::insert_entry(Entry& e) {
  guarded("adding an entry", [&] {
    impl_->settle();
    insert_entry_raw(impl_->db, impl_->cached(kInsertEntry), e);
    impl_->entry_added(e);
    if (is_client_contact(e.kind)) refresh_facts(impl_->db, e.case_id);
    return 0;
  });
}

namespace {
void insert_entry_raw(SQLite::Database& db, SQLite::Statement& stmt, Entry& e) {
  Reused q(stmt);
  bind_id(*q, 1, e.id);
  q->bind(2, e.uuid);
  q->bind(3, static_cast<int64_t>(e.case_id));
  q->bind(4, e.kind);
  q->bind(5, e.text);
  q->bind(6, e.state);
  q->bind(7, static_cast<int64_t>(to_unix(e.at)));
  q->bind(8, e.author);
  q->exec();
  e.id = db.getLastInsertRowid();
}
}  // namespace

std::vector<Entry> Store::entries(std::int64_t case_id) {
  return guarded("reading entries", [&] {
    SQLite::Statement q(impl_->db,
                        fmt::format("SELECT {} FROM entries e WHERE e.case_id = ? ORDER BY e.at, e.id", kEntryColumns));
    q.bind(1, static_cast<int64_t>(case_id));
    std::vector<Entry> out;
    while (q.executeStep()) out.push_back(read_entry(q));
    return out;
  });
}

std::vector<SearchHit> Store::search(const std::string& query, const std::string& kind, int limit, bool newest_first) {
  const std::string match = fts_query(query);
  if (match.empty()) return {};
  // Ranking every hit of a very common word costs seconds on a large log, so
  // esc_rank (bm25) ranks the newest kCap hits of each index; "best match"
  // is best among those.
  constexpr int kCap = 2000;
  return guarded("searching", [&] {
    impl_->settle();
    const char* rank = impl_->rank_function();
    std::vector<SearchHit> hits;
    if (kind.empty() && !newest_first) {
      // Best match of any kind, the usual search: rank from the indexes
      // alone, and read entries and cases only for the hits shown.
      struct Candidate {
        double rank;
        std::int64_t id;
        bool title;
      };
      std::vector<Candidate> candidates;
      for (const char* index : {"entry_fts", "case_fts"}) {
        SQLite::Statement q(impl_->db, fmt::format("SELECT rowid, {0}({1}) FROM {1} WHERE {1} MATCH ?1 "
                                                   "ORDER BY rowid DESC LIMIT ?2",
                                                   rank, index));
        q.bind(1, match);
        q.bind(2, kCap);
        const bool title = std::strcmp(index, "case_fts") == 0;
        while (q.executeStep())  // a title match weighs double
          candidates.push_back({q.getColumn(1).getDouble() * (title ? 2.0 : 1.0), q.getColumn(0).getInt64(), title});
      }
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const auto& a, const auto& b) { return a.rank < b.rank; });
      for (const auto& c : candidates) {
        if (limit > 0 && hits.size() >= static_cast<size_t>(limit)) break;
        SearchHit h;
        h.rank = c.rank;
        if (!c.title) {
          h.entry_id = c.id;
          Reused q(
              impl_->cached("SELECT e.case_id, e.kind, e.at, c.title FROM entries e "
                            "JOIN cases c ON c.id = e.case_id WHERE e.id = ?"));
          q->bind(1, static_cast<int64_t>(h.entry_id));
          if (!q->executeStep()) continue;
          h.case_id = q->getColumn(0).getInt64();
          h.kind = q->getColumn(1).getString();
          h.at = from_unix(q->getColumn(2).getInt64());
          h.title = q->getColumn(3).getString();
        } else {
          h.case_id = c.id;
          h.kind = "title";
          Reused q(impl_->cached("SELECT updated_at, title FROM cases WHERE id = ?"));
          q->bind(1, static_cast<int64_t>(h.case_id));
          if (!q->executeStep()) continue;
          h.at = from_unix(q->getColumn(0).getInt64());
          h.title = q->getColumn(1).getString();
        }
        hits.push_back(std::move(h));
      }
    } else {
      {
        SQLite::Statement q(
            impl_->db,
            fmt::format(
                "WITH hits AS (SELECT rowid AS id, {}(entry_fts) AS r FROM entry_fts WHERE entry_fts MATCH ?1 "
                "ORDER BY rowid DESC LIMIT ?2) "
                "SELECT e.id, e.case_id, e.kind, e.at, c.title, hits.r FROM hits JOIN entries e ON e.id = hits.id "
                "JOIN cases c ON c.id = e.case_id WHERE (?3 = '' OR e.kind = ?3)",
                rank));
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
        SQLite::Statement q(
            impl_->db,
            fmt::format("WITH hits AS (SELECT rowid AS id, {}(case_fts) AS r FROM case_fts "
                        "WHERE case_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2) "
                        "SELECT c.id, c.updated_at, c.title, hits.r FROM hits JOIN cases c ON c.id = hits.id",
                        rank));
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
    }
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
  std::vector<LessonHit> out;
  each_lesson(query, limit, [&](const LessonHit& h) { out.push_back(h); });
  return out;
}

void Store::each_lesson(const std::string& query, int limit, const std::function<void(const LessonHit&)>& fn) {
  guarded("reading lessons", [&] {
    impl_->settle();
    std::string match = fts_query(query);
    std::string sql;
    if (match.empty())
      sql = fmt::format(
          "SELECT {}, c.title, c.customer FROM entries e INDEXED BY entries_lessons JOIN cases c ON c.id = e.case_id "
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
    LessonHit h;
    while (q.executeStep()) {
      h.entry = read_entry(q);
      h.case_title = q.getColumn(8).getString();
      h.customer = q.getColumn(9).getString();
      fn(h);
    }
    return 0;
  });
}

// ---- escalations and deliveries -----------------------------------------

void Store::insert_escalation(Escalation& x) {
  guarded("recording the escalation", [&] {
    impl_->settle();
    insert_escalation_raw(impl_->db, impl_->cached(kInsertEscalation), x);
    refresh_facts(impl_->db, x.case_id);
    return 0;
  });
}

namespace {
void insert_escalation_raw(SQLite::Database& db, SQLite::Statement& stmt, Escalation& x) {
  Reused q(stmt);
  bind_id(*q, 1, x.id);
  q->bind(2, x.uuid);
  q->bind(3, static_cast<int64_t>(x.case_id));
  q->bind(4, x.level);
  q->bind(5, x.path);
  q->bind(6, static_cast<int64_t>(to_unix(x.at)));
  q->bind(7, x.forced ? 1 : 0);
  q->bind(8, x.force_reason);
  q->bind(9, x.subject);
  q->bind(10, x.snapshot);
  bind_opt_time(*q, 11, x.acked_at);
  q->bind(12, x.acked_by);
  q->exec();
  x.id = db.getLastInsertRowid();
}
}  // namespace

std::vector<Escalation> Store::escalations(std::int64_t case_id) {
  return guarded("reading escalations", [&] { return case_escalations(impl_->db, case_id); });
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
    refresh_facts(impl_->db, x.case_id);
    return 0;
  });
}

void Store::insert_delivery(Delivery& d) {
  guarded("queueing a delivery", [&] {
    insert_delivery_raw(impl_->db, impl_->cached(kInsertDelivery), d);
    return 0;
  });
}

namespace {
void insert_delivery_raw(SQLite::Database& db, SQLite::Statement& stmt, Delivery& d) {
  Reused q(stmt);
  bind_id(*q, 1, d.id);
  q->bind(2, static_cast<int64_t>(d.escalation_id));
  q->bind(3, d.channel);
  q->bind(4, d.key);
  q->bind(5, std::string(to_string(d.status)));
  q->bind(6, d.attempts);
  q->bind(7, d.last_error);
  q->bind(8, static_cast<int64_t>(to_unix(d.created_at)));
  bind_opt_time(*q, 9, d.next_attempt_at);
  bind_opt_time(*q, 10, d.delivered_at);
  q->exec();
  d.id = db.getLastInsertRowid();
}
}  // namespace

namespace {
std::vector<Delivery> query_deliveries(SQLite::Database& db, const std::string& where, std::optional<int64_t> arg,
                                       const char* hint = "") {
  SQLite::Statement q(db, fmt::format("SELECT {} FROM deliveries d{} JOIN escalations x ON x.id = d.escalation_id "
                                      "WHERE {} ORDER BY d.id",
                                      kDeliveryColumns, hint, where));
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
  return guarded("reading deliveries",
                 [&] { return query_deliveries(impl_->db, "d.escalation_id = ?", escalation_id); });
}

std::vector<Delivery> Store::pending_deliveries() {
  // The few pending ones, from their partial index, not a scan of all.
  return guarded("reading the outbox", [&] {
    return query_deliveries(impl_->db, "d.status = 'pending'", std::nullopt, " INDEXED BY deliveries_pending");
  });
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

void Store::each_active(const std::function<void(const Case&)>& open,
                        const std::function<void(const EscalatedCase&)>& escalated) {
  guarded("reading active cases", [&] {
    // One scan of the active cases' index, each page read once, in its
    // order: no sorter holding a copy, and no case kept once it has been
    // seen. The newest escalation is kept on the case (EscalationFacts::latest).
    impl_->small_cache();
    RawStatement q(impl_->db, fmt::format("SELECT {}, c.status, c.contact_at, c.latest_id, c.latest_level, "
                                          "c.latest_path, c.latest_at, c.latest_acked_at FROM cases c "
                                          "INDEXED BY cases_active WHERE c.status = 'open' OR c.status = 'escalated'",
                                          kDueColumns));
    Case c;
    EscalatedCase ec;
    ec.c.status = Status::escalated;
    constexpr int o = kDueColumnCount;
    while (q.step()) {
      if (q.text(o) == "open") {
        c.status = Status::open;
        open(read_due_case(q, c));
      } else if (!q.null(o + 5)) {
        read_due_case(q, ec.c);
        ec.last_client_contact = q.opt_time(o + 1);
        ec.latest.id = q.integer(o + 2);
        ec.latest.case_id = ec.c.id;
        ec.latest.level = static_cast<int>(q.integer(o + 3));
        ec.latest.path = q.text(o + 4);
        ec.latest.at = q.time(o + 5);
        ec.latest.acked_at = q.opt_time(o + 6);
        escalated(ec);
      }
    }
    return 0;
  });
}

namespace {

// Reads the cases created in [since, until) that match `where` (an SQL
// condition followed by AND, or nothing) for `esc stats`, oldest first.
void scan_stats(SQLite::Database& db, const char* where, std::optional<Time> since, std::optional<Time> until,
                const std::string& by, const std::function<void(const StatsRow&)>& fn) {
  const char* extra = by == "engineer"   ? ", c.engineer"
                      : by == "customer" ? ", c.customer"
                      : by == "trigger"  ? ", c.triggers"
                      : by == "path"     ? ", c.esc_path"
                                         : "";
  // The hot loop of metrics over years of cases (RawStatement).
  const std::string sql = fmt::format(
      "SELECT c.id, c.created_at, c.resolved_at, c.csat, c.unnecessary, c.esc_at, c.esc_acked_at, c.esc_forced, "
      "c.silence, c.severity, c.contact_at{} FROM cases c WHERE {}c.created_at >= ?1 AND c.created_at < ?2 ORDER BY "
      "c.created_at",
      extra, where);
  RawStatement q(db, sql);
  q.bind(1, since ? to_unix(*since) : INT64_MIN);
  q.bind(2, until ? to_unix(*until) : INT64_MAX);
  const bool by_severity = by == "severity", by_engineer = by == "engineer", by_customer = by == "customer",
             by_trigger = by == "trigger", by_path = by == "path";
  StatsRow r;
  while (q.step()) {
    r.id = q.integer(0);
    r.created_at = q.time(1);
    r.resolved_at = q.opt_time(2);
    r.csat = q.null(3) ? std::nullopt : std::optional<int>(static_cast<int>(q.integer(3)));
    r.unnecessary = q.integer(4) != 0;
    r.facts.first_at = q.opt_time(5);
    if (r.facts.first_at) {
      r.facts.first_acked_at = q.opt_time(6);
      r.facts.forced = q.integer(7) != 0;
      r.facts.silence = q.null(8) ? std::nullopt : std::optional<Seconds>(q.integer(8));
    }
    if (by_severity) r.severity = q.text(9);
    r.facts.last_contact = q.opt_time(10);
    if (by_engineer) r.engineer = q.text(11);
    if (by_customer) r.customer = q.text(11);
    if (by_trigger) r.triggers = from_json_array(q.text(11));
    if (by_path) r.facts.first_path = q.text(11);
    fn(r);
  }
}

}  // namespace

void Store::stats(std::optional<Time> since, std::optional<Time> until, const std::string& by,
                  const std::function<void(const StatsRow&)>& fn) {
  guarded("computing statistics", [&] {
    impl_->small_cache();
    scan_stats(impl_->db, "", since, until, by, fn);
    return 0;
  });
}

namespace {

// The first second of the month (UTC) of t, and of the month after.
int64_t month_of(int64_t t) {
  const date::year_month_day day{date::floor<date::days>(from_unix(t))};
  return to_unix(Time{date::sys_days{day.year() / day.month() / 1}});
}
int64_t next_month(int64_t month) {
  const date::year_month_day day{date::floor<date::days>(from_unix(month))};
  return to_unix(Time{date::sys_days{(date::year_month{day.year(), day.month()} + date::months{1}) / 1}});
}

// The months that have cases, from the month of lo to hi: those wholly
// inside [lo, hi), and the parts of the others that are.
struct Months {
  std::vector<int64_t> whole;
  std::vector<std::pair<int64_t, int64_t>> cut;
};
Months months_with_cases(SQLite::Database& db, int64_t lo, int64_t hi) {
  SQLite::Statement q(db, "SELECT month FROM case_months WHERE month >= ? AND month < ? AND opened > 0 ORDER BY month");
  q.bind(1, lo == INT64_MIN ? INT64_MIN : month_of(lo));
  q.bind(2, hi);
  Months m;
  while (q.executeStep()) {
    const int64_t start = q.getColumn(0).getInt64(), end = next_month(start);
    if (start >= lo && end <= hi)
      m.whole.push_back(start);
    else
      m.cut.emplace_back(std::max(start, lo), std::min(end, hi));
  }
  return m;
}

// stats_months keeps durations as 32-bit little-endian integers.
std::string to_blob(const std::vector<std::int32_t>& v) {
  std::string b(v.size() * 4, '\0');
  for (size_t i = 0; i < v.size(); ++i) {
    const auto u = static_cast<std::uint32_t>(v[i]);
    for (int k = 0; k < 4; ++k) b[i * 4 + static_cast<size_t>(k)] = static_cast<char>((u >> (8 * k)) & 0xff);
  }
  return b;
}
std::vector<std::int32_t> from_blob(const SQLite::Column& c) {
  const auto* p = static_cast<const unsigned char*>(c.getBlob());
  const size_t n = static_cast<size_t>(c.getBytes()) / 4;
  std::vector<std::int32_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    const std::uint32_t u =
        p[i * 4] | p[i * 4 + 1] << 8 | p[i * 4 + 2] << 16 | static_cast<std::uint32_t>(p[i * 4 + 3]) << 24;
    v[i] = static_cast<std::int32_t>(u);
  }
  return v;
}

}  // namespace

void Store::escalated_stats(std::optional<Time> since, std::optional<Time> until,
                            const std::function<void(EscalatedMonth&&)>& on_month,
                            const std::function<void(const StatsRow&)>& on_case,
                            const std::function<void(const StatsRow&)>& on_unresolved) {
  auto& db = impl_->db;
  // A month computed here is stored without waiting for another writer
  // (the timeout is set to 0 then, and back when done).
  struct Waits {
    sqlite3* h;
    ~Waits() { sqlite3_busy_timeout(h, kBusyTimeoutMs); }
  } waits{db.getHandle()};
  // One snapshot for all of it: a month computed here is stored only if no
  // other change came in since it was read (SQLite then refuses to turn the
  // read into a write).
  read([&] {
    guarded("computing statistics", [&] {
      impl_->small_cache();
      const int64_t lo = since ? to_unix(*since) : INT64_MIN;
      const int64_t hi = until ? to_unix(*until) : INT64_MAX;
      const Months months = months_with_cases(db, lo, hi);
      const char* escalated = "c.esc_at IS NOT NULL AND ";
      for (const auto& [from, to] : months.cut) scan_stats(db, escalated, from_unix(from), from_unix(to), "", on_case);

      SQLite::Statement kept(db,
                             "SELECT escalated, forced, unnecessary, to_escalate, to_acknowledge, to_resolve, silence "
                             "FROM stats_months WHERE month = ?");
      std::optional<SQLite::Statement> store;
      bool can_store = true;
      for (const int64_t month : months.whole) {
        EscalatedMonth m;
        m.month = month;
        kept.reset();
        kept.bind(1, month);
        if (kept.executeStep()) {
          m.escalated = kept.getColumn(0).getInt();
          m.forced = kept.getColumn(1).getInt();
          m.unnecessary = kept.getColumn(2).getInt();
          m.to_escalate = from_blob(kept.getColumn(3));
          m.to_acknowledge = from_blob(kept.getColumn(4));
          m.to_resolve = from_blob(kept.getColumn(5));
          m.silence = from_blob(kept.getColumn(6));
        } else {
          scan_stats(db, escalated, from_unix(month), from_unix(next_month(month)), "",
                     [&](const StatsRow& r) { m.add(r); });
          m.finish();
          if (can_store) {
            sqlite3_busy_timeout(db.getHandle(), 0);
            if (!store)
              store.emplace(db,
                            "INSERT INTO stats_months (month, escalated, forced, unnecessary, to_escalate, "
                            "to_acknowledge, to_resolve, silence) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
            store->reset();
            store->bind(1, month);
            store->bind(2, m.escalated);
            store->bind(3, m.forced);
            store->bind(4, m.unnecessary);
            int col = 5;
            for (const auto* v : {&m.to_escalate, &m.to_acknowledge, &m.to_resolve, &m.silence}) {
              const std::string blob = to_blob(*v);
              store->bind(col++, blob.data(), static_cast<int>(blob.size()));
            }
            // Busy, a newer snapshot, a read-only file: the figures are right
            // all the same, and a later run stores them.
            try {
              store->exec();
            } catch (const SQLite::Exception&) {
              can_store = false;
            }
          }
        }
        on_month(std::move(m));
      }

      if (!months.whole.empty()) {
        RawStatement q(db,
                       "SELECT created_at, esc_at, silence, contact_at FROM cases "
                       "INDEXED BY cases_escalated_unresolved WHERE esc_at IS NOT NULL AND resolved_at IS NULL "
                       "AND created_at >= ? AND created_at < ?");
        q.bind(1, months.whole.front());
        q.bind(2, next_month(months.whole.back()));
        StatsRow r;
        while (q.step()) {
          r.created_at = q.time(0);
          r.facts.first_at = q.time(1);
          r.facts.silence = q.null(2) ? std::nullopt : std::optional<Seconds>(q.integer(2));
          r.facts.last_contact = q.opt_time(3);
          on_unresolved(r);
        }
      }
      return 0;
    });
  });
}

std::vector<CaseCounts> Store::case_counts(std::optional<Time> since, std::optional<Time> until, bool by_month) {
  return guarded("computing statistics", [&] {
    auto& db = impl_->db;
    impl_->small_cache();
    const int64_t lo = since ? to_unix(*since) : INT64_MIN;
    const int64_t hi = until ? to_unix(*until) : INT64_MAX;
    // The months that lie wholly inside [lo, hi) are read from case_months
    // (schema 3), one row each; the one or two that `since` or `until` cut
    // are counted from the narrow cases_created index, for their part.
    SQLite::Statement part(db,
                           "SELECT count(*), count(resolved_at), count(csat), total(csat) FROM cases "
                           "INDEXED BY cases_created WHERE created_at >= ? AND created_at < ?");
    auto count = [&](int64_t from, int64_t to) {
      part.reset();
      part.bind(1, from);
      part.bind(2, to);
      part.executeStep();
      CaseCounts c;
      c.opened = part.getColumn(0).getInt();
      c.resolved = part.getColumn(1).getInt();
      c.csat_count = part.getColumn(2).getInt();
      c.csat_sum = part.getColumn(3).getDouble();
      return c;
    };
    SQLite::Statement months(db,
                             "SELECT month, opened, resolved, csat_count, csat_sum FROM case_months "
                             "WHERE month >= ? AND month < ? AND opened > 0 ORDER BY month");
    months.bind(1, lo == INT64_MIN ? INT64_MIN : month_of(lo));
    months.bind(2, hi);
    CaseCounts total;
    total.from = since.value_or(Time{});
    std::vector<CaseCounts> out;
    while (months.executeStep()) {
      const int64_t start = months.getColumn(0).getInt64(), end = next_month(start);
      CaseCounts c;
      if (start >= lo && end <= hi) {
        c.opened = months.getColumn(1).getInt();
        c.resolved = months.getColumn(2).getInt();
        c.csat_count = months.getColumn(3).getInt();
        c.csat_sum = months.getColumn(4).getDouble();
      } else {
        c = count(std::max(start, lo), std::min(end, hi));
      }
      c.from = from_unix(start);
      if (by_month) {
        if (c.opened) out.push_back(c);
      } else {
        total.opened += c.opened;
        total.resolved += c.resolved;
        total.csat_count += c.csat_count;
        total.csat_sum += c.csat_sum;
      }
    }
    if (!by_month) out.push_back(total);
    return out;
  });
}

// ---- export and import ---------------------------------------------------

void Store::for_each_record(std::optional<Time> since, const std::function<void(const CaseRecord&)>& fn) {
  guarded("exporting", [&] {
    auto& db = impl_->db;
    SQLite::Statement cases(db,
                            fmt::format("SELECT {} FROM cases c WHERE c.updated_at >= ? ORDER BY c.id", kCaseColumns));
    cases.bind(1, static_cast<int64_t>(since ? to_unix(*since) : INT64_MIN));
    SQLite::Statement ent(
        db, fmt::format("SELECT {} FROM entries e WHERE e.case_id = ? ORDER BY e.at, e.id", kEntryColumns));
    SQLite::Statement esc(
        db, fmt::format("SELECT {} FROM escalations x WHERE x.case_id = ? ORDER BY x.level, x.id", kEscalationColumns));
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

namespace {

// True when a row matches; the statement takes one bound value.
template <class T>
bool exists(SQLite::Statement& stmt, const T& value) {
  Reused q(stmt);
  q->bind(1, value);
  return q->executeStep();
}

bool is_constraint(const SQLite::Exception& e) { return (e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT; }

}  // namespace

Store::Upsert Store::upsert_record(const CaseRecord& r) {
  return guarded("importing", [&] {
    auto& impl = *impl_;
    auto& db = impl.db;
    auto exists_in = [&](const char* sql, const auto& value) { return exists(impl.cached(sql), value); };
    if (!impl.bulk && sqlite3_get_autocommit(db.getHandle()) == 0) impl.begin_bulk();
    std::optional<std::pair<int64_t, int64_t>> existing;  // id, updated_at
    {
      Reused q(impl.cached("SELECT id, updated_at FROM cases WHERE uuid = ?"));
      q->bind(1, r.c.uuid);
      if (q->executeStep()) existing.emplace(q->getColumn(0).getInt64(), q->getColumn(1).getInt64());
    }
    if (existing && existing->second >= to_unix(r.c.updated_at)) return Upsert::kept;  // ours is as new or newer
    Case c = r.c;
    if (existing) {
      impl.case_removing(existing->first);
      Reused del(impl.cached("DELETE FROM cases WHERE id = ?"));
      del->bind(1, existing->first);
      del->exec();
      c.id = existing->first;
    } else if (c.id > 0 && exists_in("SELECT 1 FROM cases WHERE id = ?", static_cast<int64_t>(c.id))) {
      c.id = 0;  // the number is taken here by another case: take a new one
    }
    if (!c.ref.empty() && exists_in("SELECT 1 FROM cases WHERE ref = ?", c.ref))
      c.ref.clear();  // refs are unique; keep the local case's
    std::vector<Time> contacts;
    for (const auto& e : r.entries)
      if (is_client_contact(e.kind)) contacts.push_back(e.at);
    std::sort(contacts.begin(), contacts.end());
    const auto facts = escalation_facts(r.c, r.escalations, contacts);
    insert_case_raw(db, impl.cached(kInsertCase), c, facts);
    impl.case_added(c, facts.first_at.has_value());
    // Each row is first inserted as it comes; only when that breaks a
    // constraint (its id or UUID is taken here) is it checked and changed.
    for (Entry e : r.entries) {
      e.case_id = c.id;
      bool done = false;
      try {
        insert_entry_raw(db, impl.cached(kInsertEntry), e);
        done = true;
      } catch (const SQLite::Exception& x) {
        if (!is_constraint(x)) throw;
      }
      if (!done) {
        if (e.id > 0 && exists_in("SELECT 1 FROM entries WHERE id = ?", static_cast<int64_t>(e.id))) e.id = 0;
        // Without the index, end_bulk() settles shared UUIDs.
        if (impl.deferred_index.empty() && exists_in("SELECT 1 FROM entries WHERE uuid = ?", e.uuid))
          e.uuid = new_uuid();
        insert_entry_raw(db, impl.cached(kInsertEntry), e);
      }
      impl.entry_added(e);
    }
    if (impl.bulk) impl.count_entries(r.entries.size());
    std::map<int64_t, int64_t> escalation_ids;
    for (Escalation x : r.escalations) {
      const auto old = x.id;
      x.case_id = c.id;
      bool done = false;
      try {
        insert_escalation_raw(db, impl.cached(kInsertEscalation), x);
        done = true;
      } catch (const SQLite::Exception& ex) {
        if (!is_constraint(ex)) throw;
      }
      if (!done) {
        if (x.id > 0 && exists_in("SELECT 1 FROM escalations WHERE id = ?", static_cast<int64_t>(x.id))) x.id = 0;
        if (exists_in("SELECT 1 FROM escalations WHERE uuid = ?", x.uuid)) x.uuid = new_uuid();
        insert_escalation_raw(db, impl.cached(kInsertEscalation), x);
      }
      escalation_ids[old] = x.id;
    }
    for (Delivery d : r.deliveries) {
      auto it = escalation_ids.find(d.escalation_id);
      if (it == escalation_ids.end()) continue;
      d.escalation_id = it->second;
      try {
        insert_delivery_raw(db, impl.cached(kInsertDelivery), d);
        continue;
      } catch (const SQLite::Exception& x) {
        if (!is_constraint(x)) throw;
      }
      if (d.id > 0 && exists_in("SELECT 1 FROM deliveries WHERE id = ?", static_cast<int64_t>(d.id))) d.id = 0;
      if (exists_in("SELECT 1 FROM deliveries WHERE key = ?", d.key)) continue;
      insert_delivery_raw(db, impl.cached(kInsertDelivery), d);
    }
    return existing ? Upsert::replaced : Upsert::added;
  });
}

std::string Store::integrity_check() {
  return guarded("checking the database", [&] {
    impl_->settle();
    return impl_->db.execAndGet("PRAGMA integrity_check").getString();
  });
}

std::string Store::fts_integrity_check() {
  return guarded("checking the search index", [&]() -> std::string {
    impl_->settle();
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
