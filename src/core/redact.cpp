#include "esc/redact.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <fmt/format.h>

#include <stdexcept>

namespace esc {

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
// What may stand between the digits of a card number as people write them.
bool is_separator(char c) { return c == ' ' || c == '-' || c == '.' || c == '\t' || c == '_' || c == '/'; }

}  // namespace

std::string mask_card_numbers(std::string_view text) {
  // Groups of digits, each separated from the next by one to three
  // separators: a card number is the digits of consecutive groups, 13 to 19
  // of them, starting at a group's first digit and ending at a group's
  // last. Each group is looked at a bounded number of times (a window
  // spans at most 19 digits), so this is linear in the text.
  struct Group {
    std::size_t begin, end;  // [begin, end) in text
  };
  std::string out;
  out.reserve(text.size());
  std::size_t copied = 0, i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    if (!is_digit(text[i])) {
      ++i;
      continue;
    }
    // A run of groups starting here.
    std::vector<Group> groups;
    std::size_t j = i;
    while (true) {
      std::size_t k = j;
      while (k < n && is_digit(text[k])) ++k;
      groups.push_back({j, k});
      std::size_t sep = k;
      while (sep < n && sep - k < 4 && is_separator(text[sep])) ++sep;
      if (sep == k || sep - k > 3 || sep >= n || !is_digit(text[sep])) break;
      j = sep;
    }
    std::size_t g = 0;
    while (g < groups.size()) {
      std::string digits;
      std::size_t masked_to = 0;
      for (std::size_t h = g; h < groups.size(); ++h) {
        digits.append(text.substr(groups[h].begin, groups[h].end - groups[h].begin));
        if (digits.size() > 19) break;
        if (digits.size() >= 13 && luhn_valid(digits)) masked_to = h + 1;  // the longest that passes
      }
      if (masked_to) {
        out.append(text.substr(copied, groups[g].begin - copied));
        out += "[card number]";
        copied = groups[masked_to - 1].end;
        g = masked_to;
      } else {
        ++g;
      }
    }
    i = groups.back().end;
  }
  out.append(text.substr(copied));
  return out;
}

// ---- [[redact]] rules ----------------------------------------------------------

namespace {

// How far one rule may search: enough for any sane pattern on any text,
// far too little for catastrophic backtracking.
constexpr uint32_t kMatchLimit = 5'000'000;
constexpr uint32_t kDepthLimit = 10'000;
constexpr uint32_t kHeapLimitKiB = 64 * 1024;

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

struct Compiled {
  pcre2_code* code = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  pcre2_match_data* data = nullptr;
  Compiled() = default;
  Compiled(const Compiled&) = delete;
  Compiled& operator=(const Compiled&) = delete;
  ~Compiled() {
    if (data) pcre2_match_data_free(data);
    if (stack) pcre2_jit_stack_free(stack);
    if (context) pcre2_match_context_free(context);
    if (code) pcre2_code_free(code);
  }
};

// Compiles with UTF checks, JIT where the machine has it, and the limits.
// Throws std::invalid_argument with PCRE2's message.
void compile(const std::string& pattern, Compiled& c, uint32_t match_limit) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  c.code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF, &err, &offset, nullptr);
  if (!c.code) throw std::invalid_argument(fmt::format("{} at offset {}", pcre2_message(err), offset));
  c.context = pcre2_match_context_create(nullptr);
  pcre2_set_match_limit(c.context, match_limit);
  pcre2_set_depth_limit(c.context, kDepthLimit);
  pcre2_set_heap_limit(c.context, kHeapLimitKiB);
  if (pcre2_jit_compile(c.code, PCRE2_JIT_COMPLETE) == 0) {
    c.stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(c.context, nullptr, c.stack);
  }
  c.data = pcre2_match_data_create_from_pattern(c.code, nullptr);
}

}  // namespace

struct Redactor::Rule {
  Compiled re;
  std::string replace;
  int number = 0;
};

Redactor::Redactor(const Config& cfg) : cards_(cfg.redact_card_numbers) {
  int n = 0;
  for (const auto& r : cfg.redact) {
    auto rule = std::make_unique<Rule>();
    rule->replace = r.replace;
    rule->number = ++n;
    compile(r.pattern, rule->re, kMatchLimit);  // checked by the config already
    rules_.push_back(std::move(rule));
  }
}
Redactor::~Redactor() = default;
Redactor::Redactor(Redactor&&) noexcept = default;

std::string Redactor::apply(const std::string& text) const {
  std::string s = cards_ ? mask_card_numbers(text) : text;
  for (const auto& rule : rules_) {
    // Line by line: the limits then bound the search on each line, however
    // long the text; a rule that still cannot finish withholds the text.
    std::string out;
    out.reserve(s.size());
    std::string_view rest(s);
    while (true) {
      const auto nl = rest.find('\n');
      const std::string_view line = rest.substr(0, nl);
      std::string buf(line.size() + 64, '\0');
      PCRE2_SIZE len = buf.size();
      const auto flags = PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH;
      int rc = pcre2_substitute(rule->re.code, reinterpret_cast<PCRE2_SPTR>(line.data()), line.size(), 0, flags,
                                rule->re.data, rule->re.context, reinterpret_cast<PCRE2_SPTR>(rule->replace.data()),
                                rule->replace.size(), reinterpret_cast<PCRE2_UCHAR*>(buf.data()), &len);
      if (rc == PCRE2_ERROR_NOMEMORY) {
        buf.assign(len, '\0');
        rc = pcre2_substitute(rule->re.code, reinterpret_cast<PCRE2_SPTR>(line.data()), line.size(), 0, flags,
                              rule->re.data, rule->re.context, reinterpret_cast<PCRE2_SPTR>(rule->replace.data()),
                              rule->replace.size(), reinterpret_cast<PCRE2_UCHAR*>(buf.data()), &len);
      }
      if (rc < 0)
        return fmt::format("[withheld: redaction rule {} could not finish on this text ({}); nothing of it was sent]",
                           rule->number, pcre2_message(rc));
      out.append(buf.data(), len);
      if (nl == std::string_view::npos) break;
      out += '\n';
      rest.remove_prefix(nl + 1);
    }
    s = std::move(out);
  }
  return s;
}

void Redactor::apply(Summary& s) const {
  s.c.title = apply(s.c.title);
  s.c.customer = apply(s.c.customer);
  s.c.ref = apply(s.c.ref);
  for (auto& t : s.c.tags) t = apply(t);
  s.subject = apply(s.subject);
  s.note = apply(s.note);
  s.forced_reason = apply(s.forced_reason);
  for (auto* section :
       {&s.impact, &s.outcome, &s.facts, &s.steps, &s.client, &s.hypotheses, &s.heads_up, &s.replies, &s.notes})
    for (auto& item : *section) item.text = apply(item.text);
  for (auto& x : s.escalations) x.acked_by = apply(x.acked_by);
}

std::string pattern_problem(const std::string& pattern) {
  Compiled c;
  try {
    compile(pattern, c, kMatchLimit);
  } catch (const std::invalid_argument& e) {
    return fmt::format("it is not a valid regular expression ({})", e.what());
  }
  // `x*` matches nothing at all, everywhere: its replacement would go
  // between every two characters of every text.
  if (pcre2_match(c.code, reinterpret_cast<PCRE2_SPTR>(""), 0, 0, 0, c.data, c.context) >= 0)
    return "it matches the empty string, so its replacement would go between every two characters";
  return {};
}

std::string pattern_backtracks(const std::string& pattern) {
  // Tried on texts made to make backtracking explode: runs of each
  // character the pattern names, then one that fails the match. A pattern
  // that needs more than a small budget on 30 characters grows out of any
  // budget on longer ones.
  Compiled c;
  try {
    compile(pattern, c, 200'000);
  } catch (const std::invalid_argument&) {
    return {};
  }
  std::string chars = "a1 .-_x";
  for (char ch : pattern)
    if (static_cast<unsigned char>(ch) >= 0x20 && static_cast<unsigned char>(ch) < 0x7f &&
        chars.find(ch) == std::string::npos)
      chars += ch;
  for (char ch : chars)
    for (const char* tail : {"!", "\n", "\x01"}) {
      const std::string subject = std::string(30, ch) + tail;
      const int rc =
          pcre2_match(c.code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0, c.data, c.context);
      if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
          rc == PCRE2_ERROR_JIT_STACKLIMIT)
        return fmt::format("it runs out of its budget on 30 \"{}\" characters", std::string(1, ch));
    }
  return {};
}

}  // namespace esc
