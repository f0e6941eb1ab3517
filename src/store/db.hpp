#pragma once

// The one door between the store and a database engine: SQLite (the
// embedded default) or PostgreSQL (a team's log). The store's SQL is written
// once, with `?` placeholders, in the subset both engines speak; where they
// differ (the schema, full-text search, the clock) the store asks dialect().
// Every engine error reaches the store as a db::Failure, already sorted into
// what esc tells the user (busy, full, damaged, ...).

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace esc::db {

enum class Dialect { sqlite, postgres };

// What went wrong, as esc reports it (Store::guarded turns it into an Error).
enum class Fault {
  busy,           // locked past the timeout
  serialization,  // a concurrent change; the transaction may run again
  constraint,     // a UNIQUE, CHECK or foreign key refused the change
  full,           // no space left
  damaged,        // not a database, or corrupt
  denied,         // read-only file, no permission
  unreachable,    // the server cannot be reached or went away
  refused,        // the server answered, and refused the connection (role, password, database)
  timeout,        // a statement ran past its time
  syntax,         // a full-text query the engine cannot parse
  other,
};

class Failure : public std::runtime_error {
 public:
  Failure(Fault fault, const std::string& message, std::string constraint = {})
      : std::runtime_error(message), fault_(fault), constraint_(std::move(constraint)) {}
  Fault fault() const { return fault_; }
  // For Fault::constraint: the index or constraint's name, when known.
  const std::string& constraint() const { return constraint_; }

 private:
  Fault fault_;
  std::string constraint_;
};

// One prepared statement. Parameters are numbered from 1, columns from 0.
// step() runs it on its first call and moves to the next row; false when
// there is none. A statement read to its end, or reset(), can run again.
class Statement {
 public:
  virtual ~Statement() = default;
  virtual void bind(int i, std::int64_t v) = 0;
  virtual void bind(int i, double v) = 0;
  virtual void bind(int i, std::string_view v) = 0;
  virtual void bind_null(int i) = 0;
  virtual bool step() = 0;
  virtual void reset() = 0;
  virtual bool is_null(int col) const = 0;
  virtual std::int64_t integer(int col) const = 0;
  virtual double real(int col) const = 0;
  virtual std::string text(int col) const = 0;

  // Conveniences over the above.
  void bind(int i, int v) { bind(i, static_cast<std::int64_t>(v)); }
  void bind(int i, bool v) { bind(i, static_cast<std::int64_t>(v ? 1 : 0)); }
  void bind(int i, const std::string& v) { bind(i, std::string_view(v)); }
  void bind(int i, const char* v) { bind(i, std::string_view(v)); }
  template <class T>
  void bind(int i, const std::optional<T>& v) {
    if (v)
      bind(i, *v);
    else
      bind_null(i);
  }
  // Binds each value in turn from parameter 1.
  template <class... T>
  Statement& with(const T&... values) {
    int i = 1;
    (bind(i++, values), ...);
    return *this;
  }
  std::optional<std::int64_t> opt_integer(int col) const {
    if (is_null(col)) return std::nullopt;
    return integer(col);
  }
  // Runs a statement that returns no rows (or ignores them).
  void run() {
    while (step()) {
    }
  }
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // `many_rows`: the result may be large and is read a row at a time; other
  // statements may run while it is open.
  virtual std::unique_ptr<Statement> prepare(std::string_view sql, bool many_rows = false) = 0;
  // Runs SQL without parameters, possibly several statements.
  virtual void exec(std::string_view sql) = 0;
  // Transactions. A write transaction sees a snapshot that no other writer
  // changes behind it (SQLite: BEGIN IMMEDIATE; PostgreSQL: SERIALIZABLE, so
  // a conflict is Fault::serialization and the whole transaction may run
  // again). `durable`: the commit waits for the disk.
  virtual void begin_write(bool durable) = 0;
  virtual void begin_read() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  virtual bool in_transaction() const = 0;
  // The database's own clock, in Unix seconds, as an SQL expression: claims
  // across machines are timed by the one clock they share.
  virtual std::string clock_sql() const = 0;
  // Where the log is, for messages (no password).
  virtual std::string where() const = 0;
};

// A statement with its values bound, ready to step: prepare(c, sql, a, b).
template <class... T>
std::unique_ptr<Statement> query(Connection& c, std::string_view sql, const T&... values) {
  auto s = c.prepare(sql);
  s->with(values...);
  return s;
}

// The SQLite connection (sqlite_db.cpp). `create`: make the file (0600, its
// folder 0700) when there is none; otherwise a missing file is an error.
std::unique_ptr<Connection> open_sqlite(const std::string& path, bool create, int busy_timeout_ms);

// The PostgreSQL connection (postgres_db.cpp): `uri` is a libpq connection
// URI or string.
std::unique_ptr<Connection> open_postgres(const std::string& uri, int statement_timeout_ms);

}  // namespace esc::db
