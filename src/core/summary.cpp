#include "esc/summary.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "esc/json.hpp"
#include "esc/text.hpp"

namespace esc {

using nlohmann::json;

std::string subject_line(const Case& c) {
  std::string s = fmt::format("[ESC #{}][{}] ", c.id, c.severity);
  if (!c.customer.empty()) s += c.customer + ": ";
  return s + c.title;
}

std::string describe_trigger(std::string_view t) {
  if (t == "beyond-scope") return "beyond the engineer's scope or access";
  if (t == "needs-resources") return "needs more resources than first level has";
  if (t == "time-sensitive") return "time-sensitive";
  if (t == "sla-breach") return "SLA breached, or about to be";
  if (t == "high-severity") return "high severity";
  if (t == "legal-compliance") return "legal or compliance concern";
  if (t == "unresolved-after-intervention") return "unresolved after an intervention";
  return std::string(t);
}

Summary build_summary(const Case& c, const std::vector<Entry>& entries, const std::vector<Escalation>& escalations,
                      const Config& cfg, Time now) {
  Summary s;
  s.subject = subject_line(c);
  s.c = c;
  s.as_of = now;
  if (c.engineer == cfg.engineer_name) s.engineer_email = cfg.engineer_email;
  for (const auto& t : c.triggers) s.why.push_back({t, describe_trigger(t)});
  for (const auto& e : entries) {
    SummaryItem item{e.at, e.text, e.author, e.kind, e.state};
    if (e.kind == "impact")
      s.impact.push_back(item);
    else if (e.kind == "outcome")
      s.outcome.push_back(item);
    else if (e.kind == "fact" || e.kind == "diagnostic")
      s.facts.push_back(item);
    else if (e.kind == "step")
      s.steps.push_back(item);
    else if (e.kind == "contact" || e.kind == "notice" || e.kind == "update")
      s.client.push_back(item);
    else if (e.kind == "hypothesis")
      s.hypotheses.push_back(item);
    else if (e.kind == "heads-up")
      s.heads_up.push_back(item);
    else if (e.kind == "note")
      s.notes.push_back(item);
  }
  for (const auto& x : escalations) s.escalations.push_back({x.level, x.path, x.at, x.acked_at, x.acked_by});
  s.readiness = evaluate(cfg.checklist, c, entries);
  return s;
}

// ---- JSON ------------------------------------------------------------------

namespace {

json items_json(const std::vector<SummaryItem>& v) {
  json a = json::array();
  for (const auto& i : v) {
    json o{{"at", format_rfc3339(i.at)}, {"text", i.text}, {"author", i.author}, {"kind", i.kind}};
    if (!i.state.empty()) o["state"] = i.state;
    a.push_back(std::move(o));
  }
  return a;
}

std::vector<SummaryItem> items_from(const json& j, const char* name) {
  std::vector<SummaryItem> out;
  if (!j.contains(name)) return out;
  for (const auto& o : j.at(name)) {
    SummaryItem i;
    i.at = parse_rfc3339(o.at("at").get<std::string>()).value_or(Time{});
    i.text = o.value("text", "");
    i.author = o.value("author", "");
    i.kind = o.value("kind", "");
    i.state = o.value("state", "");
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace

json to_json(const Summary& s) {
  json why = json::array();
  for (const auto& w : s.why) why.push_back({{"trigger", w.trigger}, {"text", w.text}});
  json escs = json::array();
  for (const auto& x : s.escalations)
    escs.push_back({{"level", x.level},
                    {"path", x.path},
                    {"at", format_rfc3339(x.at)},
                    {"acked_at", time_or_null(x.acked_at)},
                    {"acked_by", x.acked_by.empty() ? json(nullptr) : json(x.acked_by)}});
  json j{{"subject", s.subject},
         {"case", to_json(s.c)},
         {"as_of", format_rfc3339(s.as_of)},
         {"age", format_duration(s.as_of - s.c.created_at)},
         {"engineer_email", s.engineer_email.empty() ? json(nullptr) : json(s.engineer_email)},
         {"why", why},
         {"impact", items_json(s.impact)},
         {"outcome", items_json(s.outcome)},
         {"facts", items_json(s.facts)},
         {"steps", items_json(s.steps)},
         {"client", items_json(s.client)},
         {"hypotheses", items_json(s.hypotheses)},
         {"heads_up", items_json(s.heads_up)},
         {"notes", items_json(s.notes)},
         {"escalations", escs},
         {"forced_reason", s.forced_reason.empty() ? json(nullptr) : json(s.forced_reason)},
         {"readiness", to_json(s.readiness)}};
  return j;
}

Summary summary_from_json(const json& j) {
  Summary s;
  s.subject = j.at("subject").get<std::string>();
  s.c = case_from_json(j.at("case"));
  s.as_of = parse_rfc3339(j.at("as_of").get<std::string>()).value_or(Time{});
  if (j.contains("engineer_email") && j["engineer_email"].is_string()) s.engineer_email = j["engineer_email"];
  for (const auto& w : j.at("why")) s.why.push_back({w.at("trigger"), w.at("text")});
  s.impact = items_from(j, "impact");
  s.outcome = items_from(j, "outcome");
  s.facts = items_from(j, "facts");
  s.steps = items_from(j, "steps");
  s.client = items_from(j, "client");
  s.hypotheses = items_from(j, "hypotheses");
  s.heads_up = items_from(j, "heads_up");
  s.notes = items_from(j, "notes");
  for (const auto& x : j.at("escalations")) {
    SummaryEscalation e;
    e.level = x.at("level");
    e.path = x.at("path");
    e.at = parse_rfc3339(x.at("at").get<std::string>()).value_or(Time{});
    if (x["acked_at"].is_string()) e.acked_at = parse_rfc3339(x["acked_at"].get<std::string>());
    if (x["acked_by"].is_string()) e.acked_by = x["acked_by"];
    s.escalations.push_back(e);
  }
  if (j.contains("forced_reason") && j["forced_reason"].is_string()) s.forced_reason = j["forced_reason"];
  const auto& r = j.at("readiness");
  s.readiness.case_id = r.at("case");
  for (const auto& i : r.at("items")) {
    ItemResult it;
    it.key = i.at("key");
    it.question = i.at("question");
    it.required = i.at("required");
    it.entries = i.at("entries");
    s.readiness.items.push_back(std::move(it));
  }
  return s;
}

// ---- text --------------------------------------------------------------------

namespace {

std::string kind_label(const SummaryItem& i) {
  if (i.kind == "diagnostic") return "[diagnostic] ";
  if (i.kind == "notice") return "[told the client] ";
  if (i.kind == "update") return "[update to client] ";
  if (i.kind == "contact") return "[client contact] ";
  if (i.kind == "hypothesis") return fmt::format("[{}] ", i.state.empty() ? "unconfirmed" : i.state);
  return "";
}

// The heading may drop "unconfirmed" only when every hypothesis offered was confirmed.
bool all_confirmed(const std::vector<SummaryItem>& hypotheses) {
  bool any = false;
  for (const auto& h : hypotheses) {
    if (h.state == "refuted") continue;
    if (h.state != "confirmed") return false;
    any = true;
  }
  return any;
}

std::string by_line(const SummaryItem& i, const Case& c) {
  return i.author.empty() || i.author == c.engineer ? "" : fmt::format(" ({})", i.author);
}

// One wrapped bullet: the first line after `bullet`, the rest indented under it.
void bullet(std::string& out, const std::string& mark, const std::string& text, std::size_t width) {
  const std::string indent(display_width(mark), ' ');
  const std::size_t room = width > indent.size() + 20 ? width - indent.size() : 20;
  bool first = true;
  for (const auto& line : wrap(text, room)) {
    out += (first ? mark : indent) + line + "\n";
    first = false;
  }
}

void text_section(std::string& out, const std::string& heading, const std::vector<SummaryItem>& items, const Case& c,
                  std::size_t width, bool numbered) {
  if (items.empty()) return;
  out += "\n" + heading + "\n";
  int n = 0;
  for (const auto& i : items) {
    ++n;
    const std::string mark = numbered ? fmt::format("  {}. ", n) : std::string("  - ");
    const std::string body_indent(display_width(mark) + 2, ' ');
    bullet(out, mark, fmt::format("{}{}{}:", kind_label(i), format_utc(i.at), inert(by_line(i, c))), width);
    for (const auto& para : split_lines(inert(i.text, true))) {
      if (trim(para).empty())
        out += "\n";
      else
        bullet(out, body_indent, para, width);
    }
  }
}

std::string header_value_age(const Summary& s) {
  return fmt::format("{} ({} before this summary)", format_utc(s.c.created_at),
                     format_duration(s.as_of - s.c.created_at));
}

}  // namespace

std::string render_text(const Summary& s, std::size_t width) {
  const Case& c = s.c;
  std::string out = inert(s.subject) + "\n\n";
  auto row = [&](const char* label, const std::string& value) {
    if (!value.empty()) out += fmt::format("{:<10} {}\n", label, inert(value));
  };
  row("Case:", fmt::format("#{}{}", c.id, c.ref.empty() ? "" : " (ref " + c.ref + ")"));
  row("Customer:", c.customer);
  row("Severity:", c.severity);
  row("Status:", std::string(to_string(c.status)));
  row("Engineer:", s.engineer_email.empty() ? c.engineer : fmt::format("{} <{}>", c.engineer, s.engineer_email));
  row("Opened:", header_value_age(s));
  row("Tags:", join(c.tags, ", "));

  if (!s.forced_reason.empty()) {
    out += "\nSENT BEFORE THE CHECKLIST WAS COMPLETE\n";
    bullet(out, "    ", inert(s.forced_reason), width);
  }
  if (!s.escalations.empty()) {
    out += "\nESCALATED SO FAR\n";
    for (const auto& x : s.escalations)
      bullet(out, "  - ",
             fmt::format("level {} to {} at {}, {}", x.level, inert(x.path), format_utc(x.at),
                         x.acked_at ? fmt::format("acknowledged {}{}", format_utc(*x.acked_at),
                                                  x.acked_by.empty() ? "" : " by " + inert(x.acked_by))
                                    : std::string("not acknowledged")),
             width);
  }
  if (!s.why.empty()) {
    out += "\nWHY IT IS ESCALATED\n";
    for (const auto& w : s.why) bullet(out, "  - ", fmt::format("{} ({})", inert(w.text), inert(w.trigger)), width);
  }
  text_section(out, "IMPACT", s.impact, c, width, false);
  text_section(out, "DESIRED OUTCOME", s.outcome, c, width, false);
  text_section(out, "FACTS AND DIAGNOSTIC RESULTS", s.facts, c, width, false);
  text_section(out, "STEPS ALREADY TAKEN (in order)", s.steps, c, width, true);
  text_section(out, "CLIENT INTERACTIONS AND WHAT THE CLIENT WAS TOLD", s.client, c, width, false);
  text_section(out,
               all_confirmed(s.hypotheses) ? "HYPOTHESIS - CONFIRMED"
                                           : "HYPOTHESIS - UNCONFIRMED: a suggestion, not a confirmed diagnosis",
               s.hypotheses, c, width, false);
  text_section(out, "NEXT LEVEL FOREWARNED", s.heads_up, c, width, false);
  text_section(out, "NOTES", s.notes, c, width, false);
  auto missing = s.readiness.missing(false);
  if (!missing.empty()) {
    out += "\nSTILL MISSING FROM THE CHECKLIST\n";
    for (const auto* m : missing)
      bullet(out, "  - ", fmt::format("{}{}: {}", m->key, m->required ? " (required)" : "", inert(m->question)), width);
  }
  return out;
}

// ---- markdown ------------------------------------------------------------------

std::string markdown_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  // A leading '#', '-', '+', '>' or "1." would start a block; escape it.
  size_t lead = 0;
  while (lead < s.size() && s[lead] == ' ') ++lead;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    const bool at_start = i == lead;
    switch (ch) {
      case '<':
        out += "&lt;";
        continue;
      case '>':
        out += "&gt;";
        continue;
      case '&':
        out += "&amp;";
        continue;
      case '\\':
      case '`':
      case '*':
      case '_':
      case '[':
      case ']':
      case '|':
      case '~':
        out += '\\';
        out += ch;
        continue;
      case '#':
      case '-':
      case '+':
        if (at_start) out += '\\';
        out += ch;
        continue;
      default:
        break;
    }
    if (at_start && ch >= '0' && ch <= '9') {
      size_t j = i;
      while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
      if (j < s.size() && (s[j] == '.' || s[j] == ')')) {
        out.append(s.substr(i, j - i));
        out += '\\';
        i = j - 1;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

namespace {

void md_section(std::string& out, const std::string& heading, const std::vector<SummaryItem>& items, const Case& c,
                bool numbered) {
  if (items.empty()) return;
  out += "\n### " + heading + "\n\n";
  int n = 0;
  for (const auto& i : items) {
    ++n;
    std::string bullet = numbered ? fmt::format("{}. ", n) : std::string("- ");
    std::string label = kind_label(i);
    if (!label.empty()) label = fmt::format("*{}* ", markdown_escape(trim(label)));
    out += bullet + label + "`" + format_utc(i.at) + "`" + markdown_escape(inert(by_line(i, c))) + ": ";
    auto lines = split_lines(inert(i.text, true));
    for (size_t k = 0; k < lines.size(); ++k) {
      if (k) out += "  \n" + std::string(numbered ? 3 : 2, ' ');
      out += markdown_escape(lines[k]);
    }
    out += "\n";
  }
}

}  // namespace

std::string render_markdown(const Summary& s) {
  const Case& c = s.c;
  std::string out = "**" + markdown_escape(inert(s.subject)) + "**\n\n";
  auto row = [&](const char* label, const std::string& value) {
    if (!value.empty()) out += fmt::format("- **{}** {}\n", label, markdown_escape(inert(value)));
  };
  row("Case:", fmt::format("#{}{}", c.id, c.ref.empty() ? "" : " (ref " + c.ref + ")"));
  row("Customer:", c.customer);
  row("Severity:", c.severity);
  row("Status:", std::string(to_string(c.status)));
  row("Engineer:", s.engineer_email.empty() ? c.engineer : fmt::format("{} <{}>", c.engineer, s.engineer_email));
  row("Opened:", header_value_age(s));
  row("Tags:", join(c.tags, ", "));
  if (!s.forced_reason.empty())
    out += "\n### Sent before the checklist was complete\n\n" + markdown_escape(inert(s.forced_reason)) + "\n";
  if (!s.escalations.empty()) {
    out += "\n### Escalated so far\n\n";
    for (const auto& x : s.escalations)
      out += fmt::format("- level {} to {} at `{}`, {}\n", x.level, markdown_escape(x.path), format_utc(x.at),
                         x.acked_at ? fmt::format("acknowledged `{}`{}", format_utc(*x.acked_at),
                                                  x.acked_by.empty() ? "" : " by " + markdown_escape(inert(x.acked_by)))
                                    : std::string("not acknowledged"));
  }
  if (!s.why.empty()) {
    out += "\n### Why it is escalated\n\n";
    for (const auto& w : s.why)
      out += fmt::format("- {} (`{}`)\n", markdown_escape(inert(w.text)), markdown_escape(inert(w.trigger)));
  }
  md_section(out, "Impact", s.impact, c, false);
  md_section(out, "Desired outcome", s.outcome, c, false);
  md_section(out, "Facts and diagnostic results", s.facts, c, false);
  md_section(out, "Steps already taken (in order)", s.steps, c, true);
  md_section(out, "Client interactions and what the client was told", s.client, c, false);
  md_section(out,
             all_confirmed(s.hypotheses) ? "Hypothesis (confirmed)"
                                         : "Hypothesis (unconfirmed: a suggestion, not a confirmed diagnosis)",
             s.hypotheses, c, false);
  md_section(out, "Next level forewarned", s.heads_up, c, false);
  md_section(out, "Notes", s.notes, c, false);
  auto missing = s.readiness.missing(false);
  if (!missing.empty()) {
    out += "\n### Still missing from the checklist\n\n";
    for (const auto* m : missing)
      out += fmt::format("- **{}**{}: {}\n", markdown_escape(m->key), m->required ? " (required)" : "",
                         markdown_escape(inert(m->question)));
  }
  return out;
}

}  // namespace esc
