#include <doctest/doctest.h>

#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "../../src/store/schema.hpp"
#include "esc/error.hpp"
#include "esc/store.hpp"
#include "raw_sqlite.hpp"

using namespace esc;
namespace fs = std::filesystem;

namespace {

Case make_case(const std::string& title, Time at, const std::string& ref = "") {
  Case c;
  c.uuid = new_uuid();
  c.title = title;
  c.severity = "high";
  c.customer = "ACME";
  c.ref = ref;
  c.triggers = {"sla-breach"};
  c.tags = {"payments"};
  c.engineer = "dana";
  c.created_at = c.updated_at = at;
  return c;
}

Entry make_entry(std::int64_t case_id, EntryKind kind, const std::string& text, Time at) {
  Entry e;
  e.uuid = new_uuid();
  e.case_id = case_id;
  e.kind = kind;
  e.text = text;
  e.at = at;
  e.author = "dana";
  return e;
}

Escalation make_escalation(std::int64_t case_id, int level, const std::string& path, Time at) {
  Escalation x;
  x.uuid = new_uuid();
  x.case_id = case_id;
  x.level = level;
  x.path = path;
  x.at = at;
  x.subject = "s";
  x.snapshot = "{}";
  return x;
}

Delivery make_delivery(std::int64_t escalation_id, const std::string& channel, Time at) {
  Delivery d;
  d.escalation_id = escalation_id;
  d.channel = channel;
  d.key = new_uuid();
  d.created_at = at;
  d.next_attempt_at = at;
  return d;
}

const Time t0 = Time{Seconds{1'790'000'000}};

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("esc-unit-" + new_uuid());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

Store open_file(const fs::path& p, bool create = true) {
  Store::Options o;
  o.create = create;
  return Store::open(p.string(), o);
}

}  // namespace

TEST_CASE("cases round-trip with every field") {
  Store s = Store::open_memory();
  Case c = make_case("Checkout fails", t0, "ZD-1");
  c.csat = 4;
  c.resolved_at = t0 + Seconds{60};
  c.status = Status::resolved;
  c.unnecessary = true;
  c.engineer_email = "dana@example.com";
  c.snoozed_until = t0 + Seconds{99};
  c.snooze_reason = "waiting";
  s.write([&] { s.insert_case(c); });
  auto back = s.get_case(c.id);
  REQUIRE(back);
  CHECK(back->title == "Checkout fails");
  CHECK(back->ref == "ZD-1");
  CHECK(back->triggers == std::vector<std::string>{"sla-breach"});
  CHECK(back->csat == 4);
  CHECK(back->resolved_at == t0 + Seconds{60});
  CHECK(back->status == Status::resolved);
  CHECK(back->unnecessary);
  CHECK(back->engineer_email == "dana@example.com");
  CHECK(back->snoozed_until == t0 + Seconds{99});
  CHECK(back->snooze_reason == "waiting");
  CHECK(s.case_by_ref("ZD-1")->id == c.id);
  CHECK(s.case_by_uuid(c.uuid)->id == c.id);
}

TEST_CASE("a failed transaction leaves nothing behind") {
  Store s = Store::open_memory();
  Case c = make_case("A", t0);
  CHECK_THROWS(s.write([&] {
    s.insert_case(c);
    throw std::runtime_error("boom");
  }));
  CHECK_FALSE(s.get_case(c.id));
}

TEST_CASE("refs are unique: a second case with one is refused") {
  Store s = Store::open_memory();
  Case a = make_case("A", t0, "ZD-1"), b = make_case("B", t0, "ZD-1");
  s.write([&] { s.insert_case(a); });
  CHECK_THROWS_AS(s.write([&] { s.insert_case(b); }), Error);
}

TEST_CASE("list filters by status, severity, customer and tag without regard to case, newest activity first") {
  Store s = Store::open_memory();
  Case a = make_case("A", t0), b = make_case("B", t0 + Seconds{10}), c = make_case("C", t0 + Seconds{20});
  b.customer = "Globex";
  b.tags = {"VPN"};
  c.status = Status::resolved;
  s.write([&] {
    for (auto* x : {&a, &b, &c}) s.insert_case(*x);
  });
  auto titles = [&](const CaseFilter& f) {
    std::vector<std::string> out;
    s.each_case(f, [&](const Case& x) { out.push_back(x.title); });
    return out;
  };
  CaseFilter active;
  active.statuses = {Status::open, Status::escalated};
  CHECK(titles(active) == std::vector<std::string>{"B", "A"});
  CHECK(titles({}) == std::vector<std::string>{"C", "B", "A"});
  CaseFilter f;
  f.customer = "globex";
  CHECK(titles(f) == std::vector<std::string>{"B"});
  f = {};
  f.tag = "vpn";
  CHECK(titles(f) == std::vector<std::string>{"B"});
  f = {};
  f.limit = 1;
  CHECK(titles(f) == std::vector<std::string>{"C"});
}

TEST_CASE("full-text search: titles and entries, edits followed, struck entries and malformed queries") {
  Store s = Store::open_memory();
  Case c = make_case("Checkout fails for EU cards", t0);
  s.write([&] { s.insert_case(c); });
  Entry e = make_entry(c.id, EntryKind::diagnostic, "3DS2 challenge times out at the issuer ACS", t0);
  s.write([&] { s.insert_entry(e); });
  auto hits = s.search("timeout OR times", "", 10, false);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].entry_id == e.id);
  CHECK(hits[0].snippet.find("\x02times\x03") != std::string::npos);
  CHECK(s.search("checkout", "", 10, false).at(0).kind == "title");
  CHECK(s.search("chall*", "", 10, false).size() == 1);
  CHECK(s.search("3DS2 challenge", "diagnostic", 10, false).size() == 1);
  CHECK(s.search("3DS2 challenge", "step", 10, false).empty());
  // A struck entry is kept but no longer found.
  e.struck_at = t0;
  e.struck_by = "dana";
  e.struck_reason = "wrong case";
  s.write([&] { s.update_entry(e); });
  CHECK(s.search("challenge", "", 10, false).empty());
  c.title = "Payments down";
  s.write([&] { s.update_case(c); });
  CHECK(s.search("checkout", "", 10, false).empty());
  CHECK(s.search("payments", "", 10, false).size() == 1);
  // What the user types is never query syntax to the engine.
  CHECK(s.search("\"unbalanced (quote", "", 10, false).empty());
  CHECK_THROWS_AS(s.search("a OR OR b", "", 10, false), Error);
  try {
    s.search("OR timeout", "", 10, false);
  } catch (const Error& err) {
    CHECK(err.code() == Exit::data);
  }
}

TEST_CASE("similar resolved cases: the resolved among the newest title matches, best first") {
  Store s = Store::open_memory();
  Case a = make_case("Printer jams on tray two", t0), b = make_case("Printer offline", t0),
       c = make_case("Login fails", t0);
  a.status = b.status = c.status = Status::resolved;
  Case open = make_case("Printer jams again", t0);
  s.write([&] {
    for (auto* x : {&a, &b, &c, &open}) s.insert_case(*x);
  });
  auto sim = s.similar_resolved("Printer jams when printing", 3);
  REQUIRE(sim.size() == 2);
  CHECK(sim[0].id == a.id);
  CHECK(sim[1].id == b.id);
}

TEST_CASE("a read never makes a log; the log and its folder are private; a newer schema is refused untouched") {
  TempDir dir;
  const auto db = dir.path / "sub" / "esc.db";
  try {
    open_file(db, false);
    FAIL("opened a log that is not there");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::no_input);
    CHECK(std::string(e.what()).find("no case log at") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(dir.path / "sub"));  // no folder made for a read either
  { Store s = open_file(db); }
  struct stat st {};
  REQUIRE(::stat(db.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((dir.path / "sub").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  exec_sql(db, "PRAGMA user_version = 99");
  const auto before = fs::file_size(db);
  try {
    open_file(db);
    FAIL("opened a newer log");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::io);
    CHECK(std::string(e.what()).find("newer than this esc") != std::string::npos);
  }
  CHECK(fs::file_size(db) == before);
  CHECK(query_int(db, "PRAGMA user_version") == 99);
}

TEST_CASE("a file that is not SQLite is refused and left as it was") {
  TempDir dir;
  const auto f = dir.path / "notes.txt";
  std::ofstream(f) << "these are my notes, not a database\n";
  CHECK_THROWS_AS(open_file(f), Error);
  std::ifstream in(f);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == "these are my notes, not a database\n");
}

TEST_CASE("a delivery is claimed by one token at a time; an outcome is recorded only under its claim") {
  TempDir dir;
  const auto db = dir.path / "esc.db";
  Store s = open_file(db);
  Case c = make_case("A", t0);
  Escalation x;
  Delivery d;
  s.write([&] {
    s.insert_case(c);
    x = make_escalation(c.id, 1, "tier2", t0);
    s.insert_escalation(x);
    d = make_delivery(x.id, "chat", t0);
    s.insert_delivery(d);
  });
  Store other = open_file(db);
  bool mine = false, theirs = true;
  s.write([&] { mine = s.claim_delivery(d.id, "token-a", 60, Time{}); });
  other.write([&] { theirs = other.claim_delivery(d.id, "token-b", 60, Time{}); });
  CHECK(mine);
  CHECK_FALSE(theirs);
  // The lease runs out: another may take it, and the first then records nothing.
  exec_sql(db, "UPDATE deliveries SET claimed_until = 0");
  other.write([&] { theirs = other.claim_delivery(d.id, "token-b", 60, Time{}); });
  CHECK(theirs);
  Delivery done = d;
  done.status = DeliveryStatus::delivered;
  done.attempts = 1;
  bool recorded = true;
  s.write([&] { recorded = s.record_delivery(done, "token-a"); });
  CHECK_FALSE(recorded);
  CHECK(s.get_delivery(d.id)->status == DeliveryStatus::pending);
  other.write([&] { recorded = other.record_delivery(done, "token-b"); });
  CHECK(recorded);
  CHECK(s.get_delivery(d.id)->status == DeliveryStatus::delivered);
  CHECK(s.outbox().empty());
  // Delivered: nobody claims it again.
  s.write([&] { mine = s.claim_delivery(d.id, "token-c", 60, Time{}); });
  CHECK_FALSE(mine);
}

TEST_CASE("merging a record: new rows added by UUID, nothing local lost, imported deliveries never queued") {
  Store s = Store::open_memory();
  Case c = make_case("Checkout fails", t0, "ZD-1");
  Entry local;
  s.write([&] {
    s.insert_case(c);
    local = make_entry(c.id, EntryKind::fact, "ours", t0 + Seconds{5});
    s.insert_entry(local);
  });
  CaseRecord r;
  r.c = c;
  r.c.title = "Checkout fails (renamed there)";
  r.c.updated_at = t0 + Seconds{100};
  r.entries = {make_entry(c.id, EntryKind::step, "theirs", t0 + Seconds{50})};
  Escalation x = make_escalation(c.id, 1, "tier2", t0 + Seconds{60});
  x.id = 77;
  r.escalations = {x};
  Delivery d = make_delivery(77, "chat", t0 + Seconds{60});
  d.status = DeliveryStatus::pending;
  r.deliveries = {d};
  MergeResult m;
  s.write([&] { m = s.merge_record(r); });
  CHECK(m.outcome == MergeResult::Outcome::merged);
  CHECK(m.entries == 1);
  auto entries = s.entries(c.id);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].text == "ours");
  CHECK(entries[1].text == "theirs");
  CHECK(s.get_case(c.id)->title == "Checkout fails (renamed there)");
  CHECK(s.get_case(c.id)->status == Status::escalated);
  auto xs = s.escalations(c.id);
  REQUIRE(xs.size() == 1);
  auto ds = s.deliveries(xs[0].id);
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].imported);
  CHECK(s.outbox().empty());
  bool claimed = true;
  s.write([&] { claimed = s.claim_delivery(ds[0].id, "t", 60, Time{}); });
  CHECK_FALSE(claimed);
  // The same record again changes nothing.
  s.write([&] { m = s.merge_record(r); });
  CHECK(m.outcome == MergeResult::Outcome::unchanged);
  CHECK(s.entries(c.id).size() == 2);
}

TEST_CASE("merging a new case keeps its number when free, and never takes a ref that is taken") {
  Store s = Store::open_memory();
  Case here = make_case("Here", t0, "ZD-1");
  s.write([&] { s.insert_case(here); });
  CaseRecord r;
  r.c = make_case("There", t0, "ZD-1");
  r.c.id = here.id;  // taken
  MergeResult m;
  s.write([&] { m = s.merge_record(r); });
  CHECK(m.outcome == MergeResult::Outcome::added);
  CHECK(m.file_id == here.id);
  CHECK(m.id != here.id);
  CHECK(m.ref_conflict == "ZD-1");
  CHECK(m.ref_owner == here.id);
  CHECK(s.get_case(m.id)->ref.empty());
  CaseRecord free;
  free.c = make_case("Free number", t0);
  free.c.id = 500;
  s.write([&] { m = s.merge_record(free); });
  CHECK(m.id == 500);
}

TEST_CASE("stats stream every case of the period with its escalations and client contacts") {
  Store s = Store::open_memory();
  Case a = make_case("A", t0), b = make_case("B", t0 + Seconds{100}), old = make_case("Old", t0 - Seconds{1000});
  s.write([&] {
    for (auto* c : {&old, &a, &b}) s.insert_case(*c);
    auto x1 = make_escalation(a.id, 1, "tier2", t0 + Seconds{10});
    x1.acked_at = t0 + Seconds{20};
    auto x2 = make_escalation(a.id, 2, "engineering", t0 + Seconds{30});
    s.insert_escalation(x1);
    s.insert_escalation(x2);
    auto n1 = make_entry(a.id, EntryKind::notice, "told", t0 + Seconds{11});
    auto n2 = make_entry(a.id, EntryKind::update, "still on it", t0 + Seconds{40});
    auto other = make_entry(a.id, EntryKind::fact, "not a contact", t0 + Seconds{12});
    s.insert_entry(n1);
    s.insert_entry(n2);
    s.insert_entry(other);
  });
  std::vector<StatsCase> seen;
  s.each_stats_case(t0, std::nullopt, [&](const StatsCase& c) { seen.push_back(c); });
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].id == a.id);
  REQUIRE(seen[0].escalations.size() == 2);
  CHECK(seen[0].escalations[0].acked_at == t0 + Seconds{20});
  CHECK(seen[0].escalations[1].path == "engineering");
  CHECK(seen[0].contacts == std::vector<Time>{t0 + Seconds{11}, t0 + Seconds{40}});
  CHECK(seen[1].escalations.empty());
}

TEST_CASE("due reads each active case with its newest escalation and what became of its deliveries") {
  Store s = Store::open_memory();
  Case a = make_case("A", t0), b = make_case("B", t0);
  s.write([&] {
    s.insert_case(a);
    s.insert_case(b);
    auto x1 = make_escalation(a.id, 1, "tier2", t0);
    s.insert_escalation(x1);
    auto x2 = make_escalation(a.id, 2, "engineering", t0 + Seconds{60});
    s.insert_escalation(x2);
    auto d1 = make_delivery(x2.id, "mail", t0);
    d1.status = DeliveryStatus::failed;
    auto d2 = make_delivery(x2.id, "chat", t0);
    d2.status = DeliveryStatus::dropped;
    s.insert_delivery(d1);
    s.insert_delivery(d2);
  });
  std::vector<ActiveCase> seen;
  s.each_active([&](const ActiveCase& c) { seen.push_back(c); });
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[0].latest);
  CHECK(seen[0].latest->level == 2);
  CHECK(seen[0].latest->path == "engineering");
  CHECK(seen[0].delivered == 0);
  CHECK(seen[0].lost == 2);
  CHECK_FALSE(seen[1].latest);
}

TEST_CASE("a read sees one snapshot, whatever is written meanwhile") {
  TempDir dir;
  const auto db = dir.path / "esc.db";
  Store s = open_file(db);
  Case a = make_case("A", t0);
  s.write([&] { s.insert_case(a); });
  Store other = open_file(db);
  int first = 0, second = 0;
  s.read([&] {
    s.each_case({}, [&](const Case&) { ++first; });
    Case b = make_case("B", t0);
    other.write([&] { other.insert_case(b); });
    s.each_case({}, [&](const Case&) { ++second; });
  });
  CHECK(first == 1);
  CHECK(second == 1);
  int after = 0;
  s.each_case({}, [&](const Case&) { ++after; });
  CHECK(after == 2);
}

// ---- migrations ---------------------------------------------------------------

namespace {

// A log at schema `version`, made by that version's migrations, with a case
// escalated and delivered, a lesson, and a case never escalated.
void make_old_log(const fs::path& db, int version) {
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  auto exec = [&](const std::string& sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, &err);
    INFO("schema " << version << ": " << (err ? err : ""));
    REQUIRE(rc == SQLITE_OK);
  };
  exec("PRAGMA journal_mode = WAL");
  for (int v = 0; v < version; ++v) exec(schema::sqlite_migrations()[static_cast<size_t>(v)]);
  exec(
      "INSERT INTO cases (id, uuid, title, severity, status, ref, created_at, updated_at, resolved_at, csat) "
      "VALUES (1, 'u1', 'Old escalated case', 'high', 'resolved', 'ZD-9', 1000, 90000, 90000, 4);"
      "INSERT INTO cases (id, uuid, title, severity, status, created_at, updated_at) "
      "VALUES (2, 'u2', 'Never escalated', 'low', 'open', 2000, 2000);"
      "INSERT INTO escalations (id, uuid, case_id, level, path, at, forced, subject, snapshot, acked_at) "
      "VALUES (1, 'x1', 1, 1, 'tier2', 4600, 1, 's', '{}', 5000);"
      "INSERT INTO deliveries (id, escalation_id, channel, key, status, attempts, created_at, delivered_at) "
      "VALUES (1, 1, 'chat', 'k1', 'delivered', 1, 4600, 4601);"
      "INSERT INTO deliveries (id, escalation_id, channel, key, status, attempts, created_at, next_attempt_at) "
      "VALUES (2, 1, 'mail', 'k2', 'pending', 3, 4600, 5000);"
      "INSERT INTO entries (id, uuid, case_id, kind, text, at) VALUES (1, 'e1', 1, 'notice', 'told the client', 4600);"
      "INSERT INTO entries (id, uuid, case_id, kind, text, state, at) "
      "VALUES (2, 'e2', 1, 'review', 'get the trace id first', 'lesson', 90000);");
  if (version >= 5) {
    // Schema 5's store kept the full-text indexes itself.
    exec(
        "INSERT INTO case_fts(rowid, title) SELECT id, title FROM cases;"
        "INSERT INTO entry_fts(rowid, text) SELECT id, text FROM entries;");
  }
  exec(fmt::format("PRAGMA user_version = {}", version));
  sqlite3_close(raw);
}

}  // namespace

TEST_CASE("a log of every earlier schema version is brought up to date with all it held") {
  const int current = static_cast<int>(schema::sqlite_migrations().size());
  for (int version = 1; version < current; ++version) {
    CAPTURE(version);
    TempDir dir;
    const auto db = dir.path / "esc.db";
    make_old_log(db, version);
    Store s = open_file(db, false);
    CHECK(query_int(db, "PRAGMA user_version") == current);
    auto c = s.get_case(1);
    REQUIRE(c);
    CHECK(c->ref == "ZD-9");
    CHECK(c->csat == 4);
    CHECK(s.entries(1).size() == 2);
    auto xs = s.escalations(1);
    REQUIRE(xs.size() == 1);
    CHECK(xs[0].acked_at == Time{Seconds{5000}});
    auto ds = s.deliveries(1);
    REQUIRE(ds.size() == 2);
    CHECK(ds[0].status == DeliveryStatus::delivered);
    CHECK(s.outbox().size() == 1);  // the pending one is still to deliver
    CHECK(s.search("told", "", 10, false).size() == 1);
    CHECK(s.search("old", "", 10, false).size() == 1);
    int lessons = 0;
    s.each_lesson("", 0, [&](const LessonHit&) { ++lessons; });
    CHECK(lessons == 1);
    std::vector<StatsCase> seen;
    s.each_stats_case(std::nullopt, std::nullopt, [&](const StatsCase& sc) { seen.push_back(sc); });
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].escalations.size() == 1);
    CHECK(seen[0].contacts.size() == 1);
    // And it goes on working: the triggers keep the index with new rows.
    Entry e = make_entry(2, EntryKind::fact, "toner cartridge recalled", t0);
    s.write([&] { s.insert_entry(e); });
    CHECK(s.search("cartridge", "", 10, false).size() == 1);
    CHECK(s.integrity_check() == "ok");
  }
}
