#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/checklist.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct CheckOptions {
  std::string id;
  bool no_input = false;
  std::string format = "text";
};

std::string met_text(const ItemResult& i) {
  if (!i.met()) return i.required ? "missing (required)" : "missing (recommended)";
  const bool trigger = i.kinds.size() == 1 && i.kinds[0] == "trigger";
  return fmt::format("{} {}{}", i.entries, trigger ? "trigger" : "entr",
                     trigger ? (i.entries == 1 ? "" : "s") : (i.entries == 1 ? "y" : "ies"));
}

void print_readiness(Context& ctx, const Case& c, const Readiness& r) {
  auto& out = ctx.out();
  std::string s;
  const auto missing = r.missing(true);
  s += fmt::format("Readiness of #{} {}: {}\n", c.id, inert(c.title),
                   r.ready() ? out.paint("READY", Style::green)
                             : out.paint(fmt::format("NOT READY ({} required item{} missing)", missing.size(),
                                                     missing.size() == 1 ? "" : "s"),
                                         Style::red));
  size_t kw = 0, qw = 0;
  for (const auto& i : r.items) {
    kw = std::max(kw, display_width(i.key));
    qw = std::max(qw, display_width(inert(i.question)));
  }
  // The question column is cut so that the status still fits the terminal.
  if (size_t width = out.width(); width && width > kw + 30) qw = std::min(qw, width - kw - 30);
  for (const auto& i : r.items) {
    std::string mark =
        i.met() ? out.paint("[x]", Style::green) : out.paint("[ ]", i.required ? Style::red : Style::yellow);
    std::string q = truncate_to_width(inert(i.question), qw);
    s += fmt::format("  {} {}{}  {}{}  {}\n", mark, i.key, std::string(kw - display_width(i.key), ' '), q,
                     std::string(qw - display_width(q), ' '), out.paint(met_text(i), Style::dim));
  }
  std::cout << s;
  if (!r.ready()) {
    const auto* first = missing.front();
    if (first->kinds.size() == 1 && first->kinds[0] == "trigger")
      out.hint(
          fmt::format("add a reason: `esc edit {} --trigger TRIGGER` ({})", c.id, join(ctx.config().triggers, ", ")));
    else
      out.hint(fmt::format("answer on a terminal with `esc check {}`, or `esc log {} {} \"...\"`", c.id, c.id,
                           first->kinds.front()));
  } else {
    out.hint(fmt::format("review the handover with `esc summary {}`, then `esc send {}`", c.id, c.id));
  }
}

// Walks the engineer through each missing item. Every answer is saved at
// once, in its own transaction, so Ctrl-C or Ctrl-D keeps what was given.
void walk(Context& ctx, Case& c, const Readiness& r) {
  auto& store = ctx.store();
  auto items = r.missing(false);
  std::stable_partition(items.begin(), items.end(), [](const ItemResult* i) { return i->required; });
  std::cerr << fmt::format("{} item(s) to go. Answer each, or press Enter to skip it; Ctrl-D stops.\n", items.size());
  for (const auto* item : items) {
    const bool trigger = item->kinds.size() == 1 && item->kinds[0] == "trigger";
    std::string question = fmt::format("\n[{}{}] {}", item->key, item->required ? "" : ", recommended", item->question);
    if (trigger)
      question += fmt::format("\n  (one or more of: {})", join(ctx.config().triggers, ", "));
    else if (item->kinds.front() == "hypothesis")
      question += "\n  (recorded as unconfirmed)";
    for (;;) {
      auto answer = ask(question);
      if (!answer) return;  // end of input: stop, keep what was recorded
      std::string text = trim(*answer);
      if (text.empty()) break;
      if (!is_valid_utf8(text) || has_control_chars(text, "\t")) {
        std::cerr << "That answer holds characters that cannot be stored; try again.\n";
        continue;
      }
      if (trigger) {
        std::vector<std::string> triggers;
        std::string word;
        for (char ch : text + " ") {
          if (ch == ' ' || ch == ',') {
            if (!word.empty()) triggers.push_back(word);
            word.clear();
          } else {
            word += ch;
          }
        }
        try {
          check_triggers(ctx, triggers);
        } catch (const Error& e) {
          std::cerr << e.what() << "; try again.\n";
          continue;
        }
        store.write([&] {
          c = *store.get_case(c.id);
          for (const auto& t : triggers)
            if (std::find(c.triggers.begin(), c.triggers.end(), t) == c.triggers.end()) c.triggers.push_back(t);
          c.updated_at = std::max(c.updated_at, ctx.now());
          store.update_case(c);
        });
      } else {
        const std::string& kind = item->kinds.front();
        store.write([&] {
          c = *store.get_case(c.id);
          add_entry(ctx, c, kind, text, kind == "hypothesis" ? "unconfirmed" : "");
        });
      }
      std::cerr << "  recorded.\n";
      break;
    }
  }
}

void run_check(const CheckOptions& o, Context& ctx) {
  auto& store = ctx.store();
  Case c = ctx.find_case(o.id);
  const auto& checklist = ctx.config().checklist;
  Readiness r = evaluate(checklist, c, store.entries(c.id));
  if (o.format == "text" && !o.no_input && !r.missing(false).empty() && ctx.out().stdin_is_tty()) {
    walk(ctx, c, r);
    c = *store.get_case(c.id);
    r = evaluate(checklist, c, store.entries(c.id));
    std::cerr << '\n';
  }
  if (o.format == "json")
    print_json(to_json(r));
  else
    print_readiness(ctx, c, r);
  ctx.exit_code = r.ready() ? 0 : static_cast<int>(Exit::no);
}

}  // namespace

void register_check(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<CheckOptions>();
  auto* cmd = app.add_subcommand("check", "The readiness checklist; on a terminal, asks for what is missing");
  cmd->add_option("id", o->id, "Case: 12, #12 or its external ref")->required()->type_name("ID");
  cmd->add_flag("--no-input", o->no_input, "Never ask; just report (exit 0 ready, 1 not)");
  add_format(cmd, o->format, {"text", "json"});
  cmd->footer(
      "Exit status: 0 when every required item is met, 1 when not.\n"
      "Example:\n  esc check 12 --no-input && esc send 12");
  cmd->callback([o, &ctx] { run_check(*o, ctx); });
}

}  // namespace esc::cli
