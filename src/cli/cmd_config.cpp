#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"
#include "esc/uri.hpp"

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
std::string secret_source(const char* key, const SecretRef& ref) {
  std::string s;
  if (!ref.env.empty())
    s += fmt::format("{}_env = {}  # {}\n", key, q(ref.env),
                     std::getenv(ref.env.c_str()) ? "set (value hidden)" : "NOT SET");
  if (!ref.file.empty())
    s += fmt::format("{}_file = {}  # {}\n", key, q(ref.file),
                     std::filesystem::exists(expand_home(ref.file)) ? "exists (contents hidden)" : "MISSING");
  return s;
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
  // A config that parses is only usable when the secrets it names are there.
  if (std::none_of(problems.begin(), problems.end(), [](const auto& p) { return !p.warning; }))
    for (auto& p : check_secrets(cfg)) problems.push_back(std::move(p));
  int errors = 0;
  for (const auto& p : problems) {
    std::cerr << (p.warning ? "warning: " : "") << p.str() << '\n';
    if (!p.warning) ++errors;
  }
  if (errors) {
    std::cerr << fmt::format("esc: error: {} problem(s) in {}\n", errors, path.string());
    ctx.exit_code = static_cast<int>(Exit::config);
    return;
  }
  ctx.out().info(fmt::format("{}: OK ({} path(s), {} channel(s), {} checklist item(s))", path.string(),
                             cfg.paths.size(), cfg.channels.size(), cfg.checklist.size()));
}

void run_show(Context& ctx) {
  const Config& cfg = ctx.config();
  std::string s;
  s += cfg.source.empty() ? "# built-in defaults (no config file)\n" : fmt::format("# from {}\n", cfg.source.string());
  // A password given in a URI on the command line is not printed back.
  s += fmt::format("# case log: {}\n\n", uri_without_password(ctx.db_location()));
  s += fmt::format("[engineer]\nname = {}\n", q(cfg.engineer_name));
  if (!cfg.engineer_email.empty()) s += fmt::format("email = {}\n", q(cfg.engineer_email));
  if (!cfg.serves.empty()) s += fmt::format("serves = {}\n", qlist(cfg.serves));
  s += fmt::format("\n[database]\nbusy_timeout = {}\n", q(format_duration(cfg.busy_timeout)));
  if (!cfg.database_url.empty()) s += fmt::format("url = {}\n", q(uri_without_password(cfg.database_url)));
  if (!cfg.database_path.empty()) s += fmt::format("path = {}\n", q(cfg.database_path));
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
    auto text = [&](const char* key, const std::string& v) {
      if (!v.empty()) s += fmt::format("{} = {}\n", key, q(v));
    };
    auto list = [&](const char* key, const std::vector<std::string>& v) {
      if (!v.empty()) s += fmt::format("{} = {}\n", key, qlist(v));
    };
    text("format", c.format);
    text("url", c.url);
    s += secret_source("url", c.url_secret);
    text("from", c.from);
    list("to", c.to);
    text("username", c.username);
    s += secret_source("username", c.username_secret);
    s += secret_source("password", c.password);
    s += secret_source("routing_key", c.routing_key);
    s += secret_source("token", c.token);
    text("auth", c.type == "jira" ? c.auth : "");
    text("project", c.project);
    text("issue_type", c.type == "jira" ? c.issue_type : "");
    text("repo", c.repo);
    list("labels", c.labels);
    text("api_url", c.api_url);
    s += secret_source("api_token", c.api_token);
    text("imap_url", c.imap_url);
    text("imap_username", c.imap_username);
    s += secret_source("imap_username", c.imap_username_secret);
    s += secret_source("imap_password", c.imap_password);
    list("argv", c.argv);
    text("dir", c.dir);
    text("ca_file", c.ca_file);
    if (c.allow_http) s += "allow_http = true\n";
    if (c.type != "stdout") s += fmt::format("timeout = {}\n", q(format_duration(c.timeout)));
  }
  for (const auto& i : cfg.checklist)
    s += fmt::format("\n[[checklist]]\nkey = {}\nquestion = {}\nprompt = {}\nkinds = {}\nrequired = {}\n", q(i.key),
                     q(i.question), q(i.prompt), qlist(i.kinds), i.required);
  for (const auto& r : cfg.redact)
    s += fmt::format("\n[[redact]]\npattern = {}\nreplace = {}\n", q(r.pattern), q(r.replace));
  std::cout << s;
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
