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

// A JSON value as esc prints it: two-space indents, invalid UTF-8 replaced,
// and the control characters JSON lets through raw (DEL, C1, bidirectional
// overrides) escaped, so that no output format can drive a terminal.
std::string dumped(const nlohmann::json& j);

// Text for an entry: "-" or no words and stdin not a terminal read stdin;
// no words on a terminal open $VISUAL/$EDITOR. Throws usage when empty.
std::string entry_text(Context& ctx, const std::vector<std::string>& words, const std::string& what);
std::string read_all(std::istream& in);
std::string edit_in_editor(const std::string& template_text);

// Asks on the terminal, with line editing and history (libedit); nullopt
// at end of input (Ctrl-D) or on Ctrl-C.
std::optional<std::string> ask(const std::string& prompt);

// A case's external reference as given with --ref: one line, not read as
// a case number or a ref: prefix; a bare number is taken with a warning
// (it becomes ambiguous once a case has that number).
std::string checked_ref(Context& ctx, const std::string& ref);

// The exit status after delivering: a delivery failed for good waits for
// a person to fix its channel (78), and says so before any deferral does;
// one still queued will go by itself (75); else 0.
int deliveries_exit(bool failed_for_good, bool still_queued);

// Validation of values that the config defines.
std::string checked_severity(Context& ctx, const std::string& s);
void check_triggers(Context& ctx, const std::vector<std::string>& triggers);

// A point in time typed by the engineer, in the local zone: "2026-12-01
// 10:00", "10:00" (today), "yesterday 14:00", RFC 3339, or a duration ago
// ("30m", "2h"). Throws a usage Error naming `flag`.
Time parse_at(const std::string& text, Time now, const std::string& flag);

// The "--format" option with its allowed values.
CLI::Option* add_format(CLI::App* cmd, std::string& target, const std::vector<std::string>& allowed);
// A whole-number option, said so when it is not one.
CLI::Option* add_number(CLI::App* cmd, const std::string& name, int& target, const std::string& description);

}  // namespace esc::cli
