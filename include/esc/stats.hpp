#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/model.hpp"

namespace esc {

// One case as `esc stats` reads it: the case's own figures, its
// escalations in level order and when its client heard from us.
struct StatsCase {
  std::int64_t id = 0;
  Time created_at{};
  std::optional<Time> resolved_at;
  std::optional<int> csat;
  bool unnecessary = false;
  std::string severity, engineer, customer;
  std::vector<std::string> triggers;
  struct Escalation {
    int level = 1;
    std::string path;
    Time at{};
    std::optional<Time> acked_at;
    bool forced = false;
  };
  std::vector<Escalation> escalations;
  std::vector<Time> contacts;  // in time order
};

struct Durations {
  int count = 0;
  std::optional<Seconds> median;  // mean of the two middle values for an even count
  std::optional<Seconds> p90;     // nearest rank
};
Durations durations(std::vector<std::int32_t> seconds);

// The durations of one figure of one group, in memory that does not grow
// with the cases: every value while there are at most kExact of them (the
// figures are then exact, as durations() gives them); beyond, a count per
// bucket of values within 1/256 of each other (3,200 counts a sign, as much
// room as the values took), from which the median and p90 are read to
// within 0.4%.
class DurationSample {
 public:
  static constexpr std::size_t kExact = 3200;
  void add(std::int32_t seconds);
  Durations finish();
  bool exact() const { return buckets_.empty() && negative_.empty(); }

 private:
  void count(std::int32_t seconds);
  std::int32_t at_rank(std::int64_t rank) const;  // 0-based, in value order
  std::vector<std::int32_t> values_;
  std::vector<std::uint32_t> buckets_, negative_;  // by bucket of the value, of minus the value
  std::int64_t n_ = 0;
};

struct StatsGroup {
  std::string group;  // "all", or the month / engineer / path / ... value
  int opened = 0, escalated = 0, resolved = 0;
  Durations to_escalate, to_acknowledge, to_resolve;
  int forced = 0, updated_on_time = 0, unnecessary = 0, csat_count = 0;
  double csat_sum = 0;

  std::optional<double> escalation_rate() const;  // escalated / opened
  std::optional<double> forced_share() const;     // of escalated
  std::optional<double> update_compliance() const;
  std::optional<double> unnecessary_share() const;
  std::optional<double> csat_mean() const;
};

// The groupings `--by` takes.
enum class StatsBy { none, month, engineer, path, trigger, severity, customer };
std::optional<StatsBy> parse_stats_by(std::string_view s);
std::string_view to_string(StatsBy by);

// The month (local time, as the engineer reads a calendar) of a time: "2026-11".
std::string month_of(Time t);

// The figures of each group, from cases added one at a time (the store
// streams them): memory holds the groups and the escalated cases'
// durations, not the cases. A case counts in the group of its month
// (opened), engineer, customer or severity; in each of its triggers; and
// in each path it was escalated to. Time to acknowledge counts every
// acknowledged escalation, at any level; the others count each escalated
// case once: to escalate (opening to first escalation), to resolve (first
// escalation to resolution), sent unprepared (any forced escalation),
// client kept informed (never silent longer than client_update_every
// between the first escalation and the resolution, or now).
class StatsBuilder {
 public:
  StatsBuilder(StatsBy by, const Config& cfg, Time now);
  ~StatsBuilder();
  void add(const StatsCase& c);
  std::vector<StatsGroup> finish();

 private:
  struct Acc;
  Acc& group(const std::string& key);
  StatsBy by_;
  const Config& cfg_;
  Time now_;
  std::map<std::string, std::unique_ptr<Acc>> groups_;
};

}  // namespace esc
