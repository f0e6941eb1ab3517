#include <curl/curl.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "channels_internal.hpp"
#include "curl_api.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::detail {

namespace {

struct Reader {
  const std::string* data;
  size_t pos = 0;
};

size_t feed(char* buf, size_t size, size_t n, void* user) {
  auto* r = static_cast<Reader*>(user);
  size_t take = std::min(size * n, r->data->size() - r->pos);
  std::memcpy(buf, r->data->data() + r->pos, take);
  r->pos += take;
  return take;
}

// Keeps the server's last reply line ("451 4.3.0 Mailbox busy"), which says
// more than libcurl's "Weird server reply". Only what the server sends is
// looked at: the client's side holds the login.
int last_reply(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  std::string line(data, size);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (!line.empty()) *static_cast<std::string*>(user) = line.substr(0, 300);
  return 0;
}

std::string angle(const std::string& addr) {
  auto lt = addr.find('<');
  auto gt = addr.find('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt) return addr.substr(lt, gt - lt + 1);
  return "<" + addr + ">";
}

}  // namespace

DeliveryResult deliver_smtp(const ChannelConfig& ch, const Payload& p, const std::string& sender) {
  CurlHandle h(nullptr, nullptr);
  std::string error;
  const CurlApi* api = start_curl(h, error, "SMTP");
  if (!api) return not_delivered(error);
  const CurlApi& c = *api;
  std::vector<std::string> secrets;
  std::string user = ch.username;
  if (auto u = read_secret(ch.username_secret)) user = *u;
  std::optional<std::string> password = read_secret(ch.password);
  if (ch.password.set() && !password) {
    return not_delivered(secret_problem(ch.password, "the SMTP password"), true);
  }
  if (password) {
    // Also as AUTH LOGIN and AUTH PLAIN put it on the wire, should a server echo it.
    secrets.push_back(*password);
    secrets.push_back(base64(*password));
    secrets.push_back(base64(std::string(1, '\0') + user + std::string(1, '\0') + *password));
    secrets.push_back(base64(user + std::string(1, '\0') + user + std::string(1, '\0') + *password));
  }

  curl_slist* rcpt = nullptr;
  for (const auto& to : ch.to) rcpt = c.slist_append(rcpt, angle(to).c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> guard(rcpt, c.slist_free_all);
  Reader reader{&p.body};
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string from = angle(ch.from.empty() ? sender : ch.from);
  if (from == "<>") {
    return not_delivered("no sender address: set the channel's from, or [engineer] email", true);
  }
  std::string ca = ch.ca_file.empty() ? "" : expand_home(ch.ca_file);
  if (ca.empty())
    for (const char* env : {"SSL_CERT_FILE", "CURL_CA_BUNDLE"})
      if (const char* v = std::getenv(env); v && *v && ca.empty()) ca = v;
  c.easy_setopt(h.get(), CURLOPT_URL, ch.url.c_str());
  c.easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // STARTTLS whenever the server offers it; required when we would log in.
  c.easy_setopt(h.get(), CURLOPT_USE_SSL, static_cast<long>(password ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  if (!user.empty()) c.easy_setopt(h.get(), CURLOPT_USERNAME, user.c_str());
  if (password) c.easy_setopt(h.get(), CURLOPT_PASSWORD, password->c_str());
  c.easy_setopt(h.get(), CURLOPT_SSL_VERIFYPEER, 1L);
  c.easy_setopt(h.get(), CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca.empty()) c.easy_setopt(h.get(), CURLOPT_CAINFO, ca.c_str());
  c.easy_setopt(h.get(), CURLOPT_MAIL_FROM, from.c_str());
  c.easy_setopt(h.get(), CURLOPT_MAIL_RCPT, rcpt);
  c.easy_setopt(h.get(), CURLOPT_READFUNCTION, feed);
  c.easy_setopt(h.get(), CURLOPT_READDATA, &reader);
  c.easy_setopt(h.get(), CURLOPT_UPLOAD, 1L);
  c.easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(ch.timeout.count() * 1000));
  c.easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT_MS,
                static_cast<long>(std::min<long long>(ch.timeout.count(), 10) * 1000));
  c.easy_setopt(h.get(), CURLOPT_NOSIGNAL, 1L);
  c.easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  std::string reply;
  c.easy_setopt(h.get(), CURLOPT_DEBUGFUNCTION, last_reply);
  c.easy_setopt(h.get(), CURLOPT_DEBUGDATA, &reply);
  c.easy_setopt(h.get(), CURLOPT_VERBOSE, 1L);
  CURLcode rc = c.easy_perform(h.get());
  if (rc != CURLE_OK) {
    long code = 0;
    c.easy_getinfo(h.get(), CURLINFO_RESPONSE_CODE, &code);
    std::string why = errbuf[0] ? errbuf : c.easy_strerror(rc);
    while (!why.empty() && (why.back() == '\n' || why.back() == '.')) why.pop_back();
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      why = fmt::format("timed out after {}s", ch.timeout.count());
    } else if (rc == CURLE_USE_SSL_FAILED && password) {
      why =
          "the server does not offer STARTTLS, and the password is sent only over TLS "
          "(use smtps:// or a server that offers STARTTLS)";
    } else if (code >= 400 && !reply.empty()) {
      why = fmt::format("the server answered \"{}\"", inert(reply));
    } else if (rc == CURLE_PEER_FAILED_VERIFICATION) {
      why = fmt::format("the server's certificate was refused ({}){}", why,
                        ch.ca_file.empty() ? "; name its CA with ca_file if it is a private one" : "");
    }
    DeliveryResult d = not_delivered(scrub(fmt::format("{}: {}", mask_url(ch.url), why), secrets));
    // 5xx: the server refused it for good (a bad address, a login refused);
    // 4xx: try again later.
    d.permanent = (code >= 500 && code < 600) || rc == CURLE_LOGIN_DENIED || rc == CURLE_PEER_FAILED_VERIFICATION ||
                  rc == CURLE_USE_SSL_FAILED || rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL;
    return d;
  }
  return delivered();
}

}  // namespace esc::detail
