#pragma once

// Ticket trackers (Jira, GitHub): a delivery makes an issue there.

#include <optional>
#include <string>

#include "esc/channels.hpp"

namespace esc::detail {

// Adopts the issue an earlier attempt made for this key (found by the
// tracker's search), else creates one.
DeliveryResult deliver_ticket(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key);

// The token a delivery's issue carries, for the search to find it: the key
// as one word of letters and digits.
std::string ticket_marker(const std::string& key);

std::string percent_encode(const std::string& s);

}  // namespace esc::detail
