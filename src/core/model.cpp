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
  for (auto st : {Status::open, Status::escalated, Status::resolved})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

std::string_view to_string(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::pending:
      return "pending";
    case DeliveryStatus::delivered:
      return "delivered";
    case DeliveryStatus::failed:
      return "failed";
    case DeliveryStatus::dropped:
      return "dropped";
  }
  return "pending";
}

std::optional<DeliveryStatus> parse_delivery_status(std::string_view s) {
  for (auto st : {DeliveryStatus::pending, DeliveryStatus::delivered, DeliveryStatus::failed, DeliveryStatus::dropped})
    if (to_string(st) == s) return st;
  return std::nullopt;
}

namespace {

struct KindInfo {
  EntryKind kind;
  const char* name;
  const char* description;
  bool user;
};

constexpr std::array kKinds{
    KindInfo{EntryKind::fact, "fact", "a fact established about the problem", true},
    KindInfo{EntryKind::diagnostic, "diagnostic", "a diagnostic result: logs, traces, test output", true},
    KindInfo{EntryKind::step, "step", "a step already taken", true},
    KindInfo{EntryKind::contact, "contact", "an interaction with the client", true},
    KindInfo{EntryKind::hypothesis, "hypothesis", "what you think is wrong (a suggestion, not a diagnosis)", true},
    KindInfo{EntryKind::impact, "impact", "client and business impact, money at stake", true},
    KindInfo{EntryKind::outcome, "outcome", "what you want from the escalation", true},
    KindInfo{EntryKind::notice, "notice", "the client was told about the escalation", true},
    KindInfo{EntryKind::heads_up, "heads-up", "the next level was forewarned", true},
    KindInfo{EntryKind::update, "update", "a follow-up update to the client", true},
    KindInfo{EntryKind::note, "note", "anything else", true},
    KindInfo{EntryKind::escalated, "escalated", "the case was escalated", false},
    KindInfo{EntryKind::acknowledged, "acknowledged", "the next level acknowledged", false},
    KindInfo{EntryKind::delivery, "delivery", "a delivery succeeded or failed", false},
    KindInfo{EntryKind::resolved, "resolved", "the case was resolved", false},
    KindInfo{EntryKind::reopened, "reopened", "the case was reopened", false},
    KindInfo{EntryKind::review, "review", "the post-resolution review", false},
    KindInfo{EntryKind::correction, "correction", "an entry was struck or its state changed", false},
    KindInfo{EntryKind::snoozed, "snoozed", "the case was kept out of `esc due` for a while", false},
    KindInfo{EntryKind::taken, "taken", "an engineer took the case", false},
    KindInfo{EntryKind::reply, "reply", "the next level answered (found by `esc sync`)", false},
    KindInfo{EntryKind::resolved_upstream, "resolved-upstream", "the next level resolved it (found by `esc sync`)",
             false},
};

const KindInfo& info(EntryKind k) {
  for (const auto& i : kKinds)
    if (i.kind == k) return i;
  return kKinds.back();
}

}  // namespace

std::string_view to_string(EntryKind k) { return info(k).name; }

std::optional<EntryKind> parse_entry_kind(std::string_view s) {
  for (const auto& i : kKinds)
    if (s == i.name) return i.kind;
  return std::nullopt;
}

bool is_user_kind(EntryKind k) { return info(k).user; }
std::string_view describe(EntryKind k) { return info(k).description; }

const std::vector<EntryKind>& user_entry_kinds() {
  static const std::vector<EntryKind> v = [] {
    std::vector<EntryKind> out;
    for (const auto& i : kKinds)
      if (i.user) out.push_back(i.kind);
    return out;
  }();
  return v;
}

std::vector<std::string> user_entry_kind_names() {
  std::vector<std::string> out;
  for (auto k : user_entry_kinds()) out.emplace_back(to_string(k));
  return out;
}

bool is_client_contact(EntryKind k) {
  return k == EntryKind::contact || k == EntryKind::notice || k == EntryKind::update;
}

const std::vector<std::string>& hypothesis_states() {
  static const std::vector<std::string> v{"unconfirmed", "confirmed", "refuted"};
  return v;
}

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

namespace {

std::mt19937_64& rng() {
  static std::mt19937_64 r = [] {
    std::uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != static_cast<ssize_t>(sizeof seed))
      seed = std::random_device{}() ^ (static_cast<std::uint64_t>(::getpid()) << 32) ^
             static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    return std::mt19937_64(seed);
  }();
  return r;
}

}  // namespace

std::string new_uuid() {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::uint64_t hi = (static_cast<std::uint64_t>(ms) << 16) | (rng()() & 0x0fffULL);
  std::uint64_t lo = rng()();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000007000ULL;  // version 7
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                     lo & 0xffffffffffffULL);
}

std::string new_token() {
  std::uint64_t a = 0, b = 0;
  if (getrandom(&a, sizeof a, 0) != static_cast<ssize_t>(sizeof a)) a = rng()();
  if (getrandom(&b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) b = rng()();
  return fmt::format("{:016x}{:016x}", a, b);
}

std::string default_engineer_name() {
  if (const char* u = std::getenv("USER"); u && *u) return u;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_name) return pw->pw_name;
  return "unknown";
}

}  // namespace esc
