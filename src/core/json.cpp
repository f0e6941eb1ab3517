#include "esc/json.hpp"

#include <fmt/format.h>

#include <set>
#include <stdexcept>

#include "esc/text.hpp"

namespace esc {

using nlohmann::json;

json time_or_null(const std::optional<Time>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); }

json to_json(const Case& c) {
  return {{"id", c.id},
          {"uuid", c.uuid},
          {"title", c.title},
          {"customer", c.customer},
          {"severity", c.severity},
          {"status", std::string(to_string(c.status))},
          {"ref", c.ref.empty() ? json(nullptr) : json(c.ref)},
          {"triggers", c.triggers},
          {"tags", c.tags},
          {"engineer", c.engineer},
          {"engineer_email", c.engineer_email.empty() ? json(nullptr) : json(c.engineer_email)},
          {"created_at", format_rfc3339(c.created_at)},
          {"updated_at", format_rfc3339(c.updated_at)},
          {"resolved_at", time_or_null(c.resolved_at)},
          {"csat", c.csat ? json(*c.csat) : json(nullptr)},
          {"unnecessary", c.unnecessary},
          {"snoozed_until", time_or_null(c.snoozed_until)},
          {"snooze_reason", c.snooze_reason.empty() ? json(nullptr) : json(c.snooze_reason)}};
}

namespace {
json opt(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
}  // namespace

json to_json(const Entry& e) {
  return {{"id", e.id},
          {"uuid", e.uuid},
          {"kind", to_string(e.kind)},
          {"text", e.text},
          {"at", format_rfc3339(e.at)},
          {"author", e.author},
          {"state", opt(e.state)},
          {"source", opt(e.source)},
          {"remote_id", opt(e.remote_id)},
          {"struck_at", time_or_null(e.struck_at)},
          {"struck_by", opt(e.struck_by)},
          {"struck_reason", opt(e.struck_reason)}};
}

json to_json(const Escalation& x, bool with_snapshot) {
  json j{{"id", x.id},
         {"uuid", x.uuid},
         {"level", x.level},
         {"path", x.path},
         {"at", format_rfc3339(x.at)},
         {"sent_by", opt(x.sent_by)},
         {"forced", x.forced},
         {"force_reason", opt(x.force_reason)},
         {"again_reason", opt(x.again_reason)},
         {"note", opt(x.note)},
         {"subject", x.subject},
         {"acked_at", time_or_null(x.acked_at)},
         {"acked_by", x.acked_by.empty() ? json(nullptr) : json(x.acked_by)}};
  if (with_snapshot) j["snapshot"] = x.snapshot;
  return j;
}

json to_json(const Delivery& d) {
  return {{"id", d.id},
          {"escalation_id", d.escalation_id},
          {"case", d.case_id},
          {"channel", d.channel},
          {"key", d.key},
          {"status", std::string(to_string(d.status))},
          {"attempts", d.attempts},
          {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
          {"created_at", format_rfc3339(d.created_at)},
          {"next_attempt_at", time_or_null(d.next_attempt_at)},
          {"delivered_at", time_or_null(d.delivered_at)},
          {"ticket", opt(d.remote_key)},
          {"ticket_url", opt(d.remote_url)},
          {"imported", d.imported}};
}

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw std::invalid_argument(fmt::format("{}: {}", field, what));
}

const json& field(const json& j, const char* name) {
  if (!j.is_object()) bad(name, "expected an object");
  auto it = j.find(name);
  if (it == j.end()) bad(name, "missing");
  return *it;
}

std::string str(const json& j, const char* name, bool line = false) {
  const auto& v = field(j, name);
  if (!v.is_string()) bad(name, "expected a string");
  auto s = v.get<std::string>();
  if (!is_valid_utf8(s)) bad(name, "not valid UTF-8");
  if (line && has_control_chars(s)) bad(name, "holds control characters");
  return s;
}

std::string opt_str(const json& j, const char* name, bool line = false) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return {};
  return str(j, name, line);
}

// A UUID as esc makes them (8-4-4-4-12 hexadecimal digits): the key that
// unites records across logs, so nothing else is taken for one.
std::string uuid(const json& j, const char* name) {
  std::string u = str(j, name, true);
  bool ok = u.size() == 36;
  for (std::size_t i = 0; ok && i < u.size(); ++i)
    ok = (i == 8 || i == 13 || i == 18 || i == 23) ? u[i] == '-' : std::isxdigit(static_cast<unsigned char>(u[i])) != 0;
  if (!ok) bad(name, "expected a UUID (8-4-4-4-12 hexadecimal digits)");
  return u;
}

// A name from a config's list (a severity, a path): a word, never empty.
std::string name_field(const json& j, const char* name) {
  std::string v = str(j, name, true);
  if (v.empty()) bad(name, "empty");
  return v;
}

std::int64_t integer(const json& j, const char* name) {
  const auto& v = field(j, name);
  if (!v.is_number_integer()) bad(name, "expected an integer");
  return v.get<std::int64_t>();
}

Time time(const json& j, const char* name) {
  auto t = parse_rfc3339(str(j, name));
  if (!t) bad(name, "expected an RFC 3339 time");
  return *t;
}

std::optional<Time> opt_time(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return time(j, name);
}

bool boolean(const json& j, const char* name, bool fallback) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) bad(name, "expected true or false");
  return it->get<bool>();
}

// Single-line values, as `esc new` and `esc edit` take them.
std::vector<std::string> strings(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_array()) bad(name, "expected an array of strings");
  std::vector<std::string> out;
  for (const auto& x : *it) {
    if (!x.is_string()) bad(name, "expected an array of strings");
    auto s = x.get<std::string>();
    if (!is_valid_utf8(s)) bad(name, "not valid UTF-8");
    if (has_control_chars(s)) bad(name, "holds control characters");
    if (s.empty()) bad(name, "holds an empty string");
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace

Case case_from_json(const json& j) {
  Case c;
  c.id = integer(j, "id");
  c.uuid = uuid(j, "uuid");
  c.title = str(j, "title", true);
  if (c.title.empty()) bad("title", "empty");
  c.customer = opt_str(j, "customer", true);
  c.severity = name_field(j, "severity");
  auto st = parse_status(str(j, "status"));
  if (!st) bad("status", "expected open, escalated or resolved");
  c.status = *st;
  c.ref = opt_str(j, "ref", true);
  c.triggers = strings(j, "triggers");
  c.tags = strings(j, "tags");
  c.engineer = opt_str(j, "engineer", true);
  c.engineer_email = opt_str(j, "engineer_email", true);
  c.created_at = time(j, "created_at");
  c.updated_at = time(j, "updated_at");
  c.resolved_at = opt_time(j, "resolved_at");
  if (auto it = j.find("csat"); it != j.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 || it->get<std::int64_t>() > 5)
      bad("csat", "expected 1 to 5");
    c.csat = it->get<int>();
  }
  c.unnecessary = boolean(j, "unnecessary", false);
  c.snoozed_until = opt_time(j, "snoozed_until");
  c.snooze_reason = opt_str(j, "snooze_reason", true);
  return c;
}

Entry entry_from_json(const json& j) {
  Entry e;
  e.id = integer(j, "id");
  e.uuid = uuid(j, "uuid");
  auto kind = parse_entry_kind(str(j, "kind", true));
  if (!kind) bad("kind", fmt::format("unknown entry kind \"{}\"", str(j, "kind", true)));
  e.kind = *kind;
  e.text = str(j, "text");
  e.state = opt_str(j, "state", true);
  e.at = time(j, "at");
  e.author = opt_str(j, "author", true);
  e.source = opt_str(j, "source", true);
  e.remote_id = opt_str(j, "remote_id", true);
  e.struck_at = opt_time(j, "struck_at");
  e.struck_by = opt_str(j, "struck_by", true);
  e.struck_reason = opt_str(j, "struck_reason");
  return e;
}

Escalation escalation_from_json(const json& j) {
  Escalation x;
  x.id = integer(j, "id");
  x.uuid = uuid(j, "uuid");
  const auto level = integer(j, "level");
  if (level < 1 || level > 1000) bad("level", "expected 1 to 1000");
  x.level = static_cast<int>(level);
  x.path = name_field(j, "path");
  x.at = time(j, "at");
  x.sent_by = opt_str(j, "sent_by", true);
  x.forced = boolean(j, "forced", false);
  x.force_reason = opt_str(j, "force_reason");
  x.again_reason = opt_str(j, "again_reason");
  x.note = opt_str(j, "note");
  x.subject = str(j, "subject", true);
  x.snapshot = opt_str(j, "snapshot");
  x.acked_at = opt_time(j, "acked_at");
  x.acked_by = opt_str(j, "acked_by", true);
  return x;
}

Delivery delivery_from_json(const json& j) {
  Delivery d;
  d.id = integer(j, "id");
  d.escalation_id = integer(j, "escalation_id");
  d.channel = name_field(j, "channel");
  d.key = uuid(j, "key");
  auto st = parse_delivery_status(str(j, "status"));
  if (!st) bad("status", "expected pending, delivered, failed or dropped");
  d.status = *st;
  const auto attempts = integer(j, "attempts");
  if (attempts < 0 || attempts > 1'000'000) bad("attempts", "out of range");
  d.attempts = static_cast<int>(attempts);
  d.last_error = opt_str(j, "last_error", true);
  d.created_at = time(j, "created_at");
  d.next_attempt_at = opt_time(j, "next_attempt_at");
  d.delivered_at = opt_time(j, "delivered_at");
  d.remote_key = opt_str(j, "ticket", true);
  d.remote_url = opt_str(j, "ticket_url", true);
  return d;
}

json to_json(const CaseRecord& r) {
  json j;
  j["case"] = to_json(r.c);
  j["entries"] = json::array();
  for (const auto& e : r.entries) j["entries"].push_back(to_json(e));
  j["escalations"] = json::array();
  for (const auto& x : r.escalations) j["escalations"].push_back(to_json(x, true));
  j["deliveries"] = json::array();
  for (const auto& d : r.deliveries) {
    auto dj = to_json(d);
    dj.erase("imported");  // this log's own business: in any other, every delivery is imported
    j["deliveries"].push_back(std::move(dj));
  }
  return j;
}

CaseRecord record_from_json(const std::string& line) {
  auto j = json::parse(line);
  if (!j.is_object()) throw std::invalid_argument("expected a JSON object");
  CaseRecord r;
  if (!j.contains("case")) bad("case", "missing");
  try {
    r.c = case_from_json(j["case"]);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(fmt::format("case.{}", e.what()));
  }
  auto each = [&](const char* name, auto&& fn) {
    if (!j.contains(name) || j[name].is_null()) return;
    if (!j[name].is_array()) bad(name, "expected an array");
    size_t i = 0;
    for (const auto& x : j[name]) {
      try {
        fn(x);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(fmt::format("{}[{}].{}", name, i, e.what()));
      }
      ++i;
    }
  };
  each("entries", [&](const json& x) { r.entries.push_back(entry_from_json(x)); });
  each("escalations", [&](const json& x) { r.escalations.push_back(escalation_from_json(x)); });
  each("deliveries", [&](const json& x) {
    Delivery d = delivery_from_json(x);
    d.case_id = r.c.id;
    r.deliveries.push_back(std::move(d));
  });
  // One record, one of each thing: a UUID twice, or a delivery of an
  // escalation the record does not hold, would be silently dropped.
  std::set<std::string> uuids;
  std::set<std::int64_t> escalation_ids;
  auto once = [](auto& seen, const auto& key, const std::string& field) {
    if (!seen.insert(key).second) bad(field, "the same as another's in this record");
  };
  for (std::size_t i = 0; i < r.entries.size(); ++i) once(uuids, r.entries[i].uuid, fmt::format("entries[{}].uuid", i));
  for (std::size_t i = 0; i < r.escalations.size(); ++i) {
    once(uuids, r.escalations[i].uuid, fmt::format("escalations[{}].uuid", i));
    once(escalation_ids, r.escalations[i].id, fmt::format("escalations[{}].id", i));
  }
  for (std::size_t i = 0; i < r.deliveries.size(); ++i) {
    once(uuids, r.deliveries[i].key, fmt::format("deliveries[{}].key", i));
    if (!escalation_ids.count(r.deliveries[i].escalation_id))
      bad(fmt::format("deliveries[{}].escalation_id", i), "no escalation of this record has that id");
  }
  return r;
}

}  // namespace esc
