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
    nlohmann::json j;
    j["case"] = to_json(r.c);
    j["entries"] = nlohmann::json::array();
    for (const auto& e : r.entries) j["entries"].push_back(to_json(e));
    j["escalations"] = nlohmann::json::array();
    for (const auto& x : r.escalations) j["escalations"].push_back(to_json(x, true));
    j["deliveries"] = nlohmann::json::array();
    for (const auto& d : r.deliveries) j["deliveries"].push_back(to_json(d));
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

CaseRecord parse_record(const std::string& line) {
  auto j = nlohmann::json::parse(line);
  if (!j.is_object()) throw std::invalid_argument("expected a JSON object");
  CaseRecord r;
  if (!j.contains("case")) throw std::invalid_argument("case: missing");
  r.c = case_from_json(j["case"]);
  auto each = [&](const char* name, auto&& fn) {
    if (!j.contains(name) || j[name].is_null()) return;
    if (!j[name].is_array()) throw std::invalid_argument(fmt::format("{}: expected an array", name));
    size_t i = 0;
    for (const auto& x : j[name]) {
      try {
        fn(x);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(fmt::format("{}[{}].{}", name, i, e.what()));
      }
      ++i;
    }
  };
  each("entries", [&](const nlohmann::json& x) { r.entries.push_back(entry_from_json(x)); });
  each("escalations", [&](const nlohmann::json& x) { r.escalations.push_back(escalation_from_json(x)); });
  each("deliveries", [&](const nlohmann::json& x) { r.deliveries.push_back(delivery_from_json(x)); });
  return r;
}

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
        r = parse_record(line);
      } catch (const nlohmann::json::exception& e) {
        throw data_error(fmt::format("{}:{}: not valid JSON ({}); nothing was imported", o.file == "-" ? "stdin" : o.file,
                                     number, e.what()));
      } catch (const std::invalid_argument& e) {
        throw data_error(fmt::format("{}:{}: {}; nothing was imported", o.file == "-" ? "stdin" : o.file, number,
                                     e.what()));
      }
      switch (store.upsert_record(r)) {
        case Store::Upsert::added: ++added; break;
        case Store::Upsert::replaced: ++updated; break;
        case Store::Upsert::kept: ++unchanged; break;
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
