#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "esc/time.hpp"

namespace esc {

struct ChecklistItem {
  std::string key;
  std::string question;            // what `esc check` shows
  std::string prompt;              // what the walk asks for: the content, not a yes
  std::vector<std::string> kinds;  // entry kinds that meet it; "trigger" = a trigger on the case
  bool required = true;
  bool operator==(const ChecklistItem&) const = default;
};

// Where a secret comes from: an environment variable or a file, never the
// config itself. `env` wins when both are set.
struct SecretRef {
  std::string env, file;
  bool set() const { return !env.empty() || !file.empty(); }
  bool operator==(const SecretRef&) const = default;
};

struct ChannelConfig {
  std::string name;
  // stdout | file | command | smtp | webhook | pagerduty | jira | github
  std::string type;
  std::string format;    // webhook: slack | teams | mattermost | discord | generic; documents: text | markdown | json
  std::string url;       // smtp server; pagerduty events endpoint; jira site; github API base (not secret)
  SecretRef url_secret;  // webhook: the URL is the secret
  std::string from;
  std::vector<std::string> to;
  std::string username;  // smtp login; jira: the account's e-mail (Cloud)
  SecretRef username_secret, password, routing_key, token;
  std::vector<std::string> argv;          // command
  std::string dir;                        // file
  std::string project, issue_type, repo;  // jira: project key and issue type; github: owner/name
  std::vector<std::string> labels;        // jira, github
  std::string auth;                       // jira: basic (Cloud: e-mail + API token) | bearer (Data Center PAT)
  std::string api_url;                    // pagerduty: the REST API that `esc sync` reads
  SecretRef api_token;                    // pagerduty REST API token
  std::string imap_url;                   // smtp: the mailbox `esc sync` reads replies from
  std::string imap_username;
  SecretRef imap_username_secret, imap_password;
  std::string ca_file;      // trust this CA (PEM) besides the system's
  bool allow_http = false;  // allow http:// (and smtp:// logins without TLS) beyond this machine
  Seconds timeout{30};
  bool operator==(const ChannelConfig&) const = default;
};

struct PathConfig {
  std::string name;
  std::vector<std::string> channels;
  std::optional<Seconds> ack_within;
  std::string next;
  bool external = false;  // a vendor or regulator outside the company
  bool operator==(const PathConfig&) const = default;
};

struct RedactRule {
  std::string pattern;
  std::string replace;
  bool operator==(const RedactRule&) const = default;
};

struct Config {
  std::filesystem::path source;  // the file read; empty for built-in defaults
  std::string engineer_name;
  bool engineer_name_set = false;  // by the file; otherwise $USER's
  std::string engineer_email;
  std::vector<std::string> serves;  // the paths this engineer answers (`esc inbox`)
  std::string database_path;        // as written, "~" not yet expanded
  std::string database_url;         // a PostgreSQL connection URI; wins over path
  Seconds busy_timeout{10};
  std::vector<std::string> severities{"critical", "high", "medium", "low"};
  std::string default_severity = "medium";
  std::vector<std::string> triggers{"beyond-scope",
                                    "needs-resources",
                                    "time-sensitive",
                                    "sla-breach",
                                    "high-severity",
                                    "legal-compliance",
                                    "unresolved-after-intervention"};
  std::vector<PathConfig> paths;
  std::string default_path;
  std::map<std::string, std::string> route_by_severity;
  std::map<std::string, Seconds> deadlines;
  Seconds client_update_every{24 * 3600};
  std::vector<ChannelConfig> channels;
  std::vector<std::string> broken_channels;  // named by a [[channel]] with problems, left out
  std::vector<ChecklistItem> checklist;
  std::vector<RedactRule> redact;
  bool redact_card_numbers = true;
  Seconds retry_base{60};
  Seconds retry_max{6 * 3600};

  const PathConfig* find_path(std::string_view name) const;
  const ChannelConfig* find_channel(std::string_view name) const;
  // The path `esc send` takes without --to for a case of this severity.
  const PathConfig& route(std::string_view severity) const;
  std::optional<Seconds> deadline(std::string_view severity) const;
  bool is_severity(std::string_view s) const;
  bool is_trigger(std::string_view s) const;
  bool operator==(const Config&) const = default;
};

// One problem found in a config file, with where it is. `channel`: it
// concerns one channel (or a path's reference to it) only, so that commands
// that deliver nothing can go on without it.
struct ConfigProblem {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  std::string message;
  bool channel = false;
  bool warning = false;     // reported by `esc config check`, but not an error
  std::string str() const;  // file:line:column: message
};

// One known key: drives validation, `esc config show` and the example file.
struct ConfigKey {
  std::string table;  // "" (top level), "engineer", "path", "channel", ...
  std::string name;
  std::string type;  // string, integer, boolean, duration, array, table
  std::string default_value;
  std::string doc;
};
const std::vector<ConfigKey>& config_keys();

// The built-in defaults: the spec's checklist, one path `default` to one
// channel `stdout`.
Config default_config();
const std::vector<ChecklistItem>& default_checklist();

// Where the config is read from: --config, $ESC_CONFIG, then XDG.
std::filesystem::path config_path(const std::string& flag);
// Whether `config_path` was named explicitly (so a missing file is an error).
bool config_path_explicit(const std::string& flag);

// Reads the file once (a regular file of at most 1 MiB, its nesting bounded
// before the TOML parser sees it), parses and validates. Problems are
// appended; the returned Config holds what could be read (defaults
// elsewhere).
Config parse_config(const std::filesystem::path& file, std::vector<ConfigProblem>& problems);

// The config file as read, once: what could be read and its problems
// (warnings dropped). Defaults when no file exists, unless it was named
// explicitly (66).
struct LoadedConfig {
  Config config;
  std::vector<ConfigProblem> problems;
};
LoadedConfig read_config(const std::string& flag);

// The config to run with: throws a config Error (78) on the first problem.
// With `tolerate_channels`, problems confined to channels are returned in
// `warnings` and those channels left out instead.
Config usable_config(const LoadedConfig& loaded, bool tolerate_channels = false,
                     std::vector<ConfigProblem>* warnings = nullptr);

// What `esc config check` adds to parsing: each secret a channel names must
// be there (a set variable, a readable file that only its owner can read).
std::vector<ConfigProblem> check_secrets(const Config& cfg);

// The commented config `esc init` writes.
std::string example_config();

// What is wrong with a URL esc posts to (a webhook's, a tracker's): no
// scheme, credentials in it, or plain http beyond this machine without
// allow_http. Empty when nothing is. Never quotes a URL that has a scheme.
std::string webhook_url_problem(const std::string& url, bool allow_http);

// Expands a leading "~/" to $HOME.
std::string expand_home(const std::string& path);

// Reads a secret from its environment variable or file; empty optional
// when neither gives one. Never logs the value.
std::optional<std::string> read_secret(const SecretRef& ref);
// Why a secret cannot be read, in a line that names where it should be
// (never its value); empty when it can.
std::string secret_problem(const SecretRef& ref, const std::string& what);
// Every environment variable any channel names for a secret: a child
// process (the command channel) gets none of them.
std::vector<std::string> secret_variables(const Config& cfg);

}  // namespace esc
