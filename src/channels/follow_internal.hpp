#pragma once

// What the followers of each kind share (src/channels/follow.cpp, imap.cpp).

#include <string>
#include <vector>

#include "channels_internal.hpp"
#include "esc/follow.hpp"

namespace esc::detail {

// The mailbox of an smtp channel: replies to its hand-overs, matched by
// In-Reply-To or References to their Message-ID.
FollowResult follow_mailbox(const ChannelConfig& ch, const std::vector<Delivery>& deliveries, const Config& cfg);

// Where a secret is named, for a message that must not show it:
// "$ESC_JIRA_TOKEN" or "~/.config/esc/jira-token".
std::string secret_place(const SecretRef& ref);

// "2026-11-20T10:00:00.000+0000" (Jira) as well as RFC 3339.
std::optional<Time> parse_api_time(const std::string& text);

}  // namespace esc::detail
