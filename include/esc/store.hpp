#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "esc/due.hpp"
#include "esc/model.hpp"
#include "esc/stats.hpp"

namespace esc {

namespace db {
class Connection;
}

struct CaseFilter {
  std::vector<Status> statuses;  // empty: any
  std::string severity;
  std::string customer;  // without regard to (ASCII) case
  std::string tag;       // likewise
  std::string engineer;  // the case's engineer, by name or e-mail
  int limit = 0;         // 0: no limit
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
  double rank = 0;  // lower is better
};

struct LessonHit {
  Entry entry;
  std::string case_title;
  std::string customer;
};

// An escalation waiting on a path (`esc inbox`).
struct InboxItem {
  Case c;
  Escalation x;
};

// What one line of an import did (Store::merge_record).
struct MergeResult {
  enum class Outcome { added, merged, unchanged } outcome = Outcome::unchanged;
  std::int64_t file_id = 0, id = 0;                  // the case's number in the file, and here
  std::string ref_conflict;                          // the ref it could not keep: another case here has it
  std::int64_t ref_owner = 0;                        // that case
  int entries = 0, escalations = 0, deliveries = 0;  // rows added
};

// The case log: the only place that speaks SQL. Every method is one
// statement or runs inside the caller's transaction (write() or read()).
class Store {
 public:
  // Opens the log at `location`: a file path (SQLite) or a PostgreSQL
  // connection URI (postgresql://... or postgres://...). `create`: make the
  // log when there is none (commands that write); otherwise a missing log is
  // a not-found Error (66) and nothing is created. Migrates an older schema;
  // a log newer than this esc, or something that is not an esc log, is an io
  // Error (74), left untouched.
  struct Options {
    bool create = false;
    int busy_timeout_ms = 10000;
  };
  static Store open(const std::string& location, const Options& options);
  static Store open_memory();
  static bool is_postgres(const std::string& location);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  // How a change reaches the disk. `normal`: it survives esc crashing at any
  // moment; a power cut may take the last changes back, never half of one.
  // `durable`: the commit waits for the disk, for what must not be forgotten
  // once something has left the machine.
  enum class Sync { normal, durable };

  // Runs `fn` in one write transaction; rolls back if it throws. On
  // PostgreSQL a conflict with a concurrent change runs `fn` again on a
  // fresh snapshot, so `fn` must read what it changes inside, and set its
  // results rather than add to them.
  void write(const std::function<void()>& fn, Sync sync = Sync::normal);
  // Runs `fn`, which only reads, on one snapshot of the log.
  void read(const std::function<void()>& fn);
  bool postgres() const;
  std::string where() const;  // the log's location, without a password

  // Cases
  void insert_case(Case& c);  // keeps c.id when it is set and free; sets it
  void update_case(const Case& c);
  std::optional<Case> get_case(std::int64_t id);
  std::optional<Case> case_by_ref(const std::string& ref);
  std::optional<Case> case_by_uuid(const std::string& uuid);
  // Most recently active first, one at a time: any number in constant memory.
  void each_case(const CaseFilter& f, const std::function<void(const Case&)>& fn);
  enum class Which { active, resolved, all };
  std::vector<CaseId> list_ids(Which which, int limit);
  std::vector<CaseId> similar_resolved(const std::string& title, int limit);

  // Entries
  void insert_entry(Entry& e);
  std::vector<Entry> entries(std::int64_t case_id);
  std::optional<Entry> get_entry(std::int64_t id);
  bool has_remote_entry(const std::string& source, const std::string& remote_id);
  // The case's entries of `kind` that sync recorded from `source`, not
  // struck (read through the index of what sync found).
  std::vector<Entry> live_remote_entries(std::int64_t case_id, const std::string& source, EntryKind kind);
  void update_entry(const Entry& e);  // its state and whether it is struck
  // Throws a data Error (65) for a query that is not one.
  std::vector<SearchHit> search(const std::string& query, const std::string& kind, int limit, bool newest_first);
  void each_lesson(const std::string& query, int limit, const std::function<void(const LessonHit&)>& fn);

  // Escalations and deliveries
  void insert_escalation(Escalation& x);
  // A case's escalations, in level order, without their snapshots.
  std::vector<Escalation> escalations(std::int64_t case_id);
  // One escalation with the summary it sent.
  std::optional<Escalation> get_escalation(std::int64_t id);
  void update_escalation(const Escalation& x);  // its acknowledgement
  void insert_delivery(Delivery& d);
  std::optional<Delivery> get_delivery(std::int64_t id);
  std::optional<Delivery> delivery_by_key(const std::string& key);
  std::vector<Delivery> deliveries(std::int64_t escalation_id);
  // Pending and failed deliveries of this log, oldest first.
  std::vector<Delivery> outbox();
  // Every delivery that made a ticket or can be followed up (`esc sync`):
  // those delivered, of cases not yet resolved.
  std::vector<Delivery> delivered_open();
  // Claims a pending or failed delivery for `lease_seconds` of the
  // database's clock, with a token only the claimer knows; false when it is
  // delivered or dropped, or another claim has not run out (unless that
  // claim's token is `take_over`: its holder is known to be dead).
  // The claim marks when this attempt began (attempted_at = now).
  bool claim_delivery(std::int64_t id, const std::string& token, int lease_seconds, Time now,
                      const std::string& take_over = {});
  // The token of the claim on a delivery while its lease runs, if any.
  std::string claim_of(std::int64_t id);
  // Records an attempt's outcome (status, attempts, error, times, ticket),
  // and releases the claim, only while `token` still holds it. False: the
  // claim was lost (its lease ran out and another took it); nothing changed.
  bool record_delivery(const Delivery& d, const std::string& token);
  // Changes a delivery that nobody is delivering now (drop, sync's cursor).
  void update_delivery(const Delivery& d);

  // Follow-up and metrics
  // The cases not yet resolved, with what `due` needs of each, one at a time.
  void each_active(const std::function<void(const ActiveCase&)>& fn);
  // The newest unacknowledged escalations of unresolved cases on these
  // paths, oldest first.
  std::vector<InboxItem> inbox(const std::vector<std::string>& paths);
  // Every case created in [since, until), one at a time, in one pass over
  // narrow indexes.
  void each_stats_case(std::optional<Time> since, std::optional<Time> until,
                       const std::function<void(const StatsCase&)>& fn);
  // Of the cases created in [since, until) (`esc report`): the newest
  // escalation of each unresolved one, longest waiting first; and the
  // newest lessons, with their cases. At most `limit` of each.
  std::vector<InboxItem> open_escalations(std::optional<Time> since, std::optional<Time> until, int limit);
  std::vector<LessonHit> latest_lessons(std::optional<Time> since, std::optional<Time> until, int limit);

  // Export and import
  void each_record(std::optional<Time> since, const std::function<void(const CaseRecord&)>& fn);
  // Unites a record with the log, in the caller's transaction: a case not
  // here is added (keeping its number when it is free); one that is gets
  // the entries, escalations and deliveries it lacks (by UUID and key),
  // and the case's own fields from the newer copy. Nothing here is deleted.
  // Imported deliveries are history: never queued for sending.
  MergeResult merge_record(const CaseRecord& r);

  std::string integrity_check();

  struct Impl;  // the connection and what the store's files share (store_impl.hpp)

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace esc
