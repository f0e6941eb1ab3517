#pragma once

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
};

// What one channel would send: for --dry-run, and what deliver() sends.
struct Payload {
  std::string description;   // "POST https://hooks.slack.com/… (slack)"
  std::string content_type;  // text/plain, application/json, message/rfc822
  std::string body;
};

// Builds the payload for `ch` from a (redacted) summary. `key` is the
// delivery's idempotency key; `now` dates e-mail.
Payload render_payload(const ChannelConfig& ch, const Summary& s, const std::string& key, Time now);

// Delivers one payload. Never throws for a failed delivery.
DeliveryResult deliver(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key);

// Pieces exposed for tests.
std::string rfc2047_subject(const std::string& subject);
std::string quoted_printable(const std::string& text);
std::string slack_escape(const std::string& text);
std::string mask_url(const std::string& url);
std::string message_id(const std::string& key, const std::string& from);
std::vector<std::string> command_argv(const ChannelConfig& ch, const Summary& s, const std::string& key);

// Writes `text` to a temporary file beside `path` and renames it into
// place, so a reader never sees half a file. Throws an io Error.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace esc
