#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "esc/channels.hpp"

namespace esc::detail {

DeliveryResult deliver_command(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key);
DeliveryResult deliver_smtp(const ChannelConfig& ch, const Payload& p);
DeliveryResult deliver_webhook(const ChannelConfig& ch, const Payload& p, const std::string& key);
DeliveryResult deliver_pagerduty(const ChannelConfig& ch, const Payload& p);

// Removes every occurrence of each secret from a message.
std::string scrub(std::string message, const std::vector<std::string>& secrets);

// The pieces of a secret URL that a server may echo back in an error page:
// the URL, its path and query, and each long path segment or query value.
std::vector<std::string> url_secrets(const std::string& url);

std::string base64(std::string_view in);

}  // namespace esc::detail
