// For a team on one log: the inbox of the paths an engineer serves, and
// taking a case over.

#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct InboxOptions {
  std::vector<std::string> paths;
  std::string format = "table";
};

void run_inbox(const InboxOptions& o, Context& ctx) {
  const Config& cfg = ctx.config();
  const std::vector<std::string>& paths = o.paths.empty() ? cfg.serves : o.paths;
  if (paths.empty())
    throw usage_error("you serve no path yet, so nothing can wait for you",
                      "name yours in the config ([engineer] serves = [\"tier2\"]) or here: `esc inbox --path tier2`");
  const auto items = ctx.store().inbox(paths);
  const Time now = ctx.now();
  if (o.format == "json") {
    JsonArrayPrinter a;
    for (const auto& i : items) {
      auto j = to_json(i.c);
      j["escalation"] = to_json(i.x, false);
      j["waiting_seconds"] = (now - i.x.at).count();
      a.add(j);
    }
    return;
  }
  if (o.format == "csv") {
    std::cout << csv_row({"case", "title", "customer", "severity", "path", "level", "sent_at", "sent_by", "waiting_seconds"});
    for (const auto& i : items)
      std::cout << csv_row({std::to_string(i.c.id), i.c.title, i.c.customer, i.c.severity, i.x.path,
                            std::to_string(i.x.level), format_rfc3339(i.x.at), i.x.sent_by,
                            std::to_string((now - i.x.at).count())});
    return;
  }
  auto& out = ctx.out();
  if (items.empty()) {
    out.info(fmt::format("Nothing waits on {}.", join(paths, ", ")));
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& i : items)
    rows.push_back({fmt::format("#{}", i.c.id), i.c.severity, i.x.path, format_duration(now - i.x.at),
                    i.x.sent_by.empty() ? i.c.engineer : i.x.sent_by, i.c.customer, i.c.title});
  out.table({{"CASE", false, true}, {"SEV"}, {"PATH"}, {"WAITING", false, true}, {"FROM"}, {"CUSTOMER"}, {"TITLE", true}},
            std::move(rows));
  out.hint("`esc show ID` for the hand-over; `esc ack ID` when you take it on");
}

struct TakeOptions {
  std::string id;
};

void run_take(const TakeOptions& o, Context& ctx) {
  const Case found = ctx.find_case(o.id);
  const auto who = ctx.engineer();
  const std::string was = app::take(ctx.store(), found.id, who, ctx.now());
  ctx.out().info(was == who.name ? fmt::format("Case #{} is already yours.", found.id)
                                 : fmt::format("Case #{} is yours now{}.", found.id,
                                               was.empty() ? "" : fmt::format(" (was {})", inert(was))));
}

}  // namespace

void register_team(CLI::App& app, Context& ctx) {
  auto i = std::make_shared<InboxOptions>();
  auto* inbox = app.add_subcommand("inbox", "Escalations waiting on the paths you serve, oldest first");
  inbox->add_option("--path", i->paths, "This path instead of [engineer] serves (repeatable)")->type_name("PATH");
  add_format(inbox, i->format, {"table", "json", "csv"});
  inbox->footer("Example:\n  esc inbox            # with serves = [\"tier2\"] under [engineer]");
  inbox->callback([i, &ctx] { run_inbox(*i, ctx); });

  auto t = std::make_shared<TakeOptions>();
  auto* take = app.add_subcommand("take", "Make a case yours (its engineer)");
  take->add_option("id", t->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  take->footer("Example:\n  esc take 12");
  take->callback([t, &ctx] { run_take(*t, ctx); });
}

}  // namespace esc::cli
