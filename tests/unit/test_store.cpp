#include <doctest/doctest.h>

#include <date/date.h>
#include <fmt/format.h>
#include <sqlite3.h>
#include <unistd.h>

#include <sys/stat.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
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

Entry make_entry(std::int64_t case_id, const std::string& kind, const std::string& text, Time at) {
  Entry e;
  e.uuid = new_uuid();
  e.case_id = case_id;
  e.kind = kind;
  e.text = text;
  e.at = at;
  e.author = "dana";
  return e;
}

const Time t0 = Time{Seconds{1'790'000'000}};

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("esc-unit-" + new_uuid());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

}  // namespace

TEST_CASE("cases round-trip with every field") {
  Store s = Store::open_memory();
  Case c = make_case("Checkout fails", t0, "ZD-1");
  c.csat = 4;
  s.write([&] { s.insert_case(c); });
  CHECK(c.id == 1);
  auto back = s.get_case(1);
  REQUIRE(back);
  CHECK(back->uuid == c.uuid);
  CHECK(back->title == "Checkout fails");
  CHECK(back->triggers == std::vector<std::string>{"sla-breach"});
  CHECK(back->tags == std::vector<std::string>{"payments"});
  CHECK(back->csat == 4);
  CHECK(back->created_at == t0);
  CHECK(s.find_case_by_ref("ZD-1")->id == 1);
  CHECK_FALSE(s.find_case_by_ref("ZD-2"));
  CHECK(s.find_case_by_uuid(c.uuid)->id == 1);
}

TEST_CASE("a failed transaction leaves nothing behind") {
  Store s = Store::open_memory();
  Case c = make_case("one", t0);
  CHECK_THROWS(s.write([&] {
    s.insert_case(c);
    throw std::runtime_error("boom");
  }));
  CHECK_FALSE(s.get_case(1));
}

TEST_CASE("refs are unique") {
  Store s = Store::open_memory();
  Case a = make_case("a", t0, "ZD-1"), b = make_case("b", t0, "ZD-1");
  s.write([&] { s.insert_case(a); });
  CHECK_THROWS_AS(s.write([&] { s.insert_case(b); }), Error);
}

TEST_CASE("list filters by status, severity, tag and orders by activity") {
  Store s = Store::open_memory();
  Case a = make_case("older", t0), b = make_case("newer", t0 + Seconds{60});
  b.status = Status::escalated;
  b.tags = {"vip"};
  s.write([&] {
    s.insert_case(a);
    s.insert_case(b);
  });
  CaseFilter all;
  auto v = s.list_cases(all);
  REQUIRE(v.size() == 2);
  CHECK(v[0].title == "newer");
  CaseFilter open;
  open.statuses = {Status::open};
  CHECK(s.list_cases(open).size() == 1);
  CaseFilter tag;
  tag.tag = "vip";
  CHECK(s.list_cases(tag).front().title == "newer");
  CaseFilter limit;
  limit.limit = 1;
  CHECK(s.list_cases(limit).size() == 1);
}

TEST_CASE("full-text search finds titles and entries, and follows edits") {
  Store s = Store::open_memory();
  Case c = make_case("Checkout fails for EU cards", t0);
  s.write([&] { s.insert_case(c); });
  Entry e = make_entry(c.id, "fact", "The issuer ACS times out after five seconds", t0);
  s.write([&] { s.insert_entry(e); });
  auto hits = s.search("ACS", "", 10, false);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].entry_id == e.id);
  CHECK(hits[0].snippet.find("\x02"
                             "ACS\x03") != std::string::npos);
  CHECK(s.search("checkout", "", 10, false).front().kind == "title");
  CHECK(s.search("time*", "", 10, false).size() == 1);     // prefix
  CHECK(s.search("\"unbalanced", "", 10, false).empty());  // no FTS syntax error
  CHECK(s.search("issuer-side OR ACS", "", 10, false).size() == 1);
  CHECK(s.search("ACS", "step", 10, false).empty());
  c.title = "Renamed";
  s.write([&] { s.update_case(c); });
  CHECK(s.search("checkout", "", 10, false).empty());
  CHECK(s.fts_integrity_check() == "ok");
}

TEST_CASE("similar resolved cases: the resolved among the newest title matches, best first") {
  Store s = Store::open_memory();
  auto add = [&](const std::string& title, bool resolved) {
    Case c = make_case(title, t0);
    if (resolved) {
      c.status = Status::resolved;
      c.resolved_at = t0 + Seconds{60};
    }
    s.write([&] { s.insert_case(c); });
    return c.id;
  };
  const auto both = add("Checkout fails for EU cards", true);
  const auto one = add("Checkout slow", true);
  add("Checkout fails for EU cards again", false);  // open: never named
  add("Printer jam", true);                         // no shared word
  const auto plural = add("CHECKOUT FAILS", true);
  auto ids = [](const std::vector<CaseId>& v) {
    std::vector<std::int64_t> out;
    for (const auto& c : v) out.push_back(c.id);
    return out;
  };
  auto found = s.similar_resolved("checkout fails for EU cards", 5);
  CHECK(ids(found) == std::vector<std::int64_t>{both, plural, one});
  CHECK(found[0].title == "Checkout fails for EU cards");
  CHECK(found[0].status == Status::resolved);
  CHECK(ids(s.similar_resolved("checkout fails for EU cards", 1)) == std::vector<std::int64_t>{both});
  CHECK(s.similar_resolved("EU", 5).empty());  // no word of four characters
  CHECK(s.similar_resolved("Printer toner", 0).empty());

  // Only the 200 newest matches are ranked: an older, better match is not.
  const auto old = add("Spooler crash on print server", true);
  for (int i = 0; i < 200; ++i) add(fmt::format("Spooler slow {}", i), i % 2 == 0);
  found = s.similar_resolved("Spooler crash on print server", 3);
  REQUIRE(found.size() == 3);
  for (const auto& c : found) CHECK(c.id != old);
}

TEST_CASE("database files are private; a newer schema is refused untouched") {
  TempDir dir;
  auto db = dir.path / "sub" / "esc.db";
  { Store s = Store::open(db); }
  struct stat st {};
  REQUIRE(::stat(db.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(db.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  exec_sql(db, "PRAGMA user_version = 99");
  auto before = fs::file_size(db);
  try {
    Store::open(db);
    FAIL("a newer database was opened");
  } catch (const Error& e) {
    CHECK(e.code() == Exit::io);
    CHECK(std::string(e.what()).find("newer") != std::string::npos);
  }
  CHECK(fs::file_size(db) == before);
}

TEST_CASE("a file that is not SQLite is refused and left as it was") {
  TempDir dir;
  auto db = dir.path / "notes.db";
  { std::ofstream(db) << "these are my notes, not a database\n"; }
  CHECK_THROWS_AS(Store::open(db), Error);
  std::ifstream in(db);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content == "these are my notes, not a database\n");
}

TEST_CASE("deliveries: claim, update, pending") {
  Store s = Store::open_memory();
  Case c = make_case("x", t0);
  Escalation x;
  Delivery d;
  s.write([&] {
    s.insert_case(c);
    x.uuid = new_uuid();
    x.case_id = c.id;
    x.path = "tier2";
    x.at = t0;
    x.subject = "s";
    x.snapshot = "{}";
    s.insert_escalation(x);
    d.escalation_id = x.id;
    d.channel = "chat";
    d.key = new_uuid();
    d.created_at = t0;
    s.insert_delivery(d);
  });
  auto alive = [](int) { return true; };
  auto dead = [](int) { return false; };
  bool first = false, second = false, third = false;
  s.write([&] { first = s.claim_delivery(d.id, 100, 2000, 1000, alive); });
  s.write([&] { second = s.claim_delivery(d.id, 200, 2000, 1000, alive); });
  s.write([&] { third = s.claim_delivery(d.id, 200, 2000, 1000, dead); });
  CHECK(first);
  CHECK_FALSE(second);  // held by a live process
  CHECK(third);         // its holder died
  CHECK(s.pending_deliveries().size() == 1);
  d.status = DeliveryStatus::delivered;
  d.attempts = 1;
  s.write([&] { s.update_delivery(d); });
  CHECK(s.pending_deliveries().empty());
  CHECK(s.get_delivery(d.id)->case_id == c.id);
}

TEST_CASE("upsert by UUID: new, newer replaces, older is kept") {
  Store s = Store::open_memory();
  CaseRecord r;
  r.c = make_case("imported", t0);
  r.c.id = 7;
  r.entries.push_back(make_entry(7, "fact", "a fact", t0));
  CHECK(s.upsert_record(r) == Store::Upsert::added);
  CHECK(s.get_case(7)->title == "imported");
  CHECK(s.entries(7).size() == 1);
  CHECK(s.upsert_record(r) == Store::Upsert::kept);
  r.c.title = "changed";
  r.c.updated_at = t0 + Seconds{10};
  CHECK(s.upsert_record(r) == Store::Upsert::replaced);
  CHECK(s.get_case(7)->title == "changed");
  CHECK(s.entries(7).size() == 1);
  CHECK(s.fts_integrity_check() == "ok");
}

namespace {

std::vector<StatsRow> stats_rows(Store& s, const std::string& by = "") {
  std::vector<StatsRow> out;
  s.stats(std::nullopt, std::nullopt, by, [&](const StatsRow& r) { out.push_back(r); });
  return out;
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

}  // namespace

TEST_CASE("escalation facts for stats follow every change to a case") {
  constexpr Seconds H{3600};
  Store s = Store::open_memory();
  Case c = make_case("Checkout fails", t0);
  s.write([&] { s.insert_case(c); });
  auto rows = stats_rows(s);
  REQUIRE(rows.size() == 1);
  CHECK_FALSE(rows[0].facts.first_at);

  Entry notice = make_entry(c.id, "notice", "told them", t0 + H);
  Escalation x1 = make_escalation(c.id, 1, "tier2", t0 + 2 * H);
  x1.forced = true;
  s.write([&] {
    s.insert_entry(notice);
    s.insert_escalation(x1);
  });
  rows = stats_rows(s, "path");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].facts.first_at == t0 + 2 * H);
  CHECK(rows[0].facts.first_path == "tier2");
  CHECK(rows[0].facts.forced);
  // Not resolved: no contact since the escalation, so the silence so far is
  // measured from the notice before it, by whenever it is read.
  CHECK(rows[0].facts.silence == Seconds{0});
  CHECK(rows[0].facts.last_contact == t0 + H);
  CHECK(silence_by(rows[0].facts, t0 + 10 * H) == 9 * H);

  Escalation x2 = make_escalation(c.id, 2, "engineering", t0 + 5 * H);
  s.write([&] { s.insert_escalation(x2); });
  x1.acked_at = t0 + 3 * H;
  s.write([&] { s.update_escalation(x1); });
  Entry update = make_entry(c.id, "update", "still on it", t0 + 20 * H);
  s.write([&] { s.insert_entry(update); });
  c.resolved_at = t0 + 30 * H;
  c.status = Status::resolved;
  s.write([&] { s.update_case(c); });
  rows = stats_rows(s, "path");
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].facts.first_at == t0 + 2 * H);        // still the first escalation
  CHECK(rows[0].facts.first_acked_at == t0 + 3 * H);  // of the first (level 1) one
  CHECK(rows[0].facts.first_path == "tier2");
  CHECK(rows[0].facts.silence == 19 * H);  // notice at +1h until the update at +20h

  c.resolved_at.reset();
  c.status = Status::escalated;
  s.write([&] { s.update_case(c); });
  rows = stats_rows(s);
  CHECK(rows[0].facts.silence == 19 * H);  // the same, up to the last contact
  CHECK(silence_by(rows[0].facts, t0 + 30 * H) == 19 * H);
  CHECK(silence_by(rows[0].facts, t0 + 40 * H) == 20 * H);  // and growing since the update at +20h
}

TEST_CASE("stats reads cases created in [since, until), oldest first, with the grouping asked for") {
  Store s = Store::open_memory();
  for (int i = 0; i < 5; ++i) {
    Case c = make_case("case " + std::to_string(i), t0 + Seconds{86400 * (4 - i)});
    c.triggers = {"sla-breach", "vip"};
    c.engineer = i % 2 ? "dana" : "sam";
    s.write([&] { s.insert_case(c); });
  }
  std::vector<StatsRow> rows;
  s.stats(t0 + Seconds{86400}, t0 + Seconds{86400 * 4}, "trigger", [&](const StatsRow& r) { rows.push_back(r); });
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].created_at == t0 + Seconds{86400});
  CHECK(rows[2].created_at == t0 + Seconds{3 * 86400});
  CHECK(rows[0].triggers == std::vector<std::string>{"sla-breach", "vip"});
  CHECK(rows[0].engineer.empty());  // not asked for
  rows.clear();
  s.stats(std::nullopt, std::nullopt, "engineer", [&](const StatsRow& r) { rows.push_back(r); });
  REQUIRE(rows.size() == 5);
  CHECK(rows[0].engineer == "sam");
  CHECK(rows[1].engineer == "dana");
}

TEST_CASE("a version 1 database is upgraded, with the escalation facts of its cases") {
  TempDir dir;
  auto db = dir.path / "esc.db";
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  const std::string v1 =
      std::string(schema::kMigrations[0]) +
      "INSERT INTO cases (id, uuid, title, severity, status, created_at, updated_at, resolved_at) "
      "VALUES (1, 'u1', 'Old case', 'high', 'resolved', 1000, 90000, 90000);"
      "INSERT INTO cases (id, uuid, title, severity, status, created_at, updated_at) "
      "VALUES (2, 'u2', 'Never escalated', 'low', 'open', 2000, 2000);"
      "INSERT INTO escalations (uuid, case_id, level, path, at, forced, subject, snapshot, acked_at) "
      "VALUES ('x1', 1, 1, 'tier2', 4600, 1, 's', '{}', 5000);"
      "INSERT INTO entries (uuid, case_id, kind, text, at) VALUES ('e1', 1, 'notice', 'told', 4600);"
      "PRAGMA user_version = 1;";
  REQUIRE(sqlite3_exec(raw, v1.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);

  Store s = Store::open(db);
  auto rows = stats_rows(s);
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].facts.first_at == Time{Seconds{4600}});
  CHECK(rows[0].facts.first_acked_at == Time{Seconds{5000}});
  CHECK(rows[0].facts.forced);
  CHECK(rows[0].facts.silence == Seconds{90000 - 4600});
  CHECK_FALSE(rows[1].facts.first_at);
  // Schema 3: the monthly counts, made from the cases already there.
  auto counts = s.case_counts(std::nullopt, std::nullopt, true);
  REQUIRE(counts.size() == 1);
  CHECK(counts[0].from == Time{});
  CHECK(counts[0].opened == 2);
  CHECK(counts[0].resolved == 1);
  // And the newest escalation of each case.
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(raw, "SELECT latest_level, latest_path, latest_acked_at FROM cases ORDER BY id", -1, &st,
                             nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_int(st, 0) == 1);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, 1))) == "tier2");
  CHECK(sqlite3_column_int64(st, 2) == 5000);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  CHECK(sqlite3_column_type(st, 0) == SQLITE_NULL);  // never escalated
  sqlite3_finalize(st);
  sqlite3_close(raw);
  CHECK(s.integrity_check() == "ok");
  // Schema 5: no trigger is left; the store keeps the full-text indexes and
  // the month counts itself, from the rows the triggers had indexed on.
  CHECK(query_int(db, "PRAGMA user_version") == Store::kSchemaVersion);
  CHECK(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == 0);
  CHECK(s.search("told", "", 10, false).size() == 1);
  Case later = make_case("Printer jams", Time{Seconds{3000}});
  s.write([&] { s.insert_case(later); });
  Entry e = make_entry(later.id, "fact", "Toner cartridge recalled", Time{Seconds{3100}});
  s.write([&] { s.insert_entry(e); });
  CHECK(s.search("printer", "", 10, false).size() == 1);
  CHECK(s.search("cartridge", "", 10, false).size() == 1);
  CHECK(s.case_counts(std::nullopt, std::nullopt, true).at(0).opened == 3);
  CHECK(s.fts_integrity_check() == "ok");
}

namespace {

// The frames a reader of the WAL would take in: those after the header
// that carry the header's salt (a WAL started afresh gets a new salt, and
// its old frames, left in the file, are read no further).
int wal_frames_in_use(const fs::path& wal) {
  std::ifstream in(wal, std::ios::binary);
  auto word = [](const unsigned char* p) { return (std::uint32_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3]; };
  unsigned char header[32];
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return 0;
  const std::uint32_t page_size = word(header + 8);
  std::vector<char> page(page_size);
  int frames = 0;
  unsigned char frame[24];
  while (in.read(reinterpret_cast<char*>(frame), sizeof frame) && in.read(page.data(), page_size) &&
         std::memcmp(frame + 8, header + 16, 8) == 0)
    ++frames;
  return frames;
}

}  // namespace

TEST_CASE(
    "a small change stays in the WAL at exit; a large one is copied into the database and the WAL started afresh") {
  TempDir dir;
  auto db = dir.path / "esc.db";
  auto wal = fs::path(db.string() + "-wal");
  Case c = make_case("Checkout fails", t0);
  {
    Store s = Store::open(db);
    s.write([&] { s.insert_case(c); });
  }
  REQUIRE(fs::exists(wal));
  const int small = wal_frames_in_use(wal);
  CHECK(small > 0);  // not checkpointed: no fsync on the way out
  {
    Store s = Store::open(db);
    CHECK(s.get_case(c.id));  // and nothing lost
    s.write([&] {
      for (int i = 0; i < 2000; ++i) {
        Entry e = make_entry(c.id, "note", "entry number " + std::to_string(i) + std::string(200, 'x'), t0);
        s.insert_entry(e);
      }
    });
  }
  // Past the threshold: the next esc reads one page of WAL, not hundreds.
  CHECK(wal_frames_in_use(wal) == 1);
  // The database file holds every change without its WAL.
  fs::copy_file(db, dir.path / "alone.db");
  {
    Store alone = Store::open(dir.path / "alone.db");
    CHECK(alone.entries(c.id).size() == 2000);
  }
  Store s = Store::open(db);
  CHECK(s.entries(c.id).size() == 2000);
  CHECK(s.integrity_check() == "ok");
}

TEST_CASE("a change larger than 4 MiB leaves no WAL file larger than that behind") {
  TempDir dir;
  auto db = dir.path / "esc.db";
  auto wal = fs::path(db.string() + "-wal");
  Case c = make_case("Import", t0);
  {
    Store s = Store::open(db);
    s.write([&] {
      s.insert_case(c);
      for (int i = 0; i < 400; ++i) {  // about 6.5 MiB of text
        Entry e = make_entry(c.id, "note", std::to_string(i) + std::string(16 << 10, 'x'), t0);
        s.insert_entry(e);
      }
    });
  }
  // SQLite writes a WAL started afresh over the old file; without the limit
  // the file would stay as large as the change.
  CHECK(fs::file_size(wal) <= std::uintmax_t{4} << 20);
  CHECK(wal_frames_in_use(wal) == 1);
  Store s = Store::open(db);
  CHECK(s.entries(c.id).size() == 400);
  CHECK(s.integrity_check() == "ok");
}

TEST_CASE("updating a case writes the columns that changed, and every one of them") {
  TempDir dir;
  auto db = dir.path / "esc.db";
  Case c = make_case("Checkout fails for EU cards", t0, "ZD-7");
  {
    Store s = Store::open(db);
    s.write([&] { s.insert_case(c); });
  }
  auto fts_rows = [&] { return query_int(db, "SELECT count(*) FROM case_fts_data"); };
  const auto before = fts_rows();
  Store s = Store::open(db);
  // An entry added: updated_at alone. The title's full-text entry is not rewritten.
  c.updated_at = t0 + Seconds{60};
  s.write([&] { s.update_case(c); });
  CHECK(fts_rows() == before);
  CHECK(s.get_case(c.id)->updated_at == t0 + Seconds{60});
  // Every field still reaches the database when it changes.
  c.title = "Renamed";
  c.customer = "Globex";
  c.severity = "critical";
  c.status = Status::resolved;
  c.ref = "";
  c.triggers = {"vip"};
  c.tags = {};
  c.engineer = "sam";
  c.resolved_at = t0 + Seconds{120};
  c.csat = 5;
  c.unnecessary = true;
  s.write([&] { s.update_case(c); });
  auto back = s.get_case(c.id);
  REQUIRE(back);
  CHECK(back->title == "Renamed");
  CHECK(back->customer == "Globex");
  CHECK(back->severity == "critical");
  CHECK(back->status == Status::resolved);
  CHECK(back->ref.empty());
  CHECK(back->triggers == std::vector<std::string>{"vip"});
  CHECK(back->tags.empty());
  CHECK(back->engineer == "sam");
  CHECK(back->resolved_at == t0 + Seconds{120});
  CHECK(back->csat == 5);
  CHECK(back->unnecessary);
  CHECK(s.search("renamed", "", 10, false).size() == 1);
  CHECK(s.search("checkout", "", 10, false).empty());
  // And back again, to NULLs.
  c.ref = "ZD-8";
  c.resolved_at.reset();
  c.csat.reset();
  s.write([&] { s.update_case(c); });
  back = s.get_case(c.id);
  CHECK(back->ref == "ZD-8");
  CHECK_FALSE(back->resolved_at);
  CHECK_FALSE(back->csat);
  CHECK(s.fts_integrity_check() == "ok");
}

TEST_CASE("new UUIDs are version 7: unique, and ordered by the time they were made") {
  const std::string a = new_uuid();
  CHECK(a.size() == 36);
  CHECK(a[8] == '-');
  CHECK(a[14] == '7');                                          // version
  CHECK(std::string("89ab").find(a[19]) != std::string::npos);  // variant
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const std::string b = new_uuid();
  CHECK(a < b);
  CHECK(new_uuid() != new_uuid());
}

namespace {

// case_counts() counted the slow way: every case, by its month of opening.
std::vector<CaseCounts> counted_by_hand(Store& s, std::optional<Time> since, std::optional<Time> until, bool by_month) {
  std::map<Time, CaseCounts> months;
  CaseCounts all;
  all.from = since.value_or(Time{});
  for (const auto& c : s.list_cases(CaseFilter{})) {  // every status, no limit
    if ((since && c.created_at < *since) || (until && c.created_at >= *until)) continue;
    const date::year_month_day day{date::floor<date::days>(c.created_at)};
    for (CaseCounts* n : {&months[Time{date::sys_days{day.year() / day.month() / 1}}], &all}) {
      n->opened++;
      n->resolved += c.resolved_at ? 1 : 0;
      n->csat_count += c.csat ? 1 : 0;
      n->csat_sum += c.csat.value_or(0);
    }
  }
  if (!by_month) return {all};
  std::vector<CaseCounts> out;
  for (auto& [from, n] : months) {
    n.from = from;
    out.push_back(n);
  }
  return out;
}

void same_counts(const std::vector<CaseCounts>& a, const std::vector<CaseCounts>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].from == b[i].from);
    CHECK(a[i].opened == b[i].opened);
    CHECK(a[i].resolved == b[i].resolved);
    CHECK(a[i].csat_count == b[i].csat_count);
    CHECK(a[i].csat_sum == b[i].csat_sum);
  }
}

}  // namespace

TEST_CASE("monthly case counts follow every insert, change and deletion, and any period") {
  Store s = Store::open_memory();
  const Time jan = Time{date::sys_days{date::year{2026} / 1 / 1}};
  std::vector<Case> cases;
  // Cases across three months, two of them on a month's first and last second.
  const Time at[] = {jan,
                     jan + Seconds{86400 * 10},
                     jan + Seconds{86400 * 31} - Seconds{1},
                     jan + Seconds{86400 * 31},
                     jan + Seconds{86400 * 45},
                     jan + Seconds{86400 * 70}};
  s.write([&] {
    for (size_t i = 0; i < std::size(at); ++i) {
      Case c = make_case("case " + std::to_string(i), at[i]);
      if (i % 2) {
        c.status = Status::resolved;
        c.resolved_at = at[i] + Seconds{3600};
        c.csat = static_cast<int>(i % 5) + 1;
      }
      s.insert_case(c);
      cases.push_back(c);
    }
  });
  auto check_all = [&] {
    const std::optional<Time> bounds[] = {std::nullopt, jan, jan + Seconds{86400 * 5}, jan + Seconds{86400 * 31},
                                          jan + Seconds{86400 * 50}};
    for (const auto& since : bounds)
      for (const auto& until : bounds)
        for (bool by_month : {false, true}) {
          CAPTURE(by_month);
          same_counts(s.case_counts(since, until, by_month), counted_by_hand(s, since, until, by_month));
        }
  };
  check_all();
  // Resolved, rated, reopened, moved to another month, deleted by an import's replacement.
  cases[0].status = Status::resolved;
  cases[0].resolved_at = at[0] + Seconds{60};
  cases[0].csat = 2;
  cases[1].resolved_at.reset();
  cases[1].csat.reset();
  cases[1].status = Status::open;
  s.write([&] {
    s.update_case(cases[0]);
    s.update_case(cases[1]);
  });
  check_all();
  // An import replaces a case with a newer copy (a deletion, then an
  // insertion): here opened a month earlier, and rated.
  CaseRecord newer;
  newer.c = *s.get_case(cases[4].id);
  newer.c.created_at = at[1];
  newer.c.updated_at = at[5] + Seconds{86400};
  newer.c.csat = 5;
  s.write([&] { CHECK(s.upsert_record(newer) == Store::Upsert::replaced); });
  check_all();
  // The month every case left is no longer listed.
  newer.c = *s.get_case(cases[5].id);
  newer.c.created_at = at[0];
  newer.c.updated_at = at[5] + Seconds{86400 * 2};
  s.write([&] { CHECK(s.upsert_record(newer) == Store::Upsert::replaced); });
  check_all();
  CHECK(s.case_counts(std::nullopt, std::nullopt, true).size() == 2);
}

TEST_CASE("due reads each escalated case's newest escalation, kept on the case as it changes") {
  constexpr Seconds H{3600};
  Store s = Store::open_memory();
  Case c = make_case("Checkout fails", t0);
  Case other = make_case("Login loops", t0);
  s.write([&] {
    s.insert_case(c);
    s.insert_case(other);
  });
  auto escalated = [&] {
    std::vector<EscalatedCase> v;
    s.each_active([](const Case&) {}, [&](const EscalatedCase& e) { v.push_back(e); });
    return v;
  };
  CHECK(escalated().empty());
  Escalation x1 = make_escalation(c.id, 1, "tier2", t0 + H);
  c.status = Status::escalated;
  s.write([&] {
    s.insert_escalation(x1);
    s.update_case(c);
  });
  auto e = escalated();
  REQUIRE(e.size() == 1);
  CHECK(e[0].c.id == c.id);
  CHECK(e[0].latest.id == x1.id);
  CHECK(e[0].latest.level == 1);
  CHECK(e[0].latest.path == "tier2");
  CHECK(e[0].latest.at == t0 + H);
  CHECK_FALSE(e[0].latest.acked_at);
  CHECK_FALSE(e[0].last_client_contact);

  // A second level: now the one followed up. Acknowledging the first changes nothing here.
  Escalation x2 = make_escalation(c.id, 2, "engineering", t0 + 3 * H);
  Entry notice = make_entry(c.id, "notice", "told them", t0 + 4 * H);
  s.write([&] {
    s.insert_escalation(x2);
    s.insert_entry(notice);
  });
  x1.acked_at = t0 + 5 * H;
  s.write([&] { s.update_escalation(x1); });
  e = escalated();
  REQUIRE(e.size() == 1);
  CHECK(e[0].latest.id == x2.id);
  CHECK(e[0].latest.path == "engineering");
  CHECK_FALSE(e[0].latest.acked_at);
  CHECK(e[0].last_client_contact == t0 + 4 * H);
  x2.acked_at = t0 + 6 * H;
  s.write([&] { s.update_escalation(x2); });
  CHECK(escalated()[0].latest.acked_at == t0 + 6 * H);

  // Resolved: no longer followed up.
  c.status = Status::resolved;
  c.resolved_at = t0 + 7 * H;
  s.write([&] { s.update_case(c); });
  CHECK(escalated().empty());
}

TEST_CASE("a read sees one snapshot, whatever is written meanwhile") {
  TempDir dir;
  const auto file = dir.path / "esc.db";
  Store s = Store::open(file);
  Case first = make_case("first", t0), second = make_case("second", t0 + Seconds{60});
  s.write([&] { s.insert_case(first); });
  Store other = Store::open(file);
  auto count = [&] {
    size_t n = 0;
    s.each_case(CaseFilter{}, [&](const Case&) { ++n; });
    return n;
  };
  s.read([&] {
    CHECK(count() == 1);
    other.write([&] { other.insert_case(second); });
    CHECK(count() == 1);  // still the snapshot the read began with
  });
  CHECK(count() == 2);
  // A failure inside ends the read and goes on.
  CHECK_THROWS(s.read([] { throw std::runtime_error("stop"); }));
  CHECK(count() == 2);
}
