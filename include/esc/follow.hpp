#pragma once

// Following deliveries up (`esc sync`): what became of each one in the
// tracker or mailbox it went to. The channels read; src/app records.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/model.hpp"

namespace esc {

// One thing that happened there, recorded once by (source, remote_id).
struct RemoteEvent {
  // reopened: the ticket is open again (not recorded as an entry: what it
  // had said about being resolved is struck).
  enum class Kind { acknowledged, reply, resolved, reopened } kind = Kind::reply;
  std::string remote_id;   // its id at the source ("comment:10042", "acknowledged", a Message-ID)
  std::string author;      // who: a display name, a login, an address; empty when the source does not say
  std::optional<Time> at;  // when, when the source says
  std::string text;        // a reply's words; for the others what happened ("assigned to Jane Doe")
};

// What was read of one delivery.
struct FollowedDelivery {
  std::int64_t delivery_id = 0;
  std::string source;                  // "jira ESC-12", "github acme/support#4", "pagerduty #1234", "e-mail"
  std::vector<RemoteEvent> events;     // oldest first
  std::string cursor;                  // its new sync_cursor (unchanged when equal to the old one)
  std::string remote_key, remote_url;  // the ticket or incident, when found only now
  std::string error;                   // set when this delivery alone could not be read
};

// What was read of one channel's deliveries.
struct FollowResult {
  std::vector<FollowedDelivery> deliveries;
  // unreachable: down, timed out, rate-limited, an answer that is not the
  // API's (try again later); refused: the credentials or the config (needs
  // a person).
  enum class Failure { none, unreachable, refused } failure = Failure::none;
  std::string error;  // one line naming neither a token nor a password
};

// Whether `esc sync` can read what becomes of this channel's deliveries:
// jira, github, pagerduty with a REST API token, smtp with an imap_url.
// Otherwise `why` says what is missing (empty for channels nothing can be
// read from, such as webhooks and files).
bool followable(const ChannelConfig& ch, std::string* why = nullptr);

// The longest a sync waits for a server that asked it to come back later
// (429 with Retry-After): a longer wait ends that channel's reading for
// this run.
constexpr Seconds kSyncWaitMax{5};

// Reads what became of `deliveries` (all delivered by `ch`), over one
// connection where the protocol allows. Never throws for what a server
// did; a channel that fails part-way keeps what was read before.
FollowResult follow(const ChannelConfig& ch, const std::vector<Delivery>& deliveries, const Config& cfg);

}  // namespace esc
