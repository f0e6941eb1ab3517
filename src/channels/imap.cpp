// Replies over IMAP (libcurl): the hand-over's Message-ID looked up in the
// In-Reply-To and References of the mailbox's messages, each new one read
// and left as it was found (an unread reply stays unread).

#include <curl/curl.h>
#include <fmt/format.h>

#include <memory>
#include <set>

#include "curl_api.hpp"
#include "esc/mail.hpp"
#include "esc/text.hpp"
#include "follow_internal.hpp"

namespace esc::detail {

namespace {

using Failure = FollowResult::Failure;

struct Sink {
  std::string body;
  bool overflow = false;
};

size_t collect(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<Sink*>(user);
  const size_t len = size * n;
  if (s->body.size() + len > kMaxResponse) {
    s->overflow = true;
    return 0;
  }
  s->body.append(data, len);
  return len;
}

// The server's last answer line ("A003 NO [AUTHENTICATIONFAILED] ..."):
// only what the server sends is kept, never what esc sent.
int last_reply(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  std::string line(data, std::min<size_t>(size, 400));
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (!line.empty()) *static_cast<std::string*>(user) = line;
  return 0;
}

bool is_loopback_url(const std::string& url) {
  const auto sep = url.find("://");
  if (sep == std::string::npos) return false;
  std::string host = url.substr(sep + 3, url.find_first_of("/?#", sep + 3) - sep - 3);
  if (!host.empty() && host.front() == '[') return host.starts_with("[::1]");
  host = host.substr(0, host.find(':'));
  return host == "localhost" || host.starts_with("127.");
}

int hex(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

// imap://host:port/Mailbox;... -> "imap://host:port/" and "Mailbox".
std::pair<std::string, std::string> split_mailbox(const std::string& url) {
  const auto sep = url.find("://");
  const auto slash = url.find('/', sep == std::string::npos ? 0 : sep + 3);
  if (slash == std::string::npos) return {url + "/", "INBOX"};
  std::string raw = url.substr(slash + 1);
  raw = raw.substr(0, raw.find_first_of(";?#"));
  std::string box;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '%' && i + 2 < raw.size() && hex(raw[i + 1]) >= 0 && hex(raw[i + 2]) >= 0) {
      box += static_cast<char>(hex(raw[i + 1]) * 16 + hex(raw[i + 2]));
      i += 2;
    } else {
      box += raw[i];
    }
  }
  while (!box.empty() && box.back() == '/') box.pop_back();
  return {url.substr(0, slash + 1), box.empty() ? "INBOX" : box};
}

std::string imap_quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

// The numbers after "* SEARCH".
std::vector<unsigned long> search_result(const std::string& text) {
  std::vector<unsigned long> out;
  for (const auto& line : split_lines(text)) {
    if (!line.starts_with("* SEARCH")) continue;
    std::string num;
    for (char ch : line.substr(8) + " ") {
      if (ch >= '0' && ch <= '9') {
        num += ch;
      } else {
        if (!num.empty() && num.size() < 11) out.push_back(std::stoul(num));
        num.clear();
      }
    }
  }
  return out;
}

// "* 3 FETCH (UID 7 FLAGS (\Seen))" -> the UIDs whose flags hold \Seen.
std::set<unsigned long> seen_uids(const std::string& text) {
  std::set<unsigned long> out;
  for (const auto& line : split_lines(text)) {
    const auto uid = line.find("UID ");
    if (!line.starts_with("* ") || uid == std::string::npos) continue;
    std::size_t i = uid + 4, j = i;
    while (j < line.size() && line[j] >= '0' && line[j] <= '9') ++j;
    if (j == i || j - i > 10) continue;
    if (line.find("\\Seen") != std::string::npos) out.insert(std::stoul(line.substr(i, j - i)));
  }
  return out;
}

std::string uid_list(const std::vector<unsigned long>& uids) {
  std::string s;
  for (auto u : uids) s += (s.empty() ? "" : ",") + std::to_string(u);
  return s;
}

std::string domain(const std::string& address) {
  const auto at = address.rfind('@');
  return at == std::string::npos ? std::string() : lower(address.substr(at + 1));
}

std::string bare(const std::string& address) {
  const auto lt = address.find('<'), gt = address.find('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt)
    return lower(trim(address.substr(lt + 1, gt - lt - 1)));
  return lower(trim(address));
}

class Session {
 public:
  Session(const ChannelConfig& ch, const CurlApi& c, CURL* h) : ch_(ch), c_(c), h_(h) {}

  // One IMAP command (`custom`) or, without one, a fetch of what `url` names.
  // False and `error` set when it failed.
  bool run(const std::string& url, const std::string& custom, std::string& answer) {
    Sink sink;
    char errbuf[CURL_ERROR_SIZE] = {0};
    reply_.clear();
    c_.easy_setopt(h_, CURLOPT_URL, url.c_str());
    c_.easy_setopt(h_, CURLOPT_CUSTOMREQUEST, custom.empty() ? nullptr : custom.c_str());
    c_.easy_setopt(h_, CURLOPT_WRITEFUNCTION, collect);
    c_.easy_setopt(h_, CURLOPT_WRITEDATA, &sink);
    c_.easy_setopt(h_, CURLOPT_ERRORBUFFER, errbuf);
    const CURLcode rc = c_.easy_perform(h_);
    if (rc != CURLE_OK) {
      std::string why = errbuf[0] ? errbuf : c_.easy_strerror(rc);
      while (!why.empty() && (why.back() == '\n' || why.back() == '.')) why.pop_back();
      if (rc == CURLE_OPERATION_TIMEDOUT) why = fmt::format("timed out after {}s", ch_.timeout.count());
      if (sink.overflow) why = fmt::format("a message larger than {} MiB", kMaxResponse >> 20);
      if (rc == CURLE_LOGIN_DENIED) {
        why = fmt::format("the mailbox refused the login{}: check the password in {}",
                          reply_.empty() ? "" : fmt::format(" (\"{}\")", inert(reply_)), password_place);
        failure = Failure::refused;
      } else if (rc == CURLE_USE_SSL_FAILED) {
        why = "the server does not offer STARTTLS, and the password is sent only over TLS (use imaps://)";
        failure = Failure::refused;
      } else if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE || rc == CURLE_URL_MALFORMAT ||
                 rc == CURLE_UNSUPPORTED_PROTOCOL) {
        if (rc == CURLE_PEER_FAILED_VERIFICATION)
          why = fmt::format("the server's certificate was refused ({}){}", why,
                            ch_.ca_file.empty() ? "; name its CA with ca_file if it is a private one" : "");
        failure = Failure::refused;
      } else if (rc == CURLE_QUOTE_ERROR || rc == CURLE_REMOTE_ACCESS_DENIED || rc == CURLE_RECV_ERROR ||
                 rc == CURLE_WEIRD_SERVER_REPLY) {
        if (!reply_.empty()) why = fmt::format("the server answered \"{}\"", inert(reply_));
        failure = rc == CURLE_REMOTE_ACCESS_DENIED ? Failure::refused : Failure::unreachable;
      } else {
        failure = Failure::unreachable;
      }
      error = scrub(fmt::format("{}: {}", mask_url(ch_.imap_url), inert(why)), secrets);
      return false;
    }
    answer = std::move(sink.body);
    return true;
  }

  void watch_replies() {
    c_.easy_setopt(h_, CURLOPT_DEBUGFUNCTION, last_reply);
    c_.easy_setopt(h_, CURLOPT_DEBUGDATA, &reply_);
    c_.easy_setopt(h_, CURLOPT_VERBOSE, 1L);
  }

  std::vector<std::string> secrets;
  std::string password_place;
  std::string error;
  Failure failure = Failure::none;

 private:
  const ChannelConfig& ch_;
  const CurlApi& c_;
  CURL* h_;
  std::string reply_;
};

}  // namespace

FollowResult follow_mailbox(const ChannelConfig& ch, const std::vector<Delivery>& deliveries, const Config& cfg) {
  FollowResult out;
  // The mailbox's login: its own, else the channel's SMTP login.
  std::string user = ch.imap_username;
  if (auto u = read_secret(ch.imap_username_secret)) user = *u;
  if (user.empty()) user = ch.username;
  if (user.empty())
    if (auto u = read_secret(ch.username_secret)) user = *u;
  const SecretRef& password_ref = ch.imap_password.set() ? ch.imap_password : ch.password;
  auto password = read_secret(password_ref);
  if (!password) {
    out.failure = Failure::refused;
    out.error = password_ref.set() ? secret_problem(password_ref, "the mailbox's password")
                                   : "no password for the mailbox: set imap_password_env or imap_password_file";
    return out;
  }
  if (user.empty()) {
    out.failure = Failure::refused;
    out.error = "no login for the mailbox: set imap_username (or imap_username_env, imap_username_file)";
    return out;
  }

  CurlHandle handle(nullptr, nullptr);
  std::string start_error;
  const CurlApi* api = start_curl(handle, start_error, "IMAP");
  if (!api) {
    out.failure = Failure::unreachable;
    out.error = start_error;
    return out;
  }
  const CurlApi& c = *api;
  CURL* h = handle.get();
  Session s(ch, c, h);
  s.secrets = {*password, base64(*password), base64(std::string(1, '\0') + user + std::string(1, '\0') + *password),
               base64(user + std::string(1, '\0') + user + std::string(1, '\0') + *password)};
  s.password_place = secret_place(password_ref);
  std::string ca = ch.ca_file.empty() ? "" : expand_home(ch.ca_file);
  if (ca.empty())
    for (const char* env : {"SSL_CERT_FILE", "CURL_CA_BUNDLE"})
      if (const char* v = std::getenv(env); v && *v && ca.empty()) ca = v;
  c.easy_setopt(h, CURLOPT_PROTOCOLS_STR, "imap,imaps");
  c.easy_setopt(h, CURLOPT_USERNAME, user.c_str());
  c.easy_setopt(h, CURLOPT_PASSWORD, password->c_str());
  // The password travels only over TLS, but to this machine's own server.
  const bool plain_ok = ch.allow_http || is_loopback_url(ch.imap_url);
  c.easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(plain_ok ? CURLUSESSL_TRY : CURLUSESSL_ALL));
  c.easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  c.easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!ca.empty()) c.easy_setopt(h, CURLOPT_CAINFO, ca.c_str());
  c.easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(ch.timeout.count() * 1000));
  c.easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(ch.timeout.count(), 10) * 1000));
  c.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  s.watch_replies();

  auto [server, mailbox] = split_mailbox(ch.imap_url);
  std::string box_url = server;
  {
    // The mailbox as a URL path: what is not a plain character, percent-encoded.
    for (unsigned char chr : mailbox) {
      if (std::isalnum(chr) || chr == '-' || chr == '_' || chr == '.' || chr == '/')
        box_url += static_cast<char>(chr);
      else
        box_url += fmt::format("%{:02X}", chr);
    }
  }
  auto failed = [&] {
    out.failure = s.failure == Failure::none ? Failure::unreachable : s.failure;
    out.error = s.error;
    return out;
  };

  // UIDVALIDITY says whether the UIDs a cursor remembers still mean the same messages.
  std::string answer;
  if (!s.run(server, fmt::format("STATUS {} (UIDVALIDITY)", imap_quoted(mailbox)), answer)) return failed();
  std::string validity;
  if (auto at = answer.find("UIDVALIDITY "); at != std::string::npos) {
    std::size_t i = at + 12;
    while (i < answer.size() && answer[i] >= '0' && answer[i] <= '9') validity += answer[i++];
  }

  std::set<std::string> recipients, recipient_domains;
  for (const auto& to : ch.to) {
    recipients.insert(bare(to));
    if (auto d = domain(bare(to)); !d.empty()) recipient_domains.insert(d);
  }
  std::set<std::string> ours{bare(ch.from), bare(cfg.engineer_email), lower(user)};
  ours.erase("");

  for (const auto& d : deliveries) {
    // Only keys esc makes (letters, digits, '-') go into a search.
    if (d.key.empty() ||
        d.key.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != std::string::npos)
      continue;
    FollowedDelivery f;
    f.delivery_id = d.id;
    f.source = "e-mail";
    // The cursor: "UIDVALIDITY:the highest UID read".
    unsigned long last = 0;
    if (auto colon = d.sync_cursor.find(':');
        colon != std::string::npos && d.sync_cursor.substr(0, colon) == validity) {
      const std::string n = d.sync_cursor.substr(colon + 1);
      if (!n.empty() && n.size() < 11 && n.find_first_not_of("0123456789") == std::string::npos) last = std::stoul(n);
    }
    const std::string needle = "<" + d.key + "@";
    if (!s.run(box_url,
               fmt::format("UID SEARCH UID {}:* OR HEADER In-Reply-To {} HEADER References {}", last + 1,
                           imap_quoted(needle), imap_quoted(needle)),
               answer))
      return failed();
    std::vector<unsigned long> uids;
    for (auto u : search_result(answer))
      if (u > last) uids.push_back(u);
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
    if (uids.size() > 200) uids.resize(200);  // the rest next time
    f.cursor = fmt::format("{}:{}", validity, uids.empty() ? last : uids.back());
    if (uids.empty()) {
      out.deliveries.push_back(std::move(f));
      continue;
    }
    if (!s.run(box_url, fmt::format("UID FETCH {} (FLAGS)", uid_list(uids)), answer)) return failed();
    const std::set<unsigned long> seen = seen_uids(answer);
    std::vector<unsigned long> unread;
    bool acked = false;
    for (auto u : uids) {
      std::string raw;
      if (!s.run(fmt::format("{};UID={}", box_url, u), "", raw)) {
        // Put back what was read so far as unread, then give up on the mailbox for now.
        if (!unread.empty()) {
          std::string ignored;
          s.run(box_url, fmt::format("UID STORE {} -FLAGS.SILENT (\\Seen)", uid_list(unread)), ignored);
        }
        return failed();
      }
      if (!seen.count(u)) unread.push_back(u);
      const MailMessage m = parse_mail(raw);
      bool answers = false;
      for (const auto* ids : {&m.in_reply_to, &m.references})
        for (const auto& id : *ids)
          if (id.starts_with(needle)) answers = true;
      if (!answers) continue;  // the words were found, but elsewhere in a header
      const std::string from = bare(m.from.address);
      if (!from.empty() && ours.count(from)) continue;  // the engineer's own mail in the thread is no answer
      const std::string who = m.from.name.empty()
                                  ? received_text(m.from.address, 300)
                                  : received_text(fmt::format("{} <{}>", m.from.name, m.from.address), 300);
      const std::string id =
          m.message_id.empty() ? fmt::format("uid:{}:{}", validity, u) : received_text(m.message_id, 1000);
      // A recipient answering (or someone of a recipient's domain, for a
      // list's members) acknowledges; the engineer's own copies do not.
      const bool from_recipient =
          !from.empty() && !ours.count(from) && (recipients.count(from) || recipient_domains.count(domain(from)));
      if (from_recipient && !acked) {
        f.events.push_back(
            {RemoteEvent::Kind::acknowledged, "acknowledged:" + d.key, who, m.date, "first reply, from " + who});
        acked = true;
      }
      f.events.push_back({RemoteEvent::Kind::reply, id, who, m.date, received_text(reply_text(m.text))});
    }
    if (!unread.empty()) {
      std::string ignored;
      s.run(box_url, fmt::format("UID STORE {} -FLAGS.SILENT (\\Seen)", uid_list(unread)), ignored);
    }
    out.deliveries.push_back(std::move(f));
  }
  return out;
}

}  // namespace esc::detail
