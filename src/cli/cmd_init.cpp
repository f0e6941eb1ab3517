#include <sys/stat.h>

#include <fmt/format.h>

#include <filesystem>

#include "common.hpp"
#include "esc/channels.hpp"
#include "esc/error.hpp"

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
    fs::create_directories(path.parent_path(), ec);
    if (ec) throw io_error(fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
    ::chmod(path.parent_path().c_str(), 0700);
    write_file_atomically(path.string(), example_config());
    ::chmod(path.c_str(), 0600);
    out.info(fmt::format("Wrote a commented config: {}", path.string()));
  }
  ctx.store();  // creates and migrates the database
  out.info(fmt::format("Database ready: {}", ctx.db_path().string()));
  out.hint("open your first case with `esc new \"TITLE\" --customer NAME --severity high`");
}

}  // namespace

void register_init(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<InitOptions>();
  auto* cmd = app.add_subcommand("init", "Write a commented config and create the database");
  cmd->add_flag("--force", o->force, "Overwrite an existing config");
  cmd->footer("Example:\n  esc init && $EDITOR \"$(esc config path)\" && esc config check");
  cmd->callback([o, &ctx] { run_init(*o, ctx); });
}

}  // namespace esc::cli
