#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esc/channels.hpp"

namespace esc::detail {

DeliveryResult deliver_command(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key,
                               const Config& cfg);
DeliveryResult deliver_smtp(const ChannelConfig& ch, const Payload& p, const std::string& from);
DeliveryResult deliver_webhook(const ChannelConfig& ch, const Payload& p, const std::string& key);
DeliveryResult deliver_pagerduty(const ChannelConfig& ch, const Payload& p);

// One HTTP exchange with a server esc does not control: TLS verified (with
// the channel's ca_file, else $SSL_CERT_FILE or $CURL_CA_BUNDLE, else the
// system's), https required beyond this machine unless the channel allows
// http, redirects not followed, the answer read up to a bound.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::string body;
  std::string user, password;  // HTTP basic authentication, when set
};
struct HttpResponse {
  long status = 0;
  std::string body;                            // at most kMaxResponse bytes
  std::map<std::string, std::string> headers;  // lower-case names, the last value of each
  std::string error;                           // set when no answer came; then `permanent` says whether to try again
  bool permanent = false;
};
constexpr std::size_t kMaxResponse = 8 << 20;
HttpResponse http(const ChannelConfig& ch, const HttpRequest& r, const std::vector<std::string>& secrets);

// What a 3xx answer says (where it points, scheme and host only), for an
// error message; empty for any other status.
std::string redirect_note(const HttpResponse& r);

// What an HTTP answer that is not 2xx means for a delivery: HTTP 4xx other
// than 408, 425 and 429 is for good; 429 and 503 may say when to come back.
DeliveryResult http_failure(const std::string& where, const HttpResponse& r, const std::vector<std::string>& secrets);

// Removes every occurrence of each secret from a message.
std::string scrub(std::string message, const std::vector<std::string>& secrets);

// The pieces of a secret URL that a server may echo back in an error page:
// the URL, its path and query, and each long path segment or query value.
std::vector<std::string> url_secrets(const std::string& url);

std::string base64(std::string_view in);

// A header value from case text: no CR, LF or other control character
// survives.
std::string header_safe(const std::string& s);

// The e-mail of a summary: RFC 5322, From the engineer (the channel's
// address when it names one), Reply-To the engineer, dated `now`.
std::string email_message(const ChannelConfig& ch, const Summary& s, const std::string& key, const Sender& from,
                          Time now);

// A header or address value from case text: no CR, LF or other control
// character survives.
std::string header_safe(const std::string& s);

}  // namespace esc::detail
