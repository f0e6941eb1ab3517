// Redaction with an arbitrary [[redact]] rule and text, card masking on.
//
// Input: the pattern, a newline, the replacement, a newline, the text (the
// rest, newlines included). Patterns PCRE2 refuses (pattern_problem(), as
// the config checks them) and replacements a config cannot hold (invalid
// UTF-8) are skipped.
//
// Invariants:
// - Redactor::apply never crashes nor hangs (-timeout catches a hang), and
//   its output is valid UTF-8 when the text was.
// - Fail closed: the output is either the withheld marker or the text with
//   the rule applied. This target finds the rule's matches itself, with
//   PCRE2 and a smaller budget than esc's, line by line as esc applies the
//   rule. Where its search finishes with non-empty matches only, the output
//   must be exactly the text with each match replaced, so no match is left
//   unmasked, and it must not be withheld; where the first match is
//   non-empty, the output line begins with the text before it and the
//   replacement; where nothing matches, the line is unchanged; where the
//   match ends before it starts (\K), the text must be withheld. (That the
//   pattern "no longer matches" the output cannot be asked as such: a
//   replacement may match the pattern itself, "." and "[redacted]", and
//   removing a match may join a new one, "ab" in "aabb".)
// - mask_card_numbers(): no maximal run of 13 to 19 consecutive digits that
//   passes the Luhn check survives; masking again changes nothing (no card
//   number by esc's own definition, separators included, is left); valid
//   UTF-8 stays valid.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "esc/config.hpp"
#include "esc/redact.hpp"
#include "esc/text.hpp"
#include "fuzz_common.hpp"

namespace {

constexpr const char* kTarget = "fuzz_redact";
[[noreturn]] void fail(const std::string& why) { fuzz::fail(kTarget, why); }

bool luhn(std::string_view digits) {
  int sum = 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    int d = digits[digits.size() - 1 - i] - '0';
    if (i % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 == 0;
}

void check_cards(const std::string& text) {
  const std::string masked = esc::mask_card_numbers(text);
  for (std::size_t i = 0; i < masked.size();) {
    if (masked[i] < '0' || masked[i] > '9') {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < masked.size() && masked[j] >= '0' && masked[j] <= '9') ++j;
    const std::string_view run = std::string_view(masked).substr(i, j - i);
    if (run.size() >= 13 && run.size() <= 19 && luhn(run))
      fail("a card number survived mask_card_numbers(): " + std::string(run));
    i = j;
  }
  if (esc::mask_card_numbers(masked) != masked) fail("mask_card_numbers() left a card number it masks a second time");
  if (esc::is_valid_utf8(text) && !esc::is_valid_utf8(masked)) fail("mask_card_numbers() broke UTF-8");
}

// The rule, compiled here as esc compiles it (UTF, JIT), with a budget no
// larger than esc's: what finishes here finishes in esc.
struct Reference {
  pcre2_code* code = nullptr;
  pcre2_match_context* ctx = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_data* md = nullptr;
  explicit Reference(const std::string& pattern) {
    int err = 0;
    PCRE2_SIZE off = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF, &err, &off, nullptr);
    if (!code) return;
    ctx = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(ctx, 1'000'000);
    pcre2_set_depth_limit(ctx, 5'000);
    pcre2_set_heap_limit(ctx, 32 * 1024);
    if (pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0) {
      stack = pcre2_jit_stack_create(32 * 1024, 2 * 1024 * 1024, nullptr);
      pcre2_jit_stack_assign(ctx, nullptr, stack);
    }
    md = pcre2_match_data_create_from_pattern(code, nullptr);
  }
  ~Reference() {
    if (md) pcre2_match_data_free(md);
    if (stack) pcre2_jit_stack_free(stack);
    if (ctx) pcre2_match_context_free(ctx);
    if (code) pcre2_code_free(code);
  }
  Reference(const Reference&) = delete;
  Reference& operator=(const Reference&) = delete;
};

// What the rule must make of one line.
struct Expect {
  enum { unknown, exact, prefix, must_withhold } what = unknown;
  std::string text;  // exact: the line; prefix: how it begins
};

Expect expect_line(Reference& ref, std::string_view line, const std::string& replace, bool literal) {
  Expect e;
  std::string out;
  std::size_t p = 0;
  bool first = true;
  while (true) {
    const int rc = pcre2_match(ref.code, reinterpret_cast<PCRE2_SPTR>(line.data()), line.size(), p, 0, ref.md, ref.ctx);
    if (rc == PCRE2_ERROR_NOMATCH) {
      if (!literal && !first) return e;
      out.append(line.substr(p));
      e.what = Expect::exact;
      e.text = std::move(out);
      return e;
    }
    if (rc < 0) return e;  // out of budget here, invalid UTF-8...: no promise
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(ref.md);
    if (ov[0] < p || ov[1] < ov[0]) {
      // \K made the match end before it starts: pcre2_substitute refuses it.
      if (first || literal) e.what = Expect::must_withhold;
      return e;
    }
    if (!literal) return e;  // $-substitutions are PCRE2's business
    if (ov[0] == ov[1]) {
      // An empty match: what follows depends on PCRE2's bump-along rules.
      if (!first) {
        e.what = Expect::prefix;
        e.text = std::move(out);
      }
      return e;
    }
    out.append(line.substr(p, ov[0] - p));
    out += replace;
    p = ov[1];
    first = false;
  }
}

std::vector<std::string_view> lines_of(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    const auto nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) return out;
    s.remove_prefix(nl + 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nl1 = input.find('\n');
  const std::string pattern(input.substr(0, nl1));
  std::string replace = "[redacted]";
  std::string text;
  if (nl1 != std::string_view::npos) {
    const auto rest = input.substr(nl1 + 1);
    const auto nl2 = rest.find('\n');
    if (nl2 == std::string_view::npos) {
      text = std::string(rest);
    } else {
      replace = std::string(rest.substr(0, nl2));
      text = std::string(rest.substr(nl2 + 1));
    }
  }
  check_cards(text);
  check_cards(pattern);

  if (pattern.empty() || !esc::pattern_problem(pattern).empty()) return 0;  // the config refuses it
  if (!esc::is_valid_utf8(replace)) return 0;                               // a TOML string is UTF-8
  (void)esc::pattern_backtracks(pattern);

  esc::Config cfg = esc::default_config();
  cfg.redact_card_numbers = true;
  cfg.redact.push_back({pattern, replace});
  const esc::Redactor redactor(cfg);
  const std::string out = redactor.apply(text);

  if (esc::is_valid_utf8(text) && !esc::is_valid_utf8(out)) fail("the redacted text is not valid UTF-8");

  Reference ref(pattern);
  if (!ref.code || !ref.md) fail("a pattern esc accepts does not compile");
  const std::string masked = esc::mask_card_numbers(text);
  const bool literal = replace.find('$') == std::string::npos;
  const auto lines = lines_of(masked);
  std::vector<Expect> expect;
  bool all_known = true, any_withhold = false;
  std::string whole;  // the text with the rule applied, when every line is known
  for (std::size_t i = 0; i < lines.size(); ++i) {
    expect.push_back(expect_line(ref, lines[i], replace, literal));
    all_known = all_known && expect.back().what == Expect::exact;
    any_withhold = any_withhold || expect.back().what == Expect::must_withhold;
    if (i) whole += '\n';
    whole += expect.back().text;
  }
  // The withheld marker: "[withheld: redaction rule 1 could not finish on
  // this text (PCRE2's reason); nothing of it was sent]". A replacement may
  // spell it too, so it is told apart by what the rule must give.
  const bool marker = out.starts_with("[withheld: redaction rule 1 could not finish on this text (") &&
                      out.ends_with("); nothing of it was sent]") && out.find('\n') == std::string::npos;
  if (all_known) {
    if (out == whole) return 0;
    if (marker) fail("withheld a text whose every line the rule finishes on");
    fail("the output is not the text with each match replaced");
  }
  if (marker) return 0;  // withheld: nothing of the text went out
  if (any_withhold) fail("a match ending before its start (\\K) went out instead of being withheld");
  const auto got = lines_of(out);
  if (got.size() != lines.size()) fail("redaction changed the number of lines");
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Expect& e = expect[i];
    if (e.what == Expect::exact && got[i] != e.text)
      fail("line " + std::to_string(i + 1) + " is not the text with each match replaced");
    if (e.what == Expect::prefix && !got[i].starts_with(e.text))
      fail("line " + std::to_string(i + 1) + " does not begin with its first match replaced");
  }
  return 0;
}
