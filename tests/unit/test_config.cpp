#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "esc/config.hpp"
#include "esc/model.hpp"

using namespace esc;
namespace fs = std::filesystem;

namespace {

struct ConfigFile {
  fs::path path = fs::temp_directory_path() / ("esc-config-" + new_uuid() + ".toml");
  explicit ConfigFile(const std::string& text) { std::ofstream(path) << text; }
  ~ConfigFile() { fs::remove(path); }
};

std::vector<ConfigProblem> problems_of(const std::string& text) {
  ConfigFile f(text);
  std::vector<ConfigProblem> p;
  parse_config(f.path, p);
  return p;
}

std::string only_problem(const std::string& text) {
  auto p = problems_of(text);
  REQUIRE(p.size() == 1);
  auto s = p[0].str();
  return s.substr(s.find(".toml:") + 6);  // line:column: message
}

}  // namespace

TEST_CASE("defaults: one path to stdout and the spec's checklist") {
  Config c = default_config();
  REQUIRE(c.paths.size() == 1);
  CHECK(c.route("high").name == "default");
  CHECK(c.route("high").channels == std::vector<std::string>{"stdout"});
  REQUIRE(c.checklist.size() == 8);
  CHECK(c.checklist[0].key == "reason");
  CHECK(c.checklist[4].key == "client-told");
  CHECK(c.checklist[4].required);
  CHECK_FALSE(c.checklist[5].required);
}

TEST_CASE("a full config parses") {
  ConfigFile f(R"(
[engineer]
name = "Dana Reyes"
email = "dana@example.com"

[[path]]
name = "tier2"
channel = "tier2-chat"
ack_within = "4h"
next = "engineering"

[[path]]
name = "engineering"
channel = ["eng-mail", "archive"]

[routing]
default = "tier2"
critical = "engineering"

[deadlines]
critical = "1h"
client_update_every = "12h"

[[channel]]
name = "tier2-chat"
type = "webhook"
url_env = "ESC_TIER2_WEBHOOK"
format = "slack"

[[channel]]
name = "eng-mail"
type = "smtp"
url = "smtp://mail.example.com:587"
from = "support@example.com"
to = ["eng@example.com"]

[[channel]]
name = "archive"
type = "file"
dir = "~/escalations"

[[redact]]
pattern = '\bACCT-\d+\b'
replace = "[account]"
)");
  std::vector<ConfigProblem> p;
  Config c = parse_config(f.path, p);
  CHECK(p.empty());
  CHECK(c.engineer_name == "Dana Reyes");
  CHECK(c.route("critical").name == "engineering");
  CHECK(c.route("low").name == "tier2");
  CHECK(c.find_path("tier2")->ack_within == Seconds{4 * 3600});
  CHECK(c.deadline("critical") == Seconds{3600});
  CHECK(c.deadline("low") == Seconds{3 * 86400});  // defaults stay for severities not named
  CHECK(c.client_update_every == Seconds{12 * 3600});
  CHECK(c.find_channel("eng-mail")->to.size() == 1);
  CHECK(c.find_channel("stdout"));  // always there
  CHECK(c.redact.size() == 1);
}

TEST_CASE("errors say where, with line and column") {
  CHECK(only_problem("[engineer]\nnmae = \"x\"\n") == "2:8: engineer: unknown key \"nmae\"");
  CHECK(only_problem("[[channel]]\nname = \"chat\"\ntype = \"webhook\"\nurl_env = \"X\"\nformat = \"slak\"\n") ==
        "5:10: channel \"chat\": unknown format \"slak\" (expected slack, teams, mattermost, discord, generic)");
  CHECK(only_problem("[deadlines]\nhigh = \"soon\"\n") ==
        "2:8: deadlines.high: \"soon\" is not a duration (like 30m, 4h, 1d)");
  CHECK(only_problem("[engineer]\nname = 42\n") == "2:8: engineer.name must be a string");
  CHECK(only_problem("[[path]]\nname = \"p\"\nchannel = \"nope\"\n") == "3:11: path \"p\": no channel named \"nope\"");
}

TEST_CASE("syntax errors carry a position") {
  auto p = problems_of("[engineer\nname = \"x\"\n");
  REQUIRE_FALSE(p.empty());
  CHECK(p[0].line == 1);
}

TEST_CASE("every syntax error has a message (found by fuzz_config)") {
  auto p = problems_of("[engineer]\nname = \"Dana\"\n[[path]]\nname = \"t\"\nchannel =nes]\nhigh = \"4h\"\n");
  REQUIRE_FALSE(p.empty());
  for (const auto& x : p) CHECK_FALSE(x.message.empty());
}

TEST_CASE("a file that is not valid UTF-8 is refused with the place (toml11 overflowed; found by fuzz_config)") {
  CHECK(only_problem("[engineer]\nname = \"Dana\"\n[[redact]]\npattern = 'ab\xd6{4}'\n") ==
        "4:14: is not valid UTF-8 here (a TOML file must be)");
  CHECK(only_problem("# caf\xc3\xa9 \xff\n") == "1:8: is not valid UTF-8 here (a TOML file must be)");
  CHECK(problems_of("# caf\xc3\xa9 \xe6\x9d\xb1\n[engineer]\nname = \"D\xc3\xa1na\"\n").empty());
}

TEST_CASE("a redact pattern that does not compile, or matches the empty string, is an error") {
  CHECK(only_problem("[[redact]]\npattern = 'ab('\n")
            .find("2:11: redact: pattern cannot be used: it is not a valid "
                  "regular expression (") == 0);
  CHECK(only_problem("[[redact]]\npattern = 'x*'\n") ==
        "2:11: redact: pattern cannot be used: it matches the empty string, so its replacement would go between every "
        "two characters");
  CHECK(problems_of("[[redact]]\npattern = 'x+'\n").empty());
}

TEST_CASE("a checklist naming an unknown entry kind is an error") {
  auto s = only_problem("[[checklist]]\nkey = \"x\"\nquestion = \"?\"\nkinds = [\"facts\"]\n");
  CHECK(s.find("unknown entry kind \"facts\"") != std::string::npos);
}

TEST_CASE("a webhook URL in the config itself is refused") {
  auto s = only_problem("[[channel]]\nname = \"c\"\ntype = \"webhook\"\nurl = \"https://hooks.example/T0/secret\"\n");
  CHECK(s.find("secret") != std::string::npos);
  CHECK(s.find("hooks.example") == std::string::npos);
}

TEST_CASE("esc.toml.example passes and documents every key of the key table") {
  const fs::path example = fs::path(ESC_SOURCE_DIR) / "esc.toml.example";
  std::vector<ConfigProblem> p;
  parse_config(example, p);
  for (const auto& x : p) FAIL_CHECK(x.str());
  std::ifstream in(example);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(example_config() == text);
  for (const auto& k : config_keys()) {
    if (k.name.starts_with("<")) continue;
    INFO(k.table << "." << k.name);
    CHECK(text.find(k.name + " = ") != std::string::npos);
    CHECK(text.find("[" + k.table + "]") != std::string::npos);
  }
}
