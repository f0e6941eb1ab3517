#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "context.hpp"
#include "esc/error.hpp"
#include "esc/version.hpp"

namespace esc::cli {

namespace {

// An option given an empty value (`--db "$DB"` with DB unset) would read
// as not given and quietly fall back to a default: refused, unless its
// help says what an empty value means (`--ref ""` clears the ref).
void refuse_empty_values(CLI::App& app) {
  for (CLI::Option* opt : app.get_options()) {
    if (opt->get_positional() || opt->get_type_size_max() == 0 ||
        opt->get_description().find("\"\"") != std::string::npos)
      continue;
    opt->check(CLI::Validator([](std::string& v) { return v.empty() ? std::string("must not be empty") : ""; }, ""));
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) refuse_empty_values(*sub);
}

}  // namespace

std::unique_ptr<CLI::App> build_app(Context& ctx) {
  auto app = std::make_unique<CLI::App>(
      "esc: escalate support cases with nothing lost on the way.\n"
      "Keeps a case log, checks readiness, writes the handover and sends it.",
      "esc");
  app->set_version_flag("--version", fmt::format("esc {}", kVersion), "Print the version and exit");
  app->add_option("--db", ctx.opts.db,
                  "The case log: a file, or a postgresql:// URI (default: $ESC_DB, config, "
                  "~/.local/share/esc/esc.db)")
      ->type_name("PATH|URI");
  app->add_option("--config", ctx.opts.config, "Config file (default: $ESC_CONFIG, ~/.config/esc/esc.toml)")
      ->type_name("PATH");
  app->add_option("--color", ctx.opts.color, "Colour: auto (terminal only, honours NO_COLOR), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->type_name("WHEN");
  app->add_flag("-q,--quiet", ctx.opts.quiet, "Print no messages, only data and errors");
  app->fallthrough();
  app->require_subcommand(1);
  app->footer("Run `esc help COMMAND` (or `esc COMMAND --help`) for a command's options, `man esc` for the manual.");
  for (auto reg : {register_new,         register_list,   register_show,       register_log,     register_edit,
                   register_corrections, register_search, register_check,      register_summary, register_send,
                   register_outbox,      register_ack,    register_sync,       register_due,     register_team,
                   register_resolve,     register_review, register_stats,      register_report,  register_exchange,
                   register_init,        register_config, register_completions})
    reg(*app, ctx);
  refuse_empty_values(*app);

  // `esc help [COMMAND...]`: the same as --help, for those who type it.
  auto words = std::make_shared<std::vector<std::string>>();
  auto* help = app->add_subcommand("help", "Show the help of esc or of a command");
  help->add_option("command", *words, "A command (and subcommand)")->type_name("COMMAND");
  help->callback([words, root = app.get()] {
    const CLI::App* at = root;
    for (const auto& w : *words) {
      const CLI::App* next = nullptr;
      for (const auto* sub : at->get_subcommands([](const CLI::App*) { return true; }))
        if (sub->check_name(w)) next = sub;
      if (!next) throw usage_error(fmt::format("no command \"{}\"", w), "`esc help` lists them");
      at = next;
    }
    // The command's own help (App::help would show the parsed command's: help's).
    std::cout << at->get_formatter()->make_help(at, at->get_name(), CLI::AppFormatMode::Normal);
  });
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

// The closest of `names` to `word`, when it is close enough to be a typo.
std::string closest(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  size_t best_d = word.size() <= 3 ? 2 : 3;  // one typo in a short word, two in a longer
  for (const auto& n : names) {
    const size_t d = edit_distance(word, n);
    if (d < best_d) best_d = d, best = n;
  }
  return best;
}

std::vector<std::string> command_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const auto* sub : app.get_subcommands([](const CLI::App* a) { return !a->get_group().empty(); }))
    out.push_back(sub->get_name());
  return out;
}

std::vector<std::string> option_names(const CLI::App& app, const CLI::App& root) {
  std::vector<std::string> out;
  for (const auto* a : {&app, &root})
    for (const auto* opt : a->get_options()) {
      for (const auto& l : opt->get_lnames()) out.push_back("--" + l);
      for (const auto& s : opt->get_snames()) out.push_back("-" + s);
    }
  return out;
}

// The innermost command being parsed.
const CLI::App* parsed_command(const CLI::App& root) {
  const CLI::App* where = &root;
  for (const CLI::App* sub = &root;;) {
    auto subs = sub->get_subcommands();
    if (subs.empty()) break;
    where = sub = subs.front();
  }
  return where;
}

std::string command_path(const CLI::App* app, const CLI::App& root) {
  std::string path;
  for (const CLI::App* a = app; a && a != &root; a = a->get_parent())
    path = a->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

int fail(const std::string& message, const std::string& hint, Exit code) {
  std::cerr << fmt::format("esc: error: {}\n", message);
  if (!hint.empty()) std::cerr << fmt::format("hint: {}\n", hint);
  return static_cast<int>(code);
}

// The first word no command took, looking from `app` up to the root.
std::string first_left_over(const CLI::App* app) {
  for (; app; app = app->get_parent())
    for (const auto& w : app->remaining())
      if (!w.starts_with("-")) return w;
  return {};
}

// CLI11's parse errors in esc's words, with a pointed hint.
int parse_failure(const CLI::ParseError& e, const CLI::App& root, int argc, char** argv) {
  const CLI::App* where = parsed_command(root);
  const std::string name = command_path(where, root);
  std::string hint =
      where == &root ? "run `esc help` for the commands" : fmt::format("run `esc help {}` for its options", name);
  std::string msg = e.what();
  if (const auto* extras = dynamic_cast<const CLI::ExtrasError*>(&e)) {
    (void)extras;
    // The first word that was not expected (CLI11 lists them last first),
    // an option before its value.
    const auto colon = msg.find(": ");
    std::vector<std::string> words;
    std::string rest = colon == std::string::npos ? "" : msg.substr(colon + 2), w;
    for (char ch : rest + " ") {
      if (ch != ' ') {
        w += ch;
      } else if (!w.empty()) {
        words.insert(words.begin(), w);
        w.clear();
      }
    }
    std::string word = words.empty() ? "" : words.front();
    for (const auto& x : words)
      if (x.starts_with("-")) {
        word = x;
        break;
      }
    if (word.starts_with("-")) {
      msg = fmt::format("unknown option {}{}", word, name.empty() ? "" : fmt::format(" for `esc {}`", name));
      if (auto s = closest(word.substr(0, word.find('=')), option_names(*where, root)); !s.empty())
        hint = fmt::format("did you mean {}?", s);
    } else if (!where->get_subcommands([](const CLI::App*) { return true; }).empty()) {
      msg = fmt::format("unknown command \"{}\"{}", word, name.empty() ? "" : fmt::format(" of `esc {}`", name));
      if (auto s = closest(word, command_names(*where)); !s.empty())
        hint = fmt::format("did you mean `esc {}{}{}`?", name, name.empty() ? "" : " ", s);
      else if (!name.empty())
        hint = fmt::format("`esc {}` takes: {}", name, fmt::join(command_names(*where), ", "));
    } else {
      msg = fmt::format("unexpected argument \"{}\"{}", word, name.empty() ? "" : fmt::format(" for `esc {}`", name));
    }
  } else if (std::string word = first_left_over(where); msg == "A subcommand is required" && !word.empty()) {
    msg = fmt::format("unknown command \"{}\" of `esc {}`", word, name);
    if (auto s = closest(word, command_names(*where)); !s.empty())
      hint = fmt::format("did you mean `esc {} {}`?", name, s);
    else
      hint = fmt::format("`esc {}` takes: {}", name, fmt::join(command_names(*where), ", "));
  } else if (msg == "A subcommand is required") {
    msg = where == &root ? "no command given" : fmt::format("`esc {}` needs a subcommand", name);
    if (where != &root) hint = fmt::format("`esc {}` takes: {}", name, fmt::join(command_names(*where), ", "));
  } else if (msg.starts_with("Could not convert: ")) {
    // "Could not convert: --limit = abc"
    const auto eq = msg.find(" = ");
    msg = fmt::format("{}: expected a whole number, got \"{}\"", msg.substr(19, eq - 19),
                      eq == std::string::npos ? "" : msg.substr(eq + 3));
  }
  if (where == &root && argc > 1) {
    // An unknown command, before CLI11 says anything else.
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (a.starts_with("-")) {
        const auto* opt = root.get_option_no_throw(a.substr(0, a.find('=')));
        if (opt && opt->get_items_expected_min() > 0 && a.find('=') == std::string::npos) ++i;
        continue;
      }
      bool known = false;
      for (const auto* sub : root.get_subcommands([](const CLI::App*) { return true; }))
        known = known || sub->check_name(a);
      if (!known) {
        msg = fmt::format("unknown command \"{}\"", a);
        if (auto s = closest(a, command_names(root)); !s.empty()) hint = fmt::format("did you mean `esc {}`?", s);
      }
      break;
    }
  }
  return fail(msg, hint, Exit::usage);
}

// Every byte of data reached stdout, or the command fails: a full disk
// must not leave a truncated file behind an exit status of 0.
int finish_stdout(int code) {
  std::cout.flush();
  const bool failed = !std::cout;
  const int err = errno;
  if (failed || ::close(STDOUT_FILENO) != 0) {
    if (!failed && errno == EBADF) return code;
    return fail(fmt::format("cannot write to standard output: {}", std::strerror(failed ? err : errno)),
                "the output is incomplete; check the disk or the file it goes to", Exit::io);
  }
  return code;
}

}  // namespace

int run(int argc, char** argv) {
  // Past a file-size limit, a write should fail (and be reported, with
  // nothing half-written) rather than kill the process.
  std::signal(SIGXFSZ, SIG_IGN);
  Context ctx;
  std::unique_ptr<CLI::App> app;
  try {
    app = build_app(ctx);
    app->parse(argc, argv);
    return finish_stdout(ctx.exit_code);
  } catch (const CLI::CallForHelp& e) {
    return finish_stdout(app->exit(e));
  } catch (const CLI::CallForAllHelp& e) {
    return finish_stdout(app->exit(e));
  } catch (const CLI::CallForVersion& e) {
    return finish_stdout(app->exit(e));
  } catch (const CLI::ParseError& e) {
    return parse_failure(e, *app, argc, argv);
  } catch (const Error& e) {
    std::cout.flush();
    return fail(e.what(), e.hint(), e.code());
  } catch (const std::bad_alloc&) {
    return fail("out of memory", "", Exit::io);
  } catch (const std::exception& e) {
    return fail(fmt::format("unexpected failure: {}", e.what()), "", static_cast<Exit>(70));
  }
}

}  // namespace esc::cli
