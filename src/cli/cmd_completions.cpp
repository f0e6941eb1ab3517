#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

const char* completion_script(const std::string& shell);

namespace {

struct CompletionsOptions {
  std::string shell;
};

struct CompleteOptions {
  std::string what;
  std::vector<std::string> args;
};

std::string one_line(const std::string& s) {
  std::string out = inert(s);
  for (auto& ch : out)
    if (ch == '\t') ch = ' ';
  return out;
}

// The hidden helper the completion scripts call: one "value<TAB>description"
// a line. It never fails loudly: a broken config or database completes nothing.
void run_complete(const CompleteOptions& o, Context& ctx, CLI::App& root) {
  std::string out;
  auto line = [&](const std::string& v, const std::string& d) { out += v + "\t" + one_line(d) + "\n"; };
  try {
    if (o.what == "commands") {
      for (const auto* sub : root.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); }))
        line(sub->get_name(), sub->get_description());
    } else if (o.what == "subcommands" || o.what == "flags") {
      const CLI::App* app = &root;
      for (const auto& name : o.args) {
        const CLI::App* next = nullptr;
        for (const auto* sub : app->get_subcommands([](const CLI::App*) { return true; }))
          if (sub->get_name() == name) next = sub;
        if (!next) break;
        app = next;
      }
      if (o.what == "subcommands") {
        if (app != &root)
          for (const auto* sub : app->get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); }))
            line(sub->get_name(), sub->get_description());
      } else {
        for (const auto* opt : app->get_options()) {
          if (opt->get_positional()) continue;
          for (const auto& l : opt->get_lnames()) line("--" + l, opt->get_description());
          for (const auto& s : opt->get_snames()) line("-" + s, opt->get_description());
        }
        if (app != &root)
          for (const auto* opt : root.get_options())
            for (const auto& l : opt->get_lnames())
              if (l != "help" && l != "version") line("--" + l, opt->get_description());
      }
    } else if (o.what == "kinds") {
      for (const auto k : user_entry_kinds()) line(std::string(to_string(k)), std::string(describe(k)));
    } else if (o.what == "states") {
      for (const auto& s : hypothesis_states()) line(s, "hypothesis state");
    } else if (o.what == "severities") {
      for (const auto& s : ctx.config().severities) line(s, "severity");
    } else if (o.what == "triggers") {
      for (const auto& t : ctx.config().triggers) line(t, "trigger");
    } else if (o.what == "paths") {
      for (const auto& p : ctx.config().paths) line(p.name, "path to " + join(p.channels, ", "));
    } else if (o.what == "channels") {
      for (const auto& c : ctx.config().channels) line(c.name, c.type + " channel");
    } else if (o.what == "cases") {
      // `cases` = open and escalated; `cases resolved` or `cases all` for reopen and review.
      // The 200 most recently active: a shell shows no more, and a log of
      // years would otherwise hand it every case at every Tab. Numbers
      // first, then the refs, which complete as well.
      const std::string which = o.args.empty() ? "active" : o.args.front();
      const auto w = which == "resolved" ? Store::Which::resolved
                     : which == "all"    ? Store::Which::all
                                         : Store::Which::active;
      const auto ids = ctx.store().list_ids(w, 200);  // a missing log completes nothing: it throws, caught below
      for (const auto& c : ids) line(std::to_string(c.id), c.title);
      for (const auto& c : ids)
        if (!c.ref.empty()) line(c.ref, fmt::format("#{} {}", c.id, c.title));
    } else if (o.what == "deliveries") {
      for (const auto& d : ctx.store().outbox())
        line(std::to_string(d.id), fmt::format("case #{} via {} ({})", d.case_id, d.channel, to_string(d.status)));
    }
  } catch (const std::exception&) {
    return;
  }
  std::cout << out;
}

}  // namespace

void register_completions(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<CompletionsOptions>();
  auto* cmd = app.add_subcommand("completions", "Print the completion script for bash, zsh or fish");
  cmd->add_option("shell", o->shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}))
      ->type_name("SHELL");
  cmd->footer(
      "Examples:\n  esc completions bash > ~/.local/share/bash-completion/completions/esc\n"
      "  esc completions zsh > ~/.zfunc/_esc\n  esc completions fish > ~/.config/fish/completions/esc.fish");
  cmd->callback([o] { std::cout << completion_script(o->shell); });

  auto c = std::make_shared<CompleteOptions>();
  auto* hidden = app.add_subcommand("__complete", "Values for shell completion");
  hidden->group("");  // not listed in --help
  hidden->add_option("what", c->what)->required();
  hidden->add_option("args", c->args);
  hidden->callback([c, &ctx, &app] { run_complete(*c, ctx, app); });
}

}  // namespace esc::cli
