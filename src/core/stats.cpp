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

bool client_kept_informed(const StatsRow& r, Seconds every, Time now) {
  if (!r.facts.first_at) return false;
  if (r.resolved_at && r.facts.silence) return *r.facts.silence <= every;
  return longest_silence(*r.facts.first_at, r.resolved_at.value_or(now), r.client_contacts) <= every;
}

struct StatsBuilder::Acc {
  StatsGroup g;
  std::vector<Seconds> tte, tta, ttr;
};

StatsBuilder::StatsBuilder(std::string by, const Config& cfg, Time now) : by_(std::move(by)), cfg_(cfg), now_(now) {}
StatsBuilder::~StatsBuilder() = default;

StatsBuilder::Acc& StatsBuilder::group(const std::string& key) {
  auto& a = groups_[key];
  if (!a) {
    a = std::make_unique<Acc>();
    a->g.group = key;
  }
  return *a;
}

void StatsBuilder::add(const StatsRow& r) {
  auto count = [&](Acc& a) {
    ++a.g.opened;
    if (r.resolved_at) ++a.g.resolved;
    if (r.csat) ++a.g.csat_count, a.g.csat_sum += *r.csat;
    const auto& f = r.facts;
    if (!f.first_at) return;
    ++a.g.escalated;
    a.tte.push_back(*f.first_at - r.created_at);
    if (f.first_acked_at) a.tta.push_back(*f.first_acked_at - *f.first_at);
    if (r.resolved_at) a.ttr.push_back(*r.resolved_at - *f.first_at);
    if (f.forced) ++a.g.forced;
    if (r.unnecessary) ++a.g.unnecessary;
    if (client_kept_informed(r, cfg_.client_update_every, now_)) ++a.g.updated_on_time;
  };
  if (by_ == "month") {
    // Formatting a month per row would cost more than the rest together.
    const auto day = date::floor<date::days>(r.created_at);
    if (day.time_since_epoch().count() != last_day_ || !last_month_) {
      last_day_ = day.time_since_epoch().count();
      last_month_ = &group(date::format("%Y-%m", day));
    }
    count(*last_month_);
  } else if (by_ == "trigger") {
    if (r.triggers.empty()) count(group("(none)"));
    for (const auto& t : r.triggers) count(group(t));
  } else if (by_ == "engineer") {
    count(group(r.engineer.empty() ? "(nobody)" : r.engineer));
  } else if (by_ == "customer") {
    count(group(r.customer.empty() ? "(none)" : r.customer));
  } else if (by_ == "path") {
    count(group(r.facts.first_path.empty() ? "(not escalated)" : r.facts.first_path));
  } else if (by_ == "severity") {
    count(group(r.severity));
  } else {
    count(group("all"));
  }
}

std::vector<StatsGroup> StatsBuilder::finish() {
  std::vector<StatsGroup> out;
  for (auto& [k, a] : groups_) {
    a->g.to_escalate = durations(std::move(a->tte));
    a->g.to_acknowledge = durations(std::move(a->tta));
    a->g.to_resolve = durations(std::move(a->ttr));
    out.push_back(std::move(a->g));
  }
  groups_.clear();
  last_month_ = nullptr;
  if (by_ == "severity") {
    auto rank = [&](const std::string& s) {
      auto it = std::find(cfg_.severities.begin(), cfg_.severities.end(), s);
      return it - cfg_.severities.begin();
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const auto& a, const auto& b) { return rank(a.group) < rank(b.group); });
  }
  if (out.empty() && by_.empty()) {
    StatsGroup all;
    all.group = "all";
    out.push_back(all);
  }
  return out;
}

std::vector<StatsGroup> compute_stats(const std::vector<StatsRow>& rows, const std::string& by, const Config& cfg,
                                      Time now) {
  StatsBuilder b(by, cfg, now);
  for (const auto& r : rows) b.add(r);
  return b.finish();
}

}  // namespace esc
