#pragma once

#include <nlohmann/json_fwd.hpp>
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
  std::string kind;
  std::string state;  // hypotheses: unconfirmed | confirmed | refuted
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
};

// The handover, built from a case and its timeline. Sections hold entries in
// timeline order. Everything the renderers need is here, so a snapshot of it
// (to_json) renders to the same bytes later.
struct Summary {
  std::string subject;
  Case c;
  Time as_of{};  // the clock "age" is computed against
  std::string engineer_email;
  std::vector<SummaryReason> why;
  std::string forced_reason;  // set when sent with --force
  std::vector<SummaryItem> impact, outcome, facts, steps, client, hypotheses, heads_up, notes;
  std::vector<SummaryEscalation> escalations;
  Readiness readiness;
};

std::string subject_line(const Case& c);
std::string describe_trigger(std::string_view trigger);

Summary build_summary(const Case& c, const std::vector<Entry>& entries, const std::vector<Escalation>& escalations,
                      const Config& cfg, Time now);

nlohmann::json to_json(const Summary& s);
Summary summary_from_json(const nlohmann::json& j);

// Plain text for e-mail and terminals, wrapped at `width` columns.
std::string render_text(const Summary& s, std::size_t width = 72);
// Markdown for chat and tickets; case text escaped so it renders as typed.
std::string render_markdown(const Summary& s);
std::string markdown_escape(std::string_view s);

}  // namespace esc
