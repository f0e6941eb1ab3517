// Opening the log, its schema, transactions, and what a failure says.

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <set>
#include <thread>

#include "schema.hpp"
#include "store_impl.hpp"

namespace esc {

void fail(const db::Failure& f, const char* doing) {
  using db::Fault;
  switch (f.fault()) {
    case Fault::serialization:
      throw RetryTransaction{};
    case Fault::busy:
      throw TransientError(fmt::format("the case log is locked while {} (another esc kept it busy too long)", doing),
                           "try again in a moment");
    case Fault::full:
      throw io_error(fmt::format("disk full while {}; nothing was written", doing));
    case Fault::damaged:
      throw io_error(fmt::format("the case log is damaged or not an esc log ({}) while {}", f.what(), doing),
                     "check --db / $ESC_DB; restore from `esc export` output if you have one");
    case Fault::denied:
      throw io_error(fmt::format("cannot write the case log while {} ({})", doing, f.what()),
                     "check the permissions of the log and its folder");
    case Fault::unreachable:
      throw TransientError(
          fmt::format("the database server cannot be reached while {} ({})", doing, f.what()),
          "check that it is up and that --db / $ESC_DB / database.url name it; then run the command again");
    case Fault::refused:
      throw io_error(fmt::format("the database server refused the connection while {} ({})", doing, f.what()),
                     "check the role, the database and the password (~/.pgpass or PGPASSFILE; docs/team.md)");
    case Fault::timeout:
      throw TransientError(fmt::format("the database did not answer in time while {}", doing),
                           "the server may be overloaded; run the command again");
    case Fault::syntax:
      throw data_error(fmt::format("the search query cannot be read ({})", f.what()),
                       "words are ANDed; OR goes between two words; word* matches a prefix");
    case Fault::constraint:
      throw io_error(fmt::format("the case log refused a change while {} ({})", doing, f.what()));
    case Fault::other:
      break;
  }
  throw io_error(fmt::format("database error while {}: {}", doing, f.what()));
}

namespace {

// The current version of each engine's schema, then the migrations to it,
// all in one transaction. A log newer than this esc, or a database that is
// not an esc log, is left exactly as it was.
void migrate_sqlite(db::Connection& c, const std::string& name) {
  const auto& migrations = schema::sqlite_migrations();
  const int target = static_cast<int>(migrations.size());
  auto version_of = [&] {
    auto q = c.prepare("PRAGMA user_version");
    q->step();
    return static_cast<int>(q->integer(0));
  };
  int version = 0;
  try {
    version = version_of();
    if (version == 0) {
      auto q = c.prepare("SELECT count(*) FROM sqlite_master");
      q->step();
      if (q->integer(0) > 0)
        throw io_error(fmt::format("{} is an SQLite database, but not an esc case log; left untouched", name),
                       "point --db or $ESC_DB at an esc log, or at a new file");
    }
  } catch (const db::Failure& f) {
    if (f.fault() == db::Fault::damaged)
      throw io_error(fmt::format("{} is not an esc case log (not SQLite, or damaged); left untouched", name),
                     "point --db or $ESC_DB at an esc log, or at a new file");
    fail(f, "opening the case log");
  }
  if (version > target)
    throw io_error(fmt::format("{} has schema version {}, newer than this esc understands ({}); left untouched", name,
                               version, target),
                   "upgrade esc");
  guarded("opening the case log", [&] {
    if (version == 0) c.exec("PRAGMA journal_mode = WAL");  // kept in the file from then on
    c.exec("PRAGMA synchronous = NORMAL");
  });
  if (version == target) return;
  guarded("upgrading the case log's schema", [&] {
    c.begin_write(true);
    try {
      // Another esc may have migrated while this one waited for the lock.
      for (int v = version_of(); v < target; ++v) c.exec(migrations[static_cast<size_t>(v)]);
      c.exec(fmt::format("PRAGMA user_version = {}", target));
      c.commit();
    } catch (...) {
      c.rollback();
      throw;
    }
  });
}

void migrate_postgres(db::Connection& c, bool create) {
  const auto& migrations = schema::postgres_migrations();
  const int target = static_cast<int>(migrations.size());
  auto version_of = [&]() -> std::optional<int> {
    auto q = c.prepare("SELECT to_regclass('esc_schema') IS NOT NULL");
    q->step();
    if (q->integer(0) == 0) return std::nullopt;
    q = c.prepare("SELECT version FROM esc_schema");
    return q->step() ? static_cast<int>(q->integer(0)) : 0;
  };
  const auto version = guarded("opening the case log", version_of);
  if (!version && !create)
    throw not_found(fmt::format("no case log at {} (the database has no esc tables)", c.where()),
                    "`esc init` makes them (as a role that may create tables); check --db / $ESC_DB");
  if (version && *version > target)
    throw io_error(fmt::format("the case log at {} has schema version {}, newer than this esc understands ({}); left "
                               "untouched",
                               c.where(), *version, target),
                   "upgrade esc");
  if (version && *version == target) return;
  guarded("upgrading the case log's schema", [&] {
    c.begin_write(true);
    try {
      // One migrator at a time, across every machine.
      c.exec("SELECT pg_advisory_xact_lock(7317002)");
      c.exec("CREATE TABLE IF NOT EXISTS esc_schema (version INTEGER NOT NULL)");
      auto q = c.prepare("SELECT version FROM esc_schema");
      int from = 0;
      if (q->step())
        from = static_cast<int>(q->integer(0));
      else
        c.exec("INSERT INTO esc_schema (version) VALUES (0)");
      for (int v = from; v < target; ++v) c.exec(migrations[static_cast<size_t>(v)]);
      c.exec(fmt::format("UPDATE esc_schema SET version = {}", target));
      c.commit();
    } catch (const db::Failure& f) {
      c.rollback();
      if (f.what() && std::string_view(f.what()).find("permission denied") != std::string_view::npos)
        throw io_error(fmt::format("the case log at {} needs schema version {} and this role may not change the "
                                   "schema ({})",
                                   c.where(), target, f.what()),
                       "run `esc init` once as the role that owns the tables (docs/team.md)");
      throw;
    } catch (...) {
      c.rollback();
      throw;
    }
  });
}

}  // namespace

bool Store::is_postgres(const std::string& location) {
  return location.starts_with("postgresql://") || location.starts_with("postgres://");
}

namespace {

// A location that is meant as a server but is not one esc opens: a URI of
// another (or mistyped) scheme, or libpq's "host=... password=..." form.
// As a file name it would make a local log the user thinks is the team's,
// with the password in its name. Neither is echoed: it may hold one.
void refuse_unopenable(const std::string& location) {
  const auto scheme_end = location.find("://");
  const auto scheme = location.substr(0, scheme_end);
  const bool uri = scheme_end != std::string::npos && scheme_end > 0 &&
                   scheme.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") ==
                       std::string::npos;
  if (uri)
    throw usage_error(fmt::format("the case log is given as a {}:// address, which esc cannot open", scheme),
                      "give a file, or a PostgreSQL URI (postgresql://user@host/db); check --db, $ESC_DB and "
                      "database.url");
  std::string first = location.substr(0, location.find('='));
  while (!first.empty() && first.back() == ' ') first.pop_back();
  static const std::set<std::string> conninfo{"host",     "hostaddr", "port",    "dbname", "user",
                                              "password", "passfile", "service", "sslmode"};
  if (location.find('=') != std::string::npos && conninfo.count(first))
    throw usage_error("the case log is given as key=value settings, which esc does not take",
                      "give a PostgreSQL URI (postgresql://user@host/db; the password in ~/.pgpass), or a file; "
                      "check --db, $ESC_DB and database.url");
}

}  // namespace

Store Store::open(const std::string& location, const Options& options) {
  auto impl = std::make_unique<Impl>();
  if (is_postgres(location)) {
    impl->pg = true;
    impl->db = guarded("connecting to the case log", [&] { return db::open_postgres(location, 30000); });
    migrate_postgres(*impl->db, options.create);
    return Store(std::move(impl));
  }
  refuse_unopenable(location);
  if (!options.create) {
    // A read never makes a log: a mistyped --db must not look like an
    // empty one (`esc due --exit-code` would say "nothing due" forever).
    struct stat st {};
    if (::stat(location.c_str(), &st) != 0 || (S_ISREG(st.st_mode) && st.st_size == 0))
      throw not_found(fmt::format("no case log at {}", location),
                      "`esc new` or `esc init` creates one; check --db, $ESC_DB and database.path");
  }
  impl->db = guarded("opening the case log",
                     [&] { return db::open_sqlite(location, options.create, options.busy_timeout_ms); });
  migrate_sqlite(*impl->db, location);
  return Store(std::move(impl));
}

Store Store::open_memory() {
  auto impl = std::make_unique<Impl>();
  impl->db = db::open_sqlite(":memory:", true, 1000);
  migrate_sqlite(*impl->db, ":memory:");
  return Store(std::move(impl));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

bool Store::postgres() const { return impl_->pg; }
std::string Store::where() const { return impl_->db->where(); }

void Store::write(const std::function<void()>& fn, Sync sync) {
  auto& c = impl_->c();
  // A conflict with a concurrent transaction (PostgreSQL) runs it again, a
  // little later each time; SQLite's writers wait for each other instead.
  std::minstd_rand jitter(static_cast<unsigned>(std::random_device{}()));
  for (int attempt = 1;; ++attempt) {
    try {
      guarded("starting a change", [&] { c.begin_write(sync == Sync::durable); });
      fn();
      guarded("saving the change", [&] { c.commit(); });
      return;
    } catch (const RetryTransaction&) {
      c.rollback();
      if (attempt >= 30)
        throw TransientError("the case log stayed too busy with other changes to save this one",
                             "try again in a moment");
      std::this_thread::sleep_for(std::chrono::milliseconds(jitter() % (10 * attempt) + 1));
    } catch (...) {
      c.rollback();
      throw;
    }
  }
}

void Store::read(const std::function<void()>& fn) {
  auto& c = impl_->c();
  guarded("reading the case log", [&] { c.begin_read(); });
  try {
    fn();
  } catch (...) {
    c.rollback();
    throw;
  }
  guarded("reading the case log", [&] { c.commit(); });
}

std::string Store::integrity_check() {
  return guarded("checking the case log", [&]() -> std::string {
    if (impl_->pg) return "ok";
    auto q = impl_->q("PRAGMA integrity_check");
    q->step();
    std::string r = q->text(0);
    try {
      impl_->c().exec("INSERT INTO entry_fts(entry_fts) VALUES('integrity-check')");
      impl_->c().exec("INSERT INTO case_fts(case_fts) VALUES('integrity-check')");
    } catch (const db::Failure& f) {
      return f.what();
    }
    return r;
  });
}

}  // namespace esc
