#include <fmt/format.h>

#include <iostream>

#include "common.hpp"
#include "esc/error.hpp"
#include "esc/json.hpp"
#include "esc/text.hpp"

namespace esc::cli {

namespace {

struct ReviewOptions {
  std::string id;
  std::string worked, improve;
  std::vector<std::string> lessons;
  bool no_input = false;
};

void run_review(const ReviewOptions& o, Context& ctx) {
  auto& store = ctx.store();
  Case c = ctx.find_case(o.id);
  if (c.status != Status::resolved)
    throw data_error(fmt::format("case #{} is not resolved yet; the review comes after", c.id),
                     fmt::format("`esc resolve {}` first", c.id));
  std::vector<std::pair<std::string, std::string>> parts;  // state, text
  if (!o.worked.empty()) parts.emplace_back("worked", checked_text(o.worked, "--worked"));
  if (!o.improve.empty()) parts.emplace_back("improve", checked_text(o.improve, "--improve"));
  for (const auto& l : o.lessons) parts.emplace_back("lesson", checked_text(l, "--lesson"));
  const bool interactive = !o.no_input && ctx.out().stdin_is_tty();
  const auto who = ctx.engineer();
  auto save = [&](const std::string& state, const std::string& text) {
    store.write([&] { app::add_entry(store, c.id, EntryKind::review, text, who.name, ctx.now(), state); });
  };
  for (const auto& [state, text] : parts)
    if (!trim(text).empty()) save(state, text);
  int asked = 0;
  if (interactive) {
    auto prompt = [&](const std::string& state, const std::string& q) {
      std::cerr << q << '\n';
      auto a = ask("> ");
      if (!a) return false;
      std::string t = trim(*a);
      if (!t.empty() && is_valid_utf8(t) && !has_control_chars(t, "\t")) save(state, t), ++asked;
      return !t.empty();
    };
    bool go = true;
    if (o.worked.empty()) go = prompt("worked", "What worked well in this escalation? (Enter skips)");
    if (go && o.improve.empty()) prompt("improve", "What should be done better next time? (Enter skips)");
    if (o.lessons.empty())
      while (prompt("lesson", "A lesson for the team, findable with `esc lessons`? (Enter when done)")) {
      }
  }
  if (parts.empty() && asked == 0)
    throw usage_error("nothing to record", "give --worked, --improve or --lesson, or run it on a terminal");
  ctx.out().info(fmt::format("Review recorded on #{}.", c.id));
}

struct LessonsOptions {
  std::vector<std::string> query;
  int limit = 50;
  std::string format = "table";
};

void run_lessons(const LessonsOptions& o, Context& ctx) {
  const std::string q = checked_line(join(o.query, " "), "the query");
  if (o.limit < 0) throw usage_error("--limit must be 0 (no limit) or more");
  auto& store = ctx.store();
  // One lesson at a time, however many there are.
  auto each = [&](const std::function<void(const LessonHit&)>& fn) { store.each_lesson(q, o.limit, fn); };
  if (o.format == "json") {
    JsonArrayPrinter a;
    each([&](const LessonHit& h) {
      auto j = to_json(h.entry);
      j["case"] = h.entry.case_id;
      j["title"] = h.case_title;
      j["customer"] = h.customer;
      a.add(j);
    });
    return;
  }
  if (o.format == "csv") {
    std::cout << csv_row({"case", "title", "customer", "at", "lesson"});
    each([&](const LessonHit& h) {
      std::cout << csv_row(
          {std::to_string(h.entry.case_id), h.case_title, h.customer, format_rfc3339(h.entry.at), h.entry.text});
    });
    return;
  }
  auto row = [](const LessonHit& h) -> std::vector<std::string> {
    return {fmt::format("#{}", h.entry.case_id), format_local(h.entry.at).substr(0, 10), h.case_title, h.entry.text};
  };
  const std::vector<Column> columns{{"CASE", false, true}, {"DATE"}, {"TITLE", true}, {"LESSON", true}};
  size_t rows = 0;
  store.read([&] {  // one snapshot, in case the table is long enough to be read twice
    rows = ctx.out().table(columns, [&](const Output::RowSink& sink) {
      each([&](const LessonHit& h) {
        auto cells = row(h);
        sink(cells, {});
      });
    });
  });
  if (rows == 0) {
    ctx.out().info(q.empty() ? "No lessons recorded yet." : "No lesson matches.");
    ctx.out().hint("after `esc resolve`, `esc review ID --lesson \"...\"` records one");
  }
}

}  // namespace

void register_review(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ReviewOptions>();
  auto* cmd = app.add_subcommand("review", "The post-resolution review: what worked, what to improve, lessons");
  cmd->add_option("id", o->id, "Case: 12, #12, ref:ZD-4411 or its ref")->required()->type_name("ID");
  cmd->add_option("--worked", o->worked, "What worked well")->type_name("TEXT");
  cmd->add_option("--improve", o->improve, "What to do better")->type_name("TEXT");
  cmd->add_option("--lesson", o->lessons, "A lesson for the team (repeatable)")->type_name("TEXT");
  cmd->add_flag("--no-input", o->no_input, "Never ask on the terminal");
  cmd->footer(
      "Example:\n  esc review 12 --worked \"HAR file attached up front\" --lesson \"Ask for the card's BIN first\"");
  cmd->callback([o, &ctx] { run_review(*o, ctx); });

  auto l = std::make_shared<LessonsOptions>();
  auto* lessons = app.add_subcommand("lessons", "Lessons learned across all cases, best match first");
  lessons->add_option("query", l->query, "Words to look for (none: newest first)")->type_name("QUERY");
  add_number(lessons, "--limit", l->limit, "At most N lessons; 0 for all")->capture_default_str();
  add_format(lessons, l->format, {"table", "json", "csv"});
  lessons->footer("Example:\n  esc lessons 3DS timeout --format json | jq -r '.[].text'");
  lessons->callback([l, &ctx] { run_lessons(*l, ctx); });
}

}  // namespace esc::cli
