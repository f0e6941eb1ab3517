// HTTP(S) with libcurl: webhooks, PagerDuty, and the ticket trackers.

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "channels_internal.hpp"
#include "curl_api.hpp"
#include "esc/text.hpp"

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
    // Each piece long enough to be a secret and not a common word: of the
    // path, 8 characters or more; a query's value (token=...), 4 or more.
    std::string piece;
    bool value = false;
    for (char ch : tail + "/") {
      if (ch == '/' || ch == '?' || ch == '&' || ch == '=' || ch == '#') {
        if (piece.size() >= (value ? 4u : 8u)) out.push_back(piece);
        piece.clear();
        value = ch == '=';
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

struct Sink {
  std::string* body;
  bool overflow = false;
};

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const size_t len = size * n;
  if (s->body->size() + len > kMaxResponse) {
    s->overflow = true;
    return 0;  // stops the transfer: an answer this large is not one we asked for
  }
  s->body->append(data, len);
  return len;
}

size_t header_line(char* data, size_t size, size_t n, void* user) {
  auto* h = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos && h->size() < 200) {
    std::string value = trim(line.substr(colon + 1));
    if (value.size() > 4096) value.resize(4096);
    (*h)[lower(trim(line.substr(0, colon)))] = value;
  }
  return size * n;
}

// The CA to verify against, when not the system's.
std::string ca_file_of(const ChannelConfig& ch) {
  if (!ch.ca_file.empty()) return expand_home(ch.ca_file);
  for (const char* env : {"SSL_CERT_FILE", "CURL_CA_BUNDLE"})
    if (const char* v = std::getenv(env); v && *v) return v;
  return {};
}

bool permanent_curl_error(CURLcode rc) {
  switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_LOGIN_DENIED:
    case CURLE_REMOTE_ACCESS_DENIED:
      return true;
    default:
      return false;
  }
}

}  // namespace

HttpResponse http(const ChannelConfig& ch, const HttpRequest& r, const std::vector<std::string>& secrets) {
  HttpResponse out;
  const std::string where = mask_url(r.url);
  if (auto why = webhook_url_problem(r.url, ch.allow_http); !why.empty()) {
    // The URL may be a secret: say what is wrong without it.
    out.error = fmt::format("{}: {}", where, why.find('"') == std::string::npos ? why : "the URL has no scheme");
    out.permanent = true;
    return out;
  }
  CurlHandle h(nullptr, nullptr);
  const CurlApi* api = start_curl(h, out.error, "HTTP");
  if (!api) return out;
  const CurlApi& c = *api;
  curl_slist* list = nullptr;
  for (const auto& hd : r.headers) list = c.slist_append(list, hd.c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> guard(list, c.slist_free_all);
  Sink sink{&out.body};
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string ca = ca_file_of(ch);
  c.easy_setopt(h.get(), CURLOPT_URL, r.url.c_str());
  c.easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  c.easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, r.method.c_str());
  if (r.method == "GET") c.easy_setopt(h.get(), CURLOPT_HTTPGET, 1L);
  if (r.method != "GET") {
    c.easy_setopt(h.get(), CURLOPT_POSTFIELDS, r.body.c_str());
    c.easy_setopt(h.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
  }
  c.easy_setopt(h.get(), CURLOPT_HTTPHEADER, list);
  if (!r.user.empty()) {
    c.easy_setopt(h.get(), CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
    c.easy_setopt(h.get(), CURLOPT_USERNAME, r.user.c_str());
    c.easy_setopt(h.get(), CURLOPT_PASSWORD, r.password.c_str());
  }
  c.easy_setopt(h.get(), CURLOPT_SSL_VERIFYPEER, 1L);
  c.easy_setopt(h.get(), CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca.empty()) c.easy_setopt(h.get(), CURLOPT_CAINFO, ca.c_str());
  c.easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 0L);
  c.easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(ch.timeout.count() * 1000));
  c.easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS,
                static_cast<long>(std::min<long long>(ch.timeout.count(), 10) * 1000));
  c.easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  c.easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, collect);
  c.easy_setopt(h.get(), CURLOPT_WRITEDATA, &sink);
  c.easy_setopt(h.get(), CURLOPT_HEADERFUNCTION, header_line);
  c.easy_setopt(h.get(), CURLOPT_HEADERDATA, &out.headers);
  c.easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  c.easy_setopt(h.get(), CURLOPT_USERAGENT, "esc");
  const CURLcode rc = c.easy_perform(h.get());
  if (rc != CURLE_OK) {
    std::string why = errbuf[0] ? errbuf : c.easy_strerror(rc);
    if (rc == CURLE_OPERATION_TIMEDOUT) why = fmt::format("timed out after {}s", ch.timeout.count());
    if (sink.overflow) why = fmt::format("the answer was larger than {} MiB", kMaxResponse >> 20);
    if (rc == CURLE_PEER_FAILED_VERIFICATION)
      why = fmt::format("the server's certificate was refused ({}){}", why,
                        ch.ca_file.empty() ? "; name its CA with ca_file if it is a private one" : "");
    out.error = scrub(fmt::format("{}: {}", where, inert(why)), secrets);
    out.permanent = permanent_curl_error(rc);
    return out;
  }
  c.easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &out.status);
  return out;
}

std::string redirect_note(const HttpResponse& r) {
  if (r.status < 300 || r.status >= 400) return {};
  const auto it = r.headers.find("location");
  return fmt::format(
      " (a redirect{}, which esc does not follow: a request that carries a secret goes only where "
      "the config says; set url to the address it points to)",
      it == r.headers.end() ? "" : " to " + mask_url(it->second));
}

DeliveryResult http_failure(const std::string& where, const HttpResponse& r, const std::vector<std::string>& secrets) {
  DeliveryResult d;
  if (!r.error.empty()) {
    d.error = r.error;
    d.permanent = r.permanent;
    return d;
  }
  std::string snippet = r.body.substr(0, 200);
  for (auto& ch : snippet)
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  d.error = scrub(
      fmt::format("{}: HTTP {}{}{}", where, r.status, redirect_note(r), snippet.empty() ? "" : ": " + inert(snippet)),
      secrets);
  // A redirect, like a 4xx, needs the config fixed: trying again cannot help.
  d.permanent = (r.status >= 300 && r.status < 500) && r.status != 408 && r.status != 425 && r.status != 429;
  if (r.status == 429 || r.status == 503) {
    if (auto it = r.headers.find("retry-after"); it != r.headers.end()) {
      const std::string& v = it->second;
      if (!v.empty() && v.find_first_not_of("0123456789") == std::string::npos && v.size() < 9) {
        d.retry_after = Seconds{std::stoll(v)};
      } else {
        std::tm tm{};
        if (strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
          const auto at = from_unix(timegm(&tm));
          const auto wait = at - std::chrono::floor<Seconds>(std::chrono::system_clock::now());
          d.retry_after = std::max(Seconds{0}, std::chrono::duration_cast<Seconds>(wait));
        }
      }
    }
  }
  return d;
}

namespace {

DeliveryResult post_json(const ChannelConfig& ch, const std::string& url, const std::string& body,
                         std::vector<std::string> headers, const std::vector<std::string>& secrets) {
  headers.insert(headers.begin(), "Content-Type: application/json; charset=utf-8");
  HttpRequest r{"POST", url, headers, body, {}, {}};
  auto resp = http(ch, r, secrets);
  if (resp.error.empty() && resp.status >= 200 && resp.status <= 299) return delivered();
  return http_failure(mask_url(url), resp, secrets);
}

}  // namespace

DeliveryResult deliver_webhook(const ChannelConfig& ch, const Payload& p, const std::string& key) {
  auto url = read_secret(ch.url_secret);
  if (!url) {
    return not_delivered(secret_problem(ch.url_secret, "the webhook URL"), true);
  }
  return post_json(ch, *url, p.body, {"Idempotency-Key: " + key}, url_secrets(*url));
}

DeliveryResult deliver_pagerduty(const ChannelConfig& ch, const Payload& p) {
  auto routing_key = read_secret(ch.routing_key);
  if (!routing_key) {
    return not_delivered(secret_problem(ch.routing_key, "the routing key"), true);
  }
  auto body = nlohmann::json::parse(p.body);
  body["routing_key"] = *routing_key;
  const std::string url = ch.url.empty() ? "https://events.pagerduty.com/v2/enqueue" : ch.url;
  return post_json(ch, url, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}, {*routing_key});
}

}  // namespace esc::detail
