// Importing: `esc export` lines from this log, another engineer's or a
// backup, united with the log in one transaction.

#include <fmt/format.h>

#include <istream>
#include <nlohmann/json.hpp>

#include "esc/app.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/text.hpp"

namespace esc::app {

ImportReport import_lines(Store& store, std::istream& in, const std::string& name) {
  ImportReport report;
  // One transaction for the whole file: a bad line anywhere changes nothing.
  // The lines are read inside it, so a retry (PostgreSQL) cannot replay
  // them: a conflict there fails the import instead, which changes nothing.
  bool started = false;
  store.write([&] {
    if (started)
      throw io_error("the import met a concurrent change to the same cases; nothing was imported",
                     "run it again: an import is idempotent");
    started = true;
    std::string line;
    long number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (trim(line).empty()) continue;
      CaseRecord r;
      try {
        r = record_from_json(line);
      } catch (const nlohmann::json::exception& e) {
        throw data_error(fmt::format("{}:{}: not valid JSON ({}); nothing was imported", name, number, e.what()));
      } catch (const std::invalid_argument& e) {
        throw data_error(fmt::format("{}:{}: {}; nothing was imported", name, number, inert(e.what())));
      }
      MergeResult m;
      try {
        m = store.merge_record(r);
      } catch (const Error& e) {
        if (e.code() != Exit::data) throw;
        throw data_error(fmt::format("{}:{}: {}; nothing was imported", name, number, e.what()));
      }
      switch (m.outcome) {
        case MergeResult::Outcome::added:
          ++report.added;
          if (m.file_id != m.id) report.renumbered.emplace_back(m.file_id, m.id);
          break;
        case MergeResult::Outcome::merged:
          ++report.merged;
          break;
        case MergeResult::Outcome::unchanged:
          ++report.unchanged;
          break;
      }
      if (!m.ref_conflict.empty()) report.ref_conflicts.push_back(m);
    }
    if (in.bad()) throw io_error(fmt::format("error reading {}; nothing was imported", name));
  });
  return report;
}

}  // namespace esc::app
