#include "esc/stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <ctime>

namespace esc {

namespace {
std::optional<double> ratio(int num, int den) {
  if (den == 0) return std::nullopt;
  return static_cast<double>(num) / den;
}

// A duration in 32 bits (68 years either way): how the durations of a
// million escalated cases are held.
std::int32_t seconds32(Seconds s) {
  return static_cast<std::int32_t>(std::clamp<std::int64_t>(s.count(), INT32_MIN, INT32_MAX));
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

std::optional<StatsBy> parse_stats_by(std::string_view s) {
  for (auto by : {StatsBy::none, StatsBy::month, StatsBy::engineer, StatsBy::path, StatsBy::trigger, StatsBy::severity,
                  StatsBy::customer})
    if (to_string(by) == s) return by;
  return std::nullopt;
}

std::string_view to_string(StatsBy by) {
  switch (by) {
    case StatsBy::none:
      return "";
    case StatsBy::month:
      return "month";
    case StatsBy::engineer:
      return "engineer";
    case StatsBy::path:
      return "path";
    case StatsBy::trigger:
      return "trigger";
    case StatsBy::severity:
      return "severity";
    case StatsBy::customer:
      return "customer";
  }
  return "";
}

std::string month_of(Time t) {
  const std::time_t tt = to_unix(t);
  std::tm tm{};
  localtime_r(&tt, &tm);
  return fmt::format("{:04}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1);
}

Durations durations(std::vector<std::int32_t> v) {
  Durations d;
  d.count = static_cast<int>(v.size());
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const size_t rank = std::max<size_t>(static_cast<size_t>(std::ceil(0.9 * static_cast<double>(n))), 1) - 1;
  d.p90 = Seconds{v[rank]};
  d.median = Seconds{n % 2 ? v[n / 2] : (static_cast<std::int64_t>(v[n / 2 - 1]) + v[n / 2]) / 2};
  return d;
}

namespace {

// Buckets of 1/256 of a value's size: below 256 seconds a bucket a second;
// above, 128 a doubling, each the values that share their top eight bits.
constexpr std::size_t kBuckets = 256 + 23 * 128;
static_assert(kBuckets == DurationSample::kExact);

std::size_t bucket_of(std::uint32_t v) {
  if (v < 256) return v;
  const int e = std::bit_width(v) - 8;  // v >> e is in [128, 256)
  return 256 + static_cast<std::size_t>(e - 1) * 128 + ((v >> e) - 128);
}

// The middle of a bucket's values: what each of them counts as.
std::int64_t bucket_value(std::size_t b) {
  if (b < 256) return static_cast<std::int64_t>(b);
  const std::size_t e = (b - 256) / 128 + 1, m = (b - 256) % 128 + 128;
  return (static_cast<std::int64_t>(m) << e) + (std::int64_t{1} << (e - 1));
}

}  // namespace

void DurationSample::add(std::int32_t seconds) {
  ++n_;
  if (exact() && values_.size() < kExact) {
    if (values_.size() == values_.capacity())  // grown as usual, but never past kExact
      values_.reserve(std::min(kExact, std::max<std::size_t>(16, 2 * values_.size())));
    values_.push_back(seconds);
    return;
  }
  if (exact()) {
    buckets_.assign(kBuckets, 0);
    for (std::int32_t v : values_) count(v);
    std::vector<std::int32_t>().swap(values_);
  }
  count(seconds);
}

void DurationSample::count(std::int32_t seconds) {
  if (seconds >= 0) {
    ++buckets_[bucket_of(static_cast<std::uint32_t>(seconds))];
    return;
  }
  if (negative_.empty()) negative_.assign(kBuckets, 0);
  // -INT32_MIN is past the last bucket: it counts in the one of INT32_MAX.
  ++negative_[bucket_of(static_cast<std::uint32_t>(std::min<std::int64_t>(-std::int64_t{seconds}, INT32_MAX)))];
}

std::int32_t DurationSample::at_rank(std::int64_t rank) const {
  auto clamp = [](std::int64_t v) {
    return static_cast<std::int32_t>(std::clamp<std::int64_t>(v, INT32_MIN, INT32_MAX));
  };
  for (std::size_t b = negative_.size(); b-- > 0;)
    if ((rank -= negative_[b]) < 0) return clamp(-bucket_value(b));
  for (std::size_t b = 0; b < buckets_.size(); ++b)
    if ((rank -= buckets_[b]) < 0) return clamp(bucket_value(b));
  return 0;
}

Durations DurationSample::finish() {
  if (exact()) return durations(std::move(values_));
  // The ranks durations() reads: nearest rank for p90, the mean of the two
  // middle values for an even count.
  Durations d;
  d.count = static_cast<int>(n_);
  const auto rank = std::max<std::int64_t>(static_cast<std::int64_t>(std::ceil(0.9 * static_cast<double>(n_))), 1) - 1;
  d.p90 = Seconds{at_rank(rank)};
  d.median = Seconds{n_ % 2 ? at_rank(n_ / 2) : (std::int64_t{at_rank(n_ / 2 - 1)} + at_rank(n_ / 2)) / 2};
  buckets_ = {};
  negative_ = {};
  return d;
}

struct StatsBuilder::Acc {
  StatsGroup g;
  DurationSample tte, tta, ttr;
};

StatsBuilder::StatsBuilder(StatsBy by, const Config& cfg, Time now) : by_(by), cfg_(cfg), now_(now) {}
StatsBuilder::~StatsBuilder() = default;

StatsBuilder::Acc& StatsBuilder::group(const std::string& key) {
  auto& a = groups_[key];
  if (!a) a = std::make_unique<Acc>();
  return *a;
}

void StatsBuilder::add(const StatsCase& c) {
  const StatsCase::Escalation* first = nullptr;
  for (const auto& x : c.escalations)
    if (!first || x.at < first->at) first = &x;
  bool forced = false;
  for (const auto& x : c.escalations) forced = forced || x.forced;
  bool informed = false;
  if (first) {
    const Time end = c.resolved_at ? *c.resolved_at : now_;
    informed = longest_silence(first->at, end, c.contacts) <= cfg_.client_update_every;
  }

  // The groups this case counts in, and for path, which escalations.
  std::vector<std::pair<Acc*, std::string>> in;  // group, path ("" for all of them)
  auto to = [&](const std::string& key, std::string path = {}) { in.emplace_back(&group(key), std::move(path)); };
  switch (by_) {
    case StatsBy::none:
      to("all");
      break;
    case StatsBy::month:
      to(month_of(c.created_at));
      break;
    case StatsBy::engineer:
      to(c.engineer.empty() ? "(nobody)" : c.engineer);
      break;
    case StatsBy::customer:
      to(c.customer.empty() ? "(none)" : c.customer);
      break;
    case StatsBy::severity:
      to(c.severity);
      break;
    case StatsBy::trigger:
      if (c.triggers.empty()) to("(none)");
      for (const auto& t : c.triggers) to(t);
      break;
    case StatsBy::path: {
      std::vector<std::string> paths;
      for (const auto& x : c.escalations)
        if (std::find(paths.begin(), paths.end(), x.path) == paths.end()) paths.push_back(x.path);
      if (paths.empty()) to("(not escalated)");
      for (const auto& p : paths) to(p, p);
      break;
    }
  }
  for (auto& [a, path] : in) {
    StatsGroup& g = a->g;
    ++g.opened;
    if (c.resolved_at) ++g.resolved;
    if (c.csat) ++g.csat_count, g.csat_sum += *c.csat;
    if (!first) continue;
    ++g.escalated;
    a->tte.add(seconds32(first->at - c.created_at));
    if (c.resolved_at) a->ttr.add(seconds32(*c.resolved_at - first->at));
    for (const auto& x : c.escalations)
      if (x.acked_at && (path.empty() || x.path == path)) a->tta.add(seconds32(*x.acked_at - x.at));
    if (forced) ++g.forced;
    if (c.unnecessary) ++g.unnecessary;
    if (informed) ++g.updated_on_time;
  }
}

std::vector<StatsGroup> StatsBuilder::finish() {
  std::vector<StatsGroup> out;
  out.reserve(groups_.size());
  for (auto it = groups_.begin(); it != groups_.end(); it = groups_.erase(it)) {
    Acc& a = *it->second;
    a.g.group = it->first;
    a.g.to_escalate = a.tte.finish();
    a.g.to_acknowledge = a.tta.finish();
    a.g.to_resolve = a.ttr.finish();
    out.push_back(std::move(a.g));
  }
  if (by_ == StatsBy::severity) {
    auto rank = [&](const std::string& s) {
      return std::find(cfg_.severities.begin(), cfg_.severities.end(), s) - cfg_.severities.begin();
    };
    std::stable_sort(out.begin(), out.end(),
                     [&](const auto& a, const auto& b) { return rank(a.group) < rank(b.group); });
  }
  if (out.empty() && by_ == StatsBy::none) {
    StatsGroup all;
    all.group = "all";
    out.push_back(std::move(all));
  }
  return out;
}

}  // namespace esc
