#include <doctest/doctest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <sys/stat.h>
#include <filesystem>
#include <fstream>

#include "esc/error.hpp"
#include "esc/store.hpp"

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

TEST_CASE("database files are private; a newer schema is refused untouched") {
  TempDir dir;
  auto db = dir.path / "sub" / "esc.db";
  { Store s = Store::open(db); }
  struct stat st {};
  REQUIRE(::stat(db.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(db.parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
  REQUIRE(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(raw);
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
