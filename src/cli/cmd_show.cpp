#include <fmt/format.h>

#include "common.hpp"
#include "esc/json.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct ShowOptions {
  std::string id;
  std::string format = "text";
};

void run_show(const ShowOptions& o, Context& ctx) {
  auto& store = ctx.store();
  const Case c = ctx.find_case(o.id);
  const auto entries = store.entries(c.id);
  const auto escalations = store.escalations(c.id);

  if (o.format == "json") {
    auto j = to_json(c);
    j["entries"] = nlohmann::json::array();
    for (const auto& e : entries) j["entries"].push_back(to_json(e));
    j["escalations"] = nlohmann::json::array();
    for (const auto& x : escalations) {
      auto xj = to_json(x, false);
      xj["deliveries"] = nlohmann::json::array();
      for (const auto& d : store.deliveries(x.id)) xj["deliveries"].push_back(to_json(d));
      j["escalations"].push_back(std::move(xj));
    }
    print_json(j);
    return;
  }

  auto& out = ctx.out();
  const Time now = ctx.now();
  const size_t width = out.width() ? out.width() : 100;
  std::string s;
  s += out.paint(fmt::format("#{}  {}", c.id, inert(c.title)), Style::bold) + "\n";
  std::vector<std::string> facts;
  if (!c.customer.empty()) facts.push_back(inert(c.customer));
  facts.push_back(out.paint(c.severity, out.severity_style(c.severity)));
  facts.push_back(out.paint(std::string(to_string(c.status)), out.status_style(std::string(to_string(c.status)))));
  if (!c.ref.empty()) facts.push_back("ref " + inert(c.ref));
  if (!c.engineer.empty()) facts.push_back(inert(c.engineer));
  s += join(facts, " · ") + "\n";
  s += fmt::format("opened {} ({}), last activity {}\n", format_local(c.created_at), format_relative(c.created_at, now),
                   format_relative(c.updated_at, now));
  if (!c.triggers.empty()) s += "triggers: " + inert(join(c.triggers, ", ")) + "\n";
  if (!c.tags.empty()) s += "tags: " + inert(join(c.tags, ", ")) + "\n";
  if (c.resolved_at)
    s += fmt::format("resolved {}{}{}\n", format_local(*c.resolved_at),
                     c.csat ? fmt::format(", CSAT {}/5", *c.csat) : "",
                     c.unnecessary ? ", escalation marked unnecessary" : "");

  s += "\n" + out.paint("TIMELINE", Style::bold) + "\n";
  if (entries.empty()) s += "  (nothing recorded yet)\n";
  const std::string indent(16 + 2 + 12 + 2, ' ');
  const size_t text_width = width > indent.size() + 20 ? width - indent.size() : 40;
  for (const auto& e : entries) {
    std::string head =
        fmt::format("{:<16}  {}  ", format_local(e.at), out.paint(fmt::format("{:<12}", e.kind), Style::cyan));
    // A hypothesis's state and a review's part lead the text.
    std::string text = e.state.empty() ? e.text : fmt::format("({}) {}", e.state, e.text);
    bool first = true;
    for (const auto& para : split_lines(inert(text, true))) {
      for (const auto& line : wrap(para, text_width)) {
        s += (first ? head : indent) + line + "\n";
        first = false;
      }
    }
    if (first) s += head + "\n";
  }
  if (!escalations.empty()) {
    s += "\n" + out.paint("ESCALATIONS", Style::bold) + "\n";
    for (const auto& x : escalations) {
      s += fmt::format("  level {} to {}, {}{}; {}\n", x.level, inert(x.path), format_local(x.at),
                       x.forced ? " (forced: " + inert(x.force_reason) + ")" : "",
                       x.acked_at ? fmt::format("acknowledged {}{}", format_relative(*x.acked_at, now),
                                                x.acked_by.empty() ? "" : " by " + inert(x.acked_by))
                                  : std::string("not acknowledged"));
      for (const auto& d : store.deliveries(x.id)) {
        std::string state(to_string(d.status));
        if (d.status == DeliveryStatus::pending)
          state = fmt::format("pending, {} attempt(s){}", d.attempts,
                              d.last_error.empty() ? "" : ": " + inert(d.last_error));
        s += fmt::format("    delivery {} via {}: {}\n", d.id, inert(d.channel), state);
      }
    }
  }
  out.page(s);
}

}  // namespace

void register_show(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ShowOptions>();
  auto* cmd = app.add_subcommand("show", "Show a case and its whole timeline");
  cmd->add_option("id", o->id, "Case: 12, #12 or its external ref")->required()->type_name("ID");
  add_format(cmd, o->format, {"text", "json"});
  cmd->footer(
      "Example:\n  esc show ZD-4411\n  esc show 12 --format json | jq '.entries[] | select(.kind == \"step\")'");
  cmd->callback([o, &ctx] { run_show(*o, ctx); });
}

}  // namespace esc::cli
