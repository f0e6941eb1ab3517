#include "esc/channels.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "channels_internal.hpp"
#include "esc/error.hpp"
#include "esc/files.hpp"
#include "tickets.hpp"

namespace esc {

namespace {

DeliveryResult deliver_stdout(const Payload& p) {
  // A reader that went away (`esc send 12 | true`) makes a failed delivery,
  // kept in the outbox, not a death by SIGPIPE halfway through recording it.
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &previous);
  std::size_t done = 0;
  int err = 0;
  while (done < p.body.size()) {
    const ssize_t n = ::write(STDOUT_FILENO, p.body.data() + done, p.body.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  ::sigaction(SIGPIPE, &previous, nullptr);
  if (err == EPIPE) return not_delivered("standard output is closed (nobody read the summary)");
  if (err) return not_delivered(fmt::format("cannot write to standard output: {}", std::strerror(err)));
  return delivered();
}

std::string file_path(const ChannelConfig& ch, const Summary& s, const std::string& key) {
  const std::string ext = ch.format == "json" ? "json" : ch.format == "markdown" ? "md" : "txt";
  return fmt::format("{}/esc-{}-{}.{}", expand_home(ch.dir), s.c.id, key, ext);
}

DeliveryResult deliver_file(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key) {
  // Named by the delivery key, so that a retry replaces rather than
  // duplicates; private to its owner, as the hand-over is.
  try {
    make_private_dir(expand_home(ch.dir));
    write_file_atomically(file_path(ch, s, key), p.body);
  } catch (const Error& e) {
    return not_delivered(e.what());
  }
  return delivered();
}

}  // namespace

DeliveryResult deliver(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key,
                       const Config& cfg, const Attempt& attempt) {
  if (ch.type == "stdout") return deliver_stdout(p);
  if (ch.type == "file") return deliver_file(ch, s, p, key);
  if (ch.type == "command") return detail::deliver_command(ch, s, p, key, cfg);
  if (ch.type == "smtp") return detail::deliver_smtp(ch, p, cfg.engineer_email);
  if (ch.type == "webhook") return detail::deliver_webhook(ch, p, key);
  if (ch.type == "pagerduty") return detail::deliver_pagerduty(ch, p);
  if (ch.type == "jira" || ch.type == "github") return detail::deliver_ticket(ch, s, p, key, attempt);
  return not_delivered(fmt::format("unknown channel type \"{}\"", ch.type), true);
}

std::optional<DeliveryResult> find_delivered(const ChannelConfig& ch, const Summary& s, const std::string& key) {
  if (ch.type == "file") {
    std::error_code ec;
    if (std::filesystem::exists(file_path(ch, s, key), ec)) return delivered();
    return not_delivered("");
  }
  // The ticket trackers search before every creation themselves
  // (deliver_ticket); other channels cannot tell.
  return std::nullopt;
}

}  // namespace esc
