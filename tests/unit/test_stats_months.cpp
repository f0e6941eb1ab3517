// `esc stats` reads whole months from stats_months, kept between runs and
// computed again once one of their escalated cases changes: its figures must
// be the ones computed from the cases themselves, after any change.
#include <doctest/doctest.h>

#include <date/date.h>

#include <filesystem>

#include "esc/stats.hpp"
#include "esc/store.hpp"
#include "raw_sqlite.hpp"

using namespace esc;
namespace fs = std::filesystem;

namespace {

constexpr Seconds H{3600};
const Time jan = Time{date::sys_days{date::year{2026} / 1 / 1}};

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("esc-unit-" + new_uuid());
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

// What `esc stats` computes with stored months (as cmd_stats does it).
std::vector<StatsGroup> with_months(Store& s, std::optional<Time> since, std::optional<Time> until,
                                    const std::string& by, const Config& cfg, Time now) {
  StatsBuilder b(by, cfg, now);
  for (const auto& c : s.case_counts(since, until, by == "month")) b.add_counts(c);
  s.escalated_stats(
      since, until, [&](EscalatedMonth&& m) { b.add_escalated_month(std::move(m)); },
      [&](const StatsRow& r) { b.add_escalation(r); }, [&](const StatsRow& r) { b.add_unresolved(r); });
  return b.finish();
}

// And from every case, one by one.
std::vector<StatsGroup> from_cases(Store& s, std::optional<Time> since, std::optional<Time> until,
                                   const std::string& by, const Config& cfg, Time now) {
  std::vector<StatsRow> rows;
  s.stats(since, until, by, [&](const StatsRow& r) { rows.push_back(r); });
  return compute_stats(rows, by, cfg, now);
}

void same(const Durations& a, const Durations& b) {
  CHECK(a.count == b.count);
  CHECK(a.median == b.median);
  CHECK(a.p90 == b.p90);
}

void same(const std::vector<StatsGroup>& a, const std::vector<StatsGroup>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(a[i].group);
    CHECK(a[i].group == b[i].group);
    CHECK(a[i].opened == b[i].opened);
    CHECK(a[i].escalated == b[i].escalated);
    CHECK(a[i].resolved == b[i].resolved);
    same(a[i].to_escalate, b[i].to_escalate);
    same(a[i].to_acknowledge, b[i].to_acknowledge);
    same(a[i].to_resolve, b[i].to_resolve);
    CHECK(a[i].forced == b[i].forced);
    CHECK(a[i].updated_on_time == b[i].updated_on_time);
    CHECK(a[i].unnecessary == b[i].unnecessary);
    CHECK(a[i].csat_count == b[i].csat_count);
    CHECK(a[i].csat_sum == b[i].csat_sum);
  }
}

int64_t stored_months(const fs::path& db) { return query_int(db, "SELECT count(*) FROM stats_months"); }

}  // namespace

TEST_CASE("durations of sorted months and of single cases give the same median and p90") {
  // Months of different sizes, odd and even totals, negative durations.
  Config cfg = default_config();
  for (int total : {1, 2, 3, 10, 11, 40}) {
    CAPTURE(total);
    std::vector<StatsRow> rows;
    StatsBuilder months("", cfg, jan);
    EscalatedMonth m;
    for (int i = 0; i < total; ++i) {
      StatsRow r;
      r.created_at = jan + Seconds{(i * 7919) % 1000};
      r.facts.first_at = jan + Seconds{(i * 104729) % 1500} - Seconds{200};
      r.facts.first_acked_at = *r.facts.first_at + Seconds{i * i % 97};
      r.resolved_at = *r.facts.first_at + Seconds{(i * 31) % 50};
      r.facts.silence = Seconds{(i * 13) % 40};
      rows.push_back(r);
      m.add(r);
      if (i % 4 == 3 || i == total - 1) {  // a month of four cases
        m.finish();
        months.add_escalated_month(std::move(m));
        m = EscalatedMonth{};
      }
    }
    auto a = months.finish();
    auto b = compute_stats(rows, "", cfg, jan);
    REQUIRE(a.size() == 1);
    same(a[0].to_escalate, b[0].to_escalate);
    same(a[0].to_acknowledge, b[0].to_acknowledge);
    same(a[0].to_resolve, b[0].to_resolve);
    CHECK(a[0].updated_on_time == b[0].updated_on_time);
  }
}

TEST_CASE("stats from stored months equal stats from the cases, through every change") {
  TempDir dir;
  const auto file = dir.path / "esc.db";
  Store s = Store::open(file);
  Config cfg = default_config();
  cfg.client_update_every = 24 * H;

  // Three months of cases, a third of them escalated; some acknowledged,
  // resolved, forced, told on time or not.
  std::vector<Case> cases;
  std::vector<Escalation> escalations;
  s.write([&] {
    for (int i = 0; i < 45; ++i) {
      Case c;
      c.uuid = new_uuid();
      c.title = "case " + std::to_string(i);
      c.severity = "high";
      c.created_at = c.updated_at = jan + Seconds{86400 * 2 * i + 3600 * (i % 7)};
      s.insert_case(c);
      if (i % 3 == 0) {
        Escalation x;
        x.uuid = new_uuid();
        x.case_id = c.id;
        x.level = 1;
        x.path = "tier2";
        x.at = c.created_at + Seconds{600 * (i + 1)};
        x.subject = "s";
        x.snapshot = "{}";
        x.forced = i % 2 == 0;
        if (i % 5) x.acked_at = x.at + Seconds{60 * i};
        s.insert_escalation(x);
        escalations.push_back(x);
        Entry e;
        e.uuid = new_uuid();
        e.case_id = c.id;
        e.kind = "update";
        e.text = "still on it";
        e.author = "dana";
        e.at = x.at + Seconds{3600 * (i % 40)};
        s.insert_entry(e);
        if (i % 4) {
          c.status = Status::resolved;
          c.resolved_at = e.at + Seconds{3600 * (i % 30)};
          c.csat = i % 5 + 1;
          c.unnecessary = i % 7 == 0;
          s.update_case(c);
        } else {
          c.status = Status::escalated;
          s.update_case(c);
        }
      }
      cases.push_back(*s.get_case(c.id));
    }
  });

  const Time now = jan + Seconds{86400 * 95};
  auto check_all = [&] {
    const std::optional<Time> bounds[] = {std::nullopt, jan + Seconds{86400 * 5}, jan + Seconds{86400 * 31},
                                          jan + Seconds{86400 * 70}};
    for (const auto& since : bounds)
      for (const auto& until : bounds)
        for (const char* by : {"", "month"})
          for (Time at : {now, now + 30 * H}) {  // unresolved cases' silence grows
            CAPTURE(by);
            same(with_months(s, since, until, by, cfg, at), from_cases(s, since, until, by, cfg, at));
          }
  };
  check_all();
  // Every whole month with cases is stored after one run.
  CHECK(stored_months(file) == 3);
  // And read: a stored month's figures are the ones reported.
  exec_sql(file,
           "UPDATE stats_months SET escalated = escalated + 100 WHERE month = (SELECT min(month) FROM stats_months)");
  CHECK(with_months(s, std::nullopt, std::nullopt, "", cfg, now)[0].escalated ==
        from_cases(s, std::nullopt, std::nullopt, "", cfg, now)[0].escalated + 100);
  exec_sql(file, "DELETE FROM stats_months");
  check_all();
  REQUIRE(stored_months(file) == 3);

  // An acknowledgement, a resolution, a reopening, an unnecessary mark: each
  // takes its month out, and the next run stores it again.
  Escalation& x = escalations[1];
  x.acked_at = x.at + Seconds{5};
  s.write([&] { s.update_escalation(x); });
  CHECK(stored_months(file) == 2);
  check_all();
  CHECK(stored_months(file) == 3);
  Case& open = cases[0];
  REQUIRE_FALSE(open.resolved_at);
  open.status = Status::resolved;
  open.resolved_at = now - H;
  Case& resolved = cases[3];
  REQUIRE(resolved.resolved_at);
  resolved.status = Status::open;
  resolved.resolved_at.reset();
  Case& marked = cases[30];
  marked.unnecessary = !marked.unnecessary;
  s.write([&] {
    s.update_case(open);
    s.update_case(resolved);
    s.update_case(marked);
  });
  CHECK(stored_months(file) == 1);  // January's and March's went
  check_all();
  // A contact with the client of an unresolved case is read at once.
  Entry e;
  e.uuid = new_uuid();
  e.case_id = cases[12].id;
  e.kind = "contact";
  e.text = "called";
  e.author = "dana";
  e.at = now - 2 * H;
  s.write([&] { s.insert_entry(e); });
  check_all();
  // A change that concerns no escalated case keeps the months.
  const int64_t kept = stored_months(file);
  Case quiet = cases[1];
  quiet.title = "renamed";
  quiet.updated_at = now;
  s.write([&] { s.update_case(quiet); });
  CHECK(stored_months(file) == kept);
  // An import replaces an escalated case with a newer copy opened a month
  // later: both months are computed again.
  CaseRecord newer;
  newer.c = *s.get_case(cases[6].id);
  newer.c.created_at += Seconds{86400 * 31};
  newer.c.updated_at = now;
  newer.escalations = {escalations[2]};
  newer.escalations[0].at = newer.c.created_at + H;
  s.write([&] { CHECK(s.upsert_record(newer) == Store::Upsert::replaced); });
  check_all();
}
