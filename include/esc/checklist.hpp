#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "esc/config.hpp"
#include "esc/model.hpp"

namespace esc {

struct ItemResult {
  std::string key;
  std::string question;
  std::string prompt;  // what the walk in `esc check` asks for
  std::vector<std::string> kinds;
  bool required = true;
  int entries = 0;  // entries (or triggers) that meet it
  bool met() const { return entries > 0; }
};

struct Readiness {
  std::int64_t case_id = 0;
  std::vector<ItemResult> items;
  bool ready() const;  // every required item met
  std::vector<const ItemResult*> missing(bool required_only) const;
};

// Evaluates the checklist. A trigger on the case meets a "trigger" item; a
// refuted hypothesis meets nothing (it is no longer a hypothesis to offer),
// nor does a struck entry.
Readiness evaluate(const std::vector<ChecklistItem>& checklist, const Case& c, const std::vector<Entry>& entries);

nlohmann::json to_json(const Readiness& r);

}  // namespace esc
