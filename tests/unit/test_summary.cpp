#include <doctest/doctest.h>

#include <fmt/format.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "esc/channels.hpp"
#include "esc/checklist.hpp"
#include "esc/redact.hpp"
#include "esc/summary.hpp"
#include "esc/text.hpp"

using namespace esc;

namespace {

const Time t0 = *parse_rfc3339("2026-11-20T09:00:00Z");

Case sample_case() {
  Case c;
  c.id = 12;
  c.uuid = "8d3c2f9e-1111-4222-8333-444455556666";
  c.title = "Checkout fails for EU cards";
  c.customer = "ACME Corp";
  c.severity = "high";
  c.ref = "ZD-4411";
  c.triggers = {"sla-breach"};
  c.tags = {"payments"};
  c.engineer = "Dana Reyes";
  c.created_at = t0;
  c.updated_at = t0 + Seconds{3600};
  return c;
}

Entry entry(const std::string& kind, const std::string& text, int minutes, const std::string& state = "") {
  Entry e;
  e.kind = *parse_entry_kind(kind);
  e.text = text;
  e.state = state;
  e.at = t0 + Seconds{minutes * 60};
  e.author = "Dana Reyes";
  return e;
}

std::vector<Entry> sample_entries() {
  return {
      entry("fact", "Only cards issued in the EU fail; US and UK cards pass.", 5),
      entry("diagnostic", "Gateway log: 3DS2 challenge times out after 5s at the issuer ACS (trace 7f3a).", 10),
      entry("step", "Rolled back yesterday's 3-D Secure config change: no effect.", 20),
      entry("step", "Reproduced with a test card on staging: same timeout.", 30),
      entry("impact", "About 40% of EU checkouts fail; roughly EUR 40k of orders an hour.", 35),
      entry("hypothesis", "The issuer-side ACS timeout is shorter than our challenge window.", 40, "unconfirmed"),
      entry("notice", "Told ACME: escalated to tier 2 because of the SLA; next update by 16:00 CET.", 45),
  };
}

// Compares with tests/unit/golden/NAME; ESC_UPDATE_GOLDEN=1 rewrites it
// instead (then review the diff before committing).
std::string golden(const std::string& name, const std::string& actual) {
  const auto path = std::filesystem::path(ESC_SOURCE_DIR) / "tests" / "unit" / "golden" / name;
  if (std::getenv("ESC_UPDATE_GOLDEN")) std::ofstream(path, std::ios::binary) << actual;
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Summary sample_summary() {
  Config cfg = default_config();
  cfg.engineer_name = "Dana Reyes";
  cfg.engineer_email = "dana@example.com";
  return build_summary(sample_case(), sample_entries(), {}, cfg, t0 + Seconds{2 * 3600});
}

}  // namespace

TEST_CASE("checklist: met, missing, and what meets each item") {
  Config cfg = default_config();
  Case c = sample_case();
  auto r = evaluate(cfg.checklist, c, sample_entries());
  CHECK(r.ready());
  CHECK(r.items[1].entries == 2);  // a fact and a diagnostic
  auto missing = r.missing(false);
  REQUIRE(missing.size() == 2);
  CHECK(missing[0]->key == "outcome");
  CHECK(missing[1]->key == "heads-up");

  c.triggers.clear();
  auto entries = sample_entries();
  entries[5].state = "refuted";  // a refuted hypothesis is no hypothesis to offer
  r = evaluate(cfg.checklist, c, entries);
  CHECK_FALSE(r.ready());
  auto req = r.missing(true);
  REQUIRE(req.size() == 2);
  CHECK(req[0]->key == "reason");
  CHECK(req[1]->key == "hypothesis");

  auto j = to_json(r);
  CHECK(j["case"] == 12);
  CHECK(j["ready"] == false);
  CHECK(j["items"][0]["key"] == "reason");
  CHECK(j["items"][0]["met"] == false);
  CHECK(j["items"][1]["entries"] == 2);
  CHECK(j["items"][1]["required"] == true);
}

TEST_CASE("the text summary matches its golden file") {
  const auto text = render_text(sample_summary());
  CHECK(text == golden("summary.txt", text));
}

TEST_CASE("the markdown summary matches its golden file") {
  const auto md = render_markdown(sample_summary());
  CHECK(md == golden("summary.md", md));
}

TEST_CASE("JSON summary: subject, case, sections, readiness") {
  auto j = to_json(sample_summary());
  CHECK(j["subject"] == "[ESC #12][high] ACME Corp: Checkout fails for EU cards");
  CHECK(j["case"]["id"] == 12);
  CHECK(j["case"]["ref"] == "ZD-4411");
  CHECK(j["facts"].size() == 2);
  CHECK(j["facts"][1]["kind"] == "diagnostic");
  CHECK(j["steps"].size() == 2);
  CHECK(j["steps"][0]["at"] == "2026-11-20T09:20:00Z");
  CHECK(j["steps"][0]["author"] == "Dana Reyes");
  CHECK(j["hypotheses"][0]["state"] == "unconfirmed");
  CHECK(j["client"][0]["kind"] == "notice");
  CHECK(j["impact"].size() == 1);
  CHECK(j["outcome"].empty());
  CHECK(j["why"][0]["trigger"] == "sla-breach");
  CHECK(j["readiness"]["ready"] == true);
  CHECK(j["age"] == "2h");
  // A snapshot renders to the same bytes as the original.
  Summary back = summary_from_json(j);
  CHECK(render_text(back) == render_text(sample_summary()));
  CHECK(render_markdown(back) == render_markdown(sample_summary()));
}

TEST_CASE("empty sections are left out; missing items are listed") {
  Config cfg = default_config();
  Case c = sample_case();
  c.triggers.clear();
  auto s = build_summary(c, {entry("fact", "only a fact", 1)}, {}, cfg, t0);
  auto text = render_text(s);
  CHECK(text.find("STEPS ALREADY TAKEN") == std::string::npos);
  CHECK(text.find("HYPOTHESIS") == std::string::npos);
  CHECK(text.find("STILL MISSING FROM THE CHECKLIST") != std::string::npos);
  CHECK(text.find("  - steps (required): What have you already tried?") != std::string::npos);
}

TEST_CASE("markdown escapes what would be markup, and text stays inert") {
  Config cfg = default_config();
  Case c = sample_case();
  c.title = "<b>bold</b> *x* [link](http://x)";
  auto s =
      build_summary(c, {entry("fact", "# not a heading\n- not a list\n1. not numbered\n<script>", 1)}, {}, cfg, t0);
  auto md = render_markdown(s);
  CHECK(md.find("<b>") == std::string::npos);
  CHECK(md.find("&lt;b&gt;bold&lt;/b&gt; \\*x\\* \\[link\\](http://x)") != std::string::npos);
  CHECK(md.find("<script>") == std::string::npos);
  CHECK(md.find("\\# not a heading") != std::string::npos);
  CHECK(md.find("\\- not a list") != std::string::npos);
  CHECK(md.find("1\\. not numbered") != std::string::npos);
  c.title = "evil \x1b]52;c;aGk=\x07 title";
  auto t = render_text(build_summary(c, {}, {}, cfg, t0));
  CHECK(t.find('\x1b') == std::string::npos);
}

TEST_CASE("an entry's author is shown inert in Markdown too (found by fuzz_render)") {
  Config cfg = default_config();
  Entry e = entry("contact", "called them", 1);
  e.author = "mal\x07lory \x1b[31m";  // imported from another log
  auto s = build_summary(sample_case(), {e}, {}, cfg, t0);
  for (const auto& out : {render_markdown(s), render_text(s)}) {
    CHECK(out.find('\x07') == std::string::npos);
    CHECK(out.find('\x1b') == std::string::npos);
    CHECK(out.find("mal^Glory") != std::string::npos);
  }
}

TEST_CASE("payloads stay valid JSON whatever bytes the text holds (found by fuzz_render)") {
  Config cfg = default_config();
  Case c = sample_case();
  c.title = "broken \x98 byte";
  auto s = build_summary(c, {entry("fact", "cut \xe6\x9d mid-sequence", 1)}, {}, cfg, t0);
  for (const char* format : {"slack", "teams", "mattermost", "discord", "generic"}) {
    ChannelConfig hook;
    hook.type = "webhook";
    hook.format = format;
    hook.url_secret.env = "X";
    Payload p;
    REQUIRE_NOTHROW(p = render_payload(hook, s, "key", {}, t0));
    CHECK(nlohmann::json::accept(p.body));
  }
}

TEST_CASE("long lines wrap at the width, non-ASCII included") {
  Config cfg = default_config();
  std::string long_text;
  for (int i = 0; i < 60; ++i) long_text += "Zürich東京 ";
  long_text += std::string(200, 'x');
  auto text = render_text(build_summary(sample_case(), {entry("fact", long_text, 1)}, {}, cfg, t0), {72});
  for (const auto& line : split_lines(text)) CHECK(display_width(line) <= 72);
}

TEST_CASE("redaction: card numbers that pass Luhn, and configured patterns") {
  CHECK(luhn_valid("4111111111111111"));
  CHECK_FALSE(luhn_valid("4111111111111112"));
  CHECK(mask_card_numbers("card 4111 1111 1111 1111 failed") == "card [card number] failed");
  CHECK(mask_card_numbers("card 4111-1111-1111-1111.") == "card [card number].");
  CHECK(mask_card_numbers("order 4111111111111112 ok") == "order 4111111111111112 ok");
  CHECK(mask_card_numbers("ts 1790000000123") == "ts 1790000000123");  // 13 digits, not Luhn
  // Whatever separates the digits, and whatever they are glued to.
  CHECK(mask_card_numbers("id A4111111111111111") == "id A[card number]");
  CHECK(mask_card_numbers("4111  1111  1111  1111") == "[card number]");
  CHECK(mask_card_numbers("4111.1111.1111.1111 ok") == "[card number] ok");
  CHECK(mask_card_numbers("card:4111111111111111x") == "card:[card number]x");
  CHECK(mask_card_numbers("order 12345 4111 1111 1111 1111") == "order 12345 [card number]");
  CHECK(mask_card_numbers("trace 41111111111111111111111111") == "trace 41111111111111111111111111");
  Config cfg = default_config();
  cfg.redact.push_back({R"(\bACCT-\d+\b)", "[account]"});
  Redactor r(cfg);
  CHECK(r.apply("see ACCT-991 and 5500 0000 0000 0004") == "see [account] and [card number]");
  Summary s = sample_summary();
  s.facts[0].text = "paid with 4111111111111111";
  s.c.title = "ACCT-12 cannot pay";
  r.apply(s);
  CHECK(s.facts[0].text == "paid with [card number]");
  CHECK(s.c.title == "[account] cannot pay");
}

namespace {

// A summary with something in every section, each entry holding a word
// that names its section.
Summary full_summary() {
  Config cfg = default_config();
  cfg.checklist.push_back({"logs", "sentinel-missing", "", {"diagnostic"}, false});
  Case c = sample_case();
  std::vector<Entry> entries{
      entry("impact", "sentinel-impact", 1),    entry("outcome", "sentinel-outcome", 2),
      entry("fact", "sentinel-facts", 3),       entry("step", "sentinel-steps", 4),
      entry("notice", "sentinel-client", 5),    entry("hypothesis", "sentinel-hypothesis", 6, "unconfirmed"),
      entry("heads-up", "sentinel-headsup", 7), entry("reply", "sentinel-replies", 8),
      entry("note", "sentinel-notes", 9),
  };
  Escalation x;
  x.level = 1;
  x.path = "sentinel-escalations";
  x.at = t0;
  Summary s = build_summary(c, entries, {x}, cfg, t0 + Seconds{3600});
  s.note = "sentinel-note";
  s.forced_reason = "sentinel-forced";
  return s;
}

const std::vector<std::string> kSentinels{
    "sentinel-note",    "sentinel-forced", "sentinel-escalations", "sentinel-impact",     "sentinel-outcome",
    "sentinel-facts",   "sentinel-steps",  "sentinel-client",      "sentinel-hypothesis", "sentinel-headsup",
    "sentinel-replies", "sentinel-notes",  "sla-breach",           "sentinel-missing"};

// Every string in a JSON document, joined: what a chat client would show.
void strings_of(const nlohmann::json& j, std::string& out) {
  if (j.is_string()) {
    out += j.get<std::string>() + "\n";
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      out += k + "\n";
      strings_of(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) strings_of(v, out);
  }
}

std::string shown(const Payload& p) {
  if (p.content_type == "application/json") {
    std::string out;
    strings_of(nlohmann::json::parse(p.body), out);
    return out;
  }
  std::string out = p.body;  // e-mail: undo quoted-printable's soft line breaks
  for (std::size_t at; (at = out.find("=\r\n")) != std::string::npos;) out.erase(at, 3);
  return out;
}

std::vector<ChannelConfig> every_channel() {
  std::vector<ChannelConfig> out;
  for (const char* format : {"text", "markdown", "json"}) {
    ChannelConfig c;
    c.type = "stdout";
    c.format = format;
    out.push_back(c);
  }
  for (const char* format : {"slack", "teams", "mattermost", "discord", "generic"}) {
    ChannelConfig c;
    c.type = "webhook";
    c.format = format;
    c.url_secret.env = "X";
    out.push_back(c);
  }
  for (const char* type : {"smtp", "pagerduty", "jira", "github"}) {
    ChannelConfig c;
    c.type = type;
    c.url = "https://example.com";
    c.to = {"tier2@example.com"};
    c.project = "ENG";
    c.repo = "acme/support";
    out.push_back(c);
  }
  return out;
}

}  // namespace

TEST_CASE("every channel carries every section of the hand-over (one section model)") {
  const Summary s = full_summary();
  // The one model itself: every section, in order, the hypothesis headed by its state.
  const auto secs = sections(s);
  REQUIRE(secs.size() == 14);
  CHECK(secs.front().id == SectionId::note);
  CHECK(secs.back().id == SectionId::missing);
  for (const auto& sec : secs)
    if (sec.id == SectionId::hypothesis) CHECK(sec.title.find("unconfirmed") != std::string::npos);
  for (const auto& ch : every_channel()) {
    CAPTURE(ch.type);
    CAPTURE(ch.format);
    const std::string out = shown(render_payload(ch, s, "key", {"Dana", "dana@example.com"}, t0));
    for (const auto& word : kSentinels) {
      CAPTURE(word);
      CHECK(out.find(word) != std::string::npos);
    }
    if (ch.format != "json" && ch.format != "generic")
      CHECK(lower(out).find("hypothesis (unconfirmed") != std::string::npos);
  }
}

namespace {

// Every channel that shows headings titles the hypotheses confirmed.
void titled_confirmed_everywhere(const Summary& s) {
  for (const auto& ch : every_channel()) {
    if (ch.format == "json" || ch.format == "generic") continue;
    CAPTURE(ch.format);
    const std::string out = lower(shown(render_payload(ch, s, "key", {}, t0)));
    CHECK(out.find("hypothesis (confirmed)") != std::string::npos);
    CHECK(out.find("hypothesis (unconfirmed") == std::string::npos);
  }
}

}  // namespace

TEST_CASE("a confirmed hypothesis is titled so on every channel") {
  Summary s = full_summary();
  s.hypotheses[0].state = "confirmed";
  titled_confirmed_everywhere(s);
}

TEST_CASE("confirmed hypotheses cut to the newest stay titled confirmed (found by fuzz_render_long)") {
  Summary s = full_summary();
  s.hypotheses.clear();
  for (int i = 0; i < 600; ++i)
    s.hypotheses.push_back({t0 + Seconds{i}, fmt::format("confirmed hypothesis number {}, each one short", i), "",
                            EntryKind::hypothesis, "confirmed", ""});
  titled_confirmed_everywhere(s);
}

TEST_CASE("a long entry is cut in its middle to fit a channel; no section is left out") {
  Summary s = full_summary();
  const std::string pasted = "sentinel-facts HEAD-OF-LOG " + std::string(1'000'000, 'x') + " END-OF-LOG";
  s.facts[0].text = pasted;
  for (const auto& ch : every_channel()) {
    CAPTURE(ch.type);
    CAPTURE(ch.format);
    const Payload p = render_payload(ch, s, "key", {}, t0);
    const std::string out = shown(p);
    for (const auto& word : kSentinels) {
      CAPTURE(word);
      CHECK(out.find(word) != std::string::npos);
    }
    CHECK(out.find("HEAD-OF-LOG") != std::string::npos);
    CHECK(out.find("END-OF-LOG") != std::string::npos);
    if (ch.format == "slack") {
      const auto body = nlohmann::json::parse(p.body);
      CHECK(body["blocks"].size() <= 50);
      for (const auto& b : body["blocks"])
        if (b["text"]["type"] == "mrkdwn") CHECK(b["text"]["text"].get<std::string>().size() <= 3000);
      CHECK(out.find("bytes cut here") != std::string::npos);
    }
    if (ch.format == "discord")
      CHECK(nlohmann::json::parse(p.body)["embeds"][0]["description"].get<std::string>().size() <= 4096);
    if (ch.format == "mattermost") CHECK(nlohmann::json::parse(p.body)["text"].get<std::string>().size() <= 16000);
    if (ch.format == "teams") CHECK(p.body.size() <= 28000);
    // Where nothing limits the size, nothing is cut.
    if (ch.type == "smtp" || ch.type == "stdout") CHECK(out.find("bytes cut here") == std::string::npos);
  }
}

TEST_CASE(
    "hundreds of short entries: each channel keeps its limit, shows the newest and says what it left out (found by "
    "fuzz_render_long)") {
  Summary s = full_summary();
  for (int i = 0; i < 2000; ++i)
    s.facts.push_back(
        {t0 + Seconds{i}, fmt::format("fact number {} of many, each one short", i), "", EntryKind::fact, "", ""});
  for (const auto& ch : every_channel()) {
    CAPTURE(ch.type);
    CAPTURE(ch.format);
    const Payload p = render_payload(ch, s, "key", {}, t0);
    const std::string out = shown(p);
    const std::size_t limit = ch.format == "slack"        ? 0
                              : ch.format == "teams"      ? 28000
                              : ch.format == "mattermost" ? 16000
                              : ch.type == "jira"         ? 32000
                              : ch.type == "github"       ? 64000
                              : ch.type == "pagerduty"    ? 512 * 1024
                                                          : SIZE_MAX;
    if (ch.format == "slack") {
      const auto body = nlohmann::json::parse(p.body);
      CHECK(body["blocks"].size() <= 50);
      for (const auto& b : body["blocks"])
        if (b["text"]["type"] == "mrkdwn") CHECK(b["text"]["text"].get<std::string>().size() <= 3000);
    } else if (ch.format == "discord") {
      CHECK(nlohmann::json::parse(p.body)["embeds"][0]["description"].get<std::string>().size() <= 4096);
    } else if (ch.format == "mattermost") {
      CHECK(nlohmann::json::parse(p.body)["text"].get<std::string>().size() <= limit);
    } else {
      CHECK(p.body.size() <= limit);
    }
    // Where there is room (e-mail, stdout, PagerDuty's 512 KB), all of it;
    // else the newest facts, and a line that says how many earlier ones
    // are left out and where they are.
    CHECK(out.find("fact number 1999 of many") != std::string::npos);
    if (ch.type == "smtp" || ch.type == "stdout" || ch.type == "pagerduty" || ch.format == "generic") {
      CHECK(out.find("fact number 0 of many") != std::string::npos);
      CHECK(out.find("not shown here") == std::string::npos);
      continue;
    }
    CHECK(out.find("fact number 0 of many") == std::string::npos);
    CHECK(out.find("earlier entries are not shown here") != std::string::npos);
    CHECK(out.find("esc show") != std::string::npos);
    for (const auto& word : kSentinels) {
      if (word == std::string("sentinel-facts")) continue;  // an early fact, among those left out
      CAPTURE(word);
      CHECK(out.find(word) != std::string::npos);
    }
  }
}

TEST_CASE("a case whose own fields outgrow a channel is cut to fit it too (found by fuzz_render_long)") {
  Summary s = full_summary();
  s.c.customer = std::string(3000, 'c');
  s.c.title = s.subject = std::string(2000, 't');
  s.c.tags = std::vector<std::string>(50, std::string(60, 'g'));
  for (int i = 0; i < 600; ++i)
    s.facts.push_back({t0 + Seconds{i}, fmt::format("fact number {}", i), "", EntryKind::fact, "", ""});
  for (const auto& ch : every_channel()) {
    CAPTURE(ch.format);
    const Payload p = render_payload(ch, s, "key", {}, t0);
    if (ch.format == "discord")
      CHECK(nlohmann::json::parse(p.body)["embeds"][0]["description"].get<std::string>().size() <= 4096);
    if (ch.format == "mattermost") CHECK(nlohmann::json::parse(p.body)["text"].get<std::string>().size() <= 16000);
    if (ch.format == "teams") CHECK(p.body.size() <= 28000);
    if (ch.format == "slack") {
      const auto body = nlohmann::json::parse(p.body);
      for (const auto& b : body["blocks"])
        if (b["text"]["type"] == "mrkdwn") CHECK(b["text"]["text"].get<std::string>().size() <= 3000);
    }
    CHECK(shown(p).find("fact number 599") != std::string::npos);
  }
}

TEST_CASE("e-mail comes from the engineer, replies go to the engineer, dated when sent") {
  ChannelConfig ch;
  ch.type = "smtp";
  ch.url = "smtp://mail.example.com";
  ch.to = {"tier2@example.com"};
  const Time sent = *parse_rfc3339("2026-11-21T10:30:00Z");
  const Payload p = render_payload(ch, sample_summary(), "k1", {"Dana Reyes", "dana@example.com"}, sent);
  CHECK(p.body.find("From: \"Dana Reyes\" <dana@example.com>\r\n") != std::string::npos);
  CHECK(p.body.find("Reply-To: \"Dana Reyes\" <dana@example.com>\r\n") != std::string::npos);
  CHECK(p.body.find("Date: Sat, 21 Nov 2026 10:30:00 +0000\r\n") != std::string::npos);
  ch.from = "support@example.com";  // the channel's address, replies still to the engineer
  const Payload q = render_payload(ch, sample_summary(), "k1", {"Dana Reyes", "dana@example.com"}, sent);
  CHECK(q.body.find("From: \"Dana Reyes\" <support@example.com>\r\n") != std::string::npos);
  CHECK(q.body.find("Reply-To: \"Dana Reyes\" <dana@example.com>\r\n") != std::string::npos);
}

TEST_CASE("renderers are linear: a 4 MB entry without spaces wraps and renders at once") {
  Summary s = sample_summary();
  s.facts[0].text = std::string(4'000'000, 'y');
  const auto start = std::chrono::steady_clock::now();
  const std::string text = render_text(s);
  const std::string md = render_markdown(s);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(text.size() > 4'000'000);
  CHECK(md.size() > 4'000'000);
  // Quadratic wrapping took seconds here; linear takes milliseconds.
  CHECK(took < std::chrono::seconds(3));
}

TEST_CASE("a redaction rule that cannot finish withholds the text; a long token is masked, not crashed on") {
  Config cfg = default_config();
  cfg.redact.push_back({"(a+)+$", "[x]"});
  Redactor slow(cfg);
  const std::string attack = std::string(40, 'a') + "!";
  const std::string out = slow.apply("before " + attack);
  CHECK(out.find("withheld") != std::string::npos);
  CHECK(out.find(attack) == std::string::npos);
  Config bearer = default_config();
  bearer.redact.push_back({"Bearer [A-Za-z0-9._~+/=-]+", "Bearer [token]"});
  Redactor r(bearer);
  const std::string token(66'000, 'A');
  CHECK(r.apply("Authorization: Bearer " + token + "\nnext line") == "Authorization: Bearer [token]\nnext line");
  // A hundred megabytes of ordinary text: masked where it matches, whole elsewhere.
  std::string big;
  big.reserve(100'000'000);
  while (big.size() < 100'000'000) big += "GET /api/v1/orders 200 took 12ms Bearer abc.def\n";
  const std::string masked = r.apply(big);
  CHECK(masked.find("Bearer abc.def") == std::string::npos);
  CHECK(masked.find("withheld") == std::string::npos);
  CHECK(pattern_backtracks("(a+)+$") != "");
  CHECK(pattern_backtracks("Bearer [A-Za-z0-9._~+/=-]+") == "");
  CHECK(pattern_problem("(unclosed") != "");
}
