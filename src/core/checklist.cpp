#include "esc/checklist.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace esc {

bool Readiness::ready() const {
  return std::all_of(items.begin(), items.end(), [](const auto& i) { return !i.required || i.met(); });
}

std::vector<const ItemResult*> Readiness::missing(bool required_only) const {
  std::vector<const ItemResult*> out;
  for (const auto& i : items)
    if (!i.met() && (i.required || !required_only)) out.push_back(&i);
  return out;
}

Readiness evaluate(const std::vector<ChecklistItem>& checklist, const Case& c, const std::vector<Entry>& entries) {
  Readiness r;
  r.case_id = c.id;
  for (const auto& item : checklist) {
    ItemResult res{item.key, item.question, item.prompt, item.kinds, item.required, 0};
    for (const auto& kind : item.kinds) {
      if (kind == "trigger") {
        res.entries += static_cast<int>(c.triggers.size());
        continue;
      }
      for (const auto& e : entries)
        if (to_string(e.kind) == kind && !e.struck() && !(e.kind == EntryKind::hypothesis && e.state == "refuted") &&
            !e.text.empty())
          ++res.entries;
    }
    r.items.push_back(std::move(res));
  }
  return r;
}

nlohmann::json to_json(const Readiness& r) {
  nlohmann::json items = nlohmann::json::array();
  for (const auto& i : r.items)
    items.push_back(
        {{"key", i.key}, {"question", i.question}, {"required", i.required}, {"met", i.met()}, {"entries", i.entries}});
  return {{"case", r.case_id}, {"ready", r.ready()}, {"items", items}};
}

}  // namespace esc
