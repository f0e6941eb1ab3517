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

  if (c.snoozed_until && *c.snoozed_until > now)
    s += fmt::format("snoozed until {}: {}\n", format_local(*c.snoozed_until), inert(c.snooze_reason));

  s += "\n" + out.paint("TIMELINE", Style::bold) + "\n";
  if (entries.empty()) s += "  (nothing recorded yet)\n";
  // time (16) and entry number (6), then the kind (12): the text goes under.
  const std::string indent(16 + 2 + 6 + 2 + 12 + 2, ' ');
  const size_t text_width = width > indent.size() + 20 ? width - indent.size() : 40;
  for (const auto& e : entries) {
    std::string head =
        fmt::format("{:<16}  {:>6}  {}  ", format_local(e.at), fmt::format("[{}]", e.id),
                    out.paint(fmt::format("{:<12}", to_string(e.kind)), e.struck() ? Style::dim : Style::cyan));
    // A hypothesis's state, a review's part and where sync found it lead the text.
    std::string lead;
    // (A synced entry's state is the path it answers: its source says more.)
    if (!e.state.empty() && e.source.empty()) lead += "(" + e.state + ") ";
    if (!e.source.empty()) lead += "(" + e.source + (e.author.empty() ? "" : ", " + e.author) + ") ";
    if (e.struck())
      lead = fmt::format("[struck {} by {}: {}] ", format_local(*e.struck_at), e.struck_by, e.struck_reason) + lead;
    const std::string text = inert(lead, false) + inert(e.text, true);
    bool first = true;
    std::string_view rest(text);
    while (true) {
      const auto nl = rest.find('\n');
      for (const auto& line : wrap(rest.substr(0, nl), text_width)) {
        s += (first ? head : indent) + (e.struck() ? out.paint(line, Style::dim) : line) + "\n";
        first = false;
      }
      if (nl == std::string_view::npos) break;
      rest.remove_prefix(nl + 1);
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
      if (!x.note.empty()) s += fmt::format("    why now: {}\n", inert(x.note));
      if (!x.again_reason.empty()) s += fmt::format("    sent again while unanswered: {}\n", inert(x.again_reason));
      for (const auto& d : store.deliveries(x.id)) {
        std::string state(to_string(d.status));
        if (d.imported)
          state += " (imported: history from another log, never sent from this one)";
        else if (d.status == DeliveryStatus::pending)
          state = fmt::format("pending, {} attempt(s){}", d.attempts,
                              d.last_error.empty() ? "" : ": " + inert(d.last_error));
        else if (d.status == DeliveryStatus::failed)
          state = fmt::format("failed for good after {} attempt(s): {}", d.attempts, inert(d.last_error));
        if (!d.remote_key.empty()) state += fmt::format(": {} {}", inert(d.remote_key), inert(d.remote_url));
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
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  add_format(cmd, o->format, {"text", "json"});
  cmd->footer(
      "Example:\n  esc show ZD-4411\n  esc show 12 --format json | jq '.entries[] | select(.kind == \"step\")'");
  cmd->callback([o, &ctx] { run_show(*o, ctx); });
}

}  // namespace esc::cli
