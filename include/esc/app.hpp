#pragma once

// The use cases: what escalating, delivering, acknowledging, resolving and
// importing do to the log and the channels. The command line parses and
// prints; these decide.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "esc/channels.hpp"
#include "esc/checklist.hpp"
#include "esc/config.hpp"
#include "esc/error.hpp"
#include "esc/store.hpp"
#include "esc/summary.hpp"

namespace esc::app {

// Who is at the keyboard: the author of what they record.
struct Engineer {
  std::string name, email;
};

// ---- escalating ------------------------------------------------------------

// The case's hand-over as the log has it now (not yet redacted): every
// section, and the escalations so far with the tickets they made, but for
// `leave_out` (the one being delivered again).
Summary summary_of(Store& store, const Config& cfg, const Case& c, Time now, std::int64_t leave_out = 0);

struct SendRequest {
  std::int64_t case_id = 0;
  const PathConfig* path = nullptr;  // nullptr: by [routing]
  std::string channel;               // --channel
  bool force = false, again = false;
  std::string reason;  // why it goes out unprepared (--force) or again (--again)
  std::string note;    // why it is sent now
};

struct SendPlan {
  Case c;
  const PathConfig* path = nullptr;
  std::vector<std::string> channels;
  Summary summary;  // redacted, as it would go out
  int level = 1;
  // Set when the path's last escalation of this case is unanswered:
  // sending again needs --again (or --channel re-delivers it).
  std::optional<Escalation> unanswered;
  bool redeliver = false;  // --channel with an unanswered escalation: no new level
};

// What `esc send` would do, read from the log as it is. Throws data or
// usage Errors for a resolved case or an unknown path or channel.
SendPlan plan_send(Store& store, const Config& cfg, const SendRequest& r, Time now);
// Why `esc send` would refuse this plan (not ready without --force, or the
// path's last escalation unanswered without --again): exit 1.
std::optional<Error> refusal(const SendPlan& p, const SendRequest& r);

struct Sent {
  Escalation x;  // the escalation delivered (new, or the one re-delivered)
  bool new_level = false;
  std::vector<std::int64_t> deliveries;  // queued, in channel order
};

// Records the escalation and one queued delivery per channel in one durable
// transaction, checking again inside it that the case is ready (or forced)
// and that the path is not still waiting for an answer (or --again): two
// concurrent sends make one escalation. Throws an Error with Exit::no when
// refused.
Sent record_send(Store& store, const Config& cfg, const SendRequest& r, const Engineer& who, Time now);

// ---- delivering ------------------------------------------------------------

struct Attempted {
  Delivery delivery;
  enum class What {
    delivered,   // it went out (or an earlier attempt's was found and adopted)
    deferred,    // it did not; it stays queued and is tried again
    failed,      // refused for good: needs a person (`esc outbox retry ID` after the fix)
    busy,        // another process holds it, or it is no longer open
    lost_claim,  // this process lost its claim while it delivered; nothing recorded
    unrecorded,  // it went out, but recording that failed: `esc outbox retry` records it
  } what = What::busy;
  std::string error;
  bool adopted = false;  // the ticket was there already: an earlier attempt had made it
};

// One attempt at one delivery: the payload is rendered from the
// escalation's snapshot first; then the delivery is claimed (a token and a
// lease of the database's clock covering the whole attempt), delivered, and
// the outcome recorded only while the claim still holds. An outcome that
// could not be recorded is kept beside the log and recorded by the next
// attempt, without delivering again.
Attempted attempt_delivery(Store& store, const Config& cfg, std::int64_t delivery_id, Time now);

// Records the outcomes kept beside the log by earlier attempts; returns how
// many.
int record_kept_outcomes(Store& store, const Config& cfg, Time now);

// The back-off before attempt number `attempts + 1`: retry_base doubled
// for each failed attempt, capped at retry_max.
Seconds backoff(const Config& cfg, int attempts);

// ---- answering and closing -----------------------------------------------------

struct Acked {
  Escalation x;
  bool already = false;
};
// The next level acknowledged the case's newest escalation.
Acked acknowledge(Store& store, std::int64_t case_id, const std::string& by, const Engineer& who, Time now);

void resolve(Store& store, std::int64_t case_id, const std::string& text, std::optional<int> csat, bool unnecessary,
             const Engineer& who, Time now);
Status reopen(Store& store, std::int64_t case_id, const Engineer& who, Time now);
void drop_delivery(Store& store, std::int64_t delivery_id, const Engineer& who, Time now);

// Adds an entry written by the engineer (or by esc), in the caller's
// transaction, and marks the case active.
Entry add_entry(Store& store, std::int64_t case_id, EntryKind kind, const std::string& text, const std::string& author,
                Time now, const std::string& state = {}, std::optional<Time> at = std::nullopt);

// ---- opening and correcting --------------------------------------------------

// Opens a case: a ref that is taken is refused (65); sets c.id.
void open_case(Store& store, Case& c);

// What `esc edit` changes; each field only when given. Applied to the case
// as it is inside the transaction, so that two people editing one case at
// once never undo each other's changes.
struct CaseEdit {
  std::optional<std::string> title, customer, severity, ref;
  std::vector<std::string> add_triggers, remove_triggers, add_tags, remove_tags;
};
// False when nothing changed.
bool edit_case(Store& store, std::int64_t case_id, const CaseEdit& e, Time now);

// Strikes an entry an engineer wrote: kept, shown struck, left out of
// summaries and the checklist. Returns it.
Entry strike(Store& store, std::int64_t entry_id, const std::string& reason, const Engineer& who, Time now);
// A hypothesis's new state; returns the one it had.
std::string set_hypothesis_state(Store& store, std::int64_t entry_id, const std::string& state, const Engineer& who,
                                 Time now, std::int64_t* case_id = nullptr);
// Keeps the case out of `esc due` until `until` (nullopt: from now on again).
void snooze(Store& store, std::int64_t case_id, std::optional<Time> until, const std::string& reason,
            const Engineer& who, Time now);
// Makes the case the engineer's; returns who had it.
std::string take(Store& store, std::int64_t case_id, const Engineer& who, Time now);

// ---- importing -------------------------------------------------------------

struct ImportReport {
  int added = 0, merged = 0, unchanged = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> renumbered;  // the file's number, ours
  std::vector<MergeResult> ref_conflicts;
};
// Reads `esc export` lines and unites each with the log, all in one
// transaction: a bad line anywhere changes nothing (a data Error naming the
// line). `name` is what errors call the input.
ImportReport import_lines(Store& store, std::istream& in, const std::string& name);

}  // namespace esc::app
