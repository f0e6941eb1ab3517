#pragma once

#include <optional>
#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/model.hpp"
#include "esc/summary.hpp"

namespace esc {

// A delivery attempt's outcome: a value, not an exception. `error` never
// holds a secret (URLs are masked to scheme://host/…).
struct DeliveryResult {
  bool ok = false;
  std::string error;
  // Refused for good (HTTP 4xx other than 408/425/429, a bad URL, a missing
  // secret, SMTP 5xx): trying again without a fix cannot help.
  bool permanent = false;
  std::optional<Seconds> retry_after;  // what the server asked for (429, 503)
  std::string remote_key, remote_url;  // the ticket made or found
  bool adopted = false;                // it was there already: an earlier attempt had made it
  // Known not to have reached the channel (the tracker's search failed, or
  // was not yet to be trusted): the time of the last attempt that may have
  // reached it stands.
  bool unsent = false;
};

inline DeliveryResult delivered() {
  DeliveryResult r;
  r.ok = true;
  return r;
}
inline DeliveryResult not_delivered(std::string error, bool permanent = false) {
  DeliveryResult r;
  r.error = std::move(error);
  r.permanent = permanent;
  return r;
}

// What one channel would send: for --dry-run, and what deliver() sends.
struct Payload {
  std::string description;   // "POST https://hooks.slack.com/… (slack)"
  std::string content_type;  // text/plain, application/json, message/rfc822
  std::string body;
};

// Who sends: the engineer, for e-mail's From and Reply-To.
struct Sender {
  std::string name, email;
};

// Builds the payload for `ch` from a (redacted) summary, within the
// channel's size limits: a long entry keeps its head and tail, never is a
// section left out. `key` is the delivery's idempotency key; `now` dates
// e-mail.
Payload render_payload(const ChannelConfig& ch, const Summary& s, const std::string& key, const Sender& from, Time now);

// When an earlier attempt of this delivery that may have reached the
// channel began (nullopt: none did), and now.
struct Attempt {
  std::optional<Time> earlier;
  Time now{};
};

// Delivers one payload. Never throws for a failed delivery. Channels that
// make tickets first look for one made by an earlier attempt with this key,
// and adopt it; a tracker whose search lags (Jira) makes no ticket while
// that search may not yet show the one an earlier attempt made.
DeliveryResult deliver(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key,
                       const Config& cfg, const Attempt& attempt);

// Whether a delivery that may have gone out (its outcome was never
// recorded) is there: the file channel's file. nullopt when the channel
// cannot tell (the ticket trackers look before each creation anyway).
std::optional<DeliveryResult> find_delivered(const ChannelConfig& ch, const Summary& s, const std::string& key);

// Pieces exposed for tests.
std::string rfc2047_subject(const std::string& subject);
std::string quoted_printable(const std::string& text);
std::string slack_escape(const std::string& text);
std::string mask_url(const std::string& url);
std::string message_id(const std::string& key, const std::string& from);
// The command's arguments with the placeholders filled. Throws
// std::invalid_argument when a filled value would start an argument with
// '-' before a "--" (it would be read as an option).
std::vector<std::string> command_argv(const ChannelConfig& ch, const Summary& s, const std::string& key);

}  // namespace esc
