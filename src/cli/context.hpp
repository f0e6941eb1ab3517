#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "esc/config.hpp"
#include "esc/store.hpp"
#include "output.hpp"
#include "run.hpp"

namespace esc::cli {

struct GlobalOptions {
  std::string db;
  std::string config;
  std::string color = "auto";
  bool quiet = false;
};

// What a command may touch. The config and the database are opened on
// first use, so a command that needs neither opens neither.
class Context {
 public:
  GlobalOptions opts;
  int exit_code = 0;

  const Config& config();
  Store& store();
  Output& out();
  Time now();
  std::filesystem::path db_path();

  // Resolves 12, #12 or an external ref to a case; 66 when there is none.
  Case find_case(const std::string& id);
  // The name recorded as author of what the engineer writes.
  std::string engineer();

 private:
  std::optional<Config> config_;
  std::optional<Store> store_;
  std::optional<Output> out_;
  std::optional<Time> now_;
};

// One register function per command, each in its own file.
void register_new(CLI::App& app, Context& ctx);
void register_list(CLI::App& app, Context& ctx);
void register_show(CLI::App& app, Context& ctx);
void register_log(CLI::App& app, Context& ctx);
void register_edit(CLI::App& app, Context& ctx);
void register_search(CLI::App& app, Context& ctx);
void register_check(CLI::App& app, Context& ctx);
void register_summary(CLI::App& app, Context& ctx);
void register_send(CLI::App& app, Context& ctx);
void register_outbox(CLI::App& app, Context& ctx);
void register_ack(CLI::App& app, Context& ctx);
void register_due(CLI::App& app, Context& ctx);
void register_resolve(CLI::App& app, Context& ctx);
void register_review(CLI::App& app, Context& ctx);
void register_stats(CLI::App& app, Context& ctx);
void register_exchange(CLI::App& app, Context& ctx);
void register_init(CLI::App& app, Context& ctx);
void register_config(CLI::App& app, Context& ctx);
void register_completions(CLI::App& app, Context& ctx);

// What a command line asks for, read with the root's global options only.
struct Invocation {
  std::string_view command;  // the first word that is neither an option nor its value
  std::string_view word;     // the word after the command, if any
  bool help = false;         // help or help-all before the command
  bool version = false;      // --version before the command
};
Invocation read_invocation(const CLI::App& root, int argc, char** argv);

// The command tree for this command line: the global options and the
// command being run, or everything when help, an unknown word or completion
// needs it.
std::unique_ptr<CLI::App> build_app(Context& ctx, int argc, char** argv);

}  // namespace esc::cli
