#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>

#include "esc/app.hpp"
#include "esc/due.hpp"
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

ActiveCase open_case(std::int64_t id, const std::string& sev, Time created) {
  ActiveCase c;
  c.id = id;
  c.title = "case " + std::to_string(id);
  c.severity = sev;
  c.created_at = created;
  return c;
}

ActiveCase escalated(std::int64_t id, const std::string& path, Time at, int delivered = 1) {
  ActiveCase c = open_case(id, "high", at - H);
  c.status = Status::escalated;
  Escalation& x = c.latest.emplace();
  x.id = id;
  x.level = 1;
  x.path = path;
  x.at = at;
  c.delivered = delivered;
  c.last_client_contact = at;
  return c;
}

std::vector<DueItem> due_of(const Config& cfg, const std::vector<ActiveCase>& cases, Time now) {
  DueList due(cfg, now);
  for (const auto& c : cases) due.add(c);
  return due.finish();
}

}  // namespace

TEST_CASE("due: a deadline is due from the moment it is reached") {
  auto cfg = followup_config();
  std::vector<ActiveCase> open{open_case(1, "high", t0), open_case(2, "low", t0)};
  CHECK(due_of(cfg, open, t0 + 4 * H - Seconds{1}).empty());
  auto at = due_of(cfg, open, t0 + 4 * H);
  REQUIRE(at.size() == 1);  // low has no deadline
  CHECK(at[0].kind == DueKind::escalate);
  CHECK(at[0].case_id == 1);
  CHECK(at[0].overdue == Seconds{0});
  CHECK(due_of(cfg, open, t0 + 5 * H)[0].overdue == H);
}

TEST_CASE("due: unacknowledged escalations name the next path; silent clients are flagged") {
  auto cfg = followup_config();
  ActiveCase e = escalated(3, "tier2", t0 + H);
  CHECK(due_of(cfg, {e}, t0 + 5 * H - Seconds{1}).empty());
  auto items = due_of(cfg, {e}, t0 + 5 * H);
  REQUIRE(items.size() == 1);
  CHECK(items[0].kind == DueKind::acknowledge);
  CHECK(items[0].suggestion == "esc send 3 --to engineering");
  e.latest->acked_at = t0 + 2 * H;
  CHECK(due_of(cfg, {e}, t0 + 25 * H - Seconds{1}).empty());
  items = due_of(cfg, {e}, t0 + 25 * H);
  REQUIRE(items.size() == 1);
  CHECK(items[0].kind == DueKind::client_update);
}

TEST_CASE("due: an escalation nothing reached is not waited on; it says so") {
  auto cfg = followup_config();
  ActiveCase e = escalated(4, "tier2", t0, 0);
  e.lost = 2;  // every delivery failed or was dropped
  auto items = due_of(cfg, {e}, t0 + 5 * H);
  REQUIRE(items.size() == 1);
  CHECK(items[0].kind == DueKind::unreached);
  CHECK(items[0].message.find("nothing reached tier2") != std::string::npos);
  e.queued = 1;  // one still on its way: the outbox says so, nothing else yet
  CHECK(due_of(cfg, {e}, t0 + 5 * H).empty());
}

TEST_CASE("due: replies and a resolution found by sync come first, and a snoozed case not at all") {
  auto cfg = followup_config();
  ActiveCase e = escalated(5, "engineering", t0);
  e.new_replies = 2;
  e.replied_from = "engineering";  // the path whose ticket or mailbox answered
  auto items = due_of(cfg, {e}, t0 + H);
  REQUIRE(items.size() == 1);
  CHECK(items[0].kind == DueKind::reply);
  CHECK(items[0].message == "engineering replied (2 new)");
  e.resolved_upstream = true;
  items = due_of(cfg, {e}, t0 + H);
  REQUIRE(items.size() == 1);
  CHECK(items[0].kind == DueKind::resolved_upstream);
  CHECK(items[0].message == "resolved upstream by engineering: confirm with the client and resolve");
  e.snoozed_until = t0 + 2 * H;
  CHECK(due_of(cfg, {e}, t0 + H).empty());
  CHECK_FALSE(due_of(cfg, {e}, t0 + 2 * H).empty());
}

TEST_CASE("due: most severe first, then most overdue, whatever order the cases come in") {
  auto cfg = followup_config();
  std::vector<ActiveCase> cases{open_case(1, "high", t0), open_case(2, "critical", t0 + 10 * H),
                                open_case(3, "high", t0 + H)};
  auto ids = [&](std::vector<ActiveCase> v) {
    std::vector<std::int64_t> out;
    for (const auto& i : due_of(cfg, v, t0 + 12 * H)) out.push_back(i.case_id);
    return out;
  };
  CHECK(ids(cases) == std::vector<std::int64_t>{2, 1, 3});
  std::reverse(cases.begin(), cases.end());
  CHECK(ids(cases) == std::vector<std::int64_t>{2, 1, 3});
}

TEST_CASE("back-off doubles from retry_base up to retry_max") {
  Config cfg = default_config();
  cfg.retry_base = Seconds{60};
  cfg.retry_max = Seconds{600};
  CHECK(app::backoff(cfg, 1) == Seconds{60});
  CHECK(app::backoff(cfg, 2) == Seconds{120});
  CHECK(app::backoff(cfg, 4) == Seconds{480});
  CHECK(app::backoff(cfg, 5) == Seconds{600});
  CHECK(app::backoff(cfg, 50) == Seconds{600});
}

TEST_CASE("durations: median and nearest-rank p90") {
  auto d = durations({10, 40, 20, 30});
  CHECK(d.count == 4);
  CHECK(d.median == Seconds{25});
  CHECK(d.p90 == Seconds{40});
  std::vector<std::int32_t> ten;
  for (int i = 1; i <= 10; ++i) ten.push_back(i);
  CHECK(durations(ten).p90 == Seconds{9});
  CHECK_FALSE(durations({}).median);
}

namespace {

StatsCase stats_case(std::int64_t id, const char* severity, Time created) {
  StatsCase c;
  c.id = id;
  c.severity = severity;
  c.created_at = created;
  return c;
}

std::vector<StatsGroup> stats_of(const std::vector<StatsCase>& cases, StatsBy by, const Config& cfg, Time now) {
  StatsBuilder b(by, cfg, now);
  for (const auto& c : cases) b.add(c);
  return b.finish();
}

}  // namespace

TEST_CASE("stats on a hand-computed data set") {
  Config cfg = default_config();
  cfg.client_update_every = 24 * H;
  const Time now = t0 + 100 * H;
  // 1: escalated after 1h, acknowledged 1h later; escalated again to
  //    engineering at 3h, acknowledged 30m later; resolved 10h after the
  //    first escalation, CSAT 4, the client kept informed.
  StatsCase c1 = stats_case(1, "high", t0);
  c1.resolved_at = t0 + 11 * H;
  c1.csat = 4;
  c1.escalations = {{1, "tier2", t0 + H, t0 + 2 * H, false}, {2, "engineering", t0 + 3 * H, t0 + 3 * H + H / 2, false}};
  c1.contacts = {t0 + H, t0 + 10 * H};
  // 2: escalated after 3h, forced, unnecessary, resolved 2h after, CSAT 2.
  StatsCase c2 = stats_case(2, "high", t0);
  c2.resolved_at = t0 + 5 * H;
  c2.csat = 2;
  c2.unnecessary = true;
  c2.escalations = {{1, "tier2", t0 + 3 * H, std::nullopt, true}};
  c2.contacts = {t0 + 3 * H};
  // 3: escalated after 5h, never acknowledged, still open at +100h, the
  //    client last heard at the escalation: not kept informed.
  StatsCase c3 = stats_case(3, "low", t0);
  c3.escalations = {{1, "tier2", t0 + 5 * H, std::nullopt, false}};
  c3.contacts = {t0 + 5 * H};
  // 4: never escalated, resolved.
  StatsCase c4 = stats_case(4, "low", t0);
  c4.resolved_at = t0 + H;
  const std::vector<StatsCase> cases{c1, c2, c3, c4};

  auto all = stats_of(cases, StatsBy::none, cfg, now);
  REQUIRE(all.size() == 1);
  const auto& g = all[0];
  CHECK(g.opened == 4);
  CHECK(g.escalated == 3);
  CHECK(g.resolved == 3);
  CHECK(*g.escalation_rate() == doctest::Approx(0.75));
  CHECK(g.to_escalate.median == 3 * H);
  CHECK(g.to_escalate.p90 == 5 * H);
  // Every acknowledged escalation counts, at any level.
  CHECK(g.to_acknowledge.count == 2);
  CHECK(g.to_acknowledge.median == (H + H / 2) / 2);
  CHECK(g.to_resolve.median == 6 * H);  // mean of 2h and 10h
  CHECK(*g.forced_share() == doctest::Approx(1.0 / 3));
  CHECK(*g.unnecessary_share() == doctest::Approx(1.0 / 3));
  CHECK(*g.update_compliance() == doctest::Approx(2.0 / 3));
  CHECK(*g.csat_mean() == doctest::Approx(3.0));

  auto by_sev = stats_of(cases, StatsBy::severity, cfg, now);
  REQUIRE(by_sev.size() == 2);
  CHECK(by_sev[0].group == "high");
  CHECK(by_sev[1].group == "low");
  CHECK(by_sev[1].opened == 2);
  CHECK(by_sev[1].escalated == 1);

  // By path: a case counts in each path it went to, with that path's
  // acknowledgements.
  auto by_path = stats_of(cases, StatsBy::path, cfg, now);
  REQUIRE(by_path.size() == 3);
  CHECK(by_path[0].group == "(not escalated)");
  CHECK(by_path[1].group == "engineering");
  CHECK(by_path[1].escalated == 1);
  CHECK(by_path[1].to_acknowledge.median == H / 2);
  CHECK(by_path[2].group == "tier2");
  CHECK(by_path[2].escalated == 3);
  CHECK(by_path[2].to_acknowledge.count == 1);
}

TEST_CASE("stats by month group by the month the case opened in, in the local zone") {
  Config cfg = default_config();
  const char* tz = std::getenv("TZ");
  const std::string saved = tz ? tz : "";
  setenv("TZ", "America/New_York", 1);
  tzset();
  // 2026-12-01T02:00Z is still 30 November in New York.
  auto groups = stats_of({stats_case(1, "high", *parse_rfc3339("2026-12-01T02:00:00Z"))}, StatsBy::month, cfg, t0);
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].group == "2026-11");
  setenv("TZ", "Asia/Kolkata", 1);
  tzset();
  groups = stats_of({stats_case(1, "high", *parse_rfc3339("2026-11-30T20:00:00Z"))}, StatsBy::month, cfg, t0);
  CHECK(groups.at(0).group == "2026-12");
  if (tz)
    setenv("TZ", saved.c_str(), 1);
  else
    unsetenv("TZ");
  tzset();
}

TEST_CASE("stats on an empty log: no division by zero") {
  auto all = stats_of({}, StatsBy::none, default_config(), t0);
  REQUIRE(all.size() == 1);
  CHECK(all[0].opened == 0);
  CHECK_FALSE(all[0].escalation_rate());
  CHECK_FALSE(all[0].csat_mean());
  CHECK_FALSE(all[0].to_escalate.median);
  CHECK(stats_of({}, StatsBy::month, default_config(), t0).empty());
}

TEST_CASE("longest silence: the notice starts the clock, every contact restarts it") {
  const Time start = t0 + 10 * H;
  CHECK(longest_silence(start, start + 5 * H, {}) == 5 * H);
  CHECK(longest_silence(start, start + 5 * H, {t0 + 8 * H}) == 7 * H);  // from the notice before
  CHECK(longest_silence(start, start + 30 * H, {start + 20 * H, start + 25 * H}) == 20 * H);
  CHECK(longest_silence(start, start + 30 * H, {start + 2 * H, start + 29 * H}) == 27 * H);
  CHECK(longest_silence(start, start + 3 * H, {start + 40 * H}) == 3 * H);  // after the end: ignored
}
