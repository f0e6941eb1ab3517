#include <sys/stat.h>

#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

std::string q(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

std::string qlist(const std::vector<std::string>& v) {
  std::vector<std::string> parts;
  for (const auto& s : v) parts.push_back(q(s));
  return "[" + join(parts, ", ") + "]";
}

// Names a secret's source and whether it is there, never its value.
std::string secret_source(const char* key, const std::string& env, const std::string& file) {
  std::string s;
  if (!env.empty())
    s += fmt::format("{}_env = {}  # {}\n", key, q(env), std::getenv(env.c_str()) ? "set (value hidden)" : "NOT SET");
  if (!file.empty())
    s += fmt::format("{}_file = {}  # {}\n", key, q(file),
                     std::filesystem::exists(expand_home(file)) ? "exists (contents hidden)" : "MISSING");
  return s;
}

void warn_loose_secret_files(Context& ctx, const Config& cfg) {
  for (const auto& ch : cfg.channels)
    for (const auto* f : {&ch.url_file, &ch.password_file, &ch.username_file, &ch.routing_key_file}) {
      if (f->empty()) continue;
      struct stat st {};
      if (::stat(expand_home(*f).c_str(), &st) == 0 && (st.st_mode & 077))
        ctx.out().warn(fmt::format("channel \"{}\": secret file {} is readable by others (chmod 600 it)", ch.name, *f));
    }
}

void run_check(Context& ctx) {
  const auto path = config_path(ctx.opts.config);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (config_path_explicit(ctx.opts.config)) throw not_found(fmt::format("no config file at {}", path.string()));
    ctx.out().info(fmt::format("No config file at {}: the built-in defaults apply.", path.string()));
    return;
  }
  std::vector<ConfigProblem> problems;
  Config cfg = parse_config(path, problems);
  for (const auto& p : problems) std::cerr << p.str() << '\n';
  if (!problems.empty()) {
    std::cerr << fmt::format("esc: error: {} problem(s) in {}\n", problems.size(), path.string());
    ctx.exit_code = static_cast<int>(Exit::config);
    return;
  }
  warn_loose_secret_files(ctx, cfg);
  ctx.out().info(fmt::format("{}: OK ({} path(s), {} channel(s), {} checklist item(s))", path.string(),
                             cfg.paths.size(), cfg.channels.size(), cfg.checklist.size()));
}

void run_show(Context& ctx) {
  const Config& cfg = ctx.config();
  std::string s;
  s += cfg.source.empty() ? "# built-in defaults (no config file)\n" : fmt::format("# from {}\n", cfg.source.string());
  s += fmt::format("# database: {}\n\n", ctx.db_path().string());
  s += fmt::format("[engineer]\nname = {}\n", q(cfg.engineer_name));
  if (!cfg.engineer_email.empty()) s += fmt::format("email = {}\n", q(cfg.engineer_email));
  s += fmt::format("\n[case]\nseverities = {}\ndefault_severity = {}\ntriggers = {}\n", qlist(cfg.severities),
                   q(cfg.default_severity), qlist(cfg.triggers));
  s += fmt::format("\n[privacy]\nmask_card_numbers = {}\n", cfg.redact_card_numbers);
  s += fmt::format("\n[outbox]\nretry_base = {}\nretry_max = {}\n", q(format_duration(cfg.retry_base)),
                   q(format_duration(cfg.retry_max)));
  for (const auto& p : cfg.paths) {
    s += fmt::format("\n[[path]]\nname = {}\nchannel = {}\n", q(p.name), qlist(p.channels));
    if (p.ack_within) s += fmt::format("ack_within = {}\n", q(format_duration(*p.ack_within)));
    if (!p.next.empty()) s += fmt::format("next = {}\n", q(p.next));
    if (p.external) s += "external = true\n";
  }
  s += fmt::format("\n[routing]\ndefault = {}\n", q(cfg.route("").name));
  for (const auto& [sev, path] : cfg.route_by_severity) s += fmt::format("{} = {}\n", sev, q(path));
  s += "\n[deadlines]\n";
  for (const auto& sev : cfg.severities)
    if (auto d = cfg.deadline(sev)) s += fmt::format("{} = {}\n", sev, q(format_duration(*d)));
  s += fmt::format("client_update_every = {}\n", q(format_duration(cfg.client_update_every)));
  for (const auto& c : cfg.channels) {
    s += fmt::format("\n[[channel]]\nname = {}\ntype = {}\n", q(c.name), q(c.type));
    if (!c.format.empty()) s += fmt::format("format = {}\n", q(c.format));
    if (!c.url.empty()) s += fmt::format("url = {}\n", q(c.url));
    s += secret_source("url", c.url_env, c.url_file);
    if (!c.from.empty()) s += fmt::format("from = {}\n", q(c.from));
    if (!c.to.empty()) s += fmt::format("to = {}\n", qlist(c.to));
    if (!c.username.empty()) s += fmt::format("username = {}\n", q(c.username));
    s += secret_source("username", c.username_env, c.username_file);
    s += secret_source("password", c.password_env, c.password_file);
    s += secret_source("routing_key", c.routing_key_env, c.routing_key_file);
    if (!c.argv.empty()) s += fmt::format("argv = {}\n", qlist(c.argv));
    if (!c.dir.empty()) s += fmt::format("dir = {}\n", q(c.dir));
    if (c.type != "stdout") s += fmt::format("timeout = {}\n", q(format_duration(c.timeout)));
  }
  for (const auto& i : cfg.checklist)
    s += fmt::format("\n[[checklist]]\nkey = {}\nquestion = {}\nkinds = {}\nrequired = {}\n", q(i.key), q(i.question),
                     qlist(i.kinds), i.required);
  for (const auto& r : cfg.redact)
    s += fmt::format("\n[[redact]]\npattern = {}\nreplace = {}\n", q(r.pattern), q(r.replace));
  std::cout << s;
  warn_loose_secret_files(ctx, cfg);
}

}  // namespace

void register_config(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("config", "Check, show or locate the config");
  cmd->require_subcommand(1);
  cmd->footer(
      "Examples:\n  esc config check        # exit 78 and file:line:column when something is wrong\n"
      "  esc config show         # the effective config; secrets are never printed");
  auto* check = cmd->add_subcommand("check", "Validate the config (exit 78 with file:line:column when wrong)");
  check->callback([&ctx] { run_check(ctx); });
  auto* show = cmd->add_subcommand("show", "Print the effective config; secrets are never shown");
  show->callback([&ctx] { run_show(ctx); });
  auto* path = cmd->add_subcommand("path", "Print where the config is read from");
  path->callback([&ctx] { std::cout << config_path(ctx.opts.config).string() << '\n'; });
}

}  // namespace esc::cli
