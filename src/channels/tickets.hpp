#pragma once

// Ticket trackers (Jira, GitHub): a delivery makes an issue there.

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>

#include "channels_internal.hpp"
#include "esc/channels.hpp"

namespace esc::detail {

// How esc signs in to a tracker (Jira, GitHub): headers or a basic login,
// and the secrets no message may show. `problem` says which secret is
// missing, when one is.
struct TrackerAuth {
  std::vector<std::string> headers;
  std::string user, password;
  std::vector<std::string> secrets;
  std::string problem;
};
TrackerAuth tracker_auth(const ChannelConfig& ch);

// A string field of a tracker's answer; empty when it is missing or not a
// string (json::value would throw on a null body or a numeric field).
std::string json_text(const nlohmann::json& j, const char* key);

// The tracker's API root (the channel's url without a trailing slash).
std::string tracker_base(const ChannelConfig& ch);

// One request to the tracker, signed in; a JSON body when `body` is set.
HttpResponse tracker_call(const ChannelConfig& ch, const TrackerAuth& a, const std::string& method,
                          const std::string& url, const std::string& body = {});

// Adopts the issue an earlier attempt made for this key (found by the
// tracker's search), else creates one.
DeliveryResult deliver_ticket(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key,
                              const Attempt& attempt);

// The token a delivery's issue carries, for the search to find it: the key
// as one word of letters and digits.
std::string ticket_marker(const std::string& key);

std::string percent_encode(const std::string& s);

}  // namespace esc::detail
