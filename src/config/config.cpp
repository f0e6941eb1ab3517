#include "esc/config.hpp"

#include <sys/stat.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <toml.hpp>

#include "esc/error.hpp"
#include "esc/model.hpp"
#include "esc/text.hpp"

namespace esc {

namespace {

const std::vector<std::string> kChannelTypes{"stdout", "file", "command", "smtp", "webhook", "pagerduty"};
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

}  // namespace

// ---- the key table -------------------------------------------------------

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys{
      {"engineer", "name", "string", "$USER", "your name, as it appears on entries and summaries"},
      {"engineer", "email", "string", "", "your e-mail address, shown in summaries"},
      {"database", "path", "string", "$XDG_DATA_HOME/esc/esc.db", "the case log (--db and $ESC_DB override it)"},
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
      {"channel", "type", "string", "", "stdout, file, command, smtp, webhook or pagerduty"},
      {"channel", "format", "string", "slack", "webhook payload: slack, teams, mattermost, discord, generic"},
      {"channel", "url", "string", "", "smtp: smtp://host:port or smtps://; pagerduty: the events endpoint"},
      {"channel", "url_env", "string", "", "webhook: environment variable holding the (secret) URL"},
      {"channel", "url_file", "string", "", "webhook: file holding the (secret) URL"},
      {"channel", "from", "string", "", "smtp: sender address"},
      {"channel", "to", "string or array", "", "smtp: recipient address(es)"},
      {"channel", "username", "string", "", "smtp: login name"},
      {"channel", "username_env", "string", "", "smtp: environment variable holding the login name"},
      {"channel", "username_file", "string", "", "smtp: file holding the login name"},
      {"channel", "password_env", "string", "", "smtp: environment variable holding the password"},
      {"channel", "password_file", "string", "", "smtp: file holding the password"},
      {"channel", "routing_key_env", "string", "", "pagerduty: environment variable holding the routing key"},
      {"channel", "routing_key_file", "string", "", "pagerduty: file holding the routing key"},
      {"channel", "argv", "array", "",
       "command: program and arguments; {subject} {id} {severity} {customer} {ref} {level} {key} filled in"},
      {"channel", "dir", "string", "", "file: folder that receives one file per delivery"},
      {"channel", "timeout", "duration", "30s", "how long one delivery attempt may take"},
      {"checklist", "key", "string", "", "the item's name"},
      {"checklist", "question", "string", "", "what `esc check` asks"},
      {"checklist", "kinds", "array", "", "entry kinds that meet it; \"trigger\" means a trigger on the case"},
      {"checklist", "required", "boolean", "true", "whether `esc send` refuses without it"},
      {"redact", "pattern", "string", "", "a regular expression (ECMAScript) to mask in all that leaves"},
      {"redact", "replace", "string", "[redacted]", "what replaces each match"},
  };
  return keys;
}

const std::vector<ChecklistItem>& default_checklist() {
  static const std::vector<ChecklistItem> items{
      {"reason", "Why does this need escalating?", {"trigger"}, true},
      {"facts", "Do you have all the facts?", {"fact", "diagnostic"}, true},
      {"steps", "What have you already tried?", {"step"}, true},
      {"hypothesis", "What do you think is wrong? (a suggestion, not a diagnosis)", {"hypothesis"}, true},
      {"client-told", "Has the client been told why, what happens next, and when to expect news?", {"notice"}, true},
      {"outcome", "What do you want from the next level?", {"outcome"}, false},
      {"impact", "What does it cost the client, and the business?", {"impact"}, false},
      {"heads-up", "Will this surprise the next level, or were they forewarned?", {"heads-up"}, false},
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

std::optional<std::string> read_secret(const std::string& env_name, const std::string& file) {
  if (!env_name.empty()) {
    if (const char* v = std::getenv(env_name.c_str()); v && *v) return std::string(v);
  }
  if (!file.empty()) {
    std::ifstream in(expand_home(file));
    if (in) {
      std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
      if (!s.empty()) return s;
    }
  }
  return std::nullopt;
}

// ---- parsing ---------------------------------------------------------------

namespace {

// Walks the parsed document, filling a Config and collecting every problem
// with its file position.
class Reader {
 public:
  Reader(std::string file, std::vector<ConfigProblem>& problems) : file_(std::move(file)), problems_(problems) {}

  void problem(const toml::value& at, const std::string& message) {
    auto loc = at.location();
    problems_.push_back({file_, loc.line(), loc.column(), message});
  }

  std::optional<std::string> str(const toml::value& v, const std::string& what) {
    if (!v.is_string()) {
      problem(v, fmt::format("{} must be a string", what));
      return std::nullopt;
    }
    return v.as_string().str;
  }

  std::optional<bool> boolean(const toml::value& v, const std::string& what) {
    if (!v.is_boolean()) {
      problem(v, fmt::format("{} must be true or false", what));
      return std::nullopt;
    }
    return v.as_boolean();
  }

  std::optional<Seconds> duration(const toml::value& v, const std::string& what) {
    auto s = str(v, what);
    if (!s) return std::nullopt;
    auto d = parse_duration(*s);
    if (!d) problem(v, fmt::format("{}: \"{}\" is not a duration (like 30m, 4h, 1d)", what, *s));
    return d;
  }

  // A string or an array of strings.
  std::optional<std::vector<std::string>> strings(const toml::value& v, const std::string& what, bool one_ok) {
    if (one_ok && v.is_string()) return std::vector<std::string>{v.as_string().str};
    if (!v.is_array()) {
      problem(v,
              fmt::format("{} must be {}", what, one_ok ? "a string or an array of strings" : "an array of strings"));
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (const auto& x : v.as_array()) {
      if (!x.is_string()) {
        problem(x, fmt::format("{} must hold strings only", what));
        return std::nullopt;
      }
      out.push_back(x.as_string().str);
    }
    return out;
  }

  const toml::table* table(const toml::value& v, const std::string& what) {
    if (!v.is_table()) {
      problem(v, fmt::format("{} must be a table", what));
      return nullptr;
    }
    return &v.as_table();
  }

  // Array of tables, e.g. [[path]].
  std::vector<const toml::value*> table_array(const toml::value& v, const std::string& what) {
    std::vector<const toml::value*> out;
    if (!v.is_array()) {
      problem(v, fmt::format("{} must be written as [[{}]] tables", what, what));
      return out;
    }
    for (const auto& x : v.as_array()) {
      if (!x.is_table())
        problem(x, fmt::format("each {} must be a table", what));
      else
        out.push_back(&x);
    }
    return out;
  }

  void unknown_keys(const toml::table& t, const std::string& table_name, const std::set<std::string>& extra = {}) {
    std::set<std::string> known = extra;
    for (const auto& k : config_keys())
      if (k.table == table_name) known.insert(k.name);
    for (const auto& [k, v] : t)
      if (!known.count(k))
        problem(v, table_name.empty() ? fmt::format("unknown key \"{}\"", k)
                                      : fmt::format("{}: unknown key \"{}\"", table_name, k));
  }

 private:
  std::string file_;
  std::vector<ConfigProblem>& problems_;
};

std::string first_line(const std::string& s) {
  // toml11's message spans lines; the first one that says something is kept.
  std::string line;
  for (size_t start = 0; start < s.size() && trim(line).empty();) {
    size_t end = s.find('\n', start);
    line = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
    start = end == std::string::npos ? s.size() : end + 1;
  }
  line = trim(line);
  if (line.starts_with("[error] ")) line = line.substr(8);
  if (line.starts_with("toml::")) {
    auto colon = line.find(": ");
    if (colon != std::string::npos) line = line.substr(colon + 2);
  }
  return line.empty() ? std::string("not valid TOML") : line;
}

// Severity table keys, checked once severities are known.
struct Deferred {
  const toml::value* at;
  std::string key;
};

}  // namespace

namespace {

// Line and column (1-based, in characters) of the first byte that does not
// start a valid UTF-8 character.
std::optional<std::pair<std::size_t, std::size_t>> first_invalid_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::nullopt;
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < text.size();) {
    std::size_t n = 1;
    while (n <= 4 && !is_valid_utf8(text.substr(i, n))) ++n;
    if (n > 4) return std::pair{line, column};
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += n;
  }
  return std::pair{line, column};
}

}  // namespace

Config parse_config(const std::filesystem::path& file, std::vector<ConfigProblem>& problems) {
  Config cfg = default_config();
  cfg.source = file;
  const std::string name = file.string();
  toml::value doc;
  try {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec)) {
      problems.push_back({name, 0, 0, "is not a regular file"});
      return cfg;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      problems.push_back({name, 0, 0, "cannot be read"});
      return cfg;
    }
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    // TOML is UTF-8; toml11 reads past the end of some invalid sequences.
    if (auto bad = first_invalid_utf8(text)) {
      problems.push_back({name, static_cast<unsigned>(bad->first), static_cast<unsigned>(bad->second),
                          "is not valid UTF-8 here (a TOML file must be)"});
      return cfg;
    }
    std::istringstream stream(text);
    doc = toml::parse(stream, name);
  } catch (const toml::syntax_error& e) {
    problems.push_back({name, e.location().line(), e.location().column(), first_line(e.what())});
    return cfg;
  } catch (const std::exception& e) {
    problems.push_back({name, 0, 0, first_line(e.what())});
    return cfg;
  }
  Reader r(name, problems);
  if (!doc.is_table()) return cfg;
  const auto& top = doc.as_table();
  r.unknown_keys(top, "",
                 {"engineer", "database", "case", "privacy", "outbox", "path", "routing", "deadlines", "channel",
                  "checklist", "redact"});

  auto each = [&](const char* tname, auto&& fn) {
    auto it = top.find(tname);
    if (it == top.end()) return;
    if (auto* t = r.table(it->second, tname)) {
      r.unknown_keys(*t, tname, {});
      for (const auto& [k, v] : *t) fn(k, v);
    }
  };

  each("engineer", [&](const std::string& k, const toml::value& v) {
    if (k == "name") {
      if (auto s = r.str(v, "engineer.name")) cfg.engineer_name = *s, cfg.engineer_name_set = true;
    } else if (k == "email") {
      if (auto s = r.str(v, "engineer.email")) cfg.engineer_email = *s;
    }
  });
  each("database", [&](const std::string& k, const toml::value& v) {
    if (k == "path")
      if (auto s = r.str(v, "database.path")) cfg.database_path = *s;
  });
  each("case", [&](const std::string& k, const toml::value& v) {
    if (k == "severities") {
      if (auto s = r.strings(v, "case.severities", false)) {
        if (s->empty())
          r.problem(v, "case.severities must name at least one severity");
        else
          cfg.severities = *s;
      }
    } else if (k == "triggers") {
      if (auto s = r.strings(v, "case.triggers", false)) cfg.triggers = *s;
    }
  });
  if (auto it = top.find("case"); it != top.end() && it->second.is_table()) {
    auto& t = it->second.as_table();
    if (auto d = t.find("default_severity"); d != t.end()) {
      if (auto s = r.str(d->second, "case.default_severity")) {
        if (!cfg.is_severity(*s))
          r.problem(d->second, fmt::format("case.default_severity: \"{}\" is not a severity (expected {})", *s,
                                           quoted_list(cfg.severities)));
        else
          cfg.default_severity = *s;
      }
    } else if (!cfg.is_severity(cfg.default_severity)) {
      cfg.default_severity = cfg.severities.back();
    }
  }
  each("privacy", [&](const std::string& k, const toml::value& v) {
    if (k == "mask_card_numbers")
      if (auto b = r.boolean(v, "privacy.mask_card_numbers")) cfg.redact_card_numbers = *b;
  });
  each("outbox", [&](const std::string& k, const toml::value& v) {
    if (k == "retry_base") {
      if (auto d = r.duration(v, "outbox.retry_base")) cfg.retry_base = *d;
    } else if (k == "retry_max") {
      if (auto d = r.duration(v, "outbox.retry_max")) cfg.retry_max = *d;
    }
  });

  // Channels first: paths refer to them.
  std::vector<const toml::value*> channel_at;
  if (auto it = top.find("channel"); it != top.end()) {
    cfg.channels.clear();
    for (const auto* tv : r.table_array(it->second, "channel")) {
      const auto& t = tv->as_table();
      r.unknown_keys(t, "channel");
      ChannelConfig ch;
      auto get = [&](const char* key, std::string& out) {
        if (auto f = t.find(key); f != t.end())
          if (auto s = r.str(f->second, fmt::format("channel.{}", key))) out = *s;
      };
      get("name", ch.name);
      const std::string label = ch.name.empty() ? std::string("channel") : fmt::format("channel \"{}\"", ch.name);
      get("type", ch.type);
      get("format", ch.format);
      get("url", ch.url);
      get("url_env", ch.url_env);
      get("url_file", ch.url_file);
      get("from", ch.from);
      get("username", ch.username);
      get("username_env", ch.username_env);
      get("username_file", ch.username_file);
      get("password_env", ch.password_env);
      get("password_file", ch.password_file);
      get("routing_key_env", ch.routing_key_env);
      get("routing_key_file", ch.routing_key_file);
      get("dir", ch.dir);
      if (auto f = t.find("to"); f != t.end())
        if (auto s = r.strings(f->second, label + ": to", true)) ch.to = *s;
      if (auto f = t.find("argv"); f != t.end())
        if (auto s = r.strings(f->second, label + ": argv", false)) ch.argv = *s;
      if (auto f = t.find("timeout"); f != t.end())
        if (auto d = r.duration(f->second, label + ": timeout")) ch.timeout = *d;

      auto need = [&](bool ok, const char* what) {
        if (!ok) r.problem(*tv, fmt::format("{}: {} is required for type \"{}\"", label, what, ch.type));
      };
      if (ch.name.empty()) r.problem(*tv, "channel: name is required");
      if (ch.type.empty()) {
        r.problem(*tv, fmt::format("{}: type is required (expected {})", label, quoted_list(kChannelTypes)));
      } else if (!contains(kChannelTypes, ch.type)) {
        r.problem(t.at("type"),
                  fmt::format("{}: unknown type \"{}\" (expected {})", label, ch.type, quoted_list(kChannelTypes)));
      } else if (ch.type == "file") {
        need(!ch.dir.empty(), "dir");
      }
      if ((ch.type == "stdout" || ch.type == "file" || ch.type == "command") && !ch.format.empty() &&
          !contains(kDocumentFormats, ch.format))
        r.problem(t.at("format"), fmt::format("{}: unknown format \"{}\" (expected {})", label, ch.format,
                                              quoted_list(kDocumentFormats)));
      if (ch.type == "file" || ch.type == "stdout") {
      } else if (ch.type == "command") {
        need(!ch.argv.empty(), "argv");
      } else if (ch.type == "smtp") {
        need(!ch.url.empty(), "url");
        need(!ch.from.empty(), "from");
        need(!ch.to.empty(), "to");
        if (!ch.url.empty() && !ch.url.starts_with("smtp://") && !ch.url.starts_with("smtps://"))
          r.problem(t.at("url"), fmt::format("{}: url must start with smtp:// or smtps://", label));
      } else if (ch.type == "webhook") {
        if (ch.format.empty()) ch.format = "slack";
        if (!contains(kWebhookFormats, ch.format))
          r.problem(t.at("format"), fmt::format("{}: unknown format \"{}\" (expected {})", label, ch.format,
                                                quoted_list(kWebhookFormats)));
        if (!ch.url.empty())
          r.problem(t.at("url"), fmt::format("{}: a webhook URL is a secret; put it in an environment variable "
                                             "(url_env) or a file (url_file), not in the config",
                                             label));
        else
          need(!ch.url_env.empty() || !ch.url_file.empty(), "url_env or url_file");
      } else if (ch.type == "pagerduty") {
        need(!ch.routing_key_env.empty() || !ch.routing_key_file.empty(), "routing_key_env or routing_key_file");
      }
      if (!ch.name.empty() && cfg.find_channel(ch.name))
        r.problem(*tv, fmt::format("{}: a channel of that name is already defined", label));
      cfg.channels.push_back(std::move(ch));
      channel_at.push_back(tv);
    }
    if (!cfg.find_channel("stdout")) cfg.channels.push_back(stdout_channel());
  }

  if (auto it = top.find("path"); it != top.end()) {
    cfg.paths.clear();
    for (const auto* tv : r.table_array(it->second, "path")) {
      const auto& t = tv->as_table();
      r.unknown_keys(t, "path");
      PathConfig p;
      if (auto f = t.find("name"); f != t.end())
        if (auto s = r.str(f->second, "path.name")) p.name = *s;
      const std::string label = p.name.empty() ? std::string("path") : fmt::format("path \"{}\"", p.name);
      if (p.name.empty()) r.problem(*tv, "path: name is required");
      if (auto f = t.find("channel"); f != t.end()) {
        if (auto s = r.strings(f->second, label + ": channel", true)) {
          p.channels = *s;
          for (const auto& c : p.channels)
            if (!cfg.find_channel(c)) r.problem(f->second, fmt::format("{}: no channel named \"{}\"", label, c));
        }
      } else {
        r.problem(*tv, fmt::format("{}: channel is required", label));
      }
      if (auto f = t.find("ack_within"); f != t.end()) p.ack_within = r.duration(f->second, label + ": ack_within");
      if (auto f = t.find("next"); f != t.end())
        if (auto s = r.str(f->second, label + ": next")) p.next = *s;
      if (auto f = t.find("external"); f != t.end())
        if (auto b = r.boolean(f->second, label + ": external")) p.external = *b;
      if (!p.name.empty() && cfg.find_path(p.name))
        r.problem(*tv, fmt::format("{}: a path of that name is already defined", label));
      cfg.paths.push_back(std::move(p));
    }
    for (size_t i = 0; i < cfg.paths.size(); ++i) {
      const auto& p = cfg.paths[i];
      if (!p.next.empty() && !cfg.find_path(p.next)) {
        const auto& t = r.table_array(it->second, "path")[i]->as_table();
        r.problem(t.at("next"), fmt::format("path \"{}\": next names no path \"{}\"", p.name, p.next));
      }
    }
    if (cfg.paths.empty()) cfg.paths.push_back(PathConfig{"default", {"stdout"}, std::nullopt, "", false});
    cfg.default_path = cfg.paths.front().name;
  }

  if (auto it = top.find("routing"); it != top.end()) {
    if (auto* t = r.table(it->second, "routing")) {
      for (const auto& [k, v] : *t) {
        auto s = r.str(v, fmt::format("routing.{}", k));
        if (!s) continue;
        if (!cfg.find_path(*s)) {
          r.problem(v, fmt::format("routing.{}: no path named \"{}\"", k, *s));
          continue;
        }
        if (k == "default")
          cfg.default_path = *s;
        else if (cfg.is_severity(k))
          cfg.route_by_severity[k] = *s;
        else
          r.problem(v, fmt::format("routing: \"{}\" is neither default nor a severity (expected {})", k,
                                   quoted_list(cfg.severities)));
      }
    }
  }

  if (auto it = top.find("deadlines"); it != top.end()) {
    if (auto* t = r.table(it->second, "deadlines")) {
      for (const auto& [k, v] : *t) {
        auto d = r.duration(v, fmt::format("deadlines.{}", k));
        if (!d) continue;
        if (k == "client_update_every")
          cfg.client_update_every = *d;
        else if (cfg.is_severity(k))
          cfg.deadlines[k] = *d;
        else
          r.problem(v, fmt::format("deadlines: \"{}\" is neither client_update_every nor a severity (expected {})", k,
                                   quoted_list(cfg.severities)));
      }
    }
  }

  if (auto it = top.find("checklist"); it != top.end()) {
    cfg.checklist.clear();
    std::set<std::string> seen;
    for (const auto* tv : r.table_array(it->second, "checklist")) {
      const auto& t = tv->as_table();
      r.unknown_keys(t, "checklist");
      ChecklistItem item;
      if (auto f = t.find("key"); f != t.end())
        if (auto s = r.str(f->second, "checklist.key")) item.key = *s;
      const std::string label = fmt::format("checklist item \"{}\"", item.key);
      if (item.key.empty())
        r.problem(*tv, "checklist: key is required");
      else if (!seen.insert(item.key).second)
        r.problem(*tv, label + ": defined twice");
      if (auto f = t.find("question"); f != t.end())
        if (auto s = r.str(f->second, label + ": question")) item.question = *s;
      if (item.question.empty()) r.problem(*tv, label + ": question is required");
      if (auto f = t.find("kinds"); f != t.end()) {
        if (auto s = r.strings(f->second, label + ": kinds", true)) {
          item.kinds = *s;
          for (const auto& k : item.kinds)
            if (k != "trigger" && !is_user_kind(k))
              r.problem(f->second, fmt::format("{}: unknown entry kind \"{}\" (expected trigger or one of {})", label,
                                               k, quoted_list(user_entry_kinds())));
        }
      }
      if (item.kinds.empty()) r.problem(*tv, label + ": kinds is required");
      if (auto f = t.find("required"); f != t.end())
        if (auto b = r.boolean(f->second, label + ": required")) item.required = *b;
      cfg.checklist.push_back(std::move(item));
    }
  }

  if (auto it = top.find("redact"); it != top.end()) {
    for (const auto* tv : r.table_array(it->second, "redact")) {
      const auto& t = tv->as_table();
      r.unknown_keys(t, "redact");
      RedactRule rule{"", "[redacted]"};
      if (auto f = t.find("pattern"); f != t.end()) {
        if (auto s = r.str(f->second, "redact.pattern")) {
          rule.pattern = *s;
          try {
            std::regex re(rule.pattern);
          } catch (const std::regex_error& e) {
            r.problem(f->second, fmt::format("redact: pattern is not a valid regular expression ({})", e.what()));
          }
        }
      } else {
        r.problem(*tv, "redact: pattern is required");
      }
      if (auto f = t.find("replace"); f != t.end())
        if (auto s = r.str(f->second, "redact.replace")) rule.replace = *s;
      if (!rule.pattern.empty()) cfg.redact.push_back(std::move(rule));
    }
  }

  std::stable_sort(problems.begin(), problems.end(), [](const auto& a, const auto& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  return cfg;
}

Config load_config(const std::string& flag) {
  auto path = config_path(flag);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (config_path_explicit(flag))
      throw not_found(fmt::format("no config file at {}", path.string()),
                      "run `esc init` to write one, or check --config / $ESC_CONFIG");
    return default_config();
  }
  std::vector<ConfigProblem> problems;
  Config cfg = parse_config(path, problems);
  if (!problems.empty()) {
    std::string hint = problems.size() > 1
                           ? fmt::format("{} more problem(s): run `esc config check`", problems.size() - 1)
                           : "run `esc config check` after fixing it";
    throw config_error(problems.front().str(), hint);
  }
  return cfg;
}

}  // namespace esc
