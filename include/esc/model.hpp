#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esc/time.hpp"

namespace esc {

// The domain's words are enums inside esc; their names (`to_string`, the
// `parse_*` functions) are what the database, JSON and the command line
// carry, and are converted only there.

enum class Status { open, escalated, resolved };
std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view s);

enum class EntryKind {
  // written by the engineer
  fact,
  diagnostic,
  step,
  contact,
  hypothesis,
  impact,
  outcome,
  notice,
  heads_up,
  update,
  note,
  // written by esc itself
  escalated,
  acknowledged,
  delivery,
  resolved,
  reopened,
  review,
  correction,
  snoozed,
  taken,
  reply,
  resolved_upstream,
};
std::string_view to_string(EntryKind k);
std::optional<EntryKind> parse_entry_kind(std::string_view s);
bool is_user_kind(EntryKind k);
std::string_view describe(EntryKind k);
// The kinds an engineer writes, in the order help lists them.
const std::vector<EntryKind>& user_entry_kinds();
std::vector<std::string> user_entry_kind_names();
// Kinds that are the client hearing from us: contact, notice, update.
bool is_client_contact(EntryKind k);

// A hypothesis is unconfirmed, confirmed or refuted.
const std::vector<std::string>& hypothesis_states();

struct Case {
  std::int64_t id = 0;
  std::string uuid;
  std::string title;
  std::string customer;
  std::string severity;
  Status status = Status::open;
  std::string ref;  // external reference, e.g. ZD-4411; empty when none
  std::vector<std::string> triggers;
  std::vector<std::string> tags;
  std::string engineer;
  std::string engineer_email;
  Time created_at{};
  Time updated_at{};
  std::optional<Time> resolved_at;
  std::optional<int> csat;
  bool unnecessary = false;
  std::optional<Time> snoozed_until;
  std::string snooze_reason;
};

// A timeline entry. `state` qualifies some kinds: a hypothesis is
// unconfirmed, confirmed or refuted; a review entry is worked, improve or
// lesson. Empty for the other kinds. A struck entry is kept, shown struck,
// and left out of summaries and the checklist.
struct Entry {
  std::int64_t id = 0;
  std::string uuid;
  std::int64_t case_id = 0;
  EntryKind kind = EntryKind::note;
  std::string text;
  std::string state;
  Time at{};
  std::string author;
  std::string source;     // where sync found it ("jira ENG-12", "e-mail"); empty when typed here
  std::string remote_id;  // its id there, so that sync records it once
  std::optional<Time> struck_at;
  std::string struck_by, struck_reason;
  bool struck() const { return struck_at.has_value(); }
};

struct Escalation {
  std::int64_t id = 0;
  std::string uuid;
  std::int64_t case_id = 0;
  int level = 1;
  std::string path;
  Time at{};
  std::string sent_by;
  bool forced = false;  // sent with --force although not ready
  std::string force_reason;
  std::string again_reason;  // sent with --again while the last one was unanswered
  std::string note;          // why it is sent now (--note)
  std::string subject;
  std::string snapshot;  // the summary as JSON, redacted, as it was sent
  std::optional<Time> acked_at;
  std::string acked_by;
};

// pending: queued, tried again by `esc outbox retry`; delivered; failed:
// refused for good (a bad URL, a missing secret, HTTP 4xx), needs a
// person, retried only by `esc outbox retry ID`; dropped by hand.
enum class DeliveryStatus { pending, delivered, failed, dropped };
std::string_view to_string(DeliveryStatus s);
std::optional<DeliveryStatus> parse_delivery_status(std::string_view s);

struct Delivery {
  std::int64_t id = 0;
  std::int64_t escalation_id = 0;
  std::int64_t case_id = 0;
  std::string channel;
  std::string key;  // idempotency key: Message-ID, Idempotency-Key, dedup_key
  DeliveryStatus status = DeliveryStatus::pending;
  int attempts = 0;
  std::string last_error;
  Time created_at{};
  std::optional<Time> next_attempt_at;
  std::optional<Time> delivered_at;
  // When the last attempt that may have reached the channel began (set
  // when an attempt claims it, so a crash mid-attempt leaves it too).
  std::optional<Time> attempted_at;
  std::string remote_key;  // the ticket it made (ENG-4411, #12), when the channel makes one
  std::string remote_url;
  std::string sync_cursor;  // what `esc sync` has seen of it, opaque to all but the channel
  bool imported = false;    // history from another log: never sent from this one
};

// The whole record of one case, as export writes and import reads it.
struct CaseRecord {
  Case c;
  std::vector<Entry> entries;
  std::vector<Escalation> escalations;
  std::vector<Delivery> deliveries;
};

// The longest the client went without word from us between an escalation
// at `start` and `end` (its resolution, or now). The last contact at or
// before `start` (the notice) starts the clock, else `start` does; every
// contact in (start, end] restarts it; contacts after `end` do not count.
// `contacts` is in time order.
Seconds longest_silence(Time start, Time end, const std::vector<Time>& contacts);

// A new UUID, version 7 (RFC 9562): the time in milliseconds, then 74
// random bits, so that the rows made in one session sit side by side in
// the UUID indexes.
std::string new_uuid();

// A random token for claims (128 bits, hex).
std::string new_token();

// The engineer's name when the config names none: $USER, else the login.
std::string default_engineer_name();

}  // namespace esc
