#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "../../src/config/config_cache.hpp"
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

// ---- the parsed config kept between runs (src/config/config_cache.cpp) ----

namespace {

// Every key of the key table, each with a value other than its default.
const char* kEveryKey = R"(
[engineer]
name = "Dana Reyes"
email = "dana@example.com"

[database]
path = "~/cases/esc.db"

[case]
severities = ["sev1", "sev2", "sev3"]
default_severity = "sev2"
triggers = ["vip", "outage"]

[privacy]
mask_card_numbers = false

[outbox]
retry_base = "2m"
retry_max = "3h"

[[path]]
name = "tier2"
channel = "chat"
ack_within = "45m"
next = "vendor"

[[path]]
name = "vendor"
channel = ["mail", "pager", "run", "keep"]
external = true

[routing]
default = "tier2"
sev1 = "vendor"

[deadlines]
sev1 = "20m"
sev3 = "5d"
client_update_every = "8h"

[[channel]]
name = "chat"
type = "webhook"
format = "teams"
url_file = "~/.secrets/chat-url"
timeout = "9s"

[[channel]]
name = "chat2"
type = "webhook"
url_env = "CHAT2_URL"

[[channel]]
name = "mail"
type = "smtp"
url = "smtp://mail.example.com:587"
from = "support@example.com"
to = ["eng@example.com", "lead@example.com"]
username = "support"
password_env = "SMTP_PASSWORD"

[[channel]]
name = "mail2"
type = "smtp"
url = "smtps://mail.example.com"
from = "support@example.com"
to = "eng@example.com"
username_env = "SMTP_USER"
password_file = "~/.secrets/smtp"

[[channel]]
name = "mail3"
type = "smtp"
url = "smtp://localhost:25"
from = "a@example.com"
to = "b@example.com"
username_file = "~/.secrets/smtp-user"

[[channel]]
name = "pager"
type = "pagerduty"
url = "https://events.example.com/v2/enqueue"
routing_key_env = "PD_KEY"

[[channel]]
name = "pager2"
type = "pagerduty"
routing_key_file = "~/.secrets/pd"

[[channel]]
name = "run"
type = "command"
argv = ["notify", "{subject}", "--id", "{id}"]

[[channel]]
name = "keep"
type = "file"
dir = "~/escalations"

[[checklist]]
key = "facts"
question = "All the facts?"
kinds = ["fact", "diagnostic"]

[[checklist]]
key = "reason"
question = "Why now?"
kinds = ["trigger"]
required = false

[[redact]]
pattern = '\bACCT-\d+\b'
replace = "[account]"

[[redact]]
pattern = 'secret'
)";

struct CacheHome {
  fs::path dir = fs::temp_directory_path() / ("esc-cache-" + new_uuid());
  std::string old = std::getenv("XDG_CACHE_HOME") ? std::getenv("XDG_CACHE_HOME") : "";
  CacheHome() { setenv("XDG_CACHE_HOME", dir.c_str(), 1); }
  ~CacheHome() {
    if (old.empty())
      unsetenv("XDG_CACHE_HOME");
    else
      setenv("XDG_CACHE_HOME", old.c_str(), 1);
    fs::remove_all(dir);
  }
  fs::path file() const { return dir / "esc" / "config.cache"; }
};

}  // namespace

TEST_CASE("a config kept in the cache comes back the same, every key of the key table with it") {
  ConfigFile f(kEveryKey);
  std::vector<ConfigProblem> p;
  const Config c = parse_config(f.path, p);
  for (const auto& x : p) FAIL_CHECK(x.str());
  // The text above sets every key the config has (so a new key must be added
  // here, and then to the cache, or this fails).
  const std::string text = kEveryKey;
  for (const auto& k : config_keys()) {
    if (k.name.starts_with("<")) continue;
    INFO(k.table << "." << k.name);
    CHECK(text.find("\n" + k.name + " = ") != std::string::npos);
  }
  const Config defaults = default_config();
  CHECK(c.severities != defaults.severities);
  CHECK(c.redact_card_numbers != defaults.redact_card_numbers);
  CHECK(c.engineer_name_set);

  CHECK(config_from_bytes(config_to_bytes(c)) == c);
  CHECK(config_from_bytes(config_to_bytes(defaults)) == defaults);
  // Anything but what was written is refused, never half read.
  const std::string bytes = config_to_bytes(c);
  CHECK_THROWS(config_from_bytes(bytes.substr(0, bytes.size() - 1)));
  CHECK_THROWS(config_from_bytes(bytes + "1:x"));
  CHECK_THROWS(config_from_bytes("junk"));
  CHECK_THROWS(config_from_bytes(""));
}

TEST_CASE("load_config keeps a valid config and reads it back until the file changes") {
  CacheHome cache;
  ConfigFile f("[engineer]\nname = \"Dana\"\n[case]\nseverities = [\"p1\", \"p2\"]\ndefault_severity = \"p2\"\n");
  Config first = load_config(f.path.string());
  CHECK(first.severities == std::vector<std::string>{"p1", "p2"});
  REQUIRE(fs::exists(cache.file()));
  CHECK((fs::status(cache.file()).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(cached_config(f.path) == first);

  // Read back from the cache, not the file: what the cache says is what loads.
  std::vector<ConfigProblem> p;
  Config marked = parse_config(f.path, p);
  marked.engineer_email = "from-the-cache@example.com";
  keep_config(f.path, marked);
  CHECK(load_config(f.path.string()).engineer_email == "from-the-cache@example.com");

  // Rewritten with the same size: parsed again.
  std::ofstream(f.path)
      << "[engineer]\nname = \"Dana\"\n[case]\nseverities = [\"q1\", \"q2\"]\ndefault_severity = \"q2\"\n";
  Config second = load_config(f.path.string());
  CHECK(second.severities == std::vector<std::string>{"q1", "q2"});
  CHECK(second.engineer_email.empty());

  // Another file: the cache is not its.
  ConfigFile g("[engineer]\nname = \"Sam\"\n");
  CHECK_FALSE(cached_config(g.path));
  CHECK(load_config(g.path.string()).engineer_name == "Sam");

  // A damaged cache is parsed past.
  std::ofstream(cache.file(), std::ios::trunc) << "garbage";
  CHECK_FALSE(cached_config(g.path));
  CHECK(load_config(g.path.string()).engineer_name == "Sam");

  // An invalid config is never kept.
  ConfigFile bad("[case]\nseverities = 3\n");
  CHECK_THROWS(load_config(bad.path.string()));
  CHECK_FALSE(cached_config(bad.path));
}

TEST_CASE("without engineer.name, a kept config names whoever runs esc") {
  CacheHome cache;
  const std::string old_user = std::getenv("USER") ? std::getenv("USER") : "";
  ConfigFile f("[engineer]\nemail = \"a@example.com\"\n");
  setenv("USER", "first-user", 1);
  CHECK(load_config(f.path.string()).engineer_name == "first-user");
  setenv("USER", "second-user", 1);
  REQUIRE(cached_config(f.path));
  CHECK(load_config(f.path.string()).engineer_name == "second-user");
  setenv("USER", old_user.c_str(), 1);
}
