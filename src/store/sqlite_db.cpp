// The SQLite connection: one file, WAL journal, foreign keys on, a busy
// timeout so that two esc processes wait for each other instead of failing.

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "db.hpp"

namespace esc::db {

namespace {

Failure failure(int code, const std::string& message) {
  switch (code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Failure(Fault::busy, message);
    case SQLITE_CONSTRAINT: {
      // "UNIQUE constraint failed: cases.ref" names the column.
      const auto colon = message.rfind(": ");
      return Failure(Fault::constraint, message, colon == std::string::npos ? "" : message.substr(colon + 2));
    }
    case SQLITE_FULL:
      return Failure(Fault::full, message);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Failure(Fault::damaged, message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
    case SQLITE_AUTH:
      return Failure(Fault::denied, message);
    case SQLITE_ERROR:
      // A malformed MATCH expression: "fts5: syntax error near ..."
      if (message.find("fts5: syntax error") != std::string::npos || message.find("fts5:") == 0)
        return Failure(Fault::syntax, message);
      return Failure(Fault::other, message);
    default:
      return Failure(Fault::other, message);
  }
}

[[noreturn]] void rethrow(const SQLite::Exception& e) { throw failure(e.getExtendedErrorCode(), e.what()); }

template <class F>
auto guard(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const SQLite::Exception& e) {
    rethrow(e);
  }
}

// SQLite's own API for the statements (SQLiteCpp opens the database):
// columns are read in place, without a wrapper object per value.
class SqliteStatement final : public Statement {
 public:
  SqliteStatement(sqlite3* db, std::string_view sql) : db_(db) {
    const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &st_, nullptr);
    if (rc != SQLITE_OK) throw failure(sqlite3_extended_errcode(db), sqlite3_errmsg(db));
  }
  ~SqliteStatement() override { sqlite3_finalize(st_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;
  void bind(int i, std::int64_t v) override { check(sqlite3_bind_int64(st_, i, v)); }
  void bind(int i, double v) override { check(sqlite3_bind_double(st_, i, v)); }
  void bind(int i, std::string_view v) override {
    check(sqlite3_bind_text64(st_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void bind_null(int i) override { check(sqlite3_bind_null(st_, i)); }
  bool step() override {
    const int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // The statement's error, then made ready to run again.
    const Failure f = failure(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_));
    sqlite3_reset(st_);
    throw f;
  }
  void reset() override {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  bool is_null(int col) const override { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::int64_t integer(int col) const override { return sqlite3_column_int64(st_, col); }
  double real(int col) const override { return sqlite3_column_double(st_, col); }
  std::string text(int col) const override {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(st_, col))) : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw failure(rc, sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

class SqliteConnection final : public Connection {
 public:
  SqliteConnection(const std::string& path, int flags, int busy_ms)
      : path_(path), db_(guard([&] { return SQLite::Database(path, flags, busy_ms); })) {}

  Dialect dialect() const override { return Dialect::sqlite; }
  std::unique_ptr<Statement> prepare(std::string_view sql, bool) override {
    return std::make_unique<SqliteStatement>(db_.getHandle(), sql);
  }
  void exec(std::string_view sql) override {
    guard([&] { db_.exec(std::string(sql)); });
  }
  void begin_write(bool durable) override {
    // synchronous=FULL makes this transaction's commit wait for the disk;
    // NORMAL (WAL) survives any crash of esc and may lose the last commits
    // to a power cut, never half of one.
    if (durable != durable_) {
      exec(durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
      durable_ = durable;
    }
    exec("BEGIN IMMEDIATE");
  }
  void begin_read() override { exec("BEGIN"); }
  void commit() override { exec("COMMIT"); }
  void rollback() noexcept override {
    if (!sqlite3_get_autocommit(db_.getHandle())) sqlite3_exec(db_.getHandle(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool in_transaction() const override {
    return !sqlite3_get_autocommit(const_cast<SQLite::Database&>(db_).getHandle());
  }
  std::string clock_sql() const override { return "CAST(strftime('%s', 'now') AS INTEGER)"; }
  std::string where() const override { return path_; }

 private:
  std::string path_;
  SQLite::Database db_;
  bool durable_ = false;
};

// The folder (0700) and the file (0600) before SQLite opens it, so that
// they are never readable by others, whatever the umask.
void make_private_file(const std::filesystem::path& file) {
  std::error_code ec;
  const auto dir = file.parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec)
      throw Failure(Fault::denied, fmt::format("cannot create the folder {}: {}", dir.string(), ec.message()));
    ::chmod(dir.c_str(), 0700);
  }
  const int fd = ::open(file.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0)
    ::close(fd);
  else if (errno != EEXIST)
    throw Failure(Fault::denied, fmt::format("cannot create {}: {}", file.string(), std::strerror(errno)));
}

}  // namespace

std::unique_ptr<Connection> open_sqlite(const std::string& path, bool create, int busy_timeout_ms) {
  int flags = SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX;
  if (path == ":memory:") {
    flags |= SQLite::OPEN_CREATE;
  } else if (create) {
    make_private_file(path);
  }
  auto c = std::make_unique<SqliteConnection>(path, flags, busy_timeout_ms);
  c->exec("PRAGMA foreign_keys = ON");
  return c;
}

}  // namespace esc::db
