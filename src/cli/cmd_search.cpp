#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct SearchOptions {
  std::vector<std::string> query;
  std::string kind;
  int limit = 20;
  bool newest = false;
  std::string format = "table";
};

// Snippets mark matches with \x02 ... \x03.
std::string marked(const std::string& snippet, const std::string& open, const std::string& close) {
  std::string out;
  for (char ch : snippet) {
    if (ch == '\x02')
      out += open;
    else if (ch == '\x03')
      out += close;
    else
      out += ch;
  }
  return out;
}

void run_search(const SearchOptions& o, Context& ctx) {
  const std::string query = checked_line(join(o.query, " "), "the query");
  if (query.empty()) throw usage_error("the query is empty");
  if (!o.kind.empty() && o.kind != "title" && !parse_entry_kind(o.kind))
    throw usage_error(fmt::format("unknown entry kind \"{}\"", inert(o.kind)),
                      fmt::format("expected title or one of: {}", join(user_entry_kind_names(), ", ")));
  if (o.limit < 1) throw usage_error("--limit must be 1 or more");
  auto hits = ctx.store().search(query, o.kind, o.limit, o.newest);
  if (o.format == "json") {
    JsonArrayPrinter a;
    for (const auto& h : hits)
      a.add({{"case", h.case_id},
                   {"entry", h.entry_id ? nlohmann::json(h.entry_id) : nlohmann::json(nullptr)},
                   {"kind", h.kind},
                   {"title", h.title},
                   {"at", format_rfc3339(h.at)},
                   {"snippet", marked(h.snippet, "[", "]")}});
    return;
  }
  if (o.format == "csv") {
    std::cout << csv_row({"case", "entry", "kind", "title", "at", "snippet"});
    for (const auto& h : hits)
      std::cout << csv_row({std::to_string(h.case_id), h.entry_id ? std::to_string(h.entry_id) : "", h.kind, h.title,
                            format_rfc3339(h.at), marked(h.snippet, "[", "]")});
    return;
  }
  auto& out = ctx.out();
  if (hits.empty()) {
    out.info(fmt::format("Nothing matches \"{}\".", inert(query)));
    return;
  }
  // Highlight after making the text inert, so markers survive as colour.
  std::vector<std::vector<std::string>> rows;
  std::vector<std::vector<Style>> styles;
  for (const auto& h : hits) {
    rows.push_back({fmt::format("#{}", h.case_id), h.kind, h.title, marked(h.snippet, "[", "]")});
    styles.push_back({Style::bold, Style::cyan, Style::none, Style::none});
  }
  out.table({{"CASE", false, true}, {"KIND"}, {"TITLE"}, {"MATCH", true}}, std::move(rows), styles);
}

}  // namespace

void register_search(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<SearchOptions>();
  auto* cmd = app.add_subcommand("search", "Full-text search over titles and entries, best match first");
  cmd->add_option("query", o->query, "Words to find (all must match); word* for a prefix; OR between words")
      ->required()
      ->type_name("QUERY");
  cmd->add_option("--kind", o->kind, "Only entries of this kind (or `title`)")->type_name("KIND");
  add_number(cmd, "--limit", o->limit, "At most N results")->capture_default_str();
  cmd->add_flag("--newest", o->newest, "Newest first instead of best match first");
  add_format(cmd, o->format, {"table", "json", "csv"});
  cmd->footer("Example:\n  esc search 3-D Secure timeout --kind step");
  cmd->callback([o, &ctx] { run_search(*o, ctx); });
}

}  // namespace esc::cli
