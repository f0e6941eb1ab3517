// JSON Lines import (esc import) with arbitrary input, into a fresh
// SQLite log each time: the import either fails cleanly (an esc::Error, nothing
// changed) or leaves a consistent store (integrity_check() == "ok", FTS
// indexes included) whose export parses again, imports whole into another
// log, and changes nothing when imported a second time.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "esc/app.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/store.hpp"

namespace {

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "fuzz_import: %s\n", why.c_str());
  std::abort();
}

struct Counts {
  std::size_t cases = 0, entries = 0, escalations = 0, deliveries = 0;
  bool operator==(const Counts&) const = default;
};

// The log exported as `esc export` writes it, one line a case.
std::string export_all(esc::Store& store, Counts& n) {
  std::string out;
  store.each_record(std::nullopt, [&](const esc::CaseRecord& r) {
    ++n.cases;
    n.entries += r.entries.size();
    n.escalations += r.escalations.size();
    n.deliveries += r.deliveries.size();
    out += esc::to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
  });
  return out;
}

// A fresh log, cheaply: opening one in memory migrates a schema each time
// (about 0.1 s with the sanitizers); a copy of a log made once at start on
// tmpfs opens in a fraction of that, and is as fresh.
esc::Store fresh_log(const char* name) {
  namespace fs = std::filesystem;
  static const fs::path dir = [] {
    fs::path d =
        fs::path(fs::exists("/dev/shm") ? "/dev/shm" : "/tmp") / ("esc-fuzz-import-" + std::to_string(::getpid()));
    fs::create_directories(d);
    { auto s = esc::Store::open((d / "template.db").string(), esc::Store::Options{true}); }
    for (const char* side : {"-wal", "-shm"}) fs::remove(d / (std::string("template.db") + side));
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(
          fs::path(fs::exists("/dev/shm") ? "/dev/shm" : "/tmp") / ("esc-fuzz-import-" + std::to_string(::getpid())),
          ec);
    });
    return d;
  }();
  const fs::path db = dir / (std::string(name) + ".db");
  for (const char* side : {"", "-wal", "-shm"}) fs::remove(db.string() + side);
  fs::copy_file(dir / "template.db", db);
  return esc::Store::open(db.string(), esc::Store::Options{false});
}

void check_integrity(esc::Store& store, const char* when) {
  const std::string r = store.integrity_check();
  if (r != "ok") fail(std::string("integrity_check ") + when + ": " + r);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool verbose = std::getenv("ESC_FUZZ_VERBOSE") != nullptr;  // says what each input did
  const std::string input(reinterpret_cast<const char*>(data), size);
  esc::Store store = fresh_log("a");
  esc::app::ImportReport first;
  bool imported = false;
  try {
    std::istringstream in(input);
    first = esc::app::import_lines(store, in, "fuzz.jsonl");
    imported = true;
  } catch (const esc::Error& e) {
    // Refused as a whole: a bad line, or a constraint a record breaks.
    if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
  }
  if (verbose && imported)
    std::fprintf(stderr, "imported: %d added, %d merged, %d unchanged, %zu renumbered, %zu ref conflicts\n",
                 first.added, first.merged, first.unchanged, first.renumbered.size(), first.ref_conflicts.size());
  check_integrity(store, imported ? "after an import" : "after a refused import");
  Counts n;
  const std::string exported = export_all(store, n);
  if (!imported) {
    if (n.cases || n.entries || n.escalations || n.deliveries) fail("a refused import changed the log");
    return 0;
  }
  if (static_cast<std::size_t>(first.added) != n.cases) fail("the report's added cases differ from the log's");

  // Every exported line parses again.
  {
    std::istringstream lines(exported);
    std::string line;
    while (std::getline(lines, line)) {
      try {
        (void)esc::record_from_json(line);
      } catch (const std::exception& e) {
        fail(std::string("an exported line does not parse: ") + e.what());
      }
    }
  }

  // The export goes whole into another log...
  esc::Store other = fresh_log("b");
  try {
    std::istringstream in(exported);
    const auto r = esc::app::import_lines(other, in, "export.jsonl");
    if (static_cast<std::size_t>(r.added) != n.cases) fail("the export did not add every case to another log");
  } catch (const esc::Error& e) {
    fail(std::string("the export does not import into another log: ") + e.what());
  }
  check_integrity(other, "after importing an export");
  Counts m;
  (void)export_all(other, m);
  if (!(m == n)) fail("another log importing the export holds a different number of rows");

  // ...and into this one again, changing nothing.
  try {
    std::istringstream in(exported);
    const auto r = esc::app::import_lines(store, in, "export.jsonl");
    if (r.added || r.merged) fail("importing a log's own export changed it");
  } catch (const esc::Error& e) {
    fail(std::string("a log's own export does not import into it: ") + e.what());
  }
  check_integrity(store, "after importing its own export");
  return 0;
}
