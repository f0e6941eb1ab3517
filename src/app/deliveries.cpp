// Delivering: claim, deliver, record; nothing lost, nothing sent twice.

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "esc/app.hpp"
#include "esc/error.hpp"
#include "esc/files.hpp"
#include "esc/text.hpp"

namespace esc::app {

using nlohmann::json;

Seconds backoff(const Config& cfg, int attempts) {
  Seconds s = cfg.retry_base;
  for (int i = 1; i < attempts && s < cfg.retry_max; ++i) s *= 2;
  return std::min(s, cfg.retry_max);
}

namespace {

// Outcomes that went out but could not be recorded (the log locked past
// the timeout, a full disk) wait here, one small file per delivery key,
// until an attempt records them: $XDG_STATE_HOME/esc/unrecorded/.
std::string kept_dir() {
  const char* state = std::getenv("XDG_STATE_HOME");
  const std::string base = state && *state
                               ? std::string(state)
                               : std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.local/state";
  return base + "/esc/unrecorded";
}

std::string kept_file(const std::string& key) { return kept_dir() + "/" + key + ".json"; }

bool keep_outcome(const std::string& key, const DeliveryResult& r, Time at) {
  try {
    make_private_dir(kept_dir());
    json j{{"key", key},
           {"ok", r.ok},
           {"error", r.error},
           {"permanent", r.permanent},
           {"remote_key", r.remote_key},
           {"remote_url", r.remote_url},
           {"at", to_unix(at)}};
    write_file_atomically(kept_file(key), j.dump());
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::optional<std::pair<DeliveryResult, Time>> kept_outcome(const std::string& key) {
  std::ifstream in(kept_file(key));
  if (!in) return std::nullopt;
  auto j = json::parse(in, nullptr, false);
  if (!j.is_object() || j.value("key", "") != key) return std::nullopt;
  DeliveryResult r = j.value("ok", false) ? delivered() : not_delivered(j.value("error", ""));
  r.permanent = j.value("permanent", false);
  r.remote_key = j.value("remote_key", "");
  r.remote_url = j.value("remote_url", "");
  return std::pair{r, from_unix(j.value("at", std::int64_t{0}))};
}

void forget_outcome(const std::string& key) { std::filesystem::remove(kept_file(key)); }

// The lease on a claim covers the whole attempt: the delivery (bounded by
// the channel's timeout), recording its outcome (bounded by the wait for a
// busy log), and a margin. Rendering is done before the claim.
int lease_seconds(const ChannelConfig* ch, const Config& cfg) {
  return static_cast<int>((ch ? ch->timeout.count() : 30) + cfg.busy_timeout.count() + 10);
}

Sender sender_of(const Config& cfg) { return {cfg.engineer_name, cfg.engineer_email}; }

std::string host_name() {
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  return host;
}

// A claim's token: this machine, this process, and chance. Only the machine
// and the process are read back (holder_is_dead); the lease alone decides
// for a holder on another machine.
std::string claim_token() { return fmt::format("{}|{}|{}", host_name(), ::getpid(), new_token()); }

bool holder_is_dead(const std::string& token) {
  const auto a = token.find('|'), b = token.find('|', a + 1);
  if (a == std::string::npos || b == std::string::npos || token.substr(0, a) != host_name()) return false;
  const std::string pid = token.substr(a + 1, b - a - 1);
  if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) return false;
  return ::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH;
}

// The delivery's new state after an attempt with this result.
Delivery after(const Delivery& before, const DeliveryResult& r, const Config& cfg, Time now) {
  Delivery d = before;
  d.attempts += 1;
  if (!r.unsent) d.attempted_at = now;
  if (r.ok) {
    d.status = DeliveryStatus::delivered;
    d.delivered_at = now;
    d.next_attempt_at.reset();
    d.last_error.clear();
    if (!r.remote_key.empty()) d.remote_key = r.remote_key, d.remote_url = r.remote_url;
  } else if (r.permanent) {
    d.status = DeliveryStatus::failed;
    d.next_attempt_at.reset();
    d.last_error = r.error;
  } else {
    d.status = DeliveryStatus::pending;
    Seconds wait = backoff(cfg, d.attempts);
    if (r.retry_after) wait = std::clamp(*r.retry_after, Seconds{1}, cfg.retry_max);
    d.next_attempt_at = now + wait;
    d.last_error = r.error.empty() ? std::string("no reason given") : r.error;
  }
  return d;
}

// Records the outcome while `token` still holds the claim, with what the
// case's timeline says of it. False: the claim was lost.
bool record(Store& store, const Delivery& d, const Escalation* x, const std::string& token, Time now, bool adopted) {
  bool held = false;
  store.write(
      [&] {
        held = store.record_delivery(d, token);
        if (!held) return;
        std::string text;
        if (d.status == DeliveryStatus::delivered)
          text = fmt::format("Delivered to {} (level {}{}){}.", d.channel, x ? x->level : 0,
                             d.attempts > 1 ? fmt::format(", attempt {}", d.attempts) : "",
                             d.remote_key.empty() ? "" : fmt::format(": {} {}", d.remote_key, d.remote_url)) +
                 (adopted ? " It was there already: an earlier attempt had made it, and no second one was made." : "");
        else if (d.status == DeliveryStatus::failed)
          text = fmt::format("Delivery to {} failed for good: {}", d.channel, d.last_error);
        if (!text.empty()) {
          Entry e;
          e.uuid = new_uuid();
          e.case_id = d.case_id;
          e.kind = EntryKind::delivery;
          e.text = text;
          e.at = now;
          e.author = "esc";
          store.insert_entry(e);
        }
      },
      Store::Sync::durable);
  return held;
}

}  // namespace

Attempted attempt_delivery(Store& store, const Config& cfg, std::int64_t delivery_id, Time now) {
  Attempted a;
  auto d = store.get_delivery(delivery_id);
  if (!d) return a;
  a.delivery = *d;
  if (d->imported || (d->status != DeliveryStatus::pending && d->status != DeliveryStatus::failed)) return a;
  auto x = store.get_escalation(d->escalation_id);
  const ChannelConfig* ch = cfg.find_channel(d->channel);

  // Rendered before the claim: the lease then covers only the delivery.
  DeliveryResult result;
  std::optional<Summary> summary;
  std::optional<Payload> payload;
  if (!ch) {
    result = not_delivered(fmt::format("channel \"{}\" is no longer in the config", d->channel), true);
  } else if (!x) {
    result = not_delivered("its escalation is gone from the log", true);
  } else {
    try {
      summary = summary_from_json(json::parse(x->snapshot));
      payload = render_payload(*ch, *summary, d->key, sender_of(cfg), now);
    } catch (const std::exception& e) {
      result = not_delivered(fmt::format("cannot render the stored summary: {}", e.what()), true);
    }
  }
  result.unsent = !payload;

  const std::string token = claim_token();
  bool claimed = false;
  store.write([&] {
    // The row as it is when claimed: another attempt may have ended since
    // it was read above.
    if (auto fresh = store.get_delivery(delivery_id)) d = fresh;
    claimed = store.claim_delivery(d->id, token, lease_seconds(ch, cfg), now);
    // A claim of a process of this machine that is gone (killed, crashed)
    // need not wait for its lease to run out.
    if (!claimed)
      if (const std::string held = store.claim_of(d->id); holder_is_dead(held))
        claimed = store.claim_delivery(d->id, token, lease_seconds(ch, cfg), now, held);
  });
  if (!claimed) return a;

  if (payload) {
    if (auto kept = kept_outcome(d->key)) {
      // An earlier attempt delivered it and could not record that.
      result = kept->first;
    } else if (auto there = find_delivered(*ch, *summary, d->key); there && there->ok) {
      result = *there;  // an earlier attempt's, found where it went: not sent again
    } else {
      result = deliver(*ch, *summary, *payload, d->key, cfg, Attempt{d->attempted_at, now});
    }
  }
  const Delivery next = after(*d, result, cfg, now);
  a.delivery = next;
  a.error = result.error;
  try {
    if (!record(store, next, x ? &*x : nullptr, token, now, result.ok && result.adopted)) {
      a.what = Attempted::What::lost_claim;
      a.error = "another esc took this delivery over while this one was delivering (its claim ran out)";
      return a;
    }
  } catch (const Error& e) {
    if (!result.ok) throw;
    // It went out: say so exactly, and keep the outcome for the next attempt.
    if (!keep_outcome(d->key, result, now))
      throw Error(Exit::temp_fail,
                  fmt::format("delivered to {} but not recorded ({}), and the outcome could not be kept either; a "
                              "retry may deliver it twice",
                              d->channel, e.what()));
    a.what = Attempted::What::unrecorded;
    a.error = e.what();
    return a;
  }
  forget_outcome(d->key);
  a.adopted = result.ok && result.adopted;
  a.what = result.ok          ? Attempted::What::delivered
           : result.permanent ? Attempted::What::failed
                              : Attempted::What::deferred;
  return a;
}

void drop_delivery(Store& store, std::int64_t delivery_id, const Engineer& who, Time now) {
  store.write([&] {
    auto d = store.get_delivery(delivery_id);
    if (!d) throw not_found(fmt::format("no delivery {}", delivery_id), "`esc outbox` lists them");
    if (d->status != DeliveryStatus::pending && d->status != DeliveryStatus::failed)
      throw data_error(fmt::format("delivery {} is already {}", delivery_id, to_string(d->status)));
    if (d->imported)
      throw data_error(fmt::format("delivery {} is history from another log; nothing here sends it", delivery_id));
    // An attempt under way would record its outcome over the drop, or
    // deliver what the log says was given up.
    if (const std::string held = store.claim_of(delivery_id); !held.empty() && !holder_is_dead(held))
      throw Error(
          Exit::temp_fail,
          fmt::format("delivery {} is being delivered by another esc right now; nothing was dropped", delivery_id),
          "once that attempt ends (`esc outbox` shows it), drop it if it is still there");
    d->status = DeliveryStatus::dropped;
    d->next_attempt_at.reset();
    store.update_delivery(*d);
    add_entry(store, d->case_id, EntryKind::delivery,
              fmt::format("Delivery to {} dropped by hand after {} attempt(s).", d->channel, d->attempts), who.name,
              now);
  });
}

int record_kept_outcomes(Store& store, const Config& cfg, Time now) {
  std::error_code ec;
  int n = 0;
  for (const auto& f : std::filesystem::directory_iterator(kept_dir(), ec)) {
    const std::string name = f.path().filename().string();
    if (!name.ends_with(".json")) continue;
    const std::string key = name.substr(0, name.size() - 5);
    auto kept = kept_outcome(key);
    if (!kept) continue;
    std::optional<Delivery> d;
    store.read([&] { d = store.delivery_by_key(key); });
    if (!d) continue;  // another log's: kept for it
    if (d->status != DeliveryStatus::pending && d->status != DeliveryStatus::failed) {
      forget_outcome(key);  // recorded meanwhile (another esc delivered or dropped it)
      continue;
    }
    (void)attempt_delivery(store, cfg, d->id, kept->second > Time{} ? kept->second : now);
    ++n;
  }
  return n;
}

}  // namespace esc::app
