#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/store.hpp"

namespace esc {

struct Durations {
  int count = 0;
  std::optional<Seconds> median;  // mean of the two middle values for an even count
  std::optional<Seconds> p90;     // nearest rank
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

Durations durations(std::vector<Seconds> v);

// Whether the client of an escalated case heard from us at least every
// `every`, from the escalation to its resolution (or now).
bool client_kept_informed(const StatsRow& r, Seconds every, Time now);

// Groups: "" (one group, "all"), month, engineer, path, trigger, severity,
// customer. A case with several triggers counts once in each. Rows are
// added one at a time (Store::stats streams them), so that memory holds
// the groups and the durations of escalated cases, not the cases.
class StatsBuilder {
 public:
  StatsBuilder(std::string by, const Config& cfg, Time now);
  ~StatsBuilder();
  // A case: it counts, and so does its escalation if it has one.
  void add(const StatsRow& r);
  // Or in two parts (faster when grouping by nothing or by month, see
  // Store::case_counts): cases counted in SQL, then the escalated ones.
  void add_counts(const CaseCounts& c);
  void add_escalation(const StatsRow& r);
  // Or, for the months that lie wholly in the period (Store::escalated_stats):
  // each month's escalated cases at once, then those of them not resolved.
  void add_escalated_month(EscalatedMonth&& m);
  void add_unresolved(const StatsRow& r);
  std::vector<StatsGroup> finish();

 private:
  struct Acc;
  Acc& group(const std::string& key);
  Acc& month(Time t);
  Acc& all();
  // Calls f with each group the case counts in (several for triggers).
  void each_group(const StatsRow& r, const std::function<void(Acc&)>& f);
  std::string by_;
  const Config& cfg_;
  Time now_;
  std::map<std::string, std::unique_ptr<Acc>> groups_;
  // Rows come in order of creation: the last month seen (year * 12 + month).
  std::int64_t last_month_key_ = INT64_MIN;
  Acc* last_month_ = nullptr;
  Acc* all_ = nullptr;
};

std::vector<StatsGroup> compute_stats(const std::vector<StatsRow>& rows, const std::string& by, const Config& cfg,
                                      Time now);

}  // namespace esc
