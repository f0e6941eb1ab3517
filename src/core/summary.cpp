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
  if (s.c.engineer_email.empty() && c.engineer == cfg.engineer_name) s.c.engineer_email = cfg.engineer_email;
  s.as_of = now;
  for (const auto& t : c.triggers) s.why.push_back({t, describe_trigger(t)});
  for (const auto& e : entries) {
    if (e.struck()) continue;
    SummaryItem item{e.at, e.text, e.author, e.kind, e.state, e.source};
    switch (e.kind) {
      case EntryKind::impact:
        s.impact.push_back(std::move(item));
        break;
      case EntryKind::outcome:
        s.outcome.push_back(std::move(item));
        break;
      case EntryKind::fact:
      case EntryKind::diagnostic:
        s.facts.push_back(std::move(item));
        break;
      case EntryKind::step:
        s.steps.push_back(std::move(item));
        break;
      case EntryKind::contact:
      case EntryKind::notice:
      case EntryKind::update:
        s.client.push_back(std::move(item));
        break;
      case EntryKind::hypothesis:
        s.hypotheses.push_back(std::move(item));
        break;
      case EntryKind::heads_up:
        s.heads_up.push_back(std::move(item));
        break;
      case EntryKind::reply:
      case EntryKind::resolved_upstream:
        s.replies.push_back(std::move(item));
        break;
      case EntryKind::note:
        s.notes.push_back(std::move(item));
        break;
      default:
        break;
    }
  }
  for (const auto& x : escalations) s.escalations.push_back({x.level, x.path, x.at, x.acked_at, x.acked_by, {}});
  s.readiness = evaluate(cfg.checklist, c, entries);
  return s;
}

// ---- JSON ------------------------------------------------------------------

namespace {

json items_json(const std::vector<SummaryItem>& v) {
  json a = json::array();
  for (const auto& i : v) {
    json o{{"at", format_rfc3339(i.at)}, {"text", i.text}, {"author", i.author}, {"kind", to_string(i.kind)}};
    if (!i.state.empty()) o["state"] = i.state;
    if (!i.source.empty()) o["source"] = i.source;
    a.push_back(std::move(o));
  }
  return a;
}

std::string str(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<Time> when(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return parse_rfc3339(it->get<std::string>());
}

std::vector<SummaryItem> items_from(const json& j, const char* name) {
  std::vector<SummaryItem> out;
  auto it = j.find(name);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& o : *it) {
    SummaryItem i;
    i.at = when(o, "at").value_or(Time{});
    i.text = str(o, "text");
    i.author = str(o, "author");
    i.kind = parse_entry_kind(str(o, "kind")).value_or(EntryKind::note);
    i.state = str(o, "state");
    i.source = str(o, "source");
    out.push_back(std::move(i));
  }
  return out;
}

json opt(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

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
                    {"acked_by", opt(x.acked_by)},
                    {"ticket", opt(x.ticket)}});
  return {{"subject", s.subject},
          {"case", to_json(s.c)},
          {"as_of", format_rfc3339(s.as_of)},
          {"age", format_duration(s.as_of - s.c.created_at)},
          {"engineer_email", opt(s.c.engineer_email)},
          {"note", opt(s.note)},
          {"forced_reason", opt(s.forced_reason)},
          {"why", why},
          {"impact", items_json(s.impact)},
          {"outcome", items_json(s.outcome)},
          {"facts", items_json(s.facts)},
          {"steps", items_json(s.steps)},
          {"client", items_json(s.client)},
          {"hypotheses", items_json(s.hypotheses)},
          {"heads_up", items_json(s.heads_up)},
          {"replies", items_json(s.replies)},
          {"notes", items_json(s.notes)},
          {"escalations", escs},
          {"readiness", to_json(s.readiness)}};
}

Summary summary_from_json(const json& j) {
  if (!j.is_object()) throw std::invalid_argument("the summary is not a JSON object");
  Summary s;
  s.subject = str(j, "subject");
  s.c = case_from_json(j.at("case"));
  s.as_of = when(j, "as_of").value_or(Time{});
  if (auto e = str(j, "engineer_email"); !e.empty()) s.c.engineer_email = e;
  s.note = str(j, "note");
  s.forced_reason = str(j, "forced_reason");
  if (auto it = j.find("why"); it != j.end() && it->is_array())
    for (const auto& w : *it) s.why.push_back({str(w, "trigger"), str(w, "text")});
  s.impact = items_from(j, "impact");
  s.outcome = items_from(j, "outcome");
  s.facts = items_from(j, "facts");
  s.steps = items_from(j, "steps");
  s.client = items_from(j, "client");
  s.hypotheses = items_from(j, "hypotheses");
  s.heads_up = items_from(j, "heads_up");
  s.replies = items_from(j, "replies");
  s.notes = items_from(j, "notes");
  if (auto it = j.find("escalations"); it != j.end() && it->is_array())
    for (const auto& x : *it) {
      SummaryEscalation e;
      e.level = x.value("level", 1);
      e.path = str(x, "path");
      e.at = when(x, "at").value_or(Time{});
      e.acked_at = when(x, "acked_at");
      e.acked_by = str(x, "acked_by");
      e.ticket = str(x, "ticket");
      s.escalations.push_back(std::move(e));
    }
  if (auto it = j.find("readiness"); it != j.end() && it->is_object()) {
    s.readiness.case_id = it->value("case", std::int64_t{0});
    if (auto items = it->find("items"); items != it->end() && items->is_array())
      for (const auto& i : *items) {
        ItemResult r;
        r.key = str(i, "key");
        r.question = str(i, "question");
        r.required = i.value("required", true);
        r.entries = i.value("entries", 0);
        s.readiness.items.push_back(std::move(r));
      }
  }
  return s;
}

// ---- the section model -----------------------------------------------------

std::string cut_middle(const std::string& text, std::size_t max, std::int64_t case_id) {
  if (max == 0 || text.size() <= max) return text;
  const std::string marker = fmt::format("\n[… {} of {} bytes cut here; `esc show {}` has the whole entry …]\n",
                                         text.size() - max, text.size(), case_id);
  std::size_t head = max / 2, tail = max - head;
  // Never inside a UTF-8 sequence.
  while (head > 0 && (static_cast<unsigned char>(text[head]) & 0xc0) == 0x80) --head;
  std::size_t from = text.size() - tail;
  while (from < text.size() && (static_cast<unsigned char>(text[from]) & 0xc0) == 0x80) ++from;
  return text.substr(0, head) + marker + text.substr(from);
}

namespace {

std::string kind_label(const SummaryItem& i) {
  switch (i.kind) {
    case EntryKind::diagnostic:
      return "diagnostic";
    case EntryKind::notice:
      return "told the client";
    case EntryKind::update:
      return "update to client";
    case EntryKind::contact:
      return "client contact";
    case EntryKind::hypothesis:
      return i.state.empty() ? "unconfirmed" : i.state;
    case EntryKind::resolved_upstream:
      return "resolved upstream";
    case EntryKind::reply:
      return i.source.empty() ? "reply" : "reply, " + i.source;
    default:
      return "";
  }
}

// The heading may drop "unconfirmed" only when every hypothesis shown was
// confirmed. A line that is not a hypothesis (a channel's "N earlier entries
// are not shown") says nothing either way.
bool all_confirmed(const std::vector<SummaryItem>& hypotheses) {
  bool any = false;
  for (const auto& h : hypotheses) {
    if (h.kind != EntryKind::hypothesis || h.state == "refuted") continue;
    if (h.state != "confirmed") return false;
    any = true;
  }
  return any;
}

}  // namespace

std::vector<Section> sections(const Summary& s, std::size_t max_entry) {
  std::vector<Section> out;
  auto add = [&](SectionId id, std::string title, bool numbered, const std::vector<SummaryItem>& items) {
    if (items.empty()) return;
    Section sec{id, std::move(title), numbered, {}};
    for (const auto& i : items)
      sec.lines.push_back({i.at, kind_label(i), i.author.empty() || i.author == s.c.engineer ? "" : i.author,
                           cut_middle(i.text, max_entry, s.c.id)});
    out.push_back(std::move(sec));
  };
  auto one = [&](SectionId id, std::string title, const std::string& text) {
    if (text.empty()) return;
    out.push_back({id, std::move(title), false, {{std::nullopt, "", "", cut_middle(text, max_entry, s.c.id)}}});
  };
  one(SectionId::note, "Why it is sent now", s.note);
  one(SectionId::forced, "Sent before the checklist was complete", s.forced_reason);
  if (!s.escalations.empty()) {
    Section sec{SectionId::escalations, "Escalated so far", false, {}};
    for (const auto& x : s.escalations)
      sec.lines.push_back(
          {x.at, "", "",
           fmt::format("level {} to {}{}, {}", x.level, x.path, x.ticket.empty() ? "" : " (" + x.ticket + ")",
                       x.acked_at ? fmt::format("acknowledged {}{}", format_utc(*x.acked_at),
                                                x.acked_by.empty() ? "" : " by " + x.acked_by)
                                  : std::string("not acknowledged"))});
    out.push_back(std::move(sec));
  }
  if (!s.why.empty()) {
    Section sec{SectionId::why, "Why it is escalated", false, {}};
    for (const auto& w : s.why) sec.lines.push_back({std::nullopt, "", "", fmt::format("{} ({})", w.text, w.trigger)});
    out.push_back(std::move(sec));
  }
  add(SectionId::impact, "Impact", false, s.impact);
  add(SectionId::outcome, "Desired outcome", false, s.outcome);
  add(SectionId::facts, "Facts and diagnostic results", false, s.facts);
  add(SectionId::steps, "Steps already taken (in order)", true, s.steps);
  add(SectionId::client, "Client interactions and what the client was told", false, s.client);
  add(SectionId::hypothesis,
      all_confirmed(s.hypotheses) ? "Hypothesis (confirmed)"
                                  : "Hypothesis (unconfirmed: a suggestion, not a confirmed diagnosis)",
      false, s.hypotheses);
  add(SectionId::heads_up, "Next level forewarned", false, s.heads_up);
  add(SectionId::replies, "Answers from the next level so far", false, s.replies);
  add(SectionId::notes, "Notes", false, s.notes);
  if (auto missing = s.readiness.missing(false); !missing.empty()) {
    Section sec{SectionId::missing, "Still missing from the checklist", false, {}};
    for (const auto* m : missing)
      sec.lines.push_back(
          {std::nullopt, "", "", fmt::format("{}{}: {}", m->key, m->required ? " (required)" : "", m->question)});
    out.push_back(std::move(sec));
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> header_rows(const Summary& s) {
  const Case& c = s.c;
  std::vector<std::pair<std::string, std::string>> rows;
  auto row = [&](const char* label, std::string value) {
    if (!value.empty()) rows.emplace_back(label, std::move(value));
  };
  row("Case", fmt::format("#{}{}", c.id, c.ref.empty() ? "" : " (ref " + c.ref + ")"));
  row("Customer", c.customer);
  row("Severity", c.severity);
  row("Status", std::string(to_string(c.status)));
  row("Engineer", c.engineer_email.empty() ? c.engineer : fmt::format("{} <{}>", c.engineer, c.engineer_email));
  row("Opened",
      fmt::format("{} ({} before this summary)", format_utc(c.created_at), format_duration(s.as_of - c.created_at)));
  row("Tags", join(c.tags, ", "));
  return rows;
}

// ---- text --------------------------------------------------------------------

namespace {

// A heading in capitals, but for what it says in parentheses.
std::string upper(std::string s) {
  for (auto& ch : s) {
    if (ch == '(') break;
    if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
  }
  return s;
}

// One wrapped paragraph: the first line after `mark`, the rest under it.
void bullet(std::string& out, const std::string& mark, std::string_view text, std::size_t width) {
  const std::string indent(display_width(mark), ' ');
  const std::size_t room = width > indent.size() + 20 ? width - indent.size() : 20;
  bool first = true;
  for (const auto& line : wrap(text, room)) {
    out += first ? mark : indent;
    out += line;
    out += '\n';
    first = false;
  }
}

}  // namespace

std::string render_text(const Summary& s, const RenderOptions& o) {
  std::string out = inert(s.subject) + "\n\n";
  for (const auto& [label, value] : header_rows(s)) out += fmt::format("{:<10} {}\n", label + ":", inert(value));
  for (const auto& sec : sections(s, o.max_entry)) {
    out += "\n" + upper(sec.title) + "\n";
    int n = 0;
    for (const auto& l : sec.lines) {
      const std::string mark = sec.numbered ? fmt::format("  {}. ", ++n) : std::string("  - ");
      std::string head;
      if (!l.label.empty()) head += "[" + l.label + "] ";
      if (l.at) head += format_utc(*l.at);
      if (!l.by.empty()) head += " (" + l.by + ")";
      if (head.empty()) {
        bullet(out, mark, inert(l.text), o.width);
        continue;
      }
      bullet(out, mark, inert(head) + ":", o.width);
      const std::string body(display_width(mark) + 2, ' ');
      const std::string text = inert(l.text, true);
      std::string_view rest(text);
      // Paragraph by paragraph, without copying the text into lines first.
      while (true) {
        const auto nl = rest.find('\n');
        const std::string_view para = rest.substr(0, nl);
        if (trim(para).empty())
          out += "\n";
        else
          bullet(out, body, para, o.width);
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
      }
    }
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

std::string render_markdown(const Summary& s, const RenderOptions& o) {
  std::string out = "**" + markdown_escape(inert(s.subject)) + "**\n\n";
  for (const auto& [label, value] : header_rows(s))
    out += fmt::format("- **{}:** {}\n", label, markdown_escape(inert(value)));
  for (const auto& sec : sections(s, o.max_entry)) {
    out += "\n### " + sec.title + "\n\n";
    int n = 0;
    for (const auto& l : sec.lines) {
      out += sec.numbered ? fmt::format("{}. ", ++n) : std::string("- ");
      if (!l.label.empty()) out += "*" + markdown_escape(inert(l.label)) + "* ";
      if (l.at) out += "`" + format_utc(*l.at) + "`";
      if (!l.by.empty()) out += " (" + markdown_escape(inert(l.by)) + ")";
      if (l.at || !l.by.empty()) out += ": ";
      const std::string text = inert(l.text, true);
      std::string_view rest(text);
      bool first = true;
      while (true) {
        const auto nl = rest.find('\n');
        if (!first) out += "  \n" + std::string(sec.numbered ? 3 : 2, ' ');
        out += markdown_escape(rest.substr(0, nl));
        first = false;
        if (nl == std::string_view::npos) break;
        rest.remove_prefix(nl + 1);
      }
      out += "\n";
    }
  }
  return out;
}

}  // namespace esc
