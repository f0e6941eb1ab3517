#include "esc/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>
#include <toml.hpp>

#include "esc/error.hpp"
#include "esc/model.hpp"
#include "esc/redact.hpp"
#include "esc/text.hpp"

namespace esc {

namespace {

const std::vector<std::string> kChannelTypes{"stdout", "file",      "command", "smtp",
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

}  // namespace

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
      {"channel", "ca_file", "string", "", "a CA certificate (PEM) to trust besides the system's"},
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
      {"reason", "Why does this need escalating?",
       "Why does this need escalating? Give the number or name of a trigger below.", {"trigger"}, true},
      {"facts", "Do you have all the facts?",
       "What facts and diagnostic results do you have? One per line, an empty line to finish.",
       {"fact", "diagnostic"}, true},
      {"steps", "What have you already tried?",
       "What have you already tried, and what happened? One step per line, an empty line to finish.", {"step"},
       true},
      {"hypothesis", "What do you think is wrong? (a suggestion, not a diagnosis)",
       "What do you think is wrong? It is recorded as unconfirmed: a suggestion, not a diagnosis.", {"hypothesis"},
       true},
      {"client-told", "Has the client been told why, what happens next, and when to expect news?",
       "What did you tell the client: why it is escalated, what happens next, and when they will hear from you?",
       {"notice"}, true},
      {"outcome", "What do you want from the next level?",
       "What do you want from the next level (a fix, a workaround, an answer by a time)?", {"outcome"}, false},
      {"impact", "What does it cost the client, and the business?",
       "What does it cost the client and the business (users affected, money, deadlines)?", {"impact"}, false},
      {"heads-up", "Will this surprise the next level, or were they forewarned?",
       "Who at the next level was forewarned, and how?", {"heads-up"}, false},
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

namespace {
// The file's contents if it can be read, without trailing line ends.
std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(expand_home(path), std::ios::binary);
  if (!in) return std::nullopt;
  std::string s;
  s.resize(64 * 1024);
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(in.gcount()));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

std::optional<std::string> read_secret(const SecretRef& ref) {
  if (!ref.env.empty()) {
    if (const char* v = std::getenv(ref.env.c_str()); v && *v) return std::string(v);
  }
  if (!ref.file.empty())
    if (auto s = read_small_file(ref.file); s && !s->empty()) return s;
  return std::nullopt;
}

std::string secret_problem(const SecretRef& ref, const std::string& what) {
  if (!ref.set()) return {};
  if (!ref.env.empty()) {
    if (const char* v = std::getenv(ref.env.c_str()); v && *v) return {};
    if (ref.file.empty()) return fmt::format("${} is not set (it holds {})", ref.env, what);
  }
  const std::string path = expand_home(ref.file);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fmt::format("{} does not exist (it holds {}){}", ref.file, what,
                       ref.env.empty() ? "" : fmt::format(", and ${} is not set", ref.env));
  auto s = read_small_file(ref.file);
  if (!s) return fmt::format("{} cannot be read (it holds {})", ref.file, what);
  if (s->empty()) return fmt::format("{} is empty (it should hold {})", ref.file, what);
  return {};
}

std::vector<std::string> secret_variables(const Config& cfg) {
  std::vector<std::string> out;
  for (const auto& ch : cfg.channels)
    for (const auto* r : {&ch.url_secret, &ch.username_secret, &ch.password, &ch.routing_key, &ch.token,
                          &ch.api_token, &ch.imap_username_secret, &ch.imap_password})
      if (!r->env.empty()) out.push_back(r->env);
  return out;
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
    problems_.push_back({file_, loc.line(), loc.column(), message, in_channel});
  }
  void warning(const toml::value& at, const std::string& message) {
    auto loc = at.location();
    problems_.push_back({file_, loc.line(), loc.column(), message, in_channel, true});
  }
  // While set, problems concern one channel only (ConfigProblem::channel).
  bool in_channel = false;

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

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;
constexpr int kMaxNesting = 32;

// The file, read once from one open descriptor: a regular file of at most
// kMaxConfigBytes (not a FIFO that never ends, nor /dev/zero).
std::optional<std::string> read_config_file(const std::string& name, std::vector<ConfigProblem>& problems) {
  const int fd = ::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    problems.push_back({name, 0, 0, fmt::format("cannot be read ({})", std::strerror(errno))});
    return std::nullopt;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    problems.push_back({name, 0, 0, "is not a regular file"});
    return std::nullopt;
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxConfigBytes) {
    problems.push_back({name, 0, 0, fmt::format("is larger than {} KiB; a config is a page or two", kMaxConfigBytes >> 10)});
    return std::nullopt;
  }
  std::string text(kMaxConfigBytes + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      problems.push_back({name, 0, 0, fmt::format("cannot be read ({})", std::strerror(errno))});
      return std::nullopt;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxConfigBytes) {
    problems.push_back({name, 0, 0, fmt::format("is larger than {} KiB; a config is a page or two", kMaxConfigBytes >> 10)});
    return std::nullopt;
  }
  text.resize(got);
  return text;
}

// Arrays and inline tables nested deeper than kMaxNesting, found before the
// TOML parser, which recurses once a level, sees them: line and column of
// the first bracket too deep.
std::optional<std::pair<unsigned, unsigned>> too_deep(std::string_view t) {
  int depth = 0;
  unsigned line = 1, column = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const char ch = t[i];
    ++column;
    if (ch == '\n') {
      ++line;
      column = 0;
      continue;
    }
    if (ch == '#') {  // a comment, to the end of the line
      while (i + 1 < t.size() && t[i + 1] != '\n') ++i;
      continue;
    }
    if (ch == '"' || ch == '\'') {
      const bool multi = t.substr(i, 3) == std::string(3, ch);
      const std::string close = multi ? std::string(3, ch) : std::string(1, ch);
      std::size_t j = i + close.size();
      while (j < t.size()) {
        if (ch == '"' && t[j] == '\\') {
          j += 2;
          continue;
        }
        if (!multi && t[j] == '\n') break;
        if (t.substr(j, close.size()) == close) break;
        if (t[j] == '\n') ++line, column = 0;
        ++j;
      }
      column += static_cast<unsigned>(std::min(j + close.size(), t.size()) - i - 1);
      i = std::min(j + close.size(), t.size()) - 1;
      continue;
    }
    if (ch == '[' || ch == '{') {
      if (++depth > kMaxNesting) return std::pair{line, column};
    } else if (ch == ']' || ch == '}') {
      depth = std::max(0, depth - 1);
    }
  }
  return std::nullopt;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1";
}

// A URL in the config: a scheme that belongs to the channel, no
// credentials in it, and https (not http) beyond this machine unless the
// channel allows it. Returns what is wrong, or nothing.
std::string url_problem(const std::string& url, const std::vector<std::string>& schemes, bool allow_http) {
  const auto sep = url.find("://");
  if (sep == std::string::npos)
    return fmt::format("\"{}\" has no scheme (expected {}://...)", url, join(schemes, ":// or "));
  const std::string scheme = lower(url.substr(0, sep));
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
    return fmt::format("the scheme {}:// is not one of {}", scheme, join(schemes, ", "));
  std::string rest = url.substr(sep + 3);
  const auto end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, end);
  if (authority.find('@') != std::string::npos)
    return "credentials in a URL are refused: name a *_env variable or a *_file for them";
  std::string host = authority;
  if (!host.empty() && host.front() == '[')
    host = host.substr(0, host.find(']') + 1);
  else
    host = host.substr(0, host.find(':'));
  if (host.empty()) return "the URL names no host";
  if (scheme == "http" && !allow_http && !is_loopback(host))
    return "plain http:// sends the hand-over unencrypted: use https://, or set allow_http = true";
  return {};
}

}  // namespace

std::string webhook_url_problem(const std::string& url, bool allow_http) {
  return url_problem(url, {"https", "http"}, allow_http);
}

Config parse_config(const std::filesystem::path& file, std::vector<ConfigProblem>& problems) {
  Config cfg = default_config();
  cfg.source = file;
  const std::string name = file.string();
  toml::value doc;
  try {
    auto text = read_config_file(name, problems);
    if (!text) return cfg;
    // TOML is UTF-8; toml11 reads past the end of some invalid sequences.
    if (auto bad = first_invalid_utf8(*text)) {
      problems.push_back({name, static_cast<unsigned>(bad->first), static_cast<unsigned>(bad->second),
                          "is not valid UTF-8 here (a TOML file must be)"});
      return cfg;
    }
    if (auto deep = too_deep(*text)) {
      problems.push_back({name, deep->first, deep->second,
                          fmt::format("arrays or tables nested more than {} deep", kMaxNesting)});
      return cfg;
    }
    std::istringstream stream(*text);
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
      if (auto s = r.str(v, "engineer.name")) {
        if (has_control_chars(*s))
          r.problem(v, "engineer.name holds control characters");
        else
          cfg.engineer_name = *s, cfg.engineer_name_set = true;
      }
    } else if (k == "email") {
      if (auto s = r.str(v, "engineer.email")) {
        if (has_control_chars(*s))
          r.problem(v, "engineer.email holds control characters");
        else
          cfg.engineer_email = *s;
      }
    } else if (k == "serves") {
      if (auto s = r.strings(v, "engineer.serves", true)) cfg.serves = *s;
    }
  });
  each("database", [&](const std::string& k, const toml::value& v) {
    if (k == "path") {
      if (auto s = r.str(v, "database.path")) cfg.database_path = *s;
    } else if (k == "url") {
      if (auto s = r.str(v, "database.url")) {
        if (!s->starts_with("postgresql://") && !s->starts_with("postgres://"))
          r.problem(v, "database.url must be a PostgreSQL URI (postgresql://...)");
        else if (auto at = s->find('@'), colon = s->find(':', 13); at != std::string::npos && colon < at)
          r.problem(v, "database.url holds a password: put it in ~/.pgpass (or PGPASSFILE) instead");
        else
          cfg.database_url = *s;
      }
    } else if (k == "busy_timeout") {
      if (auto d = r.duration(v, "database.busy_timeout")) cfg.busy_timeout = *d;
    }
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


  // Channels first: paths refer to them. A problem in a channel concerns
  // that channel only (ConfigProblem::channel).
  if (auto it = top.find("channel"); it != top.end()) {
    cfg.channels.clear();
    r.in_channel = true;
    for (const auto* tv : r.table_array(it->second, "channel")) {
      const auto& t = tv->as_table();
      const std::size_t problems_before = problems.size();
      r.unknown_keys(t, "channel");
      ChannelConfig ch;
      auto get = [&](const char* key, std::string& out) {
        if (auto f = t.find(key); f != t.end())
          if (auto s = r.str(f->second, fmt::format("channel.{}", key))) {
            if (has_control_chars(*s))
              r.problem(f->second, fmt::format("channel.{} holds control characters", key));
            else
              out = *s;
          }
      };
      auto secret = [&](const char* key, SecretRef& out) {
        get(fmt::format("{}_env", key).c_str(), out.env);
        get(fmt::format("{}_file", key).c_str(), out.file);
      };
      get("name", ch.name);
      const std::string label = ch.name.empty() ? std::string("channel") : fmt::format("channel \"{}\"", ch.name);
      get("type", ch.type);
      get("format", ch.format);
      get("url", ch.url);
      secret("url", ch.url_secret);
      get("from", ch.from);
      get("username", ch.username);
      secret("username", ch.username_secret);
      secret("password", ch.password);
      secret("routing_key", ch.routing_key);
      secret("token", ch.token);
      secret("api_token", ch.api_token);
      get("api_url", ch.api_url);
      get("auth", ch.auth);
      get("project", ch.project);
      get("issue_type", ch.issue_type);
      get("repo", ch.repo);
      get("imap_url", ch.imap_url);
      get("imap_username", ch.imap_username);
      secret("imap_username", ch.imap_username_secret);
      secret("imap_password", ch.imap_password);
      get("dir", ch.dir);
      get("ca_file", ch.ca_file);
      if (auto f = t.find("allow_http"); f != t.end())
        if (auto b = r.boolean(f->second, label + ": allow_http")) ch.allow_http = *b;
      if (auto f = t.find("to"); f != t.end())
        if (auto s = r.strings(f->second, label + ": to", true)) ch.to = *s;
      if (auto f = t.find("labels"); f != t.end())
        if (auto s = r.strings(f->second, label + ": labels", true)) ch.labels = *s;
      if (auto f = t.find("argv"); f != t.end())
        if (auto s = r.strings(f->second, label + ": argv", false)) ch.argv = *s;
      if (auto f = t.find("timeout"); f != t.end())
        if (auto d = r.duration(f->second, label + ": timeout")) ch.timeout = *d;

      auto need = [&](bool ok, const char* what) {
        if (!ok) r.problem(*tv, fmt::format("{}: {} is required for type \"{}\"", label, what, ch.type));
      };
      auto check_url = [&](const std::vector<std::string>& schemes) {
        if (ch.url.empty()) return;
        if (auto why = url_problem(ch.url, schemes, ch.allow_http); !why.empty())
          r.problem(t.at("url"), fmt::format("{}: url: {}", label, why));
      };
      if (ch.name.empty()) r.problem(*tv, "channel: name is required");
      if (ch.type.empty()) {
        r.problem(*tv, fmt::format("{}: type is required (expected {})", label, quoted_list(kChannelTypes)));
      } else if (!contains(kChannelTypes, ch.type)) {
        r.problem(t.at("type"),
                  fmt::format("{}: unknown type \"{}\" (expected {})", label, ch.type, quoted_list(kChannelTypes)));
      }
      if ((ch.type == "stdout" || ch.type == "file" || ch.type == "command") && !ch.format.empty() &&
          !contains(kDocumentFormats, ch.format))
        r.problem(t.at("format"), fmt::format("{}: unknown format \"{}\" (expected {})", label, ch.format,
                                              quoted_list(kDocumentFormats)));
      if (ch.type == "file") {
        need(!ch.dir.empty(), "dir");
      } else if (ch.type == "command") {
        need(!ch.argv.empty(), "argv");
      } else if (ch.type == "smtp") {
        need(!ch.url.empty(), "url");
        need(!ch.to.empty(), "to");
        check_url({"smtp", "smtps"});
        if (!ch.imap_url.empty())
          if (auto why = url_problem(ch.imap_url, {"imap", "imaps"}, ch.allow_http); !why.empty())
            r.problem(t.at("imap_url"), fmt::format("{}: imap_url: {}", label, why));
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
          need(ch.url_secret.set(), "url_env or url_file");
      } else if (ch.type == "pagerduty") {
        need(ch.routing_key.set(), "routing_key_env or routing_key_file");
        check_url({"https", "http"});
        if (!ch.api_url.empty())
          if (auto why = url_problem(ch.api_url, {"https", "http"}, ch.allow_http); !why.empty())
            r.problem(t.at("api_url"), fmt::format("{}: api_url: {}", label, why));
      } else if (ch.type == "jira" || ch.type == "github") {
        const bool jira = ch.type == "jira";
        need(!ch.url.empty() || !jira, "url");
        need(ch.token.set(), "token_env or token_file");
        check_url({"https", "http"});
        if (jira) {
          need(!ch.project.empty(), "project");
          if (ch.auth.empty()) ch.auth = "basic";
          if (ch.auth != "basic" && ch.auth != "bearer")
            r.problem(t.at("auth"), fmt::format("{}: auth must be basic or bearer", label));
          if (ch.auth == "basic") need(!ch.username.empty() || ch.username_secret.set(), "username (the e-mail)");
          if (ch.issue_type.empty()) ch.issue_type = "Task";
        } else {
          if (ch.url.empty()) ch.url = "https://api.github.com";
          if (ch.repo.find('/') == std::string::npos || ch.repo.front() == '/' || ch.repo.back() == '/')
            r.problem(*tv, fmt::format("{}: repo must be owner/name", label));
        }
      }
      if (!ch.ca_file.empty() && !std::filesystem::exists(expand_home(ch.ca_file)))
        r.problem(t.at("ca_file"), fmt::format("{}: ca_file {} does not exist", label, ch.ca_file));
      if (!ch.name.empty() && cfg.find_channel(ch.name))
        r.problem(*tv, fmt::format("{}: a channel of that name is already defined", label));
      if (problems.size() > problems_before)
        cfg.broken_channels.push_back(ch.name);
      else
        cfg.channels.push_back(std::move(ch));
    }
    r.in_channel = false;
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
          r.in_channel = true;
          for (const auto& c : p.channels)
            if (!cfg.find_channel(c)) r.problem(f->second, fmt::format("{}: no channel named \"{}\"", label, c));
          r.in_channel = false;
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
      if (auto f = t.find("prompt"); f != t.end())
        if (auto s = r.str(f->second, label + ": prompt")) item.prompt = *s;
      if (item.prompt.empty()) item.prompt = item.question;
      if (auto f = t.find("kinds"); f != t.end()) {
        if (auto s = r.strings(f->second, label + ": kinds", true)) {
          item.kinds = *s;
          for (const auto& k : item.kinds)
            if (auto kind = parse_entry_kind(k); k != "trigger" && !(kind && is_user_kind(*kind)))
              r.problem(f->second, fmt::format("{}: unknown entry kind \"{}\" (expected trigger or one of {})", label,
                                               k, quoted_list(user_entry_kind_names())));
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
          if (auto why = pattern_problem(rule.pattern); !why.empty())
            r.problem(f->second, fmt::format("redact: pattern is not a valid regular expression ({})", why));
          else if (auto slow = pattern_backtracks(rule.pattern); !slow.empty())
            r.warning(f->second, fmt::format("redact: pattern may backtrack badly ({}); text it cannot finish on "
                                             "within its limits is withheld, never sent unmasked",
                                             slow));
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

std::vector<ConfigProblem> check_secrets(const Config& cfg) {
  std::vector<ConfigProblem> out;
  const std::string file = cfg.source.string();
  for (const auto& ch : cfg.channels) {
    auto check = [&](const SecretRef& ref, const char* what) {
      if (auto why = secret_problem(ref, what); !why.empty())
        out.push_back({file, 0, 0, fmt::format("channel \"{}\": {}", ch.name, why), true});
      if (!ref.file.empty()) {
        struct stat st {};
        if (::stat(expand_home(ref.file).c_str(), &st) == 0 && (st.st_mode & 077))
          out.push_back({file, 0, 0,
                         fmt::format("channel \"{}\": {} can be read by others (chmod 600 {})", ch.name, ref.file,
                                     ref.file),
                         true});
      }
    };
    check(ch.url_secret, "the webhook URL");
    check(ch.username_secret, "the login name");
    check(ch.password, "the password");
    check(ch.routing_key, "the routing key");
    check(ch.token, "the API token");
    check(ch.api_token, "the REST API token");
    check(ch.imap_username_secret, "the mailbox's login name");
    check(ch.imap_password, "the mailbox's password");
    if (ch.type == "webhook")
      if (auto url = read_secret(ch.url_secret))
        if (auto why = webhook_url_problem(*url, ch.allow_http); !why.empty())
          out.push_back({file, 0, 0, fmt::format("channel \"{}\": the webhook URL: {}", ch.name,
                                                 why.find('"') == std::string::npos ? why : "it has no scheme"),
                         true});
  }
  return out;
}

Config load_config(const std::string& flag, bool tolerate_channels, std::vector<ConfigProblem>* warnings) {
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
  std::erase_if(problems, [](const ConfigProblem& p) { return p.warning; });
  if (problems.empty()) return cfg;
  const bool only_channels =
      std::all_of(problems.begin(), problems.end(), [](const ConfigProblem& p) { return p.channel; });
  if (tolerate_channels && only_channels) {
    // The broken channels are left out (parse_config kept them out), and so
    // are the paths' references to them.
    for (auto& p : cfg.paths)
      std::erase_if(p.channels, [&](const std::string& c) { return !cfg.find_channel(c); });
    if (warnings) *warnings = problems;
    return cfg;
  }
  std::string hint = problems.size() > 1 ? fmt::format("{} more problem(s): run `esc config check`", problems.size() - 1)
                                         : "run `esc config check` after fixing it";
  throw config_error(problems.front().str(), hint);
}

}  // namespace esc
