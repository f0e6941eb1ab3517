#include <sys/stat.h>

#include <fmt/format.h>

#include <filesystem>

#include "common.hpp"
#include "esc/channels.hpp"
#include "esc/error.hpp"
#include "esc/files.hpp"

namespace esc::cli {

namespace {

struct InitOptions {
  bool force = false;
};

void run_init(const InitOptions& o, Context& ctx) {
  namespace fs = std::filesystem;
  const fs::path path = config_path(ctx.opts.config);
  std::error_code ec;
  auto& out = ctx.out();
  if (fs::exists(path, ec) && !o.force) {
    out.info(fmt::format("Config already exists: {} (kept; --force overwrites it).", path.string()));
  } else {
    make_private_dir(path.parent_path().string());
    write_file_atomically(path.string(), example_config());
    out.info(fmt::format("Wrote a commented config: {}", path.string()));
  }
  ctx.store_creating();  // creates the log, or brings its schema up to date
  out.info(fmt::format("Case log ready: {}", ctx.store().where()));
  out.hint("open your first case with `esc new \"TITLE\" --customer NAME --severity high`");
}

}  // namespace

void register_init(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<InitOptions>();
  auto* cmd = app.add_subcommand("init", "Write a commented config and create the case log (or bring a team log's schema up to date)");
  cmd->add_flag("--force", o->force, "Overwrite an existing config");
  cmd->footer("Example:\n  esc init && $EDITOR \"$(esc config path)\" && esc config check");
  cmd->callback([o, &ctx] { run_init(*o, ctx); });
}

}  // namespace esc::cli
