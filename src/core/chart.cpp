#include "esc/chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "esc/text.hpp"
#include "esc/time.hpp"

namespace esc {

namespace {

std::string share_text(int num, int den, const char* of, const char* none) {
  if (den == 0) return fmt::format("n/a ({})", none);
  return fmt::format("{} ({} of {} {})", percent(static_cast<double>(num) / den), num, den, of);
}

std::string duration_text(std::optional<Seconds> d, int count, const char* of, const char* none) {
  if (!d) return fmt::format("n/a ({})", none);
  return fmt::format("{} ({} s, {} {})", format_duration(*d), d->count(), count, of);
}

std::optional<double> secs(std::optional<Seconds> d) {
  if (!d) return std::nullopt;
  return static_cast<double>(d->count());
}

}  // namespace

const std::vector<Metric>& metrics() {
  using G = const StatsGroup&;
  using V = std::optional<double>;
  static const std::vector<Metric> table{
      {"cases", "Cases opened", Unit::count, [](G g) -> V { return g.opened; },
       [](G g) { return std::to_string(g.opened); }},
      {"escalations", "Cases escalated", Unit::count, [](G g) -> V { return g.escalated; },
       [](G g) { return std::to_string(g.escalated); }},
      {"resolved", "Cases resolved", Unit::count, [](G g) -> V { return g.resolved; },
       [](G g) { return std::to_string(g.resolved); }},
      {"rate", "Escalation rate", Unit::share, [](G g) { return g.escalation_rate(); },
       [](G g) { return share_text(g.escalated, g.opened, "cases", "no cases"); }},
      {"tte", "Time to escalate (median)", Unit::duration, [](G g) { return secs(g.to_escalate.median); },
       [](G g) { return duration_text(g.to_escalate.median, g.to_escalate.count, "escalated", "none escalated"); }},
      {"tte-p90", "Time to escalate (90th percentile)", Unit::duration, [](G g) { return secs(g.to_escalate.p90); },
       [](G g) { return duration_text(g.to_escalate.p90, g.to_escalate.count, "escalated", "none escalated"); }},
      {"tta", "Time to acknowledge (median)", Unit::duration, [](G g) { return secs(g.to_acknowledge.median); },
       [](G g) {
         return duration_text(g.to_acknowledge.median, g.to_acknowledge.count, "acknowledged", "none acknowledged");
       }},
      {"tta-p90", "Time to acknowledge (90th percentile)", Unit::duration,
       [](G g) { return secs(g.to_acknowledge.p90); },
       [](G g) {
         return duration_text(g.to_acknowledge.p90, g.to_acknowledge.count, "acknowledged", "none acknowledged");
       }},
      {"ttr", "Time to resolve after escalation (median)", Unit::duration,
       [](G g) { return secs(g.to_resolve.median); },
       [](G g) { return duration_text(g.to_resolve.median, g.to_resolve.count, "resolved", "none resolved"); }},
      {"ttr-p90", "Time to resolve after escalation (90th percentile)", Unit::duration,
       [](G g) { return secs(g.to_resolve.p90); },
       [](G g) { return duration_text(g.to_resolve.p90, g.to_resolve.count, "resolved", "none resolved"); }},
      {"forced", "Sent unprepared (--force)", Unit::share, [](G g) { return g.forced_share(); },
       [](G g) { return share_text(g.forced, g.escalated, "escalated", "none escalated"); }},
      {"unnecessary", "Later marked unnecessary", Unit::share, [](G g) { return g.unnecessary_share(); },
       [](G g) { return share_text(g.unnecessary, g.escalated, "escalated", "none escalated"); }},
      {"updates", "Client updates on time", Unit::share, [](G g) { return g.update_compliance(); },
       [](G g) { return share_text(g.updated_on_time, g.escalated, "escalated", "none escalated"); }},
      {"csat", "Mean CSAT", Unit::score, [](G g) { return g.csat_mean(); },
       [](G g) {
         if (!g.csat_mean()) return std::string("n/a (no ratings)");
         return fmt::format("{:.2f} ({} rating{})", *g.csat_mean(), g.csat_count, g.csat_count == 1 ? "" : "s");
       }},
  };
  return table;
}

const Metric* find_metric(std::string_view name) {
  for (const auto& m : metrics())
    if (m.name == name) return &m;
  return nullptr;
}

std::string metric_names() {
  std::string out;
  for (const auto& m : metrics()) out += (out.empty() ? "" : ", ") + std::string(m.name);
  return out;
}

std::string percent(double share) {
  std::string s = fmt::format("{:.1f}", share * 100);
  if (s.ends_with(".0")) s.resize(s.size() - 2);
  return s + "%";
}

std::string short_value(std::optional<double> v, Unit unit) {
  if (!v) return "n/a";
  switch (unit) {
    case Unit::count:
      return fmt::format("{:.0f}", *v);
    case Unit::share:
      return fmt::format("{:.0f}%", *v * 100);
    case Unit::duration:
      return format_duration(Seconds{std::llround(*v)});
    case Unit::score:
      return fmt::format("{:.1f}", *v);
  }
  return "";
}

namespace {

// The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `raw`.
double round_step(double raw) {
  if (raw <= 0) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw * (1 - 1e-9)) return m * p;
  return 10 * p;
}

// `top` and `step` in the axis's own unit (hours, percent), from `max` in it.
void fit(Axis& a, double max, double min_step) {
  a.step = std::max(round_step(max / 4), min_step);
  a.top = std::max(std::ceil(max / a.step - 1e-9), 1.0) * a.step;
}

}  // namespace

Axis axis_for(double max, Unit unit) {
  Axis a;
  max = std::max(max, 0.0);
  switch (unit) {
    case Unit::count:
      fit(a, max, 1);
      a.label = "cases";
      break;
    case Unit::share:
      a.per = 0.01;
      fit(a, max / a.per, 1);
      // Past 100% (rounding up), or nothing but zeros: the whole scale.
      if (a.top > 100 || max == 0) a.top = 100, a.step = 25;
      a.label = "%";
      break;
    case Unit::duration:
      a.per = max < 120 ? 1 : max < 2 * 3600 ? 60 : max < 3 * 86400 ? 3600 : 86400;
      a.label = a.per == 1 ? "seconds" : a.per == 60 ? "minutes" : a.per == 3600 ? "hours" : "days";
      fit(a, max / a.per, 0);
      break;
    case Unit::score:
      a.top = 5, a.step = 1;
      a.label = "CSAT (1 to 5)";
      return a;
  }
  a.top *= a.per;
  a.step *= a.per;
  return a;
}

std::vector<double> Axis::ticks() const {
  std::vector<double> out;
  const int n = static_cast<int>(std::lround(top / step));
  for (int i = 0; i <= n; ++i) out.push_back(i * step);
  return out;
}

std::string Axis::tick_text(double v) const {
  const double x = v / per;
  std::string s = std::abs(x - std::round(x)) < 1e-9 ? fmt::format("{:.0f}", x) : fmt::format("{:.2f}", x);
  if (s.find('.') != std::string::npos) {
    while (s.ends_with("0")) s.pop_back();
    if (s.ends_with(".")) s.pop_back();
  }
  return label == "%" ? s + "%" : s;
}

std::string spark(std::optional<double> v, double max, bool unicode) {
  static const char* const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  static const char ascii[] = "_.-:=+*#";
  if (!v) return " ";
  const long level = max > 0 ? std::clamp(std::lround(*v / max * 7), 0L, 7L) : 0;
  return unicode ? blocks[level] : std::string(1, ascii[level]);
}

namespace {

// A bar of up to `cells` columns for `v` of `max`; a value above zero
// always shows, however short.
std::string bar(std::optional<double> v, double max, std::size_t cells, bool unicode) {
  static const char* const eighths[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  if (!v || *v <= 0 || max <= 0) return {};
  const double share = std::min(*v / max, 1.0);
  if (!unicode) return std::string(std::max<std::size_t>(std::lround(share * static_cast<double>(cells)), 1), '#');
  const long n = std::max(std::lround(share * static_cast<double>(cells) * 8), 1L);
  std::string out;
  for (long i = 0; i < n / 8; ++i) out += "█";
  return out + eighths[n % 8];
}

std::string pad(std::string s, std::size_t width, bool right) {
  const std::size_t w = display_width(s);
  if (w >= width) return s;
  return right ? std::string(width - w, ' ') + s : s + std::string(width - w, ' ');
}

}  // namespace

std::vector<std::string> bar_chart(const std::vector<std::string>& labels,
                                   const std::vector<std::optional<double>>& values,
                                   const std::vector<std::string>& texts, std::size_t width, bool unicode) {
  std::size_t label_w = 0, text_w = 0;
  double max = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    label_w = std::max(label_w, display_width(labels[i]));
    text_w = std::max(text_w, display_width(texts[i]));
    if (values[i]) max = std::max(max, *values[i]);
  }
  label_w = std::min(label_w, std::max<std::size_t>(8, width / 3));
  // Labels give way (down to 3 columns) before a bar gets fewer than 10.
  std::size_t used = label_w + text_w + 4;
  if (used + 10 > width && label_w > 3) label_w -= std::min(label_w - 3, used + 10 - width);
  used = label_w + text_w + 4;
  const std::size_t cells = width >= used + 10 ? width - used : 10;
  std::vector<std::string> out;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    std::string line = pad(truncate_to_width(labels[i], label_w), label_w, false) + "  ";
    line += pad(bar(values[i], max, cells, unicode), cells, false) + "  " + pad(texts[i], text_w, true);
    out.push_back(std::move(line));
  }
  return out;
}

namespace {

// "2026-11" as a count of months since year 0; nullopt when it is not one.
std::optional<int> month_number(std::string_view m) {
  int y = 0, mo = 0;
  if (m.size() != 7 || m[4] != '-') return std::nullopt;
  if (std::from_chars(m.data(), m.data() + 4, y).ec != std::errc{}) return std::nullopt;
  if (std::from_chars(m.data() + 5, m.data() + 7, mo).ec != std::errc{} || mo < 1 || mo > 12) return std::nullopt;
  return y * 12 + mo - 1;
}

}  // namespace

std::vector<std::string> month_range(std::string_view first, std::string_view last) {
  const auto a = month_number(first), b = month_number(last);
  std::vector<std::string> out;
  if (!a || !b) return out;
  for (int m = *a; m <= *b; ++m) out.push_back(fmt::format("{:04}-{:02}", m / 12, m % 12 + 1));
  return out;
}

std::vector<StatsGroup> every_month(std::vector<StatsGroup> months, std::optional<Time> since,
                                    std::optional<Time> until, Time now) {
  if (!since && months.empty()) return months;
  std::map<std::string, StatsGroup> by_name;
  for (auto& g : months) by_name.emplace(g.group, std::move(g));
  const std::string first = since ? month_of(*since) : by_name.begin()->first;
  std::string last = until ? month_of(*until - Seconds{1}) : month_of(now);
  if (!until && !by_name.empty()) last = std::max(last, by_name.rbegin()->first);
  for (auto& m : month_range(first, last)) {
    StatsGroup empty;
    empty.group = m;
    by_name.try_emplace(m, std::move(empty));
  }
  std::vector<StatsGroup> out;
  out.reserve(by_name.size());
  for (auto& [name, g] : by_name) out.push_back(std::move(g));
  return out;
}

}  // namespace esc
