// The key table, the built-in defaults, and where the config is.

#include "esc/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "config_internal.hpp"
#include "esc/error.hpp"
#include "esc/model.hpp"
#include "esc/text.hpp"

namespace esc {

namespace config_detail {

const std::vector<std::string> kChannelTypes{"stdout",  "file",      "command", "smtp",
                                             "webhook", "pagerduty", "jira",    "github"};
const std::vector<std::string> kDocumentFormats{"text", "markdown", "json"};
const std::vector<std::string> kWebhookFormats{"slack", "teams", "mattermost", "discord", "generic"};

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string quoted_list(const std::vector<std::string>& v) { return fmt::format("{}", fmt::join(v, ", ")); }

ChannelConfig stdout_channel() {
  ChannelConfig c;
  c.name = "stdout";
  c.type = "stdout";
  return c;
}

}  // namespace config_detail

using namespace config_detail;

// ---- the key table -------------------------------------------------------

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys{
      {"engineer", "name", "string", "$USER", "your name, as it appears on entries and summaries"},
      {"engineer", "email", "string", "", "your e-mail address: summaries, From and Reply-To of e-mail"},
      {"engineer", "serves", "array", "", "the paths you answer for: `esc inbox` lists what waits on them"},
      {"database", "path", "string", "$XDG_DATA_HOME/esc/esc.db", "the case log (--db and $ESC_DB override it)"},
      {"database", "url", "string", "", "a team's log on PostgreSQL: a libpq URI, no password (wins over path)"},
      {"database", "busy_timeout", "duration", "10s", "how long to wait for another esc that holds the log"},
      {"case", "severities", "array", "[\"critical\", \"high\", \"medium\", \"low\"]", "severities, most severe first"},
      {"case", "default_severity", "string", "medium", "severity of a new case without --severity"},
      {"case", "triggers", "array", "the seven built-in triggers", "reasons a case may be escalated"},
      {"privacy", "mask_card_numbers", "boolean", "true", "mask card numbers (Luhn-checked) in all that leaves"},
      {"outbox", "retry_base", "duration", "1m", "first back-off after a failed delivery; doubles each time"},
      {"outbox", "retry_max", "duration", "6h", "longest back-off between delivery attempts"},
      {"path", "name", "string", "", "the path's name, used by `esc send --to`"},
      {"path", "channel", "string or array", "", "channel name(s) the escalation is delivered to"},
      {"path", "ack_within", "duration", "", "expected acknowledgement time; `esc due` flags it after"},
      {"path", "next", "string", "", "the path to escalate to when this one does not answer"},
      {"path", "external", "boolean", "false",
       "a vendor or regulator outside the company: internal notes and heads-up entries are not sent"},
      {"routing", "default", "string", "the first path", "path `esc send` takes without --to"},
      {"routing", "<severity>", "string", "", "path for cases of that severity"},
      {"deadlines", "<severity>", "duration", "critical 1h, high 4h, medium 1d, low 3d",
       "escalate when a case of that severity is open this long"},
      {"deadlines", "client_update_every", "duration", "24h", "how often an escalated case's client hears from you"},
      {"channel", "name", "string", "", "the channel's name, used by paths and --channel"},
      {"channel", "type", "string", "", "stdout, file, command, smtp, webhook, pagerduty, jira or github"},
      {"channel", "format", "string", "slack", "webhook payload: slack, teams, mattermost, discord, generic"},
      {"channel", "url", "string", "",
       "smtp: smtp://host:port or smtps://; pagerduty: the events endpoint; jira: the site; github: the API"},
      {"channel", "url_env", "string", "", "webhook: environment variable holding the (secret) URL"},
      {"channel", "url_file", "string", "", "webhook: file holding the (secret) URL"},
      {"channel", "from", "string", "", "smtp: sender address (default: the engineer's)"},
      {"channel", "to", "string or array", "", "smtp: recipient address(es)"},
      {"channel", "username", "string", "", "smtp: login name; jira: the account's e-mail (Cloud)"},
      {"channel", "username_env", "string", "", "smtp, jira: environment variable holding the login name"},
      {"channel", "username_file", "string", "", "smtp, jira: file holding the login name"},
      {"channel", "password_env", "string", "", "smtp: environment variable holding the password"},
      {"channel", "password_file", "string", "", "smtp: file holding the password"},
      {"channel", "routing_key_env", "string", "", "pagerduty: environment variable holding the routing key"},
      {"channel", "routing_key_file", "string", "", "pagerduty: file holding the routing key"},
      {"channel", "token_env", "string", "", "jira, github: environment variable holding the API token"},
      {"channel", "token_file", "string", "", "jira, github: file holding the API token"},
      {"channel", "auth", "string", "basic", "jira: basic (Cloud: e-mail and API token) or bearer (personal token)"},
      {"channel", "project", "string", "", "jira: the project key new issues go to"},
      {"channel", "issue_type", "string", "Task", "jira: the issue type of new issues"},
      {"channel", "repo", "string", "", "github: owner/name of the repository new issues go to"},
      {"channel", "labels", "array", "", "jira, github: labels put on new issues"},
      {"channel", "api_url", "string", "https://api.pagerduty.com", "pagerduty: the REST API `esc sync` reads"},
      {"channel", "api_token_env", "string", "", "pagerduty: environment variable holding the REST API token"},
      {"channel", "api_token_file", "string", "", "pagerduty: file holding the REST API token"},
      {"channel", "imap_url", "string", "", "smtp: imaps://host/INBOX, the mailbox `esc sync` reads replies from"},
      {"channel", "imap_username", "string", "", "smtp: the mailbox's login name"},
      {"channel", "imap_username_env", "string", "", "smtp: environment variable holding the mailbox's login"},
      {"channel", "imap_username_file", "string", "", "smtp: file holding the mailbox's login"},
      {"channel", "imap_password_env", "string", "", "smtp: environment variable holding the mailbox's password"},
      {"channel", "imap_password_file", "string", "", "smtp: file holding the mailbox's password"},
      {"channel", "argv", "array", "",
       "command: program and arguments; {subject} {id} {severity} {customer} {ref} {level} {key} filled in"},
      {"channel", "dir", "string", "", "file: folder that receives one file per delivery"},
      {"channel", "ca_file", "string", "", "a CA certificate (PEM) to verify servers against instead of the system's"},
      {"channel", "allow_http", "boolean", "false", "allow plain http:// to a host other than this machine"},
      {"channel", "timeout", "duration", "30s", "how long one delivery attempt may take"},
      {"checklist", "key", "string", "", "the item's name"},
      {"checklist", "question", "string", "", "what `esc check` shows"},
      {"checklist", "prompt", "string", "", "what the walk in `esc check` asks for (the content itself)"},
      {"checklist", "kinds", "array", "", "entry kinds that meet it; \"trigger\" means a trigger on the case"},
      {"checklist", "required", "boolean", "true", "whether `esc send` refuses without it"},
      {"redact", "pattern", "string", "", "a regular expression (PCRE2) to mask in all that leaves"},
      {"redact", "replace", "string", "[redacted]", "what replaces each match"},
  };
  return keys;
}

const std::vector<ChecklistItem>& default_checklist() {
  // The question is what `esc check` shows; the prompt asks for the
  // content, so that the walk records facts rather than a "yes".
  static const std::vector<ChecklistItem> items{
      {"reason",
       "Why does this need escalating?",
       "Why does this need escalating? Give the number or name of a trigger below.",
       {"trigger"},
       true},
      {"facts",
       "Do you have all the facts?",
       "What facts and diagnostic results do you have? One per line, an empty line to finish.",
       {"fact", "diagnostic"},
       true},
      {"steps",
       "What have you already tried?",
       "What have you already tried, and what happened? One step per line, an empty line to finish.",
       {"step"},
       true},
      {"hypothesis",
       "What do you think is wrong? (a suggestion, not a diagnosis)",
       "What do you think is wrong? It is recorded as unconfirmed: a suggestion, not a diagnosis.",
       {"hypothesis"},
       true},
      {"client-told",
       "Has the client been told why, what happens next, and when to expect news?",
       "What did you tell the client: why it is escalated, what happens next, and when they will hear from you?",
       {"notice"},
       true},
      {"outcome",
       "What do you want from the next level?",
       "What do you want from the next level (a fix, a workaround, an answer by a time)?",
       {"outcome"},
       false},
      {"impact",
       "What does it cost the client, and the business?",
       "What does it cost the client and the business (users affected, money, deadlines)?",
       {"impact"},
       false},
      {"heads-up",
       "Will this surprise the next level, or were they forewarned?",
       "Who at the next level was forewarned, and how?",
       {"heads-up"},
       false},
  };
  return items;
}

Config default_config() {
  Config c;
  c.engineer_name = default_engineer_name();
  c.checklist = default_checklist();
  c.paths.push_back(PathConfig{"default", {"stdout"}, std::nullopt, "", false});
  c.default_path = "default";
  c.channels.push_back(stdout_channel());
  c.deadlines = {{"critical", Seconds{3600}},
                 {"high", Seconds{4 * 3600}},
                 {"medium", Seconds{86400}},
                 {"low", Seconds{3 * 86400}}};
  return c;
}

const PathConfig* Config::find_path(std::string_view name) const {
  for (const auto& p : paths)
    if (p.name == name) return &p;
  return nullptr;
}

const ChannelConfig* Config::find_channel(std::string_view name) const {
  for (const auto& c : channels)
    if (c.name == name) return &c;
  return nullptr;
}

const PathConfig& Config::route(std::string_view severity) const {
  if (auto it = route_by_severity.find(std::string(severity)); it != route_by_severity.end())
    if (auto* p = find_path(it->second)) return *p;
  if (auto* p = find_path(default_path)) return *p;
  return paths.front();
}

std::optional<Seconds> Config::deadline(std::string_view severity) const {
  if (auto it = deadlines.find(std::string(severity)); it != deadlines.end()) return it->second;
  return std::nullopt;
}

bool Config::is_severity(std::string_view s) const { return contains(severities, s); }
bool Config::is_trigger(std::string_view s) const { return contains(triggers, s); }

std::string ConfigProblem::str() const {
  if (line) return fmt::format("{}:{}:{}: {}", file, line, column, message);
  return fmt::format("{}: {}", file, message);
}

// ---- locations -------------------------------------------------------------

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}
}  // namespace

std::string expand_home(const std::string& path) {
  if (path == "~" || path.starts_with("~/")) return env_or("HOME", "") + path.substr(1);
  return path;
}

bool config_path_explicit(const std::string& flag) { return !flag.empty() || !env_or("ESC_CONFIG", "").empty(); }

std::filesystem::path config_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (auto e = env_or("ESC_CONFIG", ""); !e.empty()) return e;
  auto base = env_or("XDG_CONFIG_HOME", env_or("HOME", ".") + "/.config");
  return std::filesystem::path(base) / "esc" / "esc.toml";
}

}  // namespace esc
