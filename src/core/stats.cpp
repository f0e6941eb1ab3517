#include "esc/stats.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include <date/date.h>

namespace esc {

namespace {
std::optional<double> ratio(int num, int den) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / den;
}
}  // namespace

std::optional<double> StatsGroup::escalation_rate() const { return ratio(escalated, opened); }
std::optional<double> StatsGroup::forced_share() const { return ratio(forced, escalated); }
std::optional<double> StatsGroup::update_compliance() const { return ratio(updated_on_time, escalated); }
std::optional<double> StatsGroup::unnecessary_share() const { return ratio(unnecessary, escalated); }
std::optional<double> StatsGroup::csat_mean() const {
  if (csat_count == 0) return std::nullopt;
  return csat_sum / csat_count;
}

Durations durations(std::vector<Seconds> v) {
  Durations d;
  d.count = static_cast<int>(v.size());
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  d.median = n % 2 ? v[n / 2] : Seconds{(v[n / 2 - 1].count() + v[n / 2].count()) / 2};
  size_t rank = static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n)));
  d.p90 = v[std::max<size_t>(rank, 1) - 1];
  return d;
}

bool client_kept_informed(const StatsRow& r, const std::vector<Time>& contacts, Seconds every, Time now) {
  if (!r.first_escalated_at) return false;
  const Time start = *r.first_escalated_at;
  const Time end = r.c.resolved_at.value_or(now);
  // The last word before the escalation counts (the notice), then every one after.
  Time last = start;
  bool had_before = false;
  for (const auto& t : contacts)
    if (t <= start) last = t, had_before = true;
  if (!had_before) last = start;
  for (const auto& t : contacts) {
    if (t <= start) continue;
    if (t > end) break;
    if (t - last > every) return false;
    last = t;
  }
  return end - last <= every;
}

std::vector<StatsGroup> compute_stats(const std::vector<StatsRow>& rows, const std::string& by, const Config& cfg,
                                      Time now) {
  struct Acc {
    StatsGroup g;
    std::vector<Seconds> tte, tta, ttr;
  };
  std::map<std::string, Acc> groups;
  auto keys = [&](const StatsRow& r) -> std::vector<std::string> {
    if (by == "month") return {date::format("%Y-%m", r.c.created_at)};
    if (by == "engineer") return {r.c.engineer.empty() ? "(nobody)" : r.c.engineer};
    if (by == "path") return {r.first_path.empty() ? "(not escalated)" : r.first_path};
    if (by == "severity") return {r.c.severity};
    if (by == "customer") return {r.c.customer.empty() ? "(none)" : r.c.customer};
    if (by == "trigger") return r.c.triggers.empty() ? std::vector<std::string>{"(none)"} : r.c.triggers;
    return {"all"};
  };
  for (const auto& r : rows) {
    for (const auto& k : keys(r)) {
      auto& a = groups[k];
      a.g.group = k;
      ++a.g.opened;
      if (r.c.resolved_at) ++a.g.resolved;
      if (r.c.csat) ++a.g.csat_count, a.g.csat_sum += *r.c.csat;
      if (!r.first_escalated_at) continue;
      ++a.g.escalated;
      a.tte.push_back(*r.first_escalated_at - r.c.created_at);
      if (r.first_acked_at) a.tta.push_back(*r.first_acked_at - *r.first_escalated_at);
      if (r.c.resolved_at) a.ttr.push_back(*r.c.resolved_at - *r.first_escalated_at);
      if (r.forced) ++a.g.forced;
      if (r.c.unnecessary) ++a.g.unnecessary;
      if (client_kept_informed(r, r.client_contacts, cfg.client_update_every, now)) ++a.g.updated_on_time;
    }
  }
  std::vector<StatsGroup> out;
  for (auto& [k, a] : groups) {
    a.g.to_escalate = durations(std::move(a.tte));
    a.g.to_acknowledge = durations(std::move(a.tta));
    a.g.to_resolve = durations(std::move(a.ttr));
    out.push_back(std::move(a.g));
  }
  if (by == "severity") {
    auto rank = [&](const std::string& s) {
      auto it = std::find(cfg.severities.begin(), cfg.severities.end(), s);
      return it - cfg.severities.begin();
    };
    std::sort(out.begin(), out.end(), [&](const auto& a, const auto& b) { return rank(a.group) < rank(b.group); });
  }
  if (out.empty() && by.empty()) {
    StatsGroup all;
    all.group = "all";
    out.push_back(all);
  }
  return out;
}

}  // namespace esc
