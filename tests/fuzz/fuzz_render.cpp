// The summary renderers and payloads with arbitrary case text: text output
// carries no terminal escapes, e-mail headers no injected lines, and JSON
// payloads always parse.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "esc/channels.hpp"
#include "esc/summary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  esc::Config cfg = esc::default_config();
  esc::Case c;
  c.id = in.ConsumeIntegralInRange<int64_t>(1, 1'000'000);
  c.title = in.ConsumeRandomLengthString(200);
  c.customer = in.ConsumeRandomLengthString(60);
  c.severity = "high";
  c.ref = in.ConsumeRandomLengthString(20);
  c.engineer = in.ConsumeRandomLengthString(30);
  c.created_at = esc::Time{esc::Seconds{1'790'000'000}};
  std::vector<esc::Entry> entries;
  const char* kinds[] = {"fact", "diagnostic", "step", "contact", "hypothesis", "impact", "notice", "note"};
  while (in.remaining_bytes() > 0 && entries.size() < 20) {
    esc::Entry e;
    e.kind = kinds[in.ConsumeIntegralInRange<size_t>(0, 7)];
    e.text = in.ConsumeRandomLengthString(500);
    e.author = in.ConsumeRandomLengthString(20);
    e.at = c.created_at + esc::Seconds{in.ConsumeIntegralInRange<int>(0, 100000)};
    entries.push_back(std::move(e));
  }
  esc::Summary s = esc::build_summary(c, entries, {}, cfg, c.created_at + esc::Seconds{3600});
  for (const std::string& out : {esc::render_text(s), esc::render_markdown(s)})
    for (char ch : out)
      if (ch == '\x1b' || ch == '\a') std::abort();

  esc::ChannelConfig mail;
  mail.type = "smtp";
  mail.url = "smtp://127.0.0.1:25";
  mail.from = "a@example.com";
  mail.to = {"b@example.com"};
  auto p = esc::render_payload(mail, s, "key", c.created_at);
  const auto head = p.body.substr(0, p.body.find("\r\n\r\n"));
  for (size_t i = head.find("\r\n"); i != std::string::npos; i = head.find("\r\n", i + 2)) {
    // Each header line is a known header or a folded continuation.
    const std::string next = head.substr(i + 2, 20);
    if (!(next.starts_with(" ") || next.starts_with("From:") || next.starts_with("To:") ||
          next.starts_with("Subject:") || next.starts_with("Message-ID:") || next.starts_with("MIME-Version:") ||
          next.starts_with("Content-") || next.starts_with("X-Esc-Case:") || next.starts_with("Date:")))
      std::abort();
  }
  for (const char* format : {"slack", "teams", "mattermost", "discord", "generic"}) {
    esc::ChannelConfig hook;
    hook.type = "webhook";
    hook.format = format;
    hook.url_env = "X";
    auto w = esc::render_payload(hook, s, "key", c.created_at);
    (void)nlohmann::json::parse(w.body);  // throws (and so crashes the target) on invalid JSON
  }
  return 0;
}
