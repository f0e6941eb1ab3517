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
  ctx.store().each_record(since, [&](const CaseRecord& r) {
    auto j = to_json(r);
    buf += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    buf += '\n';
    if (buf.size() > (1 << 16)) {
      std::cout << buf;
      buf.clear();
    }
  });
  std::cout << buf;  // what reached stdout is checked once, at the end (finish_stdout)
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
  const auto r = app::import_lines(ctx.store_creating(), *in, o.file == "-" ? "stdin" : o.file);
  auto& out = ctx.out();
  out.info(fmt::format("Imported: {} new, {} merged, {} unchanged.", r.added, r.merged, r.unchanged));
  // What a reader of subjects already sent ("[ESC #2]") must know.
  for (const auto& [was, now] : r.renumbered)
    out.warn(fmt::format("case #{} in the file is #{} here (#{} was taken)", was, now, was));
  for (const auto& m : r.ref_conflicts)
    out.warn(fmt::format("case #{}: ref {} belongs to case #{} here; #{} was imported without it", m.id,
                         inert(m.ref_conflict), m.ref_owner, m.id));
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
  auto* imp = app.add_subcommand("import", "Read an export back: merged by UUID, nothing here deleted; imported deliveries are never sent");
  imp->add_option("file", i->file, "The JSON Lines file, or - for stdin")->required()->type_name("FILE");
  imp->footer("Example:\n  esc --db new.db import esc-backup.jsonl");
  imp->callback([i, &ctx] { run_import(*i, ctx); });
}

}  // namespace esc::cli
