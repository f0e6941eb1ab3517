#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/files.hpp"
#include "esc/redact.hpp"
#include "esc/summary.hpp"

namespace esc::cli {

namespace {

struct SummaryOptions {
  std::string id;
  std::string format = "text";
  std::string to;
};

void run_summary(const SummaryOptions& o, Context& ctx) {
  auto& store = ctx.store();
  const Case c = ctx.find_case(o.id);
  Summary s = app::summary_of(store, ctx.config(), c, ctx.now());
  Redactor(ctx.config()).apply(s);
  std::string text;
  if (o.format == "json")
    text = dumped(to_json(s)) + "\n";
  else if (o.format == "markdown")
    text = render_markdown(s);
  else
    text = render_text(s);
  if (!o.to.empty()) {
    write_file_atomically(o.to, text);  // 0600: a hand-over is not for every reader of the folder
    ctx.out().info(fmt::format("Wrote the summary of #{} to {}.", c.id, o.to));
  } else {
    std::cout << text;
  }
}

}  // namespace

void register_summary(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<SummaryOptions>();
  auto* cmd = app.add_subcommand("summary", "The handover summary: subject, header, every section, what is missing");
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  add_format(cmd, o->format, {"text", "markdown", "json"});
  cmd->add_option("--to", o->to, "Write to this file (atomically, readable by you only) instead of stdout")->type_name("PATH");
  cmd->footer(
      "Example:\n  esc summary 12 | mail -s \"$(esc summary 12 --format json | jq -r .subject)\" tier2@example.com");
  cmd->callback([o, &ctx] { run_summary(*o, ctx); });
}

}  // namespace esc::cli
