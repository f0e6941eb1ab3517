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
  std::string question;
  std::vector<std::string> kinds;  // entry kinds that meet it; "trigger" = a trigger on the case
  bool required = true;
  bool operator==(const ChecklistItem&) const = default;
};

struct ChannelConfig {
  std::string name;
  std::string type;               // stdout | file | command | smtp | webhook | pagerduty
  std::string format;             // webhook: slack | teams | mattermost | discord | generic
  std::string url;                // smtp server; pagerduty endpoint (not secret)
  std::string url_env, url_file;  // webhook URL, a secret
  std::string from;
  std::vector<std::string> to;
  std::string username, username_env, username_file;
  std::string password_env, password_file;
  std::string routing_key_env, routing_key_file;  // pagerduty
  std::vector<std::string> argv;                  // command
  std::string dir;                                // file
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
  std::string database_path;  // as written, "~" not yet expanded
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

// One problem found in a config file, with where it is.
struct ConfigProblem {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
  std::string message;
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

// Parses and validates. Problems are appended; the returned Config holds
// what could be read (defaults elsewhere).
Config parse_config(const std::filesystem::path& file, std::vector<ConfigProblem>& problems);

// Loads the effective config: defaults when no file exists (unless it was
// named explicitly: 66); throws a config Error (78) on the first problem.
Config load_config(const std::string& flag);

// The commented config `esc init` writes.
std::string example_config();

// Expands a leading "~/" to $HOME.
std::string expand_home(const std::string& path);

// Reads a secret from the named environment variable or file; empty
// optional when neither is set. Never logs the value.
std::optional<std::string> read_secret(const std::string& env_name, const std::string& file);

}  // namespace esc
