#include "esc/model.hpp"

#include <pwd.h>
#include <sys/random.h>
#include <unistd.h>

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <random>
#include <tuple>

namespace esc {

std::string_view to_string(Status s) {
  switch (s) {
    case Status::open:
      return "open";
    case Status::escalated:
      return "escalated";
    case Status::resolved:
      return "resolved";
  }
  return "open";
}

std::optional<Status> parse_status(std::string_view s) {
  if (s == "open") return Status::open;
  if (s == "escalated") return Status::escalated;
  if (s == "resolved") return Status::resolved;
  return std::nullopt;
}

std::string_view to_string(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::pending:
      return "pending";
    case DeliveryStatus::delivered:
      return "delivered";
    case DeliveryStatus::dropped:
      return "dropped";
  }
  return "pending";
}

std::optional<DeliveryStatus> parse_delivery_status(std::string_view s) {
  if (s == "pending") return DeliveryStatus::pending;
  if (s == "delivered") return DeliveryStatus::delivered;
  if (s == "dropped") return DeliveryStatus::dropped;
  return std::nullopt;
}

namespace {
struct KindInfo {
  const char* name;
  const char* description;
};
constexpr std::array kUserKinds{
    KindInfo{"fact", "a fact established about the problem"},
    KindInfo{"diagnostic", "a diagnostic result: logs, traces, test output"},
    KindInfo{"step", "a step already taken"},
    KindInfo{"contact", "an interaction with the client"},
    KindInfo{"hypothesis", "what you think is wrong (a suggestion, not a diagnosis)"},
    KindInfo{"impact", "client and business impact, money at stake"},
    KindInfo{"outcome", "what you want from the escalation"},
    KindInfo{"notice", "the client was told about the escalation"},
    KindInfo{"heads-up", "the next level was forewarned"},
    KindInfo{"update", "a follow-up update to the client"},
    KindInfo{"note", "anything else"},
};
constexpr std::array kSystemKinds{
    KindInfo{"escalated", "the case was escalated"},        KindInfo{"acknowledged", "the next level acknowledged"},
    KindInfo{"delivery", "a delivery succeeded or failed"}, KindInfo{"resolved", "the case was resolved"},
    KindInfo{"reopened", "the case was reopened"},          KindInfo{"review", "the post-resolution review"},
};

template <size_t N>
std::vector<std::string> names(const std::array<KindInfo, N>& a) {
  std::vector<std::string> v;
  for (const auto& k : a) v.emplace_back(k.name);
  return v;
}
}  // namespace

const std::vector<std::string>& user_entry_kinds() {
  static const auto v = names(kUserKinds);
  return v;
}

const std::vector<std::string>& system_entry_kinds() {
  static const auto v = names(kSystemKinds);
  return v;
}

bool is_user_kind(std::string_view kind) {
  const auto& v = user_entry_kinds();
  return std::find(v.begin(), v.end(), kind) != v.end();
}

bool is_entry_kind(std::string_view kind) {
  const auto& v = system_entry_kinds();
  return is_user_kind(kind) || std::find(v.begin(), v.end(), kind) != v.end();
}

std::string_view describe_kind(std::string_view kind) {
  for (const auto& k : kUserKinds)
    if (kind == k.name) return k.description;
  for (const auto& k : kSystemKinds)
    if (kind == k.name) return k.description;
  return "";
}

bool is_client_contact(std::string_view kind) { return kind == "contact" || kind == "notice" || kind == "update"; }

Seconds longest_silence(Time start, Time end, const std::vector<Time>& contacts) {
  Time last = start;
  for (const auto& t : contacts)
    if (t <= start) last = t;
  Seconds longest{0};
  for (const auto& t : contacts) {
    if (t <= start) continue;
    if (t > end) break;
    longest = std::max(longest, std::chrono::duration_cast<Seconds>(t - last));
    last = t;
  }
  return std::max(longest, std::chrono::duration_cast<Seconds>(end - last));
}

EscalationFacts escalation_facts(const Case& c, const std::vector<Escalation>& escalations,
                                 const std::vector<Time>& contacts) {
  EscalationFacts f;
  if (!contacts.empty()) f.last_contact = contacts.back();
  const Escalation* first = nullptr;
  const Escalation* latest = nullptr;
  for (const auto& x : escalations) {
    if (!f.first_at || x.at < *f.first_at) f.first_at = x.at;
    if (!first || std::tie(x.level, x.id) < std::tie(first->level, first->id)) first = &x;
    if (!latest || std::tie(x.level, x.at, x.id) > std::tie(latest->level, latest->at, latest->id)) latest = &x;
    f.forced = f.forced || x.forced;
  }
  if (!first) return f;
  Escalation& l = f.latest.emplace();
  l.id = latest->id;
  l.case_id = latest->case_id;
  l.level = latest->level;
  l.path = latest->path;
  l.at = latest->at;
  l.acked_at = latest->acked_at;
  f.first_acked_at = first->acked_at;
  f.first_path = first->path;
  f.silence =
      longest_silence(*f.first_at, c.resolved_at ? *c.resolved_at : f.last_contact.value_or(*f.first_at), contacts);
  return f;
}

Seconds silence_by(const EscalationFacts& f, Time now) {
  // The silence up to the last contact, or the one still going on: from the
  // last contact (before the escalation too), else from the escalation.
  const Time last = f.last_contact.value_or(f.first_at.value_or(now));
  return std::max(f.silence.value_or(Seconds{0}), std::chrono::duration_cast<Seconds>(now - last));
}

const std::vector<std::string>& hypothesis_states() {
  static const std::vector<std::string> v{"unconfirmed", "confirmed", "refuted"};
  return v;
}

std::string new_uuid() {
  // Seeded once a process from the kernel (a seed_seq over the generator's
  // whole state cost more than the rest of a UUID many times over).
  static std::mt19937_64 rng = [] {
    std::uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed))
      seed = std::random_device{}() ^ (static_cast<std::uint64_t>(::getpid()) << 32) ^
             static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return std::mt19937_64(seed);
  }();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::uint64_t hi = (static_cast<std::uint64_t>(ms) << 16) | (rng() & 0x0fffULL);
  std::uint64_t lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000007000ULL;  // version 7
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                     lo & 0xffffffffffffULL);
}

std::string default_engineer_name() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_name) return pw->pw_name;
  return "unknown";
}

}  // namespace esc
