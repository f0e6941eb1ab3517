// The summary renderers and every channel's payload with arbitrary case
// text (any bytes, in every field the summary shows):
// - text and Markdown carry no terminal escape or other control character
//   (but newline and tab) and are valid UTF-8;
// - e-mail headers get no injected line: each is a known header, once, or
//   a folded continuation; the Subject decodes back to the subject; the
//   quoted-printable body decodes back to the text summary;
// - JSON payloads always parse, and chat payloads show no control character;
// - case text never adds an argument to a command, nor makes one an option;
// - every section's title reaches every channel but the JSON documents;
// - a snapshot (the summary as JSON, as an escalation keeps it) renders
//   exactly the same payloads later.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "esc/channels.hpp"
#include "esc/json.hpp"
#include "esc/redact.hpp"
#include "esc/summary.hpp"
#include "esc/text.hpp"
#include "fuzz_common.hpp"

namespace {

constexpr const char* kTarget = "fuzz_render";
[[noreturn]] void fail(const std::string& why) { fuzz::fail(kTarget, why); }

const esc::Time kT0{esc::Seconds{1'790'000'000}};
const std::string kKey = "01890000-0000-7000-8000-0000000000aa";

void check_text(const std::string& what, const std::string& out) {
  if (!esc::is_valid_utf8(out)) fail(what + ": not valid UTF-8");
  if (esc::has_control_chars(out, "\n\t")) fail(what + ": a control character reached the output");
}

std::string lowered(const std::string& s) { return esc::lower(s); }

// What a reader of the payload sees: JSON strings, or the e-mail's text.
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

void check_email(const esc::Summary& s, const esc::Payload& p, const esc::Sender& from) {
  const fuzz::Email e = fuzz::check_email(kTarget, p.body);
  for (const auto& [name, value] : e.headers)
    if (name != "Date" && name != "From" && name != "Reply-To" && name != "To" && name != "Subject" &&
        name != "Message-ID" && name != "MIME-Version" && name != "Content-Type" &&
        name != "Content-Transfer-Encoding" && name != "X-Esc-Case")
      fail("e-mail with an unexpected header: " + name);
  for (const char* name : {"Date", "From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type",
                           "Content-Transfer-Encoding", "X-Esc-Case"})
    if (!fuzz::header(e, name)) fail(std::string("e-mail without ") + name);
  if (!from.email.empty() && !fuzz::header(e, "Reply-To")) fail("e-mail without Reply-To");
  const auto subject = fuzz::decode_header(*fuzz::header(e, "Subject"));
  if (!subject || *subject != fuzz::header_safe(s.subject)) fail("the Subject does not decode to the subject");
  const auto body = fuzz::decode_quoted_printable(e.body);
  if (!body) fail("the body is not quoted-printable");
  if (*body != esc::render_text(s)) fail("the body does not decode to the text summary");
}

void check_command(const esc::ChannelConfig& ch, const esc::Summary& s) {
  std::vector<std::string> argv;
  try {
    argv = esc::command_argv(ch, s, kKey);
  } catch (const std::invalid_argument&) {
    return;  // refused: a value would have been read as an option
  }
  if (argv.size() != ch.argv.size()) fail("case text changed the number of a command's arguments");
  bool options_end = false;
  for (std::size_t n = 0; n < argv.size(); ++n) {
    for (unsigned char c : argv[n])
      if (c < 0x20 || c == 0x7f) fail("a control character in a command's argument");
    if (n > 0 && !options_end && argv[n].starts_with("-") && !ch.argv[n].starts_with("-"))
      fail("case text made a command's argument an option: " + argv[n].substr(0, 40));
    if (ch.argv[n] == "--") options_end = true;
  }
}

std::string text(FuzzedDataProvider& in, std::size_t max) { return in.ConsumeRandomLengthString(max); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  static const esc::Config cfg = [] {
    esc::Config c = esc::default_config();
    c.engineer_name = "dana";
    c.engineer_email = "dana@example.com";
    c.checklist.push_back({"sentinel", "an item nothing meets", "", {"no-such-kind"}, false});
    c.redact.push_back({R"(\bACCT-\d+\b)", "[account]"});
    return c;
  }();
  static const esc::Redactor redactor(cfg);
  static const std::vector<esc::ChannelConfig> channels = fuzz::every_channel();

  esc::Case c;
  c.id = in.ConsumeIntegralInRange<int64_t>(1, 1'000'000);
  c.uuid = "01890000-0000-7000-8000-00000000000c";
  c.title = text(in, 200);
  c.customer = text(in, 60);
  c.severity = in.ConsumeBool() ? "high" : text(in, 12);
  c.ref = text(in, 20);
  c.engineer = in.ConsumeBool() ? cfg.engineer_name : text(in, 30);
  c.engineer_email = in.ConsumeBool() ? "" : text(in, 30);
  c.status = in.ConsumeBool() ? esc::Status::open : esc::Status::escalated;
  for (int i = in.ConsumeIntegralInRange(0, 2); i > 0; --i) c.tags.push_back(text(in, 16));
  for (int i = in.ConsumeIntegralInRange(0, 2); i > 0; --i)
    c.triggers.push_back(in.ConsumeBool() ? cfg.triggers[in.ConsumeIntegralInRange<size_t>(0, cfg.triggers.size() - 1)]
                                          : text(in, 20));
  c.created_at = kT0;
  c.updated_at = kT0;

  std::vector<esc::Escalation> escalations;
  for (int i = in.ConsumeIntegralInRange(0, 2); i > 0; --i) {
    esc::Escalation x;
    x.level = static_cast<int>(escalations.size()) + 1;
    x.path = text(in, 20);
    x.at = kT0 + esc::Seconds{in.ConsumeIntegralInRange(0, 100000)};
    if (in.ConsumeBool()) {
      x.acked_at = x.at + esc::Seconds{60};
      x.acked_by = text(in, 20);
    }
    escalations.push_back(std::move(x));
  }
  const std::string note = text(in, 200), forced = text(in, 200);
  const esc::Sender from{text(in, 60), text(in, 60)};
  std::string channel_from = text(in, 60);
  std::vector<std::string> to;
  for (int i = in.ConsumeIntegralInRange(1, 3); i > 0; --i) to.push_back(text(in, 60));

  std::vector<esc::Entry> entries;
  while (in.remaining_bytes() > 0 && entries.size() < 20) {
    esc::Entry e;
    e.kind =
        static_cast<esc::EntryKind>(in.ConsumeIntegralInRange(0, static_cast<int>(esc::EntryKind::resolved_upstream)));
    e.text = text(in, 500);
    e.author = in.ConsumeBool() ? c.engineer : text(in, 20);
    if (e.kind == esc::EntryKind::hypothesis) {
      const char* states[] = {"", "unconfirmed", "confirmed", "refuted"};
      e.state = states[in.ConsumeIntegralInRange(0, 3)];
    }
    if (e.kind == esc::EntryKind::reply && in.ConsumeBool()) e.source = text(in, 20);
    e.at = kT0 + esc::Seconds{in.ConsumeIntegralInRange(0, 100000)};
    if (in.ConsumeIntegralInRange(0, 7) == 0) e.struck_at = e.at;
    entries.push_back(std::move(e));
  }
  if (esc::parse_entry_kind(esc::to_string(esc::EntryKind::heads_up)) != esc::EntryKind::heads_up)
    fail("parse_entry_kind does not invert to_string");

  esc::Summary s = esc::build_summary(c, entries, escalations, cfg, kT0 + esc::Seconds{200000});
  s.note = note;
  s.forced_reason = forced;
  for (std::size_t i = 0; i < s.escalations.size(); ++i)
    if (i % 2 == 0) s.escalations[i].ticket = "ENG-" + std::to_string(i + 1);
  redactor.apply(s);

  const std::string out_text = esc::render_text(s), out_md = esc::render_markdown(s);
  check_text("render_text", out_text);
  check_text("render_markdown", out_md);
  const auto secs = esc::sections(s);

  std::vector<esc::Payload> payloads;
  for (auto ch : channels) {
    if (ch.type == "smtp") {
      ch.from = channel_from;
      ch.to = to;
    }
    const esc::Payload p = esc::render_payload(ch, s, kKey, from, kT0);
    const std::string what = ch.type + "/" + ch.format;
    nlohmann::json j;
    const bool json = p.content_type == "application/json";
    if (json) {
      j = nlohmann::json::parse(p.body, nullptr, false);
      if (j.is_discarded()) fail(what + ": JSON that does not parse");
    }
    if (ch.type == "smtp") check_email(s, p, from);
    if (ch.type == "command") check_command(ch, s);
    if ((ch.type == "stdout" && ch.format != "json") || ch.type == "jira" || ch.type == "github" ||
        ch.type == "command")
      check_text(what, p.body);
    if (ch.format == "json" || ch.format == "generic") {
      payloads.push_back(p);
      continue;
    }
    const std::string seen = shown(ch, p, json ? &j : nullptr);
    if (ch.type == "webhook") check_text(what, seen);  // what chat shows: no control character
    const std::string seen_lower = lowered(seen);
    for (const auto& sec : secs)
      if (seen_lower.find(lowered(sec.title)) == std::string::npos) fail(what + ": section left out: " + sec.title);
    payloads.push_back(p);
  }

  // The snapshot an escalation keeps, as delivery reads it back.
  const std::string snapshot = esc::to_json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  esc::Summary back;
  try {
    back = esc::summary_from_json(nlohmann::json::parse(snapshot));
  } catch (const std::invalid_argument&) {
    // Only a case no log can hold (an empty title, control characters in a
    // one-line field) is refused.
    try {
      (void)esc::case_from_json(esc::to_json(s.c));
    } catch (const std::invalid_argument&) {
      return 0;
    }
    fail("the snapshot of a valid case does not read back");
  }
  bool exact = true;  // invalid UTF-8 is replaced in the snapshot: then it may differ
  try {
    (void)esc::to_json(s).dump();
  } catch (const nlohmann::json::exception&) {
    exact = false;
  }
  std::size_t k = 0;
  for (auto ch : channels) {
    if (ch.type == "smtp") {
      ch.from = channel_from;
      ch.to = to;
    }
    const esc::Payload p = esc::render_payload(ch, back, kKey, from, kT0);
    if (p.content_type == "application/json" && !nlohmann::json::accept(p.body))
      fail(ch.type + "/" + ch.format + ": JSON from a snapshot that does not parse");
    if (exact && (p.body != payloads[k].body || p.description != payloads[k].description))
      fail(ch.type + "/" + ch.format + ": the snapshot renders differently");
    ++k;
  }
  return 0;
}
