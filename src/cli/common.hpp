#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"

namespace esc::cli {

// One JSON document on stdout.
void print_json(const nlohmann::json& j);

// A JSON array on stdout exactly as print_json() prints one, written an
// element at a time: a long list is never whole in memory.
class JsonArrayPrinter {
 public:
  // depth: how deep in the printed document the array sits (0: it is all of it).
  explicit JsonArrayPrinter(int depth = 0) : depth_(depth) {}
  JsonArrayPrinter(const JsonArrayPrinter&) = delete;
  JsonArrayPrinter& operator=(const JsonArrayPrinter&) = delete;
  ~JsonArrayPrinter();  // closes the array
  void add(const nlohmann::json& element);

 private:
  bool empty_ = true;
  int depth_ = 0;
};

// A JSON value as esc prints it: two-space indents, invalid UTF-8 replaced.
std::string dumped(const nlohmann::json& j);

// Text for an entry: "-" or no words and stdin not a terminal read stdin;
// no words on a terminal open $VISUAL/$EDITOR. Throws usage when empty.
std::string entry_text(Context& ctx, const std::vector<std::string>& words, const std::string& what);
std::string read_all(std::istream& in);
std::string edit_in_editor(const std::string& template_text);

// Asks on stderr and reads one line from stdin; nullopt at end of input.
std::optional<std::string> ask(const std::string& question);

// Validation of values that the config defines.
std::string checked_severity(Context& ctx, const std::string& s);
void check_triggers(Context& ctx, const std::vector<std::string>& triggers);

// Adds `e` to the case and bumps its updated_at, in the caller's transaction.
void add_entry(Context& ctx, Case& c, const std::string& kind, const std::string& text, const std::string& state = {},
               std::optional<Time> at = std::nullopt);

// The "--format" option with its allowed values.
CLI::Option* add_format(CLI::App* cmd, std::string& target, const std::vector<std::string>& allowed);

}  // namespace esc::cli
