#include "esc/redact.hpp"

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

std::string mask_card_numbers(const std::string& text) {
  // Runs of 13 to 19 digits, optionally grouped by single spaces or dashes,
  // not glued to other digits or letters.
  std::string out;
  size_t i = 0;
  const size_t n = text.size();
  auto is_digit = [&](size_t k) { return k < n && text[k] >= '0' && text[k] <= '9'; };
  auto is_word = [&](size_t k) {
    return k < n && (is_digit(k) || (text[k] >= 'a' && text[k] <= 'z') || (text[k] >= 'A' && text[k] <= 'Z'));
  };
  while (i < n) {
    if (!is_digit(i) || (i > 0 && is_word(i - 1))) {
      out += text[i++];
      continue;
    }
    std::string digits;
    size_t j = i, end = i;
    while (j < n) {
      if (is_digit(j)) {
        digits += text[j++];
        end = j;
        if (digits.size() > 19) break;
      } else if ((text[j] == ' ' || text[j] == '-') && is_digit(j + 1)) {
        ++j;
      } else {
        break;
      }
    }
    if (digits.size() >= 13 && digits.size() <= 19 && !is_word(end) && luhn_valid(digits)) {
      out += "[card number]";
      i = end;
    } else {
      // Not a card: copy the first run of digits as it is and go on.
      size_t k = i;
      while (is_digit(k)) out += text[k++];
      i = k;
    }
  }
  return out;
}

Redactor::Redactor(const Config& cfg) : cards_(cfg.redact_card_numbers) {
  for (const auto& r : cfg.redact) rules_.emplace_back(std::regex(r.pattern), r.replace);
}

std::string Redactor::apply(const std::string& text) const {
  std::string s = cards_ ? mask_card_numbers(text) : text;
  for (const auto& [re, replace] : rules_) s = std::regex_replace(s, re, replace);
  return s;
}

void Redactor::apply(Summary& s) const {
  s.c.title = apply(s.c.title);
  s.c.customer = apply(s.c.customer);
  s.c.ref = apply(s.c.ref);
  for (auto& t : s.c.tags) t = apply(t);
  s.subject = apply(s.subject);
  s.forced_reason = apply(s.forced_reason);
  for (auto* section : {&s.impact, &s.outcome, &s.facts, &s.steps, &s.client, &s.hypotheses, &s.heads_up, &s.notes})
    for (auto& item : *section) item.text = apply(item.text);
  for (auto& x : s.escalations) x.acked_by = apply(x.acked_by);
}

}  // namespace esc
