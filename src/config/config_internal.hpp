#pragma once

// What the config's files share: the walk over a parsed document, and the
// rules for channels' URLs. toml11 is seen in src/config/ only.

#include <fmt/format.h>

#include <optional>
#include <set>
#include <string>
#include <toml.hpp>
#include <vector>

#include "esc/config.hpp"

namespace esc::config_detail {

extern const std::vector<std::string> kChannelTypes, kDocumentFormats, kWebhookFormats;
bool contains(const std::vector<std::string>& v, std::string_view s);
std::string quoted_list(const std::vector<std::string>& v);
ChannelConfig stdout_channel();

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

  std::vector<ConfigProblem>& problems() { return problems_; }

 private:
  std::string file_;
  std::vector<ConfigProblem>& problems_;
};

// The [[channel]] tables of the document (config_channels.cpp).
void parse_channels(Reader& r, const toml::table& top, Config& cfg);

}  // namespace esc::config_detail
