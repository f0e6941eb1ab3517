#include <clocale>
#include <csignal>
#include <iostream>

#include <fmt/format.h>

#include "context.hpp"
#include "esc/error.hpp"
#include "esc/version.hpp"

namespace esc::cli {

namespace {

using Register = void (*)(CLI::App&, Context&);

// Every command and the function that registers it (some register several).
// `__complete` needs them all to list commands and their options, not to
// list values (cases, kinds, paths...).
constexpr std::pair<std::string_view, Register> kCommands[] = {
    {"new", register_new},
    {"list", register_list},
    {"show", register_show},
    {"log", register_log},
    {"edit", register_edit},
    {"search", register_search},
    {"check", register_check},
    {"summary", register_summary},
    {"send", register_send},
    {"outbox", register_outbox},
    {"ack", register_ack},
    {"due", register_due},
    {"resolve", register_resolve},
    {"reopen", register_resolve},
    {"update", register_resolve},
    {"review", register_review},
    {"lessons", register_review},
    {"stats", register_stats},
    {"export", register_exchange},
    {"import", register_exchange},
    {"init", register_init},
    {"config", register_config},
    {"completions", register_completions},
    {"__complete", register_completions},
};

bool completes_the_tree(std::string_view what) {
  return what == "commands" || what == "subcommands" || what == "flags";
}

}  // namespace

Invocation read_invocation(const CLI::App& root, int argc, char** argv) {
  Invocation inv;
  auto is = [](const CLI::Option* opt, const std::string& a) { return opt && opt->check_name(a); };
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (!a.starts_with("-")) {
      inv.command = argv[i];
      if (i + 1 < argc) inv.word = argv[i + 1];
      break;
    }
    inv.help = inv.help || is(root.get_help_ptr(), a) || is(root.get_help_all_ptr(), a);
    inv.version = inv.version || is(root.get_version_ptr(), a);
    // A global option's value is not the command.
    const CLI::Option* opt = root.get_option_no_throw(a);
    if (opt && opt->get_items_expected_min() > 0) ++i;
  }
  return inv;
}

std::unique_ptr<CLI::App> build_app(Context& ctx, int argc, char** argv) {
  auto app = std::make_unique<CLI::App>(
      "esc: escalate support cases with nothing lost on the way.\n"
      "Keeps a case log, checks readiness, writes the handover and sends it.",
      "esc");
  app->set_version_flag("--version", fmt::format("esc {}", kVersion), "Print the version and exit");
  app->add_option("--db", ctx.opts.db, "Database file (default: $ESC_DB, config, ~/.local/share/esc/esc.db)")
      ->type_name("PATH");
  app->add_option("--config", ctx.opts.config, "Config file (default: $ESC_CONFIG, ~/.config/esc/esc.toml)")
      ->type_name("PATH");
  app->add_option("--color", ctx.opts.color, "Colour: auto (terminal only, honours NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->type_name("WHEN");
  app->add_flag("-q,--quiet", ctx.opts.quiet, "Print no messages, only data and errors");
  app->fallthrough();
  app->require_subcommand(1);
  app->footer("Run `esc COMMAND --help` for a command's options, `man esc` for the whole manual.");

  // Running one command needs its options only; building every command's
  // costs about a millisecond, a fifth of esc's start-up. Help before the
  // command, an unknown word and completion need the whole tree.
  const Invocation inv = read_invocation(*app, argc, argv);
  if (!inv.help && !(inv.command == "__complete" && completes_the_tree(inv.word))) {
    if (inv.command.empty() && inv.version) return app;
    for (const auto& [name, reg] : kCommands)
      if (name == inv.command) {
        reg(*app, ctx);
        return app;
      }
  }
  Register done = nullptr;
  for (const auto& [name, reg] : kCommands)
    if (reg != done) reg(*app, ctx), done = reg;
  return app;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// "did you mean": the closest command to a word that is not one.
std::string suggestion(const CLI::App& app, const std::string& word) {
  std::string best;
  size_t best_d = 3;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    size_t d = edit_distance(word, sub->get_name());
    if (d < best_d) best_d = d, best = sub->get_name();
  }
  return best;
}

bool has_command(const CLI::App& app, const std::string& name) {
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->check_name(name)) return true;
  return false;
}

int fail(const std::string& message, const std::string& hint, Exit code) {
  std::cerr << fmt::format("esc: error: {}\n", message);
  if (!hint.empty()) std::cerr << fmt::format("hint: {}\n", hint);
  return static_cast<int>(code);
}

}  // namespace

int run(int argc, char** argv) {
  // Past a file-size limit, a write should fail (and be reported, with
  // nothing half-written) rather than kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  Context ctx;
  std::unique_ptr<CLI::App> app;
  try {
    app = build_app(ctx, argc, argv);
    app->parse(argc, argv);
    return ctx.exit_code;
  } catch (const CLI::CallForHelp& e) {
    return app->exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app->exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app->exit(e);
  } catch (const CLI::ParseError& e) {
    std::string hint = "run `esc --help` for the commands";
    std::string msg = e.what();
    // Which subcommand was being parsed, for a pointed hint.
    const CLI::App* where = app.get();
    for (const CLI::App* sub = app.get(); sub;) {
      auto subs = sub->get_subcommands();
      if (subs.empty()) break;
      where = sub = subs.front();
    }
    if (where != app.get()) hint = fmt::format("run `esc {} --help` for its options", where->get_name());
    if (argc > 1 && where == app.get()) {
      const std::string first(read_invocation(*app, argc, argv).command);
      if (!first.empty() && !has_command(*app, first)) {
        msg = fmt::format("unknown command \"{}\"", first);
        if (auto s = suggestion(*app, first); !s.empty()) hint = fmt::format("did you mean `esc {}`?", s);
      }
    }
    if (msg == "A subcommand is required") msg = "no command given";
    return fail(msg, hint, Exit::usage);
  } catch (const Error& e) {
    return fail(e.what(), e.hint(), e.code());
  } catch (const std::bad_alloc&) {
    return fail("out of memory", "", Exit::io);
  } catch (const std::exception& e) {
    return fail(fmt::format("unexpected failure: {}", e.what()), "", static_cast<Exit>(70));
  }
}

}  // namespace esc::cli
