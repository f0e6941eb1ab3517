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

// What `esc due` needs of an escalated case: its newest escalation and the
// last time the client heard from us.
struct EscalatedCase {
  Case c;
  Escalation latest;
  std::optional<Time> last_client_contact;
};

// One row per case for `esc stats`.
struct StatsRow {
  Case c;
  std::optional<Time> first_escalated_at;
  std::optional<Time> first_acked_at;
  std::string first_path;
  bool forced = false;                // any escalation sent not ready
  std::vector<Time> client_contacts;  // notice/update/contact entries, in time order
};

// The only place that speaks SQL. Every method is one statement or runs
// inside the caller's transaction (see write()).
class Store {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens (creating with folder 0700, file 0600) and migrates. Throws an io
  // Error (74) for a file that is not an esc database or is newer than us.
  static Store open(const std::filesystem::path& file);
  static Store open_memory();

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // Runs `fn` inside BEGIN IMMEDIATE ... COMMIT; rolls back on exception.
  void write(const std::function<void()>& fn);

  // Cases
  void insert_case(Case& c);
  void update_case(const Case& c);
  std::optional<Case> get_case(std::int64_t id);
  std::optional<Case> find_case_by_ref(const std::string& ref);
  std::optional<Case> find_case_by_uuid(const std::string& uuid);
  std::vector<Case> list_cases(const CaseFilter& f);
  std::vector<CaseId> list_ids(bool include_resolved);
  std::vector<CaseId> similar_resolved(const std::string& title, int limit);

  // Entries
  void insert_entry(Entry& e);
  std::vector<Entry> entries(std::int64_t case_id);
  std::vector<SearchHit> search(const std::string& query, const std::string& kind, int limit, bool newest_first);
  std::vector<LessonHit> lessons(const std::string& query, int limit);

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
  std::vector<Case> open_unescalated();
  std::vector<EscalatedCase> escalated_cases();
  std::vector<StatsRow> stats_rows(std::optional<Time> since, std::optional<Time> until);

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
