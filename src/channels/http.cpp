#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "channels_internal.hpp"
#include "curl_api.hpp"
#include "esc/error.hpp"

namespace esc::detail {

std::string scrub(std::string message, const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) {
    if (s.size() < 4) continue;
    for (size_t at = message.find(s); at != std::string::npos; at = message.find(s, at))
      message.replace(at, s.size(), "[secret]");
  }
  return message;
}

std::vector<std::string> url_secrets(const std::string& url) {
  std::vector<std::string> out{url};
  auto scheme = url.find("://");
  auto start = url.find_first_of("/?#", scheme == std::string::npos ? 0 : scheme + 3);
  if (start != std::string::npos) {
    const std::string tail = url.substr(start);
    out.push_back(tail);
    std::string piece;
    for (char ch : tail + "/") {
      if (ch == '/' || ch == '?' || ch == '&' || ch == '=' || ch == '#') {
        if (piece.size() >= 8) out.push_back(piece);
        piece.clear();
      } else {
        piece += ch;
      }
    }
  }
  // The longest first, so that a part never leaves the rest of a whole behind.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  return out;
}

namespace {

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() < 4096) s->append(data, std::min(size * n, 4096 - s->size()));
  return size * n;
}

// POSTs a JSON body; 2xx is success. Errors name only scheme://host/….
DeliveryResult post_json(const std::string& url, const std::string& body, const std::vector<std::string>& headers,
                         Seconds timeout, const std::vector<std::string>& secrets) {
  CurlHandle h(nullptr, nullptr);
  std::string error;
  const CurlApi* api = start_curl(h, error, "HTTP");
  if (!api) return {false, error};
  const CurlApi& c = *api;
  curl_slist* list = nullptr;
  list = c.slist_append(list, "Content-Type: application/json; charset=utf-8");
  for (const auto& hd : headers) list = c.slist_append(list, hd.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> guard(list, c.slist_free_all);
  std::string response;
  char errbuf[CURL_ERROR_SIZE] = {0};
  c.easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  c.easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  c.easy_setopt(h.get(), CURLOPT_HTTPHEADER, list);
  c.easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.c_str());
  c.easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  c.easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count() * 1000));
  c.easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(timeout.count(), 10) * 1000));
  c.easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  c.easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, collect);
  c.easy_setopt(h.get(), CURLOPT_WRITEDATA, &response);
  c.easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  c.easy_setopt(h.get(), CURLOPT_USERAGENT, "esc");
  CURLcode rc = c.easy_perform(h.get());
  const std::string where = mask_url(url);
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : c.easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) why = fmt::format("timed out after {}s", timeout.count());
    return {false, scrub(fmt::format("{}: {}", where, why), secrets)};
  }
  long status = 0;
  c.easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    std::string snippet = response.substr(0, 200);
    for (auto& ch : snippet)
      if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    return {false, scrub(fmt::format("{}: HTTP {}{}", where, status, snippet.empty() ? "" : ": " + snippet), secrets)};
  }
  return {true, {}};
}

}  // namespace

DeliveryResult deliver_webhook(const ChannelConfig& ch, const Payload& p, const std::string& key) {
  auto url = read_secret(ch.url_env, ch.url_file);
  if (!url)
    return {false, ch.url_env.empty() ? fmt::format("the URL file {} is missing or empty", ch.url_file)
                                      : fmt::format("${} is not set (it holds the webhook URL)", ch.url_env)};
  return post_json(*url, p.body, {"Idempotency-Key: " + key}, ch.timeout, url_secrets(*url));
}

DeliveryResult deliver_pagerduty(const ChannelConfig& ch, const Payload& p) {
  auto routing_key = read_secret(ch.routing_key_env, ch.routing_key_file);
  if (!routing_key)
    return {false, ch.routing_key_env.empty()
                       ? fmt::format("the routing key file {} is missing or empty", ch.routing_key_file)
                       : fmt::format("${} is not set (it holds the routing key)", ch.routing_key_env)};
  auto body = nlohmann::json::parse(p.body);
  body["routing_key"] = *routing_key;
  const std::string url = ch.url.empty() ? "https://events.pagerduty.com/v2/enqueue" : ch.url;
  return post_json(url, body.dump(), {}, ch.timeout, {*routing_key});
}

}  // namespace esc::detail
