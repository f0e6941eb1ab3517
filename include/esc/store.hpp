#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "esc/model.hpp"

namespace esc {

struct CaseFilter {
  std::vector<Status> statuses;  // empty: any
  std::string severity;
  std::string customer;
  std::string tag;
  std::optional<Time> since;  // updated_at at or after
  int limit = 0;              // 0: no limit
};

struct CaseId {
  std::int64_t id = 0;
  std::string ref;
  std::string title;
  std::string severity;
  Status status = Status::open;
};

struct SearchHit {
  std::int64_t case_id = 0;
  std::int64_t entry_id = 0;  // 0 when the title matched
  std::string kind;           // entry kind, or "title"
  std::string title;
  std::string snippet;  // matched words between \x02 and \x03
  Time at{};
  double rank = 0;
};

struct LessonHit {
  Entry entry;
  std::string case_title;
  std::string customer;
};

// What `esc due` needs of an escalated case: its newest escalation (id,
// level, path, time and acknowledgement only; not its subject or the sent
// summary) and the last time the client heard from us.
struct EscalatedCase {
  Case c;
  Escalation latest;
  std::optional<Time> last_client_contact;
};

// One case as `esc stats` reads it.
struct StatsRow {
  std::int64_t id = 0;
  Time created_at{};
  std::optional<Time> resolved_at;
  std::optional<int> csat;
  bool unnecessary = false;
  std::string severity;
  EscalationFacts facts;
  std::string engineer, customer;     // only when grouping by them
  std::vector<std::string> triggers;  // only when grouping by trigger
};

// What `esc stats` needs of the escalated cases opened in one calendar
// month (UTC), kept in the database between runs (see escalated_stats()).
struct EscalatedMonth {
  std::int64_t month = 0;  // the month's first second, Unix time
  int escalated = 0, forced = 0, unnecessary = 0;
  // Seconds, each sorted: from opening to the first escalation (every
  // case); from it to its acknowledgement (acknowledged ones), and to the
  // resolution; the longest silence (resolved ones).
  std::vector<std::int32_t> to_escalate, to_acknowledge, to_resolve, silence;
  // An escalated case opened in the month, then the sort (stats.cpp).
  void add(const StatsRow& r);
  void finish();
};

// How many cases were created in a period, and what became of them.
struct CaseCounts {
  Time from{};  // the start of the period (of the month, with by_month)
  int opened = 0, resolved = 0, csat_count = 0;
  double csat_sum = 0;
};

// The only place that speaks SQL. Every method is one statement or runs
// inside the caller's transaction (see write()).
class Store {
 public:
  static constexpr int kSchemaVersion = 5;

  // Opens (creating with folder 0700, file 0600) and migrates. Throws an io
  // Error (74) for a file that is not an esc database or is newer than us.
  static Store open(const std::filesystem::path& file);
  static Store open_memory();

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // How a change reaches the disk. `normal`: it survives esc or any
  // program crashing at any moment, and a power loss may take the last
  // changes back (never half of one): SQLite's WAL with synchronous=NORMAL,
  // no fsync on the way. `durable`: the commit waits for the disk; for what
  // must not be forgotten once something has left the machine (an
  // escalation and its outbox, a delivery's outcome).
  enum class Sync { normal, durable };

  // Runs `fn` inside BEGIN IMMEDIATE ... COMMIT; rolls back on exception.
  void write(const std::function<void()>& fn, Sync sync = Sync::normal);
  // Runs `fn`, which only reads, on one snapshot of the log: what it reads
  // twice (a long table, measured and then printed) is the same both times.
  void read(const std::function<void()>& fn);

  // Cases
  void insert_case(Case& c);
  void update_case(const Case& c);
  std::optional<Case> get_case(std::int64_t id);
  std::optional<Case> find_case_by_ref(const std::string& ref);
  std::optional<Case> find_case_by_uuid(const std::string& uuid);
  std::vector<Case> list_cases(const CaseFilter& f);
  // The same, one case at a time: any number of them in constant memory.
  void each_case(const CaseFilter& f, const std::function<void(const Case&)>& fn);
  // The most recently active first; limit 0: all.
  enum class Which { active, resolved, all };
  std::vector<CaseId> list_ids(Which which, int limit);
  std::vector<CaseId> similar_resolved(const std::string& title, int limit);

  // Entries
  void insert_entry(Entry& e);
  std::vector<Entry> entries(std::int64_t case_id);
  std::vector<SearchHit> search(const std::string& query, const std::string& kind, int limit, bool newest_first);
  std::vector<LessonHit> lessons(const std::string& query, int limit);
  void each_lesson(const std::string& query, int limit, const std::function<void(const LessonHit&)>& fn);

  // Escalations and deliveries
  void insert_escalation(Escalation& e);
  std::vector<Escalation> escalations(std::int64_t case_id);
  void update_escalation(const Escalation& e);
  void insert_delivery(Delivery& d);
  std::optional<Delivery> get_delivery(std::int64_t id);
  std::vector<Delivery> deliveries(std::int64_t escalation_id);
  std::vector<Delivery> pending_deliveries();
  // Updates status, attempts, error and times, and releases any claim.
  void update_delivery(const Delivery& d);
  // Claims a pending delivery for process `pid` until `until` (wall clock).
  // False when it is no longer pending or another live process holds it.
  bool claim_delivery(std::int64_t id, int pid, std::int64_t until, std::int64_t wall_now,
                      const std::function<bool(int)>& alive);
  std::optional<Escalation> get_escalation(std::int64_t id);

  // Follow-up and metrics
  // The open cases, and the escalated ones with their newest escalation,
  // one at a time in no particular order, in one pass (`due`). Of each case
  // only what `due` shows is read: id, title, severity, opening time and
  // status.
  void each_active(const std::function<void(const Case&)>& open,
                   const std::function<void(const EscalatedCase&)>& escalated);
  // Every case created in [since, until), oldest first, one at a time. `by`
  // names the grouping (see StatsBuilder): only what it needs is read.
  void stats(std::optional<Time> since, std::optional<Time> until, const std::string& by,
             const std::function<void(const StatsRow&)>& fn);
  // The same, faster, for the whole period or by month: the counts of the
  // cases created in [since, until) (one entry, or one per UTC calendar
  // month that has cases), then the escalated ones among them.
  std::vector<CaseCounts> case_counts(std::optional<Time> since, std::optional<Time> until, bool by_month);
  // The escalated cases created in [since, until): each month that lies
  // wholly inside as one EscalatedMonth (kept in the database from one run
  // to the next, computed again once any of its cases changed), the cases of
  // the one or two months that since or until cut one by one (on_case), and
  // the unresolved cases of the whole months once more (on_unresolved): how
  // long their client has gone without news depends on the time.
  void escalated_stats(std::optional<Time> since, std::optional<Time> until,
                       const std::function<void(EscalatedMonth&&)>& on_month,
                       const std::function<void(const StatsRow&)>& on_case,
                       const std::function<void(const StatsRow&)>& on_unresolved);

  // Export and import
  void for_each_record(std::optional<Time> since, const std::function<void(const CaseRecord&)>& fn);
  // Inserts the case with this UUID and all that hangs off it, or replaces
  // ours when the record is newer (by updated_at); keeps ours otherwise.
  enum class Upsert { added, replaced, kept };
  Upsert upsert_record(const CaseRecord& r);

  // Used by tests and `esc doctor`-like checks.
  std::string integrity_check();
  std::string fts_integrity_check();

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace esc
