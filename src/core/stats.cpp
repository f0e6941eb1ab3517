#include "esc/stats.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <type_traits>

#include <date/date.h>
#include <fmt/format.h>

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

namespace {

// Median and p90 of durations in seconds, held as Seconds or as 32 bits.
template <typename T>
Durations durations_of(std::vector<T> v) {
  Durations d;
  d.count = static_cast<int>(v.size());
  if (v.empty()) return d;
  // Selection, not a sort: each call puts one rank in place, and everything
  // below it before it.
  const size_t n = v.size();
  auto at = [&](size_t k, size_t hi) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k),
                     v.begin() + static_cast<std::ptrdiff_t>(hi));
    return v[k];
  };
  const size_t rank = std::max<size_t>(static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n))), 1) - 1;
  auto seconds = [](const T& t) -> std::int64_t {
    if constexpr (std::is_same_v<T, Seconds>)
      return t.count();
    else
      return t;
  };
  d.p90 = Seconds{seconds(at(rank, n))};
  const std::int64_t upper = seconds(at(n / 2, rank + 1));  // n / 2 <= rank
  if (n % 2) {
    d.median = Seconds{upper};
  } else {
    const std::int64_t lower = seconds(*std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n / 2)));
    d.median = Seconds{(lower + upper) / 2};
  }
  return d;
}

// The value of rank k (from 0) among sorted runs taken together: the
// smallest value with more than k values at or below it, found by halving
// the range of values (at most 32 steps of a binary search in each run).
std::int64_t kth(const std::vector<std::vector<std::int32_t>>& runs, size_t k) {
  if (runs.size() == 1) return runs.front()[k];
  std::int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (const auto& r : runs) {
    lo = std::min<std::int64_t>(lo, r.front());
    hi = std::max<std::int64_t>(hi, r.back());
  }
  while (lo < hi) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    size_t at_most = 0;
    for (const auto& r : runs) at_most += static_cast<size_t>(std::upper_bound(r.begin(), r.end(), mid) - r.begin());
    if (at_most > k)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

// The same figures as durations_of(), from runs that are each sorted.
Durations durations_of_sorted(std::vector<std::vector<std::int32_t>> runs) {
  std::erase_if(runs, [](const auto& r) { return r.empty(); });
  Durations d;
  size_t n = 0;
  for (const auto& r : runs) n += r.size();
  d.count = static_cast<int>(n);
  if (n == 0) return d;
  const size_t rank = std::max<size_t>(static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n))), 1) - 1;
  d.p90 = Seconds{kth(runs, rank)};
  const std::int64_t upper = kth(runs, n / 2);
  d.median = Seconds{n % 2 ? upper : (kth(runs, n / 2 - 1) + upper) / 2};
  return d;
}

// The durations of a group: as they come from cases, and whole months
// already sorted (EscalatedMonth).
// Only the groups of whole months have sorted runs: the others (tens of
// thousands, by customer) do without the space for them.
struct Samples {
  std::vector<std::int32_t> loose;
  std::unique_ptr<std::vector<std::vector<std::int32_t>>> sorted;
  void add_sorted(std::vector<std::int32_t>&& run) {
    if (run.empty()) return;
    if (!sorted) sorted = std::make_unique<std::vector<std::vector<std::int32_t>>>();
    sorted->push_back(std::move(run));
  }
  Durations result() {
    if (!sorted) return durations_of(std::move(loose));
    std::sort(loose.begin(), loose.end());
    add_sorted(std::move(loose));
    return durations_of_sorted(std::move(*sorted));
  }
};

}  // namespace

Durations durations(std::vector<Seconds> v) { return durations_of(std::move(v)); }

void EscalatedMonth::add(const StatsRow& r) {
  const auto& f = r.facts;
  if (!f.first_at) return;
  ++escalated;
  to_escalate.push_back(seconds32(*f.first_at - r.created_at));
  if (f.first_acked_at) to_acknowledge.push_back(seconds32(*f.first_acked_at - *f.first_at));
  if (r.resolved_at) {
    to_resolve.push_back(seconds32(*r.resolved_at - *f.first_at));
    if (f.silence) silence.push_back(seconds32(*f.silence));
  }
  if (f.forced) ++forced;
  if (r.unnecessary) ++unnecessary;
}

void EscalatedMonth::finish() {
  for (auto* v : {&to_escalate, &to_acknowledge, &to_resolve, &silence}) std::sort(v->begin(), v->end());
}

bool client_kept_informed(const StatsRow& r, Seconds every, Time now) {
  if (!r.facts.first_at) return false;
  if (r.resolved_at) return r.facts.silence && *r.facts.silence <= every;
  return silence_by(r.facts, now) <= every;
}

// A group while cases come in: its counts and durations only (grouping by
// customer can make tens of thousands of groups).
struct StatsBuilder::Acc {
  struct {
    int opened = 0, escalated = 0, resolved = 0, forced = 0, updated_on_time = 0, unnecessary = 0, csat_count = 0;
    double csat_sum = 0;
  } g;
  Samples tte, tta, ttr;  // seconds (seconds32())
};

StatsBuilder::StatsBuilder(std::string by, const Config& cfg, Time now) : by_(std::move(by)), cfg_(cfg), now_(now) {}
StatsBuilder::~StatsBuilder() = default;

StatsBuilder::Acc& StatsBuilder::group(const std::string& key) {
  auto& a = groups_[key];
  if (!a) a = std::make_unique<Acc>();
  return *a;
}

StatsBuilder::Acc& StatsBuilder::all() {
  if (!all_) all_ = &group("all");
  return *all_;
}

StatsBuilder::Acc& StatsBuilder::month(Time t) {
  // Formatting a month per row would cost more than the rest together.
  const date::year_month_day day{date::floor<date::days>(t)};
  const std::int64_t key = static_cast<int>(day.year()) * 12 + static_cast<int>(static_cast<unsigned>(day.month()));
  if (key != last_month_key_ || !last_month_) {
    last_month_key_ = key;
    last_month_ = &group(fmt::format("{:04}-{:02}", static_cast<int>(day.year()), static_cast<unsigned>(day.month())));
  }
  return *last_month_;
}

void StatsBuilder::add_counts(const CaseCounts& c) {
  Acc& a = by_ == "month" ? month(c.from) : all();
  a.g.opened += c.opened;
  a.g.resolved += c.resolved;
  a.g.csat_count += c.csat_count;
  a.g.csat_sum += c.csat_sum;
}

void StatsBuilder::each_group(const StatsRow& r, const std::function<void(Acc&)>& f) {
  if (by_ == "month") {
    f(month(r.created_at));
  } else if (by_ == "trigger") {
    if (r.triggers.empty()) f(group("(none)"));
    for (const auto& t : r.triggers) f(group(t));
  } else if (by_ == "engineer") {
    f(group(r.engineer.empty() ? "(nobody)" : r.engineer));
  } else if (by_ == "customer") {
    f(group(r.customer.empty() ? "(none)" : r.customer));
  } else if (by_ == "path") {
    f(group(r.facts.first_path.empty() ? "(not escalated)" : r.facts.first_path));
  } else if (by_ == "severity") {
    f(group(r.severity));
  } else {
    f(all());
  }
}

void StatsBuilder::add_escalation(const StatsRow& r) {
  const auto& f = r.facts;
  if (!f.first_at) return;
  each_group(r, [&](Acc& a) {
    ++a.g.escalated;
    a.tte.loose.push_back(seconds32(*f.first_at - r.created_at));
    if (f.first_acked_at) a.tta.loose.push_back(seconds32(*f.first_acked_at - *f.first_at));
    if (r.resolved_at) a.ttr.loose.push_back(seconds32(*r.resolved_at - *f.first_at));
    if (f.forced) ++a.g.forced;
    if (r.unnecessary) ++a.g.unnecessary;
    if (client_kept_informed(r, cfg_.client_update_every, now_)) ++a.g.updated_on_time;
  });
}

void StatsBuilder::add_escalated_month(EscalatedMonth&& m) {
  Acc& a = by_ == "month" ? month(from_unix(m.month)) : all();
  a.g.escalated += m.escalated;
  a.g.forced += m.forced;
  a.g.unnecessary += m.unnecessary;
  // The resolved cases whose client heard from us at least this often (see
  // client_kept_informed()); the unresolved ones come to add_unresolved().
  const auto kept = std::upper_bound(m.silence.begin(), m.silence.end(), seconds32(cfg_.client_update_every));
  a.g.updated_on_time += static_cast<int>(kept - m.silence.begin());
  a.tte.add_sorted(std::move(m.to_escalate));
  a.tta.add_sorted(std::move(m.to_acknowledge));
  a.ttr.add_sorted(std::move(m.to_resolve));
}

void StatsBuilder::add_unresolved(const StatsRow& r) {
  Acc& a = by_ == "month" ? month(r.created_at) : all();
  if (client_kept_informed(r, cfg_.client_update_every, now_)) ++a.g.updated_on_time;
}

void StatsBuilder::add(const StatsRow& r) {
  each_group(r, [&](Acc& a) {
    ++a.g.opened;
    if (r.resolved_at) ++a.g.resolved;
    if (r.csat) ++a.g.csat_count, a.g.csat_sum += *r.csat;
  });
  add_escalation(r);
}

std::vector<StatsGroup> StatsBuilder::finish() {
  std::vector<StatsGroup> out;
  out.reserve(groups_.size());
  // Each group leaves the map as it goes into the list.
  for (auto it = groups_.begin(); it != groups_.end(); it = groups_.erase(it)) {
    Acc& a = *it->second;
    StatsGroup g;
    g.group = it->first;
    g.opened = a.g.opened;
    g.escalated = a.g.escalated;
    g.resolved = a.g.resolved;
    g.forced = a.g.forced;
    g.updated_on_time = a.g.updated_on_time;
    g.unnecessary = a.g.unnecessary;
    g.csat_count = a.g.csat_count;
    g.csat_sum = a.g.csat_sum;
    g.to_escalate = a.tte.result();
    g.to_acknowledge = a.tta.result();
    g.to_resolve = a.ttr.result();
    out.push_back(std::move(g));
  }
  groups_.clear();
  last_month_ = all_ = nullptr;
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
