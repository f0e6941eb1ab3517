#include <fmt/format.h>

#include <fstream>
#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct ExportOptions {
  std::string format = "jsonl";
  std::string since;
};

// One line a case: the case, its entries, escalations (with the summary
// snapshot that was sent) and deliveries. Secrets are never stored, so none
// can be exported.
void run_export(const ExportOptions& o, Context& ctx) {
  std::optional<Time> since;
  if (!o.since.empty() && !(since = parse_when(o.since, ctx.now())))
    throw usage_error(fmt::format("--since: \"{}\" is not a date, time or duration", o.since));
  std::string buf;
  ctx.store().for_each_record(since, [&](const CaseRecord& r) {
    auto j = to_json(r);
    buf += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    buf += '\n';
    if (buf.size() > (1 << 16)) {
      std::cout << buf;
      buf.clear();
    }
  });
  std::cout << buf << std::flush;
  if (!std::cout) throw io_error("cannot write the export to standard output");
}

struct ImportOptions {
  std::string file;
};

void run_import(const ImportOptions& o, Context& ctx) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (o.file != "-") {
    file.open(o.file, std::ios::binary);
    if (!file) throw not_found(fmt::format("cannot read {}", o.file));
    in = &file;
  }
  auto& store = ctx.store();
  int added = 0, updated = 0, unchanged = 0;
  // One transaction for the whole file: a bad line anywhere changes nothing.
  store.write([&] {
    std::string line;
    long number = 0;
    while (std::getline(*in, line)) {
      ++number;
      if (trim(line).empty()) continue;
      CaseRecord r;
      try {
        r = record_from_json(line);
      } catch (const nlohmann::json::exception& e) {
        throw data_error(fmt::format("{}:{}: not valid JSON ({}); nothing was imported",
                                     o.file == "-" ? "stdin" : o.file, number, e.what()));
      } catch (const std::invalid_argument& e) {
        throw data_error(
            fmt::format("{}:{}: {}; nothing was imported", o.file == "-" ? "stdin" : o.file, number, e.what()));
      }
      switch (store.upsert_record(r)) {
        case Store::Upsert::added:
          ++added;
          break;
        case Store::Upsert::replaced:
          ++updated;
          break;
        case Store::Upsert::kept:
          ++unchanged;
          break;
      }
    }
    if (in->bad()) throw io_error("error reading the import");
  });
  ctx.out().info(fmt::format("Imported: {} new, {} updated, {} unchanged.", added, updated, unchanged));
}

}  // namespace

void register_exchange(CLI::App& app, Context& ctx) {
  auto e = std::make_shared<ExportOptions>();
  auto* exp = app.add_subcommand("export", "Every case with its entries, escalations and deliveries, as JSON Lines");
  add_format(exp, e->format, {"jsonl"});
  exp->add_option("--since", e->since, "Only cases active since this date")->type_name("DATE");
  exp->footer("Example:\n  esc export > esc-backup.jsonl");
  exp->callback([e, &ctx] { run_export(*e, ctx); });

  auto i = std::make_shared<ImportOptions>();
  auto* imp = app.add_subcommand("import", "Read an export back (idempotent by case UUID; the newer copy wins)");
  imp->add_option("file", i->file, "The JSON Lines file, or - for stdin")->required()->type_name("FILE");
  imp->footer("Example:\n  esc --db new.db import esc-backup.jsonl");
  imp->callback([i, &ctx] { run_import(*i, ctx); });
}

}  // namespace esc::cli
