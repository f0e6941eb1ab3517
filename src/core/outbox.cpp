#include "esc/outbox.hpp"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "esc/channels.hpp"
#include "esc/summary.hpp"

namespace esc {

Seconds backoff(const Config& cfg, int attempts) {
  Seconds s = cfg.retry_base;
  for (int i = 1; i < attempts && s < cfg.retry_max; ++i) s *= 2;
  return std::min(s, cfg.retry_max);
}

namespace {
bool process_alive(int pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }
std::int64_t wall_now() { return to_unix(std::chrono::floor<Seconds>(std::chrono::system_clock::now())); }
}  // namespace

Attempt attempt_delivery(Store& store, const Config& cfg, std::int64_t delivery_id, Time now) {
  Attempt a;
  auto d = store.get_delivery(delivery_id);
  if (!d) return a;
  a.delivery = *d;
  const ChannelConfig* ch = cfg.find_channel(d->channel);
  const Seconds lease = (ch ? ch->timeout : Seconds{30}) + Seconds{30};
  bool claimed = false;
  store.write([&] {
    claimed = store.claim_delivery(d->id, ::getpid(), wall_now() + lease.count(), wall_now(), process_alive);
  });
  if (!claimed) return a;
  a.attempted = true;

  DeliveryResult result;
  auto x = store.get_escalation(d->escalation_id);
  if (!ch) {
    result = {false, fmt::format("channel \"{}\" is no longer in the config", d->channel)};
  } else if (!x) {
    result = {false, "its escalation is gone"};
  } else {
    try {
      Summary s = summary_from_json(nlohmann::json::parse(x->snapshot));
      Payload p = render_payload(*ch, s, d->key, x->at);
      result = deliver(*ch, s, p, d->key);
    } catch (const std::exception& e) {
      result = {false, fmt::format("cannot render the stored summary: {}", e.what())};
    }
  }

  // Durable: the channel has it (or refused it); forgetting that would send it twice.
  store.write(
      [&] {
        Delivery cur = *store.get_delivery(d->id);
        cur.attempts += 1;
        if (result.ok) {
          cur.status = DeliveryStatus::delivered;
          cur.delivered_at = now;
          cur.next_attempt_at.reset();
          cur.last_error.clear();
          Entry e;
          e.uuid = new_uuid();
          e.case_id = x ? x->case_id : d->case_id;
          e.kind = "delivery";
          e.text = fmt::format("Delivered to {} (level {}{}).", cur.channel, x ? x->level : 0,
                               cur.attempts > 1 ? fmt::format(", attempt {}", cur.attempts) : "");
          e.at = now;
          e.author = "esc";
          store.insert_entry(e);
        } else {
          cur.last_error = result.error;
          cur.next_attempt_at = now + backoff(cfg, cur.attempts);
        }
        store.update_delivery(cur);
        a.delivery = cur;
      },
      Store::Sync::durable);
  a.ok = result.ok;
  a.error = result.error;
  return a;
}

}  // namespace esc
