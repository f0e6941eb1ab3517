#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "esc/config.hpp"
#include "esc/summary.hpp"

namespace esc {

// Masks what must not leave the machine: payment card numbers that pass the
// Luhn check (unless turned off) and the config's [[redact]] patterns
// (PCRE2, compiled once, with limits on how long a match may search). A
// text that a rule cannot finish on within its limits is withheld whole,
// with a marker: it is never sent unmasked.
class Redactor {
 public:
  explicit Redactor(const Config& cfg);
  ~Redactor();
  Redactor(Redactor&&) noexcept;
  std::string apply(const std::string& text) const;
  void apply(Summary& s) const;  // every text field of the summary

 private:
  struct Rule;
  std::vector<std::unique_ptr<Rule>> rules_;
  bool cards_ = true;
};

bool luhn_valid(std::string_view digits);
// Runs of 13 to 19 digits that pass the Luhn check, whatever separates the
// digits (spaces, dots, dashes, in any number up to three) and whatever
// they are glued to.
std::string mask_card_numbers(std::string_view text);

// For the config: what is wrong with a pattern (empty when it compiles),
// and why it may backtrack badly (empty when it does not seem to).
std::string pattern_problem(const std::string& pattern);
std::string pattern_backtracks(const std::string& pattern);

}  // namespace esc
