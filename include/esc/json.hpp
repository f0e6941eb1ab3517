#pragma once

#include <nlohmann/json.hpp>

#include "esc/model.hpp"

namespace esc {

// Stable JSON shapes shared by every command that prints data and by
// export/import. Times are RFC 3339 UTC; absent values are null.
nlohmann::json to_json(const Case& c);
nlohmann::json to_json(const Entry& e);
nlohmann::json to_json(const Escalation& x, bool with_snapshot);
nlohmann::json to_json(const Delivery& d);

// The reverse, for import. Throw std::invalid_argument naming the field.
Case case_from_json(const nlohmann::json& j);
Entry entry_from_json(const nlohmann::json& j);
Escalation escalation_from_json(const nlohmann::json& j);
Delivery delivery_from_json(const nlohmann::json& j);

nlohmann::json time_or_null(const std::optional<Time>& t);

// One line of `esc export`, and back. record_from_json throws
// std::invalid_argument naming the field, or nlohmann::json::exception.
nlohmann::json to_json(const CaseRecord& r);
CaseRecord record_from_json(const std::string& line);

}  // namespace esc
