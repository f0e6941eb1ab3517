#pragma once

#include <regex>
#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/summary.hpp"

namespace esc {

// Masks what must not leave the machine: the config's [[redact]] patterns
// and, unless turned off, payment card numbers that pass the Luhn check.
class Redactor {
 public:
  explicit Redactor(const Config& cfg);
  std::string apply(const std::string& text) const;
  void apply(Summary& s) const;  // every text field of the summary

 private:
  std::vector<std::pair<std::regex, std::string>> rules_;
  bool cards_ = true;
};

bool luhn_valid(std::string_view digits);
std::string mask_card_numbers(const std::string& text);

}  // namespace esc
