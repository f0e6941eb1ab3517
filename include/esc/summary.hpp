#pragma once

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "esc/checklist.hpp"
#include "esc/config.hpp"
#include "esc/model.hpp"

namespace esc {

struct SummaryItem {
  Time at{};
  std::string text;
  std::string author;
  EntryKind kind = EntryKind::note;
  std::string state;   // hypotheses: unconfirmed | confirmed | refuted
  std::string source;  // replies: where sync found them
};

struct SummaryReason {
  std::string trigger;
  std::string text;
};

struct SummaryEscalation {
  int level = 1;
  std::string path;
  Time at{};
  std::optional<Time> acked_at;
  std::string acked_by;
  std::string ticket;  // the ticket it made, "ENG-4411 https://..."
};

// The handover, built from a case and its timeline. Everything the
// renderers need is here, so that a snapshot of it (to_json) renders the
// same later.
struct Summary {
  std::string subject;
  Case c;
  Time as_of{};  // the clock "age" is computed against
  std::string note;           // why it is sent now (esc send --note)
  std::string forced_reason;  // set when sent with --force
  std::vector<SummaryReason> why;
  std::vector<SummaryItem> impact, outcome, facts, steps, client, hypotheses, heads_up, replies, notes;
  std::vector<SummaryEscalation> escalations;  // the levels before this one
  Readiness readiness;
};

std::string subject_line(const Case& c);
std::string describe_trigger(std::string_view trigger);

// Struck entries are left out; replies found by `esc sync` are included.
Summary build_summary(const Case& c, const std::vector<Entry>& entries, const std::vector<Escalation>& escalations,
                      const Config& cfg, Time now);

nlohmann::json to_json(const Summary& s);
Summary summary_from_json(const nlohmann::json& j);

// The one model every renderer walks: the summary's sections in order,
// those with something in them. Each line is one entry (or reason,
// escalation, missing item); `label` says what kind it is when the section
// holds several ("told the client", "unconfirmed").
enum class SectionId {
  note,
  forced,
  escalations,
  why,
  impact,
  outcome,
  facts,
  steps,
  client,
  hypothesis,
  heads_up,
  replies,
  notes,
  missing
};
struct SectionLine {
  std::optional<Time> at;
  std::string label;
  std::string by;  // the author, when not the case's engineer
  std::string text;
};
struct Section {
  SectionId id;
  std::string title;  // "Facts and diagnostic results"
  bool numbered = false;
  std::vector<SectionLine> lines;
};
// `max_entry`: an entry longer than this many bytes keeps its head and tail
// with a marker saying how much was cut between them (0: whole). The header
// (subject, case, customer...) is not a section.
std::vector<Section> sections(const Summary& s, std::size_t max_entry = 0);
// Cuts a long text to about `max` bytes: head, a marker with its full size,
// tail; never inside a UTF-8 sequence.
std::string cut_middle(const std::string& text, std::size_t max, std::int64_t case_id);

// The header rows (label, value) every renderer shows first.
std::vector<std::pair<std::string, std::string>> header_rows(const Summary& s);

struct RenderOptions {
  std::size_t width = 72;      // text: wrap at this many columns
  std::size_t max_entry = 0;   // see sections()
};
// Plain text for e-mail and terminals.
std::string render_text(const Summary& s, const RenderOptions& o = {});
// Markdown for chat and tickets; case text escaped so it renders as typed.
std::string render_markdown(const Summary& s, const RenderOptions& o = {});
std::string markdown_escape(std::string_view s);

}  // namespace esc
