#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esc/time.hpp"

namespace esc {

enum class Status { open, escalated, resolved };
std::string_view to_string(Status s);
std::optional<Status> parse_status(std::string_view s);

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
  Time created_at{};
  Time updated_at{};
  std::optional<Time> resolved_at;
  std::optional<int> csat;
  bool unnecessary = false;
};

// A timeline entry. `state` qualifies some kinds: a hypothesis is
// unconfirmed, confirmed or refuted; a review entry is worked, improve or
// lesson. Empty for the other kinds.
struct Entry {
  std::int64_t id = 0;
  std::string uuid;
  std::int64_t case_id = 0;
  std::string kind;
  std::string text;
  std::string state;
  Time at{};
  std::string author;
};

struct Escalation {
  std::int64_t id = 0;
  std::string uuid;
  std::int64_t case_id = 0;
  int level = 1;
  std::string path;
  Time at{};
  bool forced = false;  // sent with --force although not ready
  std::string force_reason;
  std::string subject;
  std::string snapshot;  // the summary as JSON, redacted, as it was sent
  std::optional<Time> acked_at;
  std::string acked_by;
};

enum class DeliveryStatus { pending, delivered, dropped };
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
};

// The whole record of one case, as export writes and import reads it.
struct CaseRecord {
  Case c;
  std::vector<Entry> entries;
  std::vector<Escalation> escalations;
  std::vector<Delivery> deliveries;
};

// Entry kinds an engineer writes, and those esc writes itself.
const std::vector<std::string>& user_entry_kinds();
const std::vector<std::string>& system_entry_kinds();
bool is_user_kind(std::string_view kind);
bool is_entry_kind(std::string_view kind);
std::string_view describe_kind(std::string_view kind);

// Kinds that are the client hearing from us: contact, notice, update.
bool is_client_contact(std::string_view kind);

const std::vector<std::string>& hypothesis_states();

// The longest the client went without word from us between an escalation
// at `start` and `end` (its resolution, or now). The last contact at or
// before `start` (the notice) starts the clock, else `start` does; every
// contact in (start, end] restarts it; contacts after `end` do not count.
// `contacts` is in time order.
Seconds longest_silence(Time start, Time end, const std::vector<Time>& contacts);

// What `esc stats` and `esc due` need of a case's escalations, kept with the
// case so that metrics over years of cases, and follow-up, read one narrow
// index.
struct EscalationFacts {
  std::optional<Time> first_at;        // the earliest escalation
  std::optional<Time> first_acked_at;  // of the first one (lowest level)
  std::string first_path;
  bool forced = false;  // any escalation sent not ready
  // For an escalated case: longest_silence() from the first escalation to
  // the resolution; not yet resolved, to the last contact, and the time
  // since then is added when it is measured (silence_by()).
  std::optional<Seconds> silence;
  // When the client last heard from us, escalated or not.
  std::optional<Time> last_contact;
  // The newest escalation, the one `due` follows up: the highest level (the
  // latest of those). Its id, level, path, time and acknowledgement only.
  std::optional<Escalation> latest;
};

// The longest the client of an escalated case not yet resolved has waited
// for news by `now`: longest_silence(first escalation, now, contacts).
Seconds silence_by(const EscalationFacts& f, Time now);

// `escalations` in any order, `contacts` (client contact times) in time order.
EscalationFacts escalation_facts(const Case& c, const std::vector<Escalation>& escalations,
                                 const std::vector<Time>& contacts);

// A new UUID, version 7 (RFC 9562): the time in milliseconds, then 74
// random bits. Time-ordered, so the rows made in one session sit side by
// side in the UUID indexes instead of landing on random pages of them.
std::string new_uuid();

// The engineer's name when the config names none: $USER, else the login.
std::string default_engineer_name();

}  // namespace esc
