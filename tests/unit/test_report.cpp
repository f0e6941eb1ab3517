#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <map>
#include <regex>

#include "esc/chart.hpp"
#include "esc/report.hpp"
#include "esc/text.hpp"

using namespace esc;

namespace {

constexpr Seconds H{3600};

// Months are local: these tests read them in UTC.
struct Utc {
  std::string saved;
  bool had = false;
  Utc() {
    if (const char* tz = std::getenv("TZ")) saved = tz, had = true;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  ~Utc() {
    if (had)
      setenv("TZ", saved.c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }
};

Time at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

StatsGroup group(const char* name, int opened, int escalated) {
  StatsGroup g;
  g.group = name;
  g.opened = opened;
  g.escalated = escalated;
  return g;
}

// The bars of one SVG chart: its <rect class="bar ..."> in order, with
// their attributes and the text of their <title>.
struct Bar {
  std::string cls;
  double x = 0, y = 0, width = 0, height = 0;
  std::string value, title;
};

std::vector<Bar> bars(const std::string& svg) {
  static const std::regex rect(
      R"re(<rect class="bar ([^"]*)" x="([^"]*)" y="([^"]*)" width="([^"]*)" height="([^"]*)" data-value="([^"]*)"><title>([^<]*)</title></rect>)re");
  std::vector<Bar> out;
  for (std::sregex_iterator it(svg.begin(), svg.end(), rect), end; it != end; ++it) {
    const auto& m = *it;
    out.push_back({m[1], std::stod(m[2]), std::stod(m[3]), std::stod(m[4]), std::stod(m[5]), m[6], m[7]});
  }
  return out;
}

const ChartSpec& spec(const std::string& id) {
  static const auto specs = report_charts();
  for (const auto& s : specs)
    if (s.id == id) return s;
  FAIL("no chart " << id);
  return specs.front();
}

}  // namespace

TEST_CASE("axes hold the largest value in two to five round steps") {
  Axis a = axis_for(7, Unit::count);
  CHECK(a.step == 2);
  CHECK(a.top == 8);
  CHECK(a.ticks() == std::vector<double>{0, 2, 4, 6, 8});
  CHECK(a.label == "cases");
  // No value at all: an axis of one case, not a division by zero.
  CHECK(axis_for(0, Unit::count).top == 1);

  a = axis_for(0.37, Unit::share);  // 37%: steps of 10%
  CHECK(a.top == doctest::Approx(0.4));
  CHECK(a.tick_text(a.ticks()[1]) == "10%");
  CHECK(a.tick_text(a.top) == "40%");
  CHECK(axis_for(0.96, Unit::share).top == doctest::Approx(1.0));  // never past 100%
  CHECK(axis_for(0, Unit::share).top == doctest::Approx(1.0));     // nothing but zeros: the whole scale

  a = axis_for(9000, Unit::duration);  // 2.5 hours: an axis in hours, to 3
  CHECK(a.label == "hours");
  CHECK(a.per == 3600);
  CHECK(a.top == 3 * 3600);
  CHECK(a.tick_text(3600) == "1");
  CHECK(axis_for(10 * 86400, Unit::duration).label == "days");
  CHECK(axis_for(1800, Unit::duration).label == "minutes");

  a = axis_for(4.2, Unit::score);
  CHECK(a.top == 5);
  CHECK(a.ticks().size() == 6);
}

TEST_CASE("the metrics read what esc stats prints") {
  StatsGroup g = group("2026-11", 8, 3);
  g.forced = 1;
  g.csat_count = 3;
  g.csat_sum = 13;
  g.to_escalate = durations({3600, 7200, 10800});
  CHECK(find_metric("rate")->exact(g) == "37.5% (3 of 8 cases)");
  CHECK(short_value(find_metric("rate")->value(g), Unit::share) == "38%");
  CHECK(find_metric("forced")->exact(g) == "33.3% (1 of 3 escalated)");
  CHECK(find_metric("tte")->exact(g) == "2h (7200 s, 3 escalated)");
  CHECK(find_metric("tte-p90")->exact(g) == "3h (10800 s, 3 escalated)");
  CHECK(find_metric("tta")->exact(g) == "n/a (none acknowledged)");
  CHECK(find_metric("csat")->exact(g) == "4.33 (3 ratings)");
  CHECK(short_value(find_metric("csat")->value(g), Unit::score) == "4.3");
  CHECK_FALSE(find_metric("rate")->value(group("empty", 0, 0)));
  CHECK(find_metric("weather") == nullptr);
  CHECK(metric_names().starts_with("cases, escalations, resolved, rate, tte"));
}

TEST_CASE("sparks and terminal bars") {
  CHECK(spark(0, 8, true) == "▁");
  CHECK(spark(8, 8, true) == "█");
  CHECK(spark(4, 8, true) == "▅");  // 4/8 of 7 steps rounds to the fifth glyph
  CHECK(spark(std::nullopt, 8, true) == " ");
  CHECK(spark(8, 8, false) == "#");
  CHECK(spark(0, 0, false) == "_");

  const auto lines = bar_chart({"2026-09", "2026-10", "2026-11"}, {4.0, 0.0, 8.0}, {"4", "0", "8"}, 40, true);
  REQUIRE(lines.size() == 3);
  // 7 columns of label, 2 spaces, 28 of bar, 2 spaces, 1 of value: 40.
  for (const auto& l : lines) CHECK(display_width(l) == 40);
  std::string full;
  for (int i = 0; i < 28; ++i) full += "█";
  CHECK(lines[2] == "2026-11  " + full + "  8");
  CHECK(lines[0] == "2026-09  " + full.substr(0, 14 * 3) + std::string(14, ' ') + "  4");
  CHECK(lines[1] == "2026-10  " + std::string(28, ' ') + "  0");
  // ASCII: 34 columns of bar; a quarter of them is 8.5, rounded to 9.
  const auto ascii = bar_chart({"a", "b"}, {1.0, 4.0}, {"1", "4"}, 40, false);
  CHECK(ascii[1] == "b  " + std::string(34, '#') + "  4");
  CHECK(ascii[0] == "a  " + std::string(9, '#') + std::string(25, ' ') + "  1");
  // Narrow: the labels give way to the bars' ten columns.
  const auto narrow =
      bar_chart({"unresolved-after-intervention", "(none)"}, {49260.0, std::nullopt}, {"13h 41m", "n/a"}, 30, true);
  CHECK(display_width(narrow[0]) == 30);
  CHECK(narrow[0].starts_with("unresolv…  ██████████  13h 41m"));
  CHECK(narrow[1] == "(none)     " + std::string(10, ' ') + "      n/a");
  // A value above zero always shows.
  CHECK(bar_chart({"a", "b"}, {1.0, 1000.0}, {"1", "1000"}, 40, true)[0].find("▏") != std::string::npos);
}

TEST_CASE("every month of the period is a group, the empty ones zero") {
  Utc utc;
  CHECK(month_range("2025-11", "2026-02") == std::vector<std::string>{"2025-11", "2025-12", "2026-01", "2026-02"});
  CHECK(month_range("2026-02", "2026-01").empty());
  CHECK(month_range("garbage", "2026-01").empty());

  const Time now = at("2026-11-20T09:00:00Z");
  auto names = [](const std::vector<StatsGroup>& gs) {
    std::vector<std::string> out;
    for (const auto& g : gs) out.push_back(g.group);
    return out;
  };
  // Without since: from the first month with a case to now's.
  auto gs = every_month({group("2026-08", 2, 1), group("2026-10", 1, 0)}, std::nullopt, std::nullopt, now);
  CHECK(names(gs) == std::vector<std::string>{"2026-08", "2026-09", "2026-10", "2026-11"});
  CHECK(gs[1].opened == 0);
  CHECK(gs[0].opened == 2);
  // until is not in the period: up to the month before 2026-10-01.
  gs = every_month({}, at("2026-07-15T00:00:00Z"), at("2026-10-01T00:00:00Z"), now);
  CHECK(names(gs) == std::vector<std::string>{"2026-07", "2026-08", "2026-09"});
  CHECK(every_month({}, std::nullopt, std::nullopt, now).empty());
}

TEST_CASE("a chart has a bar per group and series, scaled to its axis, with exact values") {
  // Three months: 4 cases (2 escalated), none, 8 cases (6 escalated).
  std::vector<StatsGroup> groups{group("2026-09", 4, 2), group("2026-10", 0, 0), group("2026-11", 8, 6)};
  const std::string svg = svg_chart(spec("chart-cases"), groups, StatsBy::month);
  CHECK(svg.starts_with("<figure class=\"chart\" id=\"chart-cases\"><figcaption>Cases opened and escalated per month"));
  CHECK(svg.find("role=\"img\"") != std::string::npos);
  CHECK(svg.find("<title id=\"chart-cases-t\">Cases opened and escalated per month</title>") != std::string::npos);
  CHECK(svg.find("class=\"axis x\"") != std::string::npos);
  CHECK(svg.find("class=\"axis y\"") != std::string::npos);
  CHECK(svg.find(">cases</text>") != std::string::npos);  // the value axis's title
  CHECK(svg.find(">month</text>") != std::string::npos);
  CHECK(svg.find(">Sep</text>") != std::string::npos);
  CHECK(svg.find(">2026</text>") != std::string::npos);

  // The axis goes to 8 in steps of 2; the plot is 176 units high, from y 28
  // to 204, and 420 wide from x 52: a slot of 140 a month, bars 40 wide.
  const auto b = bars(svg);
  REQUIRE(b.size() == 6);
  CHECK(b[0].cls == "s0");
  CHECK(b[0].value == "4");
  CHECK(b[0].height == 88);
  CHECK(b[0].y == 116);
  CHECK(b[0].x == 82);
  CHECK(b[0].width == 40);
  CHECK(b[0].title == "2026-09 · opened: 4");
  CHECK(b[1].value == "0");
  CHECK(b[1].height == 0);
  CHECK(b[2].height == 176);
  CHECK(b[2].x == 362);
  CHECK(b[3].cls == "s1");
  CHECK(b[3].x == 122);
  CHECK(b[3].height == 44);
  CHECK(b[3].title == "2026-09 · escalated: 2");
  CHECK(b[5].height == 132);

  // Escalation rate: 50%, none (no cases), 75%, on an axis to 80%.
  const auto r = bars(svg_chart(spec("chart-rate"), groups, StatsBy::month));
  REQUIRE(r.size() == 3);
  CHECK(r[0].value == "0.5");
  CHECK(r[0].height == 110);
  CHECK(r[0].title == "2026-09 · escalated: 50% (2 of 4 cases)");
  CHECK(r[1].cls == "s0 na");
  CHECK(r[1].value == "");
  CHECK(r[1].height == 0);
  CHECK(r[1].title == "2026-10 · escalated: n/a (no cases)");
  CHECK(r[2].value == "0.75");
  CHECK(r[2].height == 165);
}

TEST_CASE("time charts show the median and the 90th percentile in hours") {
  StatsGroup g = group("2026-11", 5, 4);
  g.to_escalate = durations({3600, 3600, 7200, 36000});  // median 1.5h, p90 10h
  const std::string svg = svg_chart(spec("chart-tte"), {g}, StatsBy::month);
  const auto b = bars(svg);
  REQUIRE(b.size() == 2);
  CHECK(b[0].value == "5400");
  CHECK(b[0].title == "2026-11 · median: 1h 30m (5400 s, 4 escalated)");
  CHECK(b[1].value == "36000");
  CHECK(b[1].title == "2026-11 · 90th percentile: 10h (36000 s, 4 escalated)");
  CHECK(b[1].height == 176);  // 10h on an axis to 10h (steps of 2.5h)
  CHECK(b[0].height == doctest::Approx(176 * 0.15));
  CHECK(svg.find(">hours</text>") != std::string::npos);
  CHECK(svg.find("class=\"legend\"") != std::string::npos);
}

TEST_CASE("months are labelled by quarter when there are many") {
  std::vector<StatsGroup> groups;
  for (const auto& m : month_range("2023-02", "2026-11")) groups.push_back(group(m.c_str(), 1, 0));
  const std::string svg = svg_chart(spec("chart-cases"), groups, StatsBy::month);
  CHECK(bars(svg).size() == 2 * groups.size());
  CHECK(svg.find(">Feb</text>") == std::string::npos);
  CHECK(svg.find(">Apr</text>") != std::string::npos);
  CHECK(svg.find(">Jan</text>") != std::string::npos);
  CHECK(svg.find(">2024</text>") != std::string::npos);
}

TEST_CASE("text from the log is escaped wherever it lands") {
  CHECK(html_escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;");
  CHECK(html_escape("\"><img src=x onerror=alert(1)>") == "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
  CHECK(html_escape("O'Brien & Co") == "O&#39;Brien &amp; Co");
  CHECK(html_escape("bell\x07") == "bell^G");
  CHECK(html_escape("two\nlines", true) == "two\nlines");

  Report r;
  r.now = at("2026-11-20T09:00:00Z");
  r.by = StatsBy::engineer;
  r.total = group("all", 1, 1);
  r.groups = {group("<script>alert(1)</script>", 1, 1)};
  r.top.customers = {{"\"><img src=x onerror=alert(1)>", 1, 1, 0, 0, 0}};
  r.top.triggers = {{"<b>sla</b>", 1, 1, 0, 0, 0}};
  r.top.paths = {{"<i>tier2</i>", 1, 1, 0, 0, 0}};
  r.waiting = {{7, "<script>x()</script>", "ACME <Corp>", "high", "tier2", 1, r.now - 5 * H, std::nullopt, ""}};
  r.lessons = {{7, "t", "c", "Ask for the HAR first <img src=y onerror=z>", "Dana", r.now}};
  const std::string html = report_html(r);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("<b>") == std::string::npos);
  CHECK(html.find("<i>") == std::string::npos);
  CHECK(html.find("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
  CHECK(html.find("&lt;script&gt;x()&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("5h") != std::string::npos);  // how long it waits
  CHECK(html.find("Content-Security-Policy") != std::string::npos);
  // Nothing that loads: no src, href or url() anywhere.
  CHECK(html.find("src=\"") == std::string::npos);
  CHECK(html.find("href") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
}

TEST_CASE("the report: every chart, the tops, the lists; an empty period says so") {
  Utc utc;
  Config cfg = default_config();
  cfg.client_update_every = 24 * H;
  const Time now = at("2026-11-20T09:00:00Z");
  ReportBuilder b(StatsBy::month, cfg, now, 2);
  auto add = [&](std::int64_t id, const char* created, const char* customer, std::vector<std::string> triggers,
                 std::vector<StatsCase::Escalation> xs, bool unnecessary = false) {
    StatsCase c;
    c.id = id;
    c.created_at = at(created);
    c.customer = customer;
    c.triggers = std::move(triggers);
    c.escalations = std::move(xs);
    c.unnecessary = unnecessary;
    b.add(c);
  };
  const Time sep = at("2026-09-02T10:00:00Z"), nov = at("2026-11-03T10:00:00Z");
  add(1, "2026-09-02T09:00:00Z", "ACME", {"sla-breach"}, {{1, "tier2", sep, sep + H, false}});
  add(2, "2026-09-05T09:00:00Z", "ACME", {"sla-breach", "beyond-scope"}, {});
  add(3, "2026-11-03T09:00:00Z", "Globex", {"beyond-scope"},
      {{1, "tier2", nov, std::nullopt, true}, {2, "engineering", nov + H, nov + 2 * H, false}}, true);
  add(4, "2026-11-04T09:00:00Z", "Initech", {}, {{1, "tier2", nov + 24 * H, std::nullopt, false}});
  Report r = b.finish(std::nullopt, std::nullopt);

  CHECK(r.total.opened == 4);
  CHECK(r.total.escalated == 3);
  REQUIRE(r.groups.size() == 3);  // September to November, October empty
  CHECK(r.groups[1].group == "2026-10");
  CHECK(r.groups[1].opened == 0);
  // Top two of each, most escalations first.
  REQUIRE(r.top.triggers.size() == 2);
  CHECK(r.top.triggers[0].name == "beyond-scope");
  CHECK(r.top.triggers[0].cases == 2);
  CHECK(r.top.triggers[0].escalated == 1);
  CHECK(r.top.triggers[0].unnecessary == 1);
  CHECK(r.top.triggers[1].name == "sla-breach");
  CHECK(r.top.customers[0].name == "ACME");
  CHECK(r.top.customers[0].cases == 2);
  CHECK(r.top.customers[1].name == "Globex");  // 1 escalated, before Initech by name
  CHECK(r.top.paths[0].name == "tier2");
  CHECK(r.top.paths[0].escalated == 3);
  CHECK(r.top.paths[0].acknowledged == 1);
  CHECK(r.top.paths[0].forced == 1);
  CHECK(r.top.paths[1].name == "engineering");

  const std::string html = report_html(r);
  std::map<std::string, int> figures;
  static const std::regex fig(R"re(<figure class="chart" id="([^"]+)">)re");
  for (std::sregex_iterator it(html.begin(), html.end(), fig), end; it != end; ++it) ++figures[(*it)[1]];
  CHECK(figures.size() == 9);
  CHECK(bars(html).size() == 3 * (2 + 1 + 2 + 2 + 2 + 1 + 1 + 1 + 1));
  CHECK(html.find("Open escalations waiting longest") != std::string::npos);
  CHECK(html.find("@media (prefers-color-scheme:dark)") != std::string::npos);
  CHECK(html.find("@media print") != std::string::npos);

  ReportBuilder none(StatsBy::month, cfg, now);
  const std::string empty = report_html(none.finish(std::nullopt, std::nullopt));
  CHECK(empty.find("No cases were opened in this period") != std::string::npos);
  CHECK(empty.find("<svg") == std::string::npos);
}

TEST_CASE("durations of any number of cases in bounded memory: exact up to 3200, then within 0.4%") {
  auto sample = [](const std::vector<std::int32_t>& v) {
    DurationSample s;
    for (auto x : v) s.add(x);
    return s;
  };
  std::vector<std::int32_t> v;
  std::uint64_t r = 12345;
  auto next = [&] {  // a spread from seconds to weeks, the shape of real waits
    r = r * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::int32_t>(std::exp(static_cast<double>(r >> 40) / (1ULL << 24) * 14.0));
  };
  for (std::size_t i = 0; i < DurationSample::kExact; ++i) v.push_back(next());
  DurationSample s = sample(v);
  CHECK(s.exact());
  const Durations exact = durations(v), got = s.finish();
  CHECK(got.count == exact.count);
  CHECK(got.median == exact.median);
  CHECK(got.p90 == exact.p90);

  for (int i = 0; i < 100000; ++i) v.push_back(next());
  v.push_back(-7200);  // acknowledged before it was sent: a clock that was off
  v.push_back(INT32_MIN);
  v.push_back(INT32_MAX);
  s = sample(v);
  CHECK_FALSE(s.exact());
  const Durations big = durations(v), approx = s.finish();
  CHECK(approx.count == big.count);
  CHECK(static_cast<double>(approx.median->count()) ==
        doctest::Approx(static_cast<double>(big.median->count())).epsilon(0.004));
  CHECK(static_cast<double>(approx.p90->count()) ==
        doctest::Approx(static_cast<double>(big.p90->count())).epsilon(0.004));
  // Small values stay exact: a bucket a second below 256 s.
  DurationSample small;
  for (int i = 0; i < 10000; ++i) small.add(i % 100);
  CHECK(small.finish().median == Seconds{49});  // mean of 49 and 50, rounded down as durations() does
}
