#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

#include "esc/app.hpp"
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

// What a command may touch. The config and the log are opened on first
// use, so that a command that needs neither opens neither.
class Context {
 public:
  GlobalOptions opts;
  int exit_code = 0;

  // The config for commands that deliver nothing: a problem confined to one
  // channel is a warning (once), and that channel is left out.
  const Config& config();
  // The config for commands that deliver or judge readiness: every problem
  // is an error (78).
  const Config& strict_config();
  // The log, which must exist (66 otherwise; nothing is created).
  Store& store();
  // The log, made when there is none: for the commands that write first
  // (`new`, `init`, `import`).
  Store& store_creating();
  Output& out();
  Time now();
  // Where the log is: --db, $ESC_DB, database.url, database.path, XDG.
  std::string db_location();

  // Resolves `12`, `#12`, `ref:ZD-4411` or a ref to a case; 66 when there
  // is none, 64 when a number is one case's id and another's ref.
  Case find_case(const std::string& word);
  // Who is at the keyboard: [engineer] name and email, else $USER.
  app::Engineer engineer();

 private:
  Store& open_store(bool create);
  // The file is read once; config() and strict_config() are two views of it.
  const LoadedConfig& loaded_config();
  std::optional<LoadedConfig> loaded_;
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
void register_sync(CLI::App& app, Context& ctx);
void register_due(CLI::App& app, Context& ctx);
void register_resolve(CLI::App& app, Context& ctx);
void register_review(CLI::App& app, Context& ctx);
void register_stats(CLI::App& app, Context& ctx);
void register_exchange(CLI::App& app, Context& ctx);
void register_init(CLI::App& app, Context& ctx);
void register_config(CLI::App& app, Context& ctx);
void register_completions(CLI::App& app, Context& ctx);
void register_corrections(CLI::App& app, Context& ctx);
void register_team(CLI::App& app, Context& ctx);
void register_sync(CLI::App& app, Context& ctx);
void register_report(CLI::App& app, Context& ctx);

// The whole command tree.
std::unique_ptr<CLI::App> build_app(Context& ctx);

}  // namespace esc::cli
