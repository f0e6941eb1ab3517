// The config loader with arbitrary file contents: problems are reported,
// never a crash, and every problem names a position or the file. A file
// with no problem (warnings aside) gives a config every command can use:
// its paths, routes and channels hang together, its redaction rules
// compile, and every channel renders a payload.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "esc/channels.hpp"
#include "esc/config.hpp"
#include "esc/redact.hpp"
#include "esc/summary.hpp"

namespace {

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "fuzz_config: %s\n", why);
  std::abort();
}

const esc::Time kNow{esc::Seconds{1'790'000'000}};

esc::Summary sample(const esc::Config& cfg) {
  esc::Case c;
  c.id = 7;
  c.uuid = "01890000-0000-7000-8000-000000000007";
  c.title = "Checkout fails";
  c.customer = "ACME";
  c.severity = cfg.default_severity;
  c.engineer = cfg.engineer_name;
  c.created_at = kNow;
  c.updated_at = kNow;
  if (!cfg.triggers.empty()) c.triggers = {cfg.triggers.front()};
  esc::Entry e;
  e.kind = esc::EntryKind::fact;
  e.text = "EU cards fail; card 4111 1111 1111 1111";
  e.at = kNow;
  e.author = c.engineer;
  esc::Summary s = esc::build_summary(c, {e}, {}, cfg, kNow + esc::Seconds{60});
  esc::Redactor(cfg).apply(s);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/esc-fuzz-config-" + std::to_string(::getpid()) + ".toml";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  std::vector<esc::ConfigProblem> problems;
  esc::Config cfg = esc::parse_config(path, problems);
  static const bool verbose = std::getenv("ESC_FUZZ_VERBOSE") != nullptr;  // prints the problems found
  bool errors = false;
  for (const auto& p : problems) {
    if (verbose) std::fprintf(stderr, "%s%s\n", p.str().c_str(), p.warning ? " (warning)" : "");
    if (p.message.empty()) fail("a problem without a message");
    if (p.file != path) fail("a problem that does not name the file");
    if (p.str().empty()) fail("a problem that prints as nothing");
    if (!p.warning) errors = true;
  }
  if (errors) return 0;

  // A valid config: what the commands rely on without checking again.
  if (cfg.paths.empty()) fail("a valid config without a path");
  if (!cfg.find_path(cfg.default_path)) fail("the default path names no path");
  for (const auto& p : cfg.paths) {
    if (p.name.empty()) fail("a path without a name");
    if (!p.next.empty() && !cfg.find_path(p.next)) fail("a path's next names no path");
    for (const auto& ch : p.channels)
      if (!cfg.find_channel(ch)) fail("a path names a channel that is not there");
  }
  for (const auto& [severity, to] : cfg.route_by_severity) {
    if (!cfg.is_severity(severity)) fail("a route for something that is not a severity");
    if (!cfg.find_path(to)) fail("a route to no path");
  }
  for (const auto& sev : cfg.severities) (void)cfg.route(sev);
  if (cfg.severities.empty() || !cfg.is_severity(cfg.default_severity)) fail("the default severity is not one");
  for (const auto& item : cfg.checklist)
    if (item.key.empty() || item.question.empty() || item.kinds.empty()) fail("a checklist item missing a part");
  for (const auto& rule : cfg.redact)
    if (rule.pattern.empty() || !esc::pattern_problem(rule.pattern).empty()) fail("a redaction rule that fails");
  for (const auto& ch : cfg.channels) {
    if (ch.name.empty() || ch.type.empty()) fail("a channel without a name or type");
    if (ch.type == "webhook" && !ch.url_secret.set()) fail("a webhook without its URL secret");
  }

  // Every channel renders (command_argv refusals are part of the payload).
  const esc::Summary s = sample(cfg);
  for (const auto& ch : cfg.channels) {
    const esc::Payload p = esc::render_payload(ch, s, "01890000-0000-7000-8000-0000000000aa",
                                               {cfg.engineer_name, cfg.engineer_email}, kNow);
    if (p.description.empty()) fail("a channel's payload without a description");
    if (p.content_type == "application/json" && !nlohmann::json::accept(p.body))
      fail("a channel's JSON payload does not parse");
  }
  return 0;
}
