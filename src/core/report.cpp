#include "esc/report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "esc/text.hpp"
#include "esc/time.hpp"

namespace esc {

// ---- figures ------------------------------------------------------------------

ReportBuilder::ReportBuilder(StatsBy by, const Config& cfg, Time now, std::size_t top_n)
    : by_(by), now_(now), top_n_(top_n), groups_(by, cfg, now), total_(StatsBy::none, cfg, now) {}

void ReportBuilder::add(const StatsCase& c) {
  groups_.add(c);
  total_.add(c);
  const bool escalated = !c.escalations.empty();
  bool forced = false;
  for (const auto& x : c.escalations) forced = forced || x.forced;
  auto count = [&](TopRow& r) {
    ++r.cases;
    r.escalated += escalated;
    r.forced += forced;
    r.unnecessary += escalated && c.unnecessary;
  };
  for (const auto& t : c.triggers) count(triggers_[t]);
  if (!c.customer.empty()) count(customers_[c.customer]);
  // A path's row counts each case sent to it once, and each escalation.
  for (std::size_t i = 0; i < c.escalations.size(); ++i) {
    const auto& x = c.escalations[i];
    TopRow& r = paths_[x.path];
    bool first_to_path = true;
    for (std::size_t j = 0; j < i; ++j) first_to_path = first_to_path && c.escalations[j].path != x.path;
    if (first_to_path) ++r.cases, r.unnecessary += c.unnecessary;
    ++r.escalated;
    r.acknowledged += x.acked_at.has_value();
    r.forced += x.forced;
  }
}

namespace {

// The `n` rows with the most escalations, then the most cases, then by name.
std::vector<TopRow> top(std::unordered_map<std::string, TopRow>& rows, std::size_t n) {
  std::vector<TopRow> out;
  out.reserve(rows.size());
  for (auto& [name, r] : rows) {
    r.name = name;
    out.push_back(std::move(r));
  }
  rows.clear();
  auto before = [](const TopRow& a, const TopRow& b) {
    if (a.escalated != b.escalated) return a.escalated > b.escalated;
    if (a.cases != b.cases) return a.cases > b.cases;
    return a.name < b.name;
  };
  const std::size_t k = std::min(n, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), before);
  out.resize(k);
  return out;
}

}  // namespace

Report ReportBuilder::finish(std::optional<Time> since, std::optional<Time> until) {
  Report r;
  r.by = by_;
  r.since = since;
  r.until = until;
  r.now = now_;
  r.total = total_.finish().front();
  r.groups = groups_.finish();
  if (by_ == StatsBy::month) r.groups = every_month(std::move(r.groups), since, until, now_);
  r.top = {top(triggers_, top_n_), top(customers_, top_n_), top(paths_, top_n_)};
  return r;
}

// ---- HTML and SVG -------------------------------------------------------------

std::string html_escape(std::string_view s, bool keep_newlines) {
  const std::string clean = inert(s, keep_newlines);
  std::string out;
  out.reserve(clean.size());
  for (char ch : clean) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::vector<ChartSpec> report_charts() {
  auto m = [](const char* name) { return find_metric(name); };
  return {
      {"chart-cases", "Cases opened and escalated", "cases", {m("cases"), m("escalations")}, {"opened", "escalated"}},
      {"chart-rate", "Escalation rate", "% of cases", {m("rate")}, {"escalated"}},
      {"chart-tte", "Time to escalate", "", {m("tte"), m("tte-p90")}, {"median", "90th percentile"}},
      {"chart-tta", "Time to acknowledge", "", {m("tta"), m("tta-p90")}, {"median", "90th percentile"}},
      {"chart-ttr", "Time to resolve after escalation", "", {m("ttr"), m("ttr-p90")}, {"median", "90th percentile"}},
      {"chart-forced", "Sent unprepared (--force)", "% of escalated cases", {m("forced")}, {"sent unprepared"}},
      {"chart-unnecessary", "Later marked unnecessary", "% of escalated cases", {m("unnecessary")}, {"unnecessary"}},
      {"chart-updates", "Client updates on time", "% of escalated cases", {m("updates")}, {"on time"}},
      {"chart-csat", "Mean CSAT", "", {m("csat")}, {"mean CSAT"}},
  };
}

namespace {

// The chart's frame, in the units of its viewBox: the page scales it.
constexpr double kWidth = 480, kHeight = 250;
constexpr double kLeft = 52, kRight = 472, kTop = 28, kBottom = 204;
constexpr double kCharWidth = 6.2;  // of an 11-unit label, about

std::string num(double v) {
  std::string s = fmt::format("{:.1f}", v);
  if (s.ends_with(".0")) s.resize(s.size() - 2);
  return s;
}

std::string_view by_title(StatsBy by) { return by == StatsBy::none ? "all" : to_string(by); }

// The month's short name ("Nov") of "2026-11".
std::string month_name(const std::string& m) {
  static const char* const names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (m.size() != 7) return m;
  const int mo = (m[5] - '0') * 10 + (m[6] - '0');
  return mo >= 1 && mo <= 12 ? names[mo - 1] : m;
}

// The labels under the bars: months by their names, a year under the
// first and under each January, every first, second, third, fourth, sixth
// or twelfth month as room allows (on the calendar's quarters); other
// groups by name, cut to the room each has.
std::string x_labels(const std::vector<StatsGroup>& groups, StatsBy by) {
  const std::size_t n = groups.size();
  const double slot = (kRight - kLeft) / static_cast<double>(n);
  std::string out;
  auto at = [&](std::size_t i) { return kLeft + slot * (static_cast<double>(i) + 0.5); };
  if (by == StatsBy::month) {
    const auto fits = static_cast<std::size_t>((kRight - kLeft) / 26);
    std::size_t step = 1;
    for (std::size_t s : {1, 2, 3, 4, 6, 12, 24, 48, 96, 120, 240, 480, 960})
      if ((step = s) * fits >= n) break;
    bool year_shown = false;
    for (std::size_t i = 0; i < n; ++i) {
      const std::string& m = groups[i].group;
      const int month = m.size() == 7 ? (m[5] - '0') * 10 + (m[6] - '0') - 1 : static_cast<int>(i);
      const int year = m.size() == 7 ? std::atoi(m.substr(0, 4).c_str()) : 0;
      const bool shown = step <= 12 ? month % static_cast<int>(step) == 0 : month == 0 && year % (step / 12) == 0;
      if (!shown) continue;
      out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(at(i)), num(kBottom + 14),
                         month_name(m));
      if (!year_shown || month == 0)
        out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(at(i)), num(kBottom + 26),
                           year);
      year_shown = true;
    }
    return out;
  }
  const auto step =
      std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(static_cast<double>(n) * 40.0 / (kRight - kLeft))));
  const auto chars =
      std::max<std::size_t>(3, static_cast<std::size_t>(slot * static_cast<double>(step) / kCharWidth) - 1);
  for (std::size_t i = 0; i < n; i += step)
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", num(at(i)), num(kBottom + 14),
                       html_escape(truncate_to_width(groups[i].group, chars)));
  return out;
}

// The value axis: a grid line and a label at each tick, and its title.
std::string y_axis(const Axis& axis, const std::string& title) {
  std::string out = "<g class=\"grid\">";
  for (double t : axis.ticks()) {
    const double y = kBottom - t / axis.top * (kBottom - kTop);
    out += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>", num(kLeft), num(y), num(kRight), num(y));
  }
  out += "</g><g class=\"axis y\">";
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\"/>", num(kLeft), num(kTop), num(kBottom));
  for (double t : axis.ticks()) {
    const double y = kBottom - t / axis.top * (kBottom - kTop);
    out += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", num(kLeft - 6), num(y + 4),
                       html_escape(axis.tick_text(t)));
  }
  const double mid = (kTop + kBottom) / 2;
  out += fmt::format(
      "<text class=\"axis-title\" transform=\"translate(12 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
      num(mid), html_escape(title));
  return out + "</g>";
}

std::string legend(const ChartSpec& spec) {
  if (spec.series.size() < 2) return {};
  std::string out = "<g class=\"legend\">";
  double x = kLeft;
  for (std::size_t s = 0; s < spec.series.size(); ++s) {
    out += fmt::format("<rect class=\"s{}\" x=\"{}\" y=\"8\" width=\"10\" height=\"10\"/>", s, num(x));
    out += fmt::format("<text x=\"{}\" y=\"17\">{}</text>", num(x + 14), html_escape(spec.series_names[s]));
    x += 14 + kCharWidth * static_cast<double>(spec.series_names[s].size()) + 16;
  }
  return out + "</g>";
}

// What a screen reader gets for the whole chart: every figure, briefly.
std::string description(const ChartSpec& spec, const std::vector<StatsGroup>& groups) {
  std::vector<std::string> parts;
  for (std::size_t s = 0; s < spec.series.size(); ++s) {
    std::vector<std::string> figures;
    for (const auto& g : groups)
      figures.push_back(g.group + " " + short_value(spec.series[s]->value(g), spec.series[s]->unit));
    parts.push_back(spec.series_names[s] + ": " + join(figures, ", "));
  }
  return html_escape(join(parts, "; "));
}

}  // namespace

std::string svg_chart(const ChartSpec& spec, const std::vector<StatsGroup>& groups, StatsBy by) {
  const Unit unit = spec.series.front()->unit;
  double max = 0;
  for (const auto* m : spec.series)
    for (const auto& g : groups) max = std::max(max, m->value(g).value_or(0));
  const Axis axis = axis_for(max, unit);
  const std::string what = by == StatsBy::month ? "per month" : fmt::format("by {}", by_title(by));
  const std::string title = fmt::format("{} {}", spec.title, what);

  std::string out =
      fmt::format("<figure class=\"chart\" id=\"{0}\"><figcaption>{1}</figcaption>\n", spec.id, html_escape(title));
  out += fmt::format(
      "<svg viewBox=\"0 0 {0} {1}\" role=\"img\" aria-labelledby=\"{2}-t\" aria-describedby=\"{2}-d\" "
      "xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{2}-t\">{3}</title><desc id=\"{2}-d\">{4}</desc>",
      num(kWidth), num(kHeight), spec.id, html_escape(title), description(spec, groups));
  out += legend(spec);
  out += y_axis(axis, spec.y_title.empty() ? axis.label : spec.y_title);
  out += "<g class=\"axis x\">";
  out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\"/>", num(kLeft), num(kRight), num(kBottom));
  if (!groups.empty()) out += x_labels(groups, by);
  out += fmt::format("<text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>\n",
                     num((kLeft + kRight) / 2), num(kHeight - 6), by_title(by));

  const std::size_t n = std::max<std::size_t>(groups.size(), 1), k = spec.series.size();
  const double slot = (kRight - kLeft) / static_cast<double>(n);
  const double bar = std::min(slot * 0.8 / static_cast<double>(k), 40.0);
  for (std::size_t s = 0; s < k; ++s) {
    const Metric& m = *spec.series[s];
    out += fmt::format("<g class=\"bars\" data-series=\"{}\">", html_escape(spec.series_names[s]));
    for (std::size_t i = 0; i < groups.size(); ++i) {
      const auto v = m.value(groups[i]);
      const double h = v ? std::clamp(*v / axis.top, 0.0, 1.0) * (kBottom - kTop) : 0;  // none below the axis
      const double x = kLeft + slot * static_cast<double>(i) + (slot - bar * static_cast<double>(k)) / 2 +
                       bar * static_cast<double>(s);
      out += fmt::format(
          "<rect class=\"bar s{}{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" data-value=\"{}\">"
          "<title>{} · {}: {}</title></rect>",
          s, v ? "" : " na", num(x), num(kBottom - h), num(bar), num(h), v ? fmt::format("{}", *v) : "",
          html_escape(groups[i].group), html_escape(spec.series_names[s]), html_escape(m.exact(groups[i])));
    }
    out += "</g>\n";
  }
  return out + "</svg></figure>\n";
}

// ---- the page -----------------------------------------------------------------

namespace {

constexpr const char* kStyle = R"(
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--grid:#d8dee4;--axis:#59636e;
--card:#f6f8fa;--border:#d1d9e0;--c0:#0969da;--c1:#bc4c00}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--grid:#30363d;
--axis:#9198a1;--card:#151b23;--border:#3d444d;--c0:#4493f8;--c1:#f0883e}}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1240px;padding:16px;background:var(--bg);color:var(--fg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
h1{font-size:1.6em;margin:.2em 0}
h2{font-size:1.2em;margin:1.6em 0 .6em;padding-bottom:.2em;border-bottom:1px solid var(--border)}
.muted,.period{color:var(--muted)}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px;margin:0}
.tiles div{background:var(--card);border:1px solid var(--border);border-radius:6px;padding:8px 12px}
.tiles dt{color:var(--muted);font-size:.85em}
.tiles dd{margin:0;font-size:1.35em;font-weight:600;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,460px),1fr));gap:12px}
figure{margin:0;padding:10px 12px;background:var(--card);border:1px solid var(--border);border-radius:6px;
break-inside:avoid;page-break-inside:avoid}
figcaption{font-weight:600;margin-bottom:4px}
svg{display:block;width:100%;height:auto}
svg text{fill:var(--muted);font-size:11px;font-family:inherit}
svg .axis-title{fill:var(--fg)}
.grid line{stroke:var(--grid);stroke-width:1}
.axis line{stroke:var(--axis);stroke-width:1}
.s0{fill:var(--c0)}
.s1{fill:var(--c1)}
.na{fill:none}
.wide{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--border);vertical-align:top}
th{font-weight:600;color:var(--muted);font-size:.9em}
.n{text-align:right;white-space:nowrap}
.tops{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,560px),1fr));gap:12px 24px}
.tops h3{font-size:1em;margin:.4em 0}
.lessons{padding-left:1.4em}
.lessons li{margin-bottom:.8em}
.lessons p{margin:0}
.lesson{white-space:pre-line}
.empty{font-size:1.1em;padding:24px;background:var(--card);border:1px solid var(--border);border-radius:6px}
@media print{
:root{color-scheme:light;--bg:#fff;--fg:#000;--muted:#333;--grid:#ccc;--axis:#333;--card:#fff;--border:#999;
--c0:#0b4fa8;--c1:#a34100}
body{max-width:none;padding:0;font-size:10.5pt;print-color-adjust:exact;-webkit-print-color-adjust:exact}
.charts{display:block}
figure{display:inline-block;width:49%;vertical-align:top;margin:0 0 8px}
h2,h3{break-after:avoid;page-break-after:avoid}
tr,li,.tiles div{break-inside:avoid;page-break-inside:avoid}
.wide{overflow:visible}
}
)";

std::string period_text(const Report& r) {
  auto day = [](Time t) { return format_local(t).substr(0, 10); };
  if (r.since && r.until) return fmt::format("Cases opened from {} to before {}", day(*r.since), day(*r.until));
  if (r.since) return fmt::format("Cases opened from {}", day(*r.since));
  if (r.until) return fmt::format("Cases opened before {}", day(*r.until));
  return "Every case in the log";
}

// The month of now, when the period runs to now, is counted so far: said
// once, so that its shorter bars do not read as a drop.
std::string partial_month(const Report& r) {
  if (r.by != StatsBy::month || r.groups.empty() || (r.until && *r.until <= r.now)) return {};
  const std::string month = month_of(r.now);
  if (r.groups.back().group != month) return {};
  return fmt::format("<p class=\"muted\">{} is counted to {}.</p>\n", month, html_escape(format_local(r.now)));
}

std::string tiles(const StatsGroup& total) {
  std::string out = "<dl class=\"tiles\">";
  for (const auto& m : metrics()) {
    if (m.name.ends_with("-p90")) continue;
    out += fmt::format("<div title=\"{}\"><dt>{}</dt><dd>{}</dd></div>", html_escape(m.exact(total)),
                       html_escape(m.title), html_escape(short_value(m.value(total), m.unit)));
  }
  return out + "</dl>\n";
}

// A table whose cells are already escaped; `numeric[i]`: column i is right-aligned.
std::string table(const std::vector<std::string>& heads, const std::vector<bool>& numeric,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<div class=\"wide\"><table><thead><tr>";
  for (std::size_t i = 0; i < heads.size(); ++i)
    out += fmt::format("<th scope=\"col\"{}>{}</th>", numeric[i] ? " class=\"n\"" : "", heads[i]);
  out += "</tr></thead><tbody>";
  for (const auto& row : rows) {
    out += "<tr>";
    for (std::size_t i = 0; i < row.size(); ++i)
      out += fmt::format("<td{}>{}</td>", numeric[i] ? " class=\"n\"" : "", row[i]);
    out += "</tr>";
  }
  return out + "</tbody></table></div>\n";
}

std::string share_cell(int num, int den) { return den ? percent(static_cast<double>(num) / den) : std::string("n/a"); }

std::string top_table(const char* heading, const char* name, const std::vector<TopRow>& rows, bool paths) {
  std::string out = fmt::format("<section><h3>{}</h3>", heading);
  if (rows.empty()) return out + "<p class=\"muted\">None in this period.</p></section>\n";
  std::vector<std::vector<std::string>> cells;
  for (const auto& r : rows) {
    const std::string n = html_escape(r.name);
    if (paths)
      cells.push_back({n, std::to_string(r.escalated), std::to_string(r.acknowledged),
                       share_cell(r.forced, r.escalated), std::to_string(r.cases), share_cell(r.unnecessary, r.cases)});
    else
      cells.push_back({n, std::to_string(r.cases), std::to_string(r.escalated), share_cell(r.escalated, r.cases),
                       share_cell(r.forced, r.escalated), share_cell(r.unnecessary, r.escalated)});
  }
  const std::vector<bool> numeric{false, true, true, true, true, true};
  if (paths)
    return out + table({name, "escalations", "acknowledged", "unprepared", "cases", "unnecessary"}, numeric, cells) +
           "</section>\n";
  return out + table({name, "cases", "escalated", "rate", "unprepared", "unnecessary"}, numeric, cells) +
         "</section>\n";
}

std::string waiting_table(const Report& r) {
  if (r.waiting.empty()) return "<p class=\"muted\">No escalation of these cases is open.</p>\n";
  std::vector<std::vector<std::string>> cells;
  for (const auto& w : r.waiting)
    cells.push_back({fmt::format("#{}", w.case_id), html_escape(w.title), html_escape(w.customer),
                     html_escape(w.severity), fmt::format("{} (level {})", html_escape(w.path), w.level),
                     html_escape(format_local(w.at)), html_escape(format_duration(r.now - w.at)),
                     w.acked_at ? html_escape(fmt::format("{}{}", format_local(*w.acked_at),
                                                          w.acked_by.empty() ? "" : " by " + w.acked_by))
                                : std::string("not yet")});
  return table({"case", "title", "customer", "severity", "path", "escalated", "waiting", "acknowledged"},
               {true, false, false, false, false, false, true, false}, cells);
}

std::string lessons_list(const Report& r) {
  if (r.lessons.empty()) return "<p class=\"muted\">No lessons recorded for these cases yet.</p>\n";
  std::string out = "<ol class=\"lessons\">";
  for (const auto& l : r.lessons) {
    out += fmt::format("<li><p class=\"lesson\">{}</p><p class=\"muted\">#{} {}{} · {}{}</p></li>",
                       html_escape(l.text, true), l.case_id, html_escape(l.case_title),
                       l.customer.empty() ? "" : " · " + html_escape(l.customer),
                       l.author.empty() ? "" : html_escape(l.author) + ", ", html_escape(format_local(l.at)));
  }
  return out + "</ol>\n";
}

}  // namespace

std::string report_html(const Report& r) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<meta name=\"color-scheme\" content=\"light dark\">\n"
      // Nothing in the page may run or load: whatever case text holds stays text.
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n";
  const std::string period = period_text(r);
  out += fmt::format("<title>Escalation report: {}</title>\n<style>{}</style>\n</head>\n<body>\n", html_escape(period),
                     kStyle);
  out += fmt::format("<header><h1>Escalation report</h1><p class=\"period\">{} · made {}</p></header>\n<main>\n",
                     html_escape(period), html_escape(format_local(r.now)));
  if (r.total.opened == 0) {
    out += "<p class=\"empty\">No cases were opened in this period: there is nothing to report yet.</p>\n";
    return out + "</main>\n</body>\n</html>\n";
  }
  out += "<section id=\"summary\"><h2>At a glance</h2>\n" + tiles(r.total) + "</section>\n";
  out +=
      fmt::format("<section id=\"trends\"><h2>{}</h2>\n{}<div class=\"charts\">\n",
                  r.by == StatsBy::month ? "Month by month" : fmt::format("By {}", by_title(r.by)), partial_month(r));
  for (const auto& spec : report_charts()) out += svg_chart(spec, r.groups, r.by);
  out +=
      "</div></section>\n<section id=\"top\"><h2>Top triggers, customers and paths</h2>\n"
      "<p class=\"muted\">Most escalations first. Rate: the share of the cases escalated; unprepared: of the "
      "escalated, the share sent with --force; unnecessary: of the escalated, the share later marked "
      "unnecessary.</p>\n<div class=\"tops\">\n";
  out += top_table("Triggers", "trigger", r.top.triggers, false);
  out += top_table("Customers", "customer", r.top.customers, false);
  out += top_table("Paths", "path", r.top.paths, true);
  out += "</div></section>\n<section id=\"waiting\"><h2>Open escalations waiting longest</h2>\n" + waiting_table(r);
  out += "</section>\n<section id=\"lessons\"><h2>Latest lessons</h2>\n" + lessons_list(r) + "</section>\n";
  return out + "</main>\n</body>\n</html>\n";
}

}  // namespace esc
