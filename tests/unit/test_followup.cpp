#include <doctest/doctest.h>

#include "esc/due.hpp"
#include "esc/outbox.hpp"
#include "esc/stats.hpp"

using namespace esc;

namespace {

const Time t0 = *parse_rfc3339("2026-11-01T00:00:00Z");
constexpr Seconds H{3600};

Config followup_config() {
  Config cfg = default_config();
  cfg.deadlines = {{"critical", H}, {"high", 4 * H}};
  cfg.paths = {PathConfig{"tier2", {"stdout"}, 4 * H, "engineering", false},
               PathConfig{"engineering", {"stdout"}, std::nullopt, "", false}};
  cfg.client_update_every = 24 * H;
  return cfg;
}

Case make(std::int64_t id, const std::string& sev, Time created, Status st = Status::open) {
  Case c;
  c.id = id;
  c.title = "case " + std::to_string(id);
  c.severity = sev;
  c.status = st;
  c.created_at = c.updated_at = created;
  return c;
}

}  // namespace

TEST_CASE("due: a deadline is due from the moment it is reached") {
  auto cfg = followup_config();
  std::vector<Case> open{make(1, "high", t0), make(2, "low", t0)};
  CHECK(compute_due(cfg, open, {}, {}, t0 + 4 * H - Seconds{1}).empty());
  auto at = compute_due(cfg, open, {}, {}, t0 + 4 * H);
  REQUIRE(at.size() == 1);  // low has no deadline
  CHECK(at[0].kind == "escalate");
  CHECK(at[0].case_id == 1);
  CHECK(at[0].overdue == Seconds{0});
  CHECK(compute_due(cfg, open, {}, {}, t0 + 5 * H)[0].overdue == H);
}

TEST_CASE("due: unacknowledged escalations name the next path; silent clients are flagged") {
  auto cfg = followup_config();
  EscalatedCase e;
  e.c = make(3, "high", t0, Status::escalated);
  e.latest.level = 1;
  e.latest.path = "tier2";
  e.latest.at = t0 + H;
  e.last_client_contact = t0 + H;
  CHECK(compute_due(cfg, {}, {e}, {}, t0 + 5 * H - Seconds{1}).empty());
  auto items = compute_due(cfg, {}, {e}, {}, t0 + 5 * H);
  REQUIRE(items.size() == 1);
  CHECK(items[0].kind == "acknowledge");
  CHECK(items[0].suggestion == "esc send 3 --to engineering");
  e.latest.acked_at = t0 + 2 * H;
  CHECK(compute_due(cfg, {}, {e}, {}, t0 + 25 * H - Seconds{1}).empty());
  items = compute_due(cfg, {}, {e}, {}, t0 + 25 * H);
  REQUIRE(items.size() == 1);
  CHECK(items[0].kind == "client-update");
}

TEST_CASE("due: most severe first, then most overdue") {
  auto cfg = followup_config();
  std::vector<Case> open{make(1, "high", t0), make(2, "critical", t0 + 10 * H), make(3, "high", t0 + H)};
  auto items = compute_due(cfg, open, {}, {}, t0 + 12 * H);
  REQUIRE(items.size() == 3);
  CHECK(items[0].case_id == 2);
  CHECK(items[1].case_id == 1);
  CHECK(items[2].case_id == 3);
}

TEST_CASE("due: the same list whatever order the cases come in") {
  auto cfg = followup_config();
  // Cases 4 and 5 are as overdue as each other; case 6 is escalated, its
  // acknowledgement as overdue as their deadlines.
  const Case a = make(5, "high", t0), b = make(4, "high", t0);
  EscalatedCase e;
  e.c = make(6, "high", t0, Status::escalated);
  e.latest.level = 1;
  e.latest.path = "tier2";
  e.latest.at = t0;
  e.last_client_contact = t0 + 20 * H;
  auto order = [&](bool reversed) {
    DueList due(cfg, t0 + 10 * H);
    if (reversed) {
      due.add_escalated(e);
      due.add_open(a);
      due.add_open(b);
    } else {
      due.add_open(b);
      due.add_open(a);
      due.add_escalated(e);
    }
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& i : due.finish()) out.emplace_back(i.kind, i.case_id);
    return out;
  };
  const std::vector<std::pair<std::string, std::int64_t>> expected{
      {"escalate", 4}, {"escalate", 5}, {"acknowledge", 6}};
  CHECK(order(false) == expected);
  CHECK(order(true) == expected);
}

TEST_CASE("back-off doubles from retry_base up to retry_max") {
  Config cfg = default_config();
  cfg.retry_base = Seconds{60};
  cfg.retry_max = Seconds{600};
  CHECK(backoff(cfg, 1) == Seconds{60});
  CHECK(backoff(cfg, 2) == Seconds{120});
  CHECK(backoff(cfg, 4) == Seconds{480});
  CHECK(backoff(cfg, 5) == Seconds{600});
  CHECK(backoff(cfg, 50) == Seconds{600});
}

TEST_CASE("durations: median and nearest-rank p90") {
  auto d = durations({Seconds{10}, Seconds{40}, Seconds{20}, Seconds{30}});
  CHECK(d.count == 4);
  CHECK(d.median == Seconds{25});
  CHECK(d.p90 == Seconds{40});
  std::vector<Seconds> ten;
  for (int i = 1; i <= 10; ++i) ten.push_back(Seconds{i});
  CHECK(durations(ten).p90 == Seconds{9});
  CHECK_FALSE(durations({}).median);
}

TEST_CASE("stats on a hand-computed data set") {
  Config cfg = default_config();
  cfg.client_update_every = 24 * H;
  const Time now = t0 + 100 * H;
  std::vector<StatsRow> rows(4);
  auto row = [&](int i, const char* severity) -> StatsRow& {
    rows[i].id = i + 1;
    rows[i].severity = severity;
    rows[i].created_at = t0;
    return rows[i];
  };
  // 1: escalated after 1h, acked 1h later, resolved 10h after escalation, CSAT 4, kept informed.
  Case c1 = make(1, "high", t0);
  c1.resolved_at = t0 + 11 * H;
  Escalation x1;
  x1.at = t0 + H;
  x1.acked_at = t0 + 2 * H;
  auto& r1 = row(0, "high");
  r1.resolved_at = c1.resolved_at;
  r1.csat = 4;
  r1.facts = escalation_facts(c1, {x1}, {t0 + H, t0 + 10 * H});
  CHECK(r1.facts.silence == 9 * H);  // from the last word to the resolution
  // 2: escalated after 3h, forced, unnecessary, resolved 2h after, CSAT 2, informed.
  Case c2 = make(2, "high", t0);
  c2.resolved_at = t0 + 5 * H;
  Escalation x2;
  x2.at = t0 + 3 * H;
  x2.forced = true;
  auto& r2 = row(1, "high");
  r2.resolved_at = c2.resolved_at;
  r2.csat = 2;
  r2.unnecessary = true;
  r2.facts = escalation_facts(c2, {x2}, {t0 + 3 * H});
  // 3: escalated after 5h, never acked, still open at +100h, last contact at escalation: not informed.
  auto& r3 = row(2, "low");
  Escalation x3;
  x3.at = t0 + 5 * H;
  r3.facts = escalation_facts(make(3, "low", t0), {x3}, {t0 + 5 * H});
  CHECK(r3.facts.silence == Seconds{0});  // not resolved: up to the last contact, the rest measured against now
  CHECK(silence_by(r3.facts, now) == now - (t0 + 5 * H));
  // 4: never escalated, resolved.
  row(3, "low").resolved_at = t0 + H;

  auto all = compute_stats(rows, "", cfg, now);
  REQUIRE(all.size() == 1);
  const auto& g = all[0];
  CHECK(g.opened == 4);
  CHECK(g.escalated == 3);
  CHECK(g.resolved == 3);
  CHECK(*g.escalation_rate() == doctest::Approx(0.75));
  CHECK(g.to_escalate.median == 3 * H);
  CHECK(g.to_escalate.p90 == 5 * H);
  CHECK(g.to_acknowledge.count == 1);
  CHECK(g.to_acknowledge.median == H);
  CHECK(g.to_resolve.median == 6 * H);  // mean of 2h and 10h
  CHECK(*g.forced_share() == doctest::Approx(1.0 / 3));
  CHECK(*g.unnecessary_share() == doctest::Approx(1.0 / 3));
  CHECK(*g.update_compliance() == doctest::Approx(2.0 / 3));
  CHECK(*g.csat_mean() == doctest::Approx(3.0));

  auto by_sev = compute_stats(rows, "severity", cfg, now);
  REQUIRE(by_sev.size() == 2);
  CHECK(by_sev[0].group == "high");
  CHECK(by_sev[1].group == "low");
  CHECK(by_sev[1].opened == 2);
  CHECK(by_sev[1].escalated == 1);
}

TEST_CASE("stats on an empty log: no division by zero") {
  auto all = compute_stats({}, "", default_config(), t0);
  REQUIRE(all.size() == 1);
  CHECK(all[0].opened == 0);
  CHECK_FALSE(all[0].escalation_rate());
  CHECK_FALSE(all[0].csat_mean());
  CHECK_FALSE(all[0].to_escalate.median);
  CHECK(compute_stats({}, "month", default_config(), t0).empty());
}

TEST_CASE("longest silence: the notice starts the clock, every contact restarts it") {
  const Time start = t0 + 10 * H;
  CHECK(longest_silence(start, start + 5 * H, {}) == 5 * H);
  CHECK(longest_silence(start, start + 5 * H, {t0 + 8 * H}) == 7 * H);  // from the notice before
  CHECK(longest_silence(start, start + 30 * H, {start + 20 * H, start + 25 * H}) == 20 * H);
  CHECK(longest_silence(start, start + 30 * H, {start + 2 * H, start + 29 * H}) == 27 * H);
  CHECK(longest_silence(start, start + 3 * H, {start + 40 * H}) == 3 * H);  // after the end: ignored

  Escalation a, b;
  a.id = 2, a.level = 1, a.path = "tier2", a.at = start + H, a.acked_at = start + 2 * H;
  b.id = 1, b.level = 2, b.path = "engineering", b.at = start, b.forced = true;
  Case c = make(1, "high", t0);
  auto f = escalation_facts(c, {b, a}, {});
  CHECK(f.first_at == start);      // the earliest time
  CHECK(f.first_path == "tier2");  // the lowest level
  CHECK(f.first_acked_at == start + 2 * H);
  CHECK(f.forced);                 // any of them
  CHECK(f.silence == Seconds{0});  // not resolved, no contact yet: all of it still to come
  CHECK(silence_by(f, start + 7 * H) == 7 * H);
  f = escalation_facts(c, {a, b}, {start + 2 * H, start + 5 * H});
  CHECK(f.silence == 3 * H);  // up to the last contact
  CHECK(silence_by(f, start + 6 * H) == 3 * H);
  CHECK(silence_by(f, start + 9 * H) == 4 * H);
  c.resolved_at = start + 10 * H;
  CHECK(escalation_facts(c, {a, b}, {start + 4 * H}).silence == 6 * H);
  CHECK_FALSE(escalation_facts(c, {}, {start}).first_at);
}
