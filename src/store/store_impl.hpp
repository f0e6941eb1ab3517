#pragma once

// What the store's files share: the connection, the error mapping, and the
// mapping between rows and the domain's structs.

#include <fmt/format.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "db.hpp"
#include "esc/error.hpp"
#include "esc/store.hpp"

namespace esc {

// Thrown inside write() when PostgreSQL found a conflict with a concurrent
// transaction: write() rolls back and runs the transaction again.
struct RetryTransaction : std::runtime_error {
  RetryTransaction() : std::runtime_error("a concurrent change got in the way") {}
};

// A statement from Impl's cache, reset when done with, so that it holds no
// transaction open and is ready for its next use.
class Cached {
 public:
  explicit Cached(db::Statement& s) : s_(s) {}
  ~Cached() {
    try {
      s_.reset();
    } catch (...) {
    }
  }
  Cached(const Cached&) = delete;
  Cached& operator=(const Cached&) = delete;
  db::Statement* operator->() { return &s_; }
  db::Statement& operator*() { return s_; }

 private:
  db::Statement& s_;
};

struct Store::Impl {
  std::unique_ptr<db::Connection> db;
  bool pg = false;
  // Statements run once a row in long loops (import), prepared once.
  std::unordered_map<std::string, std::unique_ptr<db::Statement>> cache;

  db::Connection& c() { return *db; }
  // A statement with its values bound.
  template <class... T>
  std::unique_ptr<db::Statement> q(std::string_view sql, const T&... values) {
    return db::query(*db, sql, values...);
  }
  // The same, prepared once for the life of the connection.
  template <class... T>
  Cached cq(const std::string& sql, const T&... values) {
    auto& s = cache[sql];
    if (!s) s = db->prepare(sql);
    s->with(values...);
    return Cached(*s);
  }
  // For an INSERT: what makes it give the new row's id, and that id once
  // `insert` (so made) has run. SQLite's run without RETURNING, which SQLite
  // carries out as a trigger: a statement with a trigger writes in a
  // savepoint, and at each savepoint FTS5 writes its pending index out
  // (schema 7).
  const char* returning_id() const { return pg ? " RETURNING id" : ""; }
  std::int64_t inserted_id(db::Statement& insert) {
    insert.step();
    if (pg) return insert.integer(0);
    auto q = cq("SELECT last_insert_rowid()");
    q->step();
    return q->integer(0);
  }
};

// Turns an engine's failure into what esc tells the user, naming what it
// was doing ("reading a case").
[[noreturn]] void fail(const db::Failure& f, const char* doing);

template <class F>
auto guarded(const char* doing, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const db::Failure& e) {
    fail(e, doing);
  }
}

namespace rows {

// JSON arrays of strings, as tags and triggers are kept.
std::string to_json_array(const std::vector<std::string>& v);
std::vector<std::string> from_json_array(const std::string& s);

std::optional<Time> opt_time(const db::Statement& q, int col);
inline Time time(const db::Statement& q, int col) { return from_unix(q.integer(col)); }
inline std::optional<std::int64_t> opt_seconds(const std::optional<Time>& t) {
  if (!t) return std::nullopt;
  return to_unix(*t);
}
// NULL for an empty string (a case without a ref).
inline std::optional<std::string> opt_text(const std::string& s) {
  if (s.empty()) return std::nullopt;
  return s;
}

// The columns of each table, in the order read_*() reads them; `a` is the
// table's alias in the query.
std::string case_columns(const char* a = "c");
Case read_case(const db::Statement& q, int first = 0);
constexpr int kCaseColumns = 18;

std::string entry_columns(const char* a = "e");
Entry read_entry(const db::Statement& q, int first = 0);
constexpr int kEntryColumns = 13;

// Without the snapshot (the summary as sent, which a pasted log can make
// large) unless asked for: it is read only to deliver and to export.
std::string escalation_columns(const char* a = "x", bool snapshot = false);
Escalation read_escalation(const db::Statement& q, int first = 0);
constexpr int kEscalationColumns = 15;

// Deliveries are read with their escalation's case (x.case_id).
std::string delivery_columns(const char* d = "d", const char* x = "x");
Delivery read_delivery(const db::Statement& q, int first = 0);
constexpr int kDeliveryColumns = 15;

}  // namespace rows

}  // namespace esc
