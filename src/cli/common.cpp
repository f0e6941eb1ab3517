#include "common.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

std::string dumped(const nlohmann::json& j) { return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace); }

void print_json(const nlohmann::json& j) { std::cout << dumped(j) << '\n'; }

void JsonArrayPrinter::add(const nlohmann::json& element) {
  const std::string text = dumped(element);
  const std::string indent(2 * static_cast<size_t>(depth_ + 1), ' ');
  std::string indented = (empty_ ? "[\n" : ",\n") + indent;
  for (char ch : text) {
    indented += ch;
    if (ch == '\n') indented += indent;
  }
  std::cout << indented;
  empty_ = false;
}

JsonArrayPrinter::~JsonArrayPrinter() {
  std::cout << (empty_ ? "[]" : "\n" + std::string(2 * static_cast<size_t>(depth_), ' ') + "]") << (depth_ ? "" : "\n");
}

std::string read_all(std::istream& in) {
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string edit_in_editor(const std::string& template_text) {
  const char* editor = std::getenv("VISUAL");
  if (!editor || !*editor) editor = std::getenv("EDITOR");
  if (!editor || !*editor)
    throw usage_error("no text given and neither $VISUAL nor $EDITOR is set",
                      "give the text as arguments, or `-` to read it from standard input");
  char path[] = "/tmp/esc-entry-XXXXXX.txt";
  int fd = ::mkstemps(path, 4);
  if (fd < 0) throw io_error("cannot create a temporary file for the editor");
  {
    std::ofstream f(path);
    f << template_text;
  }
  ::close(fd);
  pid_t pid = ::fork();
  if (pid == 0) {
    // The editor variable may carry arguments ("code --wait"): let sh split it.
    ::execl("/bin/sh", "sh", "-c", (std::string(editor) + " \"$1\"").c_str(), "sh", path, static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream in(path);
  std::string text = read_all(in);
  std::filesystem::remove(path);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw usage_error(fmt::format("the editor ({}) failed; nothing was recorded", editor));
  // Drop the comment lines of the template.
  std::string out;
  for (const auto& line : split_lines(text))
    if (!line.starts_with("#")) out += line + "\n";
  return out;
}

std::string entry_text(Context& ctx, const std::vector<std::string>& words, const std::string& what) {
  std::string text;
  if (words.size() == 1 && words[0] == "-") {
    text = read_all(std::cin);
  } else if (!words.empty()) {
    text = join(words, " ");
  } else if (ctx.out().stdin_is_tty()) {
    text = edit_in_editor(fmt::format("\n# Write the {} above. Lines starting with # are ignored.\n", what));
  } else {
    text = read_all(std::cin);
  }
  text = checked_text(text, "the text");
  if (trim(text).empty()) throw usage_error(fmt::format("the {} is empty; nothing was recorded", what));
  return text;
}

std::optional<std::string> ask(const std::string& question) {
  std::cerr << question << "\n> " << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) {
    std::cerr << '\n';
    return std::nullopt;
  }
  return line;
}

std::string checked_severity(Context& ctx, const std::string& s) {
  const auto& cfg = ctx.config();
  if (s.empty()) return cfg.default_severity;
  if (!cfg.is_severity(s))
    throw usage_error(fmt::format("unknown severity \"{}\"", s),
                      fmt::format("expected one of: {}", join(cfg.severities, ", ")));
  return s;
}

void check_triggers(Context& ctx, const std::vector<std::string>& triggers) {
  const auto& cfg = ctx.config();
  for (const auto& t : triggers)
    if (!cfg.is_trigger(t))
      throw usage_error(fmt::format("unknown trigger \"{}\"", t),
                        fmt::format("expected one of: {}", join(cfg.triggers, ", ")));
}

void add_entry(Context& ctx, Case& c, const std::string& kind, const std::string& text, const std::string& state,
               std::optional<Time> at) {
  Entry e;
  e.uuid = new_uuid();
  e.case_id = c.id;
  e.kind = kind;
  e.text = text;
  e.state = state;
  e.at = at.value_or(ctx.now());
  e.author = ctx.engineer();
  ctx.store().insert_entry(e);
  c.updated_at = std::max(c.updated_at, ctx.now());
  ctx.store().update_case(c);
}

CLI::Option* add_format(CLI::App* cmd, std::string& target, const std::vector<std::string>& allowed) {
  return cmd->add_option("--format", target, "Output format: " + join(allowed, ", "))
      ->check(CLI::IsMember(allowed))
      ->type_name("FORMAT")
      ->capture_default_str();
}

}  // namespace esc::cli
