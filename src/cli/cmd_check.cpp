#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/checklist.hpp"
#include "esc/error.hpp"
#include "esc/summary.hpp"
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

// An answer that gives consent rather than content: "yes" is not a fact.
bool bare_consent(const std::string& answer) {
  static const char* kWords[] = {"y", "yes", "n", "no", "ok", "okay", "done", "none", "-", "sure", "yep", "nope",
                                 "n/a", "na", "true", "false", "x", "?"};
  std::string a = lower(trim(answer));
  while (!a.empty() && (a.back() == '.' || a.back() == '!')) a.pop_back();
  for (const char* w : kWords)
    if (a == w) return true;
  return false;
}

// The triggers an answer names: numbers from the list shown, names, or
// prefixes that name one trigger only. Empty, with `problem` set, when one
// of them names none or several.
std::vector<std::string> triggers_from(const std::string& answer, const std::vector<std::string>& all,
                                       std::string& problem) {
  std::vector<std::string> out;
  std::string word;
  for (char ch : answer + " ") {
    if (ch != ' ' && ch != ',') {
      word += ch;
      continue;
    }
    if (word.empty()) continue;
    std::vector<std::string> matches;
    if (word.find_first_not_of("0123456789") == std::string::npos && word.size() < 4) {
      const auto n = static_cast<std::size_t>(std::stoi(word));
      if (n >= 1 && n <= all.size()) matches.push_back(all[n - 1]);
    } else {
      for (const auto& t : all)
        if (t == word) matches = {t};
      if (matches.empty())
        for (const auto& t : all)
          if (t.starts_with(lower(word))) matches.push_back(t);
    }
    if (matches.size() != 1) {
      problem = matches.empty() ? fmt::format("\"{}\" is not one of the triggers listed", inert(word))
                                : fmt::format("\"{}\" could be {}", inert(word), join(matches, " or "));
      return {};
    }
    if (std::find(out.begin(), out.end(), matches[0]) == out.end()) out.push_back(matches[0]);
    word.clear();
  }
  return out;
}

// Walks the engineer through each missing item, asking for its content.
// Every answer is saved at once, in its own transaction, so that Ctrl-C or
// Ctrl-D keeps what was given.
void walk(Context& ctx, const Case& c, const Readiness& r) {
  auto& store = ctx.store();
  const auto& cfg = ctx.config();
  const auto who = ctx.engineer();
  auto items = r.missing(false);
  std::stable_partition(items.begin(), items.end(), [](const ItemResult* i) { return i->required; });
  std::cerr << fmt::format(
      "{} item(s) to go. Answer each in your own words (arrow keys edit, recall earlier answers); an empty line "
      "moves on; Ctrl-D stops.\n",
      items.size());
  for (const auto* item : items) {
    const bool trigger = item->kinds.size() == 1 && item->kinds[0] == "trigger";
    std::cerr << fmt::format("\n[{}{}] {}\n", item->key, item->required ? "" : ", recommended",
                             item->prompt.empty() ? item->question : item->prompt);
    if (trigger) {
      for (std::size_t i = 0; i < cfg.triggers.size(); ++i)
        std::cerr << fmt::format("  {}. {}  ({})\n", i + 1, cfg.triggers[i], describe_trigger(cfg.triggers[i]));
    }
    const auto kind = trigger ? std::nullopt : parse_entry_kind(item->kinds.front());
    int recorded = 0;
    for (;;) {
      auto answer = ask(recorded ? "+ " : "> ");
      if (!answer) return;  // end of input: stop, keep what was recorded
      const std::string text = trim(*answer);
      if (text.empty()) break;
      if (!is_valid_utf8(text) || has_control_chars(text, "\t")) {
        std::cerr << "That answer holds characters that cannot be stored; try again.\n";
        continue;
      }
      if (trigger) {
        std::string problem;
        const auto triggers = triggers_from(text, cfg.triggers, problem);
        if (triggers.empty()) {
          std::cerr << problem << "; give a number or a name from the list.\n";
          continue;
        }
        store.write([&] {
          Case now = *store.get_case(c.id);
          for (const auto& t : triggers)
            if (std::find(now.triggers.begin(), now.triggers.end(), t) == now.triggers.end()) now.triggers.push_back(t);
          now.updated_at = std::max(now.updated_at, ctx.now());
          store.update_case(now);
        });
        std::cerr << fmt::format("  recorded: {}\n", join(triggers, ", "));
        break;
      }
      if (bare_consent(text)) {
        std::cerr << fmt::format("\"{}\" says whether, not what: write the {} itself, or press Enter to skip.\n",
                                 inert(text), item->key);
        continue;
      }
      if (!kind) break;
      store.write([&] {
        app::add_entry(store, c.id, *kind, text, who.name, ctx.now(),
                       *kind == EntryKind::hypothesis ? "unconfirmed" : "");
      });
      ++recorded;
      std::cerr << "  recorded; another, or Enter to move on.\n";
    }
  }
}

void run_check(const CheckOptions& o, Context& ctx) {
  auto& store = ctx.store();
  Case c = ctx.find_case(o.id);
  const auto& checklist = ctx.strict_config().checklist;
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
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  cmd->add_flag("--no-input", o->no_input, "Never ask; just report (exit 0 ready, 1 not)");
  add_format(cmd, o->format, {"text", "json"});
  cmd->footer(
      "Exit status: 0 when every required item is met, 1 when not.\n"
      "Example:\n  esc check 12 --no-input && esc send 12");
  cmd->callback([o, &ctx] { run_check(*o, ctx); });
}

}  // namespace esc::cli
