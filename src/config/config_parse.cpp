// Reading the file (once, bounded), parsing it, and loading the config in
// effect.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "config_internal.hpp"
#include "esc/error.hpp"
#include "esc/model.hpp"
#include "esc/redact.hpp"
#include "esc/text.hpp"
#include "esc/uri.hpp"

namespace esc {

using namespace config_detail;

namespace {

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
    problems.push_back(
        {name, 0, 0, fmt::format("is larger than {} KiB; a config is a page or two", kMaxConfigBytes >> 10)});
    return std::nullopt;
  }
  // Sized by fstat; a file that grows while it is read is read on, up to one
  // byte past the limit.
  std::string text;
  std::size_t got = 0;
  for (;;) {
    if (got == text.size()) {
      if (got > kMaxConfigBytes) break;
      text.resize(std::min(kMaxConfigBytes + 1, std::max(2 * got, static_cast<std::size_t>(st.st_size) + 1)));
    }
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
    problems.push_back(
        {name, 0, 0, fmt::format("is larger than {} KiB; a config is a page or two", kMaxConfigBytes >> 10)});
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

}  // namespace

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
      problems.push_back(
          {name, deep->first, deep->second, fmt::format("arrays or tables nested more than {} deep", kMaxNesting)});
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
        else if (uri_has_password(*s))
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

  // Channels first: paths refer to them.
  parse_channels(r, top, cfg);

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
            r.problem(f->second, fmt::format("redact: pattern cannot be used: {}", why));
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

LoadedConfig read_config(const std::string& flag) {
  auto path = config_path(flag);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (config_path_explicit(flag))
      throw not_found(fmt::format("no config file at {}", path.string()),
                      "run `esc init` to write one, or check --config / $ESC_CONFIG");
    return {default_config(), {}};
  }
  LoadedConfig loaded;
  loaded.config = parse_config(path, loaded.problems);
  std::erase_if(loaded.problems, [](const ConfigProblem& p) { return p.warning; });
  return loaded;
}

Config usable_config(const LoadedConfig& loaded, bool tolerate_channels, std::vector<ConfigProblem>* warnings) {
  const auto& problems = loaded.problems;
  Config cfg = loaded.config;
  if (problems.empty()) return cfg;
  const bool only_channels =
      std::all_of(problems.begin(), problems.end(), [](const ConfigProblem& p) { return p.channel; });
  if (tolerate_channels && only_channels) {
    // The broken channels are left out (parse_config kept them out), and so
    // are the paths' references to them.
    for (auto& p : cfg.paths) std::erase_if(p.channels, [&](const std::string& c) { return !cfg.find_channel(c); });
    if (warnings) *warnings = problems;
    return cfg;
  }
  std::string hint = problems.size() > 1
                         ? fmt::format("{} more problem(s): run `esc config check`", problems.size() - 1)
                         : "run `esc config check` after fixing it";
  throw config_error(problems.front().str(), hint);
}

}  // namespace esc
