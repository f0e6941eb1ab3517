#include "common.hpp"

#include <editline/readline.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

std::string dumped(const nlohmann::json& j) {
  std::string s = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  // nlohmann escapes C0 controls; DEL, the C1 controls (U+0080 to U+009F,
  // two bytes from 0xC2) and bidirectional overrides it writes as they are.
  if (is_printable_ascii(s)) return s;
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0;
    const auto third = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0;
    if (c == 0x7f) {
      out += "\\u007f";
    } else if (c == 0xc2 && next >= 0x80 && next <= 0x9f) {
      out += fmt::format("\\u{:04x}", next);
      ++i;
    } else if (c == 0xe2 &&
               ((next == 0x80 && third >= 0xaa && third <= 0xae) || (next == 0x81 && third >= 0xa6 && third <= 0xa9))) {
      out += fmt::format("\\u{:04x}", 0x2000 + ((next & 0x3f) << 6) + (third & 0x3f));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

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

std::optional<std::string> ask(const std::string& prompt) {
  if (!::isatty(STDIN_FILENO)) {
    std::cerr << prompt << std::flush;
    std::string line;
    if (!std::getline(std::cin, line)) return std::nullopt;
    return line;
  }
  // Prompts go to the terminal's error stream: stdout is for data.
  static const bool set_up = [] {
    rl_outstream = stderr;
    using_history();
    return true;
  }();
  (void)set_up;
  char* line = readline(prompt.c_str());
  if (!line) {
    std::cerr << '\n';
    return std::nullopt;
  }
  std::string s(line);
  std::free(line);
  if (!trim(s).empty()) add_history(s.c_str());
  return s;
}

int deliveries_exit(bool failed_for_good, bool still_queued) {
  if (failed_for_good) return static_cast<int>(Exit::config);
  return static_cast<int>(still_queued ? Exit::temp_fail : Exit::ok);
}

std::string checked_ref(Context& ctx, const std::string& ref) {
  std::string r = checked_line(ref, "--ref");
  if (r.starts_with("#") || r.starts_with("ref:"))
    throw usage_error(fmt::format("--ref \"{}\" would read as a case number or a ref: prefix", inert(r)));
  if (!r.empty() && r.find_first_not_of("0123456789") == std::string::npos)
    ctx.out().warn(
        fmt::format("the ref {0} is a bare number: once there is a case #{0}, `{0}` names both and is "
                    "refused as ambiguous; say ref:{0} for this one (or give the ref with its prefix, "
                    "as ZD-{0})",
                    r));
  return r;
}

std::string checked_severity(Context& ctx, const std::string& s) {
  const auto& cfg = ctx.config();
  if (s.empty()) return cfg.default_severity;
  if (!cfg.is_severity(s))
    throw usage_error(fmt::format("unknown severity \"{}\"", inert(s)),
                      fmt::format("expected one of: {}", join(cfg.severities, ", ")));
  return s;
}

void check_triggers(Context& ctx, const std::vector<std::string>& triggers) {
  const auto& cfg = ctx.config();
  for (const auto& t : triggers)
    if (!cfg.is_trigger(t))
      throw usage_error(fmt::format("unknown trigger \"{}\"", inert(t)),
                        fmt::format("expected one of: {}", join(cfg.triggers, ", ")));
}

Time parse_at(const std::string& text, Time now, const std::string& flag) {
  auto t = parse_when(text, now);
  if (!t)
    throw usage_error(fmt::format("{}: \"{}\" is not a time", flag, inert(text)),
                      "use \"2026-12-01 10:00\", \"10:00\", \"yesterday 14:00\" (local time), 2026-12-01T09:30:00Z, "
                      "or 30m, 2h, 1d ago");
  return *t;
}

CLI::Option* add_format(CLI::App* cmd, std::string& target, const std::vector<std::string>& allowed) {
  return cmd->add_option("--format", target, "Output format: " + join(allowed, ", "))
      ->check(CLI::IsMember(allowed))
      ->type_name("FORMAT")
      ->capture_default_str();
}

CLI::Option* add_number(CLI::App* cmd, const std::string& name, int& target, const std::string& description) {
  return cmd->add_option(name, target, description)
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos)
              return fmt::format("expected a whole number, got \"{}\"", inert(v));
            return {};
          },
          "N"))
      ->type_name("N");
}

}  // namespace esc::cli
