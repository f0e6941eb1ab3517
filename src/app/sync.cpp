// Sync: the next level's answers, read from where each escalation went,
// recorded on the case once.

#include "esc/sync.hpp"

#include <fmt/format.h>

#include <map>

#include "esc/app.hpp"

namespace esc::app {

namespace {

// Records what was read of one delivery, in one transaction. Sets (never
// adds to) `line`: on PostgreSQL a conflict runs this again.
void record(Store& store, const FollowedDelivery& f, Time now, SyncedDelivery& line, int& added) {
  store.write([&] {
    added = 0;
    auto d = store.get_delivery(f.delivery_id);
    if (!d) return;
    auto x = store.get_escalation(d->escalation_id);
    auto c = store.get_case(d->case_id);
    if (!x || !c || c->status == Status::resolved) return;
    line = {};
    line.case_id = c->id;
    line.delivery_id = d->id;
    line.channel = d->channel;
    line.path = x->path;
    line.level = x->level;
    line.source = f.source;
    line.error = f.error;
    for (const auto& ev : f.events) {
      if (ev.kind == RemoteEvent::Kind::reopened) {
        // Open there again: the resolution it reported no longer holds.
        for (Entry& u : store.live_remote_entries(c->id, f.source, EntryKind::resolved_upstream)) {
          u.struck_at = now;
          u.struck_by = f.source;
          u.struck_reason = ev.text.empty() ? std::string("reopened") : "reopened: " + ev.text;
          store.update_entry(u);
          line.reopened = true;
        }
        continue;
      }
      if (ev.remote_id.empty() || store.has_remote_entry(f.source, ev.remote_id)) continue;
      Entry e;
      e.uuid = new_uuid();
      e.case_id = c->id;
      e.author = ev.author.empty() ? f.source : ev.author;
      e.source = f.source;
      e.remote_id = ev.remote_id;
      e.state = x->path;  // the path it answers
      // When it happened there; never later than now, and an answer never before its question.
      e.at = std::min(ev.at.value_or(now), now);
      switch (ev.kind) {
        case RemoteEvent::Kind::acknowledged:
          e.kind = EntryKind::acknowledged;
          e.at = std::max(e.at, x->at);
          e.text = fmt::format("Level {} ({}) acknowledged in {}: {}.", x->level, x->path, f.source, ev.text);
          if (!x->acked_at) {
            x->acked_at = e.at;
            x->acked_by = e.author;
            store.update_escalation(*x);
            line.acknowledged_by = e.author;
          }
          break;
        case RemoteEvent::Kind::reply:
          e.kind = EntryKind::reply;
          e.text = ev.text.empty() ? std::string("(no text)") : ev.text;
          ++line.replies;
          break;
        case RemoteEvent::Kind::resolved:
          e.kind = EntryKind::resolved_upstream;
          e.at = std::max(e.at, x->at);
          e.text = fmt::format("Resolved upstream in {}: {}.", f.source, ev.text);
          line.resolved = true;
          break;
        case RemoteEvent::Kind::reopened:
          break;
      }
      store.insert_entry(e);
      ++added;
    }
    if ((added > 0 || line.reopened) && c->updated_at < now) {
      c->updated_at = now;
      store.update_case(*c);
    }
    bool changed = false;
    if (f.cursor != d->sync_cursor) d->sync_cursor = f.cursor, changed = true;
    if (!f.remote_key.empty() && d->remote_key.empty()) {
      d->remote_key = f.remote_key;
      d->remote_url = f.remote_url;
      changed = true;
    }
    if (changed) store.update_delivery(*d);
  });
}

}  // namespace

SyncReport sync(Store& store, const Config& cfg, Time now) {
  SyncReport report;
  std::vector<Delivery> open;
  store.read([&] { open = store.delivered_open(); });
  // By channel, in the config's order: one connection (one mailbox session) each.
  std::map<std::string, std::vector<Delivery>> by_channel;
  for (auto& d : open)
    if (!d.imported) by_channel[d.channel].push_back(std::move(d));
  for (const auto& ch : cfg.channels) {
    auto it = by_channel.find(ch.name);
    if (it == by_channel.end()) continue;
    std::string why;
    if (!followable(ch, &why)) {
      if (!why.empty()) report.not_followed.emplace_back(ch.name, why);
      continue;
    }
    const FollowResult r = follow(ch, it->second, cfg);
    for (const auto& f : r.deliveries) {
      ++report.followed;
      SyncedDelivery line;
      int added = 0;
      record(store, f, now, line, added);
      report.entries += added;
      report.reopened += line.reopened ? 1 : 0;
      if (added > 0 || line.reopened || !line.error.empty()) report.changed.push_back(std::move(line));
    }
    if (r.failure != FollowResult::Failure::none) report.problems.push_back({ch.name, r.failure, r.error});
  }
  return report;
}

}  // namespace esc::app
