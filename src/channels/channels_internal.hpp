#pragma once

#include "esc/channels.hpp"

namespace esc::detail {

DeliveryResult deliver_command(const ChannelConfig& ch, const Summary& s, const Payload& p);
DeliveryResult deliver_smtp(const ChannelConfig& ch, const Payload& p);
DeliveryResult deliver_webhook(const ChannelConfig& ch, const Payload& p, const std::string& key);
DeliveryResult deliver_pagerduty(const ChannelConfig& ch, const Payload& p);

// Removes every occurrence of each secret from a message.
std::string scrub(std::string message, const std::vector<std::string>& secrets);

}  // namespace esc::detail
