// JSON Lines import: any line either fails cleanly or goes into a store
// that stays consistent (integrity and full-text index checks).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string line(reinterpret_cast<const char*>(data), size);
  esc::CaseRecord r;
  try {
    r = esc::record_from_json(line);
  } catch (const std::invalid_argument&) {
    return 0;
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  static esc::Store store = esc::Store::open_memory();
  try {
    store.write([&] { store.upsert_record(r); });
  } catch (const esc::Error&) {
    return 0;  // e.g. a constraint the record breaks: refused as a whole
  }
  if (store.fts_integrity_check() != "ok") std::abort();
  // What was stored exports to a record that parses again.
  store.for_each_record(std::nullopt,
                        [](const esc::CaseRecord& back) { (void)esc::record_from_json(esc::to_json(back).dump()); });
  return 0;
}
