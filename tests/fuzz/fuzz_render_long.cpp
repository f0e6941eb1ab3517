// The renderers and every channel's payload with long inputs: a few
// entries of up to hundreds of KB each, or thousands of entries, every
// section filled. Long texts are fuzz-provided chunks repeated, so that the
// fuzzer reaches them from a small input.
//
// Invariants:
// - webhook, PagerDuty and JSON document bodies parse as JSON;
// - within each channel's limits: Slack at most 50 blocks, each mrkdwn text
//   at most 3000 bytes, the header at most 150; Discord's embed
//   description at most 4096 bytes, its title 256, its content 2000;
//   Mattermost's text at most 16000; Teams' body at most 28000 bytes;
//   PagerDuty's event at most 512 KB; a Jira description within 32 KB; a
//   GitHub issue body within 64 KB;
// - every section's title (esc::sections(summary)) appears in the text,
//   Markdown and e-mail output, and on every other channel but the JSON
//   documents: never is a section left out;
// - the e-mail body decodes back to the whole text summary;
// - rendering time is linear: libFuzzer's -timeout (10 s in tests/fuzz/run)
//   catches quadratic behaviour.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "esc/channels.hpp"
#include "esc/summary.hpp"
#include "esc/text.hpp"
#include "fuzz_common.hpp"

namespace {

constexpr const char* kTarget = "fuzz_render_long";
std::string g_input;  // what this input made, told with a failure
[[noreturn]] void fail(const std::string& why) { fuzz::fail(kTarget, why + "\n  input: " + g_input); }

const esc::Time kT0{esc::Seconds{1'790'000'000}};
const std::string kKey = "01890000-0000-7000-8000-0000000000aa";

// How much text one input may make in all: enough for an entry of 200 KB
// or a few of tens of KB, little enough that an input renders in 2 to 3 s
// with the sanitizers (esc renders each payload O(log n) times to fit it:
// about 12 s a MB here), well inside -timeout=10, which a quadratic step
// on this much text would overrun by far.
constexpr std::size_t kBudget = 200'000;

struct Texts {
  FuzzedDataProvider& in;
  std::vector<std::string> chunks;
  std::size_t left = kBudget;

  // A chunk repeated up to about `max` bytes, sometimes after another
  // chunk: what a pasted log or a stack trace looks like to a renderer.
  std::string make(std::size_t max) {
    max = std::max<std::size_t>(1, std::min(max, left));  // never empty: every section is filled
    std::string s;
    if (in.ConsumeBool()) s = pick();
    const std::string& body = pick();
    const std::size_t most = std::max<std::size_t>(1, max / body.size());
    // One byte picks the repeat count on a log scale, so that long texts
    // are as easy to reach as short ones: 2^(0..18), give or take.
    const auto e = in.ConsumeIntegral<std::uint8_t>();
    const std::size_t reps = std::min(most, (std::size_t{1} << (e % 19)) + e / 19);
    s.reserve(s.size() + reps * body.size());
    for (std::size_t i = 0; i < reps; ++i) s += body;
    if (s.size() > max) s.resize(max);
    left -= std::min(left, s.size());
    return s;
  }
  const std::string& pick() { return chunks[in.ConsumeIntegralInRange<std::size_t>(0, chunks.size() - 1)]; }
};

// The kinds that fill a section each, in the sections' order.
const esc::EntryKind kSectionKinds[] = {esc::EntryKind::impact,   esc::EntryKind::outcome, esc::EntryKind::fact,
                                        esc::EntryKind::step,     esc::EntryKind::notice,  esc::EntryKind::hypothesis,
                                        esc::EntryKind::heads_up, esc::EntryKind::reply,   esc::EntryKind::note};

std::string shown(const esc::ChannelConfig& ch, const esc::Payload& p, const nlohmann::json* j) {
  if (j) {
    std::string out;
    fuzz::strings_of(*j, out);
    return out;
  }
  if (ch.type == "smtp") {
    auto body = fuzz::decode_quoted_printable(p.body.substr(p.body.find("\r\n\r\n") + 4));
    return body ? *body : std::string();
  }
  return p.body;
}

void check_limits(const esc::ChannelConfig& ch, const esc::Payload& p, const nlohmann::json* j) {
  const std::string what = ch.type + "/" + ch.format;
  auto too_big = [&](const std::string& why) { fail(what + ": " + why); };
  if (ch.format == "slack") {
    const auto& blocks = j->at("blocks");
    if (blocks.size() > 50) too_big(std::to_string(blocks.size()) + " blocks (Slack takes 50)");
    for (const auto& b : blocks) {
      const auto& t = b.at("text");
      const auto n = t.at("text").get_ref<const std::string&>().size();
      if (t.at("type") == "mrkdwn" && n > 3000) too_big("a mrkdwn text of " + std::to_string(n) + " bytes");
      if (b.at("type") == "header" && n > 150) fail(what + ": a header of " + std::to_string(n) + " bytes");
    }
  } else if (ch.format == "discord") {
    const auto& e = j->at("embeds").at(0);
    const auto n = e.at("description").get_ref<const std::string&>().size();
    if (n > 4096) too_big("an embed description of " + std::to_string(n) + " bytes");
    if (e.at("title").get_ref<const std::string&>().size() > 256) fail(what + ": an embed title over 256 bytes");
    if (j->at("content").get_ref<const std::string&>().size() > 2000) fail(what + ": content over 2000 bytes");
  } else if (ch.format == "mattermost") {
    const auto n = j->at("text").get_ref<const std::string&>().size();
    if (n > 16000) too_big("a text of " + std::to_string(n) + " bytes");
  } else if (ch.format == "teams") {
    if (p.body.size() > 28000) too_big("a body of " + std::to_string(p.body.size()) + " bytes");
  } else if (ch.type == "pagerduty") {
    if (p.body.size() > 512 * 1024) too_big("an event of " + std::to_string(p.body.size()) + " bytes");
  } else if (ch.type == "jira") {
    if (p.body.size() > 32000) too_big("a description of " + std::to_string(p.body.size()) + " bytes");
  } else if (ch.type == "github") {
    if (p.body.size() > 64000) too_big("an issue body of " + std::to_string(p.body.size()) + " bytes");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  Texts t{in, {}};
  for (int i = in.ConsumeIntegralInRange(1, 6); i > 0; --i) {
    std::string chunk = in.ConsumeRandomLengthString(300);
    t.chunks.push_back(chunk.empty() ? std::string("x") : chunk);
  }
  // The shape: 0 a few long entries, 1 up to two thousand short ones, 2
  // hundreds of middling ones, 3 many entries and long header fields.
  const int shape = in.ConsumeIntegralInRange(0, 3);
  std::size_t count = 0, longest = 0;
  switch (shape) {
    case 0:
      count = in.ConsumeIntegralInRange<std::size_t>(1, 12);
      longest = 200'000;
      break;
    case 1:
      count = in.ConsumeIntegralInRange<std::size_t>(100, 2000);
      longest = 2'000;
      break;
    case 2:
      count = in.ConsumeIntegralInRange<std::size_t>(30, 300);
      longest = 20'000;
      break;
    default:
      count = in.ConsumeIntegralInRange<std::size_t>(20, 1000);
      longest = 4'000;
      break;
  }
  const std::size_t header = shape == 3 ? 1'000 : 60;

  esc::Config cfg = esc::default_config();
  cfg.engineer_name = "dana";
  cfg.checklist.push_back({"sentinel", "an item nothing meets", "", {"no-such-kind"}, false});

  esc::Case c;
  c.id = in.ConsumeIntegralInRange<int64_t>(1, 1'000'000);
  c.uuid = "01890000-0000-7000-8000-00000000000c";
  c.title = t.make(header * 2);
  c.customer = t.make(header);
  c.severity = "high";
  c.ref = t.make(std::min<std::size_t>(header, 40));
  c.engineer = cfg.engineer_name;
  c.engineer_email = "dana@example.com";
  c.status = esc::Status::escalated;
  c.triggers = {"sla-breach", "time-sensitive"};
  for (int i = in.ConsumeIntegralInRange(1, 3); i > 0; --i)
    c.tags.push_back(t.make(std::min<std::size_t>(header, 100)));
  c.created_at = kT0;
  c.updated_at = kT0;

  std::vector<esc::Escalation> escalations;
  for (int i = in.ConsumeIntegralInRange(1, 3); i > 0; --i) {
    esc::Escalation x;
    x.level = static_cast<int>(escalations.size()) + 1;
    x.path = "tier" + std::to_string(x.level + 1);
    x.at = kT0 + esc::Seconds{600 * x.level};
    if (in.ConsumeBool()) {
      x.acked_at = x.at + esc::Seconds{60};
      x.acked_by = t.make(std::min<std::size_t>(header, 60));
    }
    escalations.push_back(std::move(x));
  }

  std::vector<esc::Entry> entries;
  entries.reserve(count + std::size(kSectionKinds));
  for (std::size_t i = 0; i < count + std::size(kSectionKinds); ++i) {
    esc::Entry e;
    e.kind = i < std::size(kSectionKinds) ? kSectionKinds[i]
                                          : static_cast<esc::EntryKind>(in.ConsumeIntegralInRange(
                                                0, static_cast<int>(esc::EntryKind::resolved_upstream)));
    e.text = t.make(longest);
    e.author = in.ConsumeBool() ? c.engineer : "lee";
    if (e.kind == esc::EntryKind::hypothesis) e.state = in.ConsumeBool() ? "unconfirmed" : "confirmed";
    if (e.kind == esc::EntryKind::reply) e.source = "jira ENG-1";
    e.at = kT0 + esc::Seconds{static_cast<int64_t>(i) * 30};
    entries.push_back(std::move(e));
  }

  esc::Summary s = esc::build_summary(c, entries, escalations, cfg, kT0 + esc::Seconds{200000});
  s.note = t.make(longest);
  s.forced_reason = t.make(longest);
  if (!s.escalations.empty()) s.escalations.front().ticket = "ENG-4411 https://jira.example.com/browse/ENG-4411";

  {
    std::size_t total = s.note.size() + s.forced_reason.size(), big = std::max(s.note.size(), s.forced_reason.size());
    for (const auto& e : entries) total += e.text.size(), big = std::max(big, e.text.size());
    g_input = "shape " + std::to_string(shape) + ", " + std::to_string(entries.size()) + " entries, " +
              std::to_string(total) + " bytes of entry text (longest " + std::to_string(big) + "), title " +
              std::to_string(c.title.size()) + " bytes, customer " + std::to_string(c.customer.size()) + " bytes";
  }
  static const bool verbose = std::getenv("ESC_FUZZ_VERBOSE") != nullptr;  // says what each input made
  if (verbose) std::fprintf(stderr, "%s\n", g_input.c_str());
  const auto secs = esc::sections(s);
  if (secs.size() != 14) fail("a summary with every section filled has " + std::to_string(secs.size()) + " sections");
  // The hypothesis heading says whether the hypotheses shown are confirmed,
  // and a channel may show only the newest: there, either heading will do.
  std::vector<std::string> titles, channel_titles;
  for (const auto& sec : secs) {
    titles.push_back(esc::lower(sec.title));
    channel_titles.push_back(sec.id == esc::SectionId::hypothesis ? "hypothesis (" : titles.back());
  }

  const std::string text = esc::render_text(s), md = esc::render_markdown(s);
  for (const auto* out : {&text, &md}) {
    const std::string seen = esc::lower(*out);
    for (const auto& title : titles)
      if (seen.find(title) == std::string::npos) fail("render: section left out: " + title);
  }

  const esc::Sender from{"Dana Reyes", "dana@example.com"};
  for (const auto& ch : fuzz::every_channel()) {
    const esc::Payload p = esc::render_payload(ch, s, kKey, from, kT0);
    const std::string what = ch.type + "/" + ch.format;
    nlohmann::json j;
    const bool json = p.content_type == "application/json";
    if (json) {
      j = nlohmann::json::parse(p.body, nullptr, false);
      if (j.is_discarded()) fail(what + ": JSON that does not parse");
    }
    const std::string seen = esc::lower(shown(ch, p, json ? &j : nullptr));
    check_limits(ch, p, json ? &j : nullptr);
    if (ch.type == "smtp") {
      const fuzz::Email e = fuzz::check_email(kTarget, p.body);
      const auto body = fuzz::decode_quoted_printable(e.body);
      if (!body || *body != text) fail("the e-mail body does not decode to the text summary");
    }
    if (ch.format == "json" || ch.format == "generic") continue;
    for (const auto& title : channel_titles)
      if (seen.find(title) == std::string::npos) fail(what + ": section left out: " + title);
  }
  return 0;
}
