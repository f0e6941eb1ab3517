// Full-text search: SQLite's FTS5 or PostgreSQL's tsvector, from one
// reading of what the user typed.

#include <algorithm>

#include "store_impl.hpp"

namespace esc {

namespace {

// What the user typed: groups of terms separated by OR, the terms of a group
// all required; a term is a phrase of word tokens (letters and digits, or
// any text outside ASCII), a prefix when it ends in '*'. Nothing the user
// types is ever query syntax to the engine.
struct Term {
  std::vector<std::string> tokens;
  bool prefix = false;
};
using Query = std::vector<std::vector<Term>>;

Query parse(const std::string& text) {
  Query q(1);
  bool dangling = false;  // an OR waiting for its right side
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
    std::size_t j = i;
    while (j < text.size() && !(text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')) ++j;
    if (j == i) break;
    std::string word = text.substr(i, j - i);
    i = j;
    if (word == "OR") {
      if (q.back().empty() || dangling)
        throw data_error("the search query is malformed: OR must stand between two words",
                         "e.g. `esc search timeout OR latency`; words without OR must all match");
      q.emplace_back();
      dangling = true;
      continue;
    }
    Term t;
    if (word.size() > 1 && word.back() == '*') t.prefix = true, word.pop_back();
    std::string token;
    for (char ch : word + " ") {
      const auto c = static_cast<unsigned char>(ch);
      if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80) {
        token += ch;
      } else if (!token.empty()) {
        t.tokens.push_back(token);
        token.clear();
      }
    }
    if (t.tokens.empty()) continue;
    q.back().push_back(std::move(t));
    dangling = false;
  }
  if (dangling)
    throw data_error("the search query is malformed: OR must stand between two words",
                     "e.g. `esc search timeout OR latency`; words without OR must all match");
  std::erase_if(q, [](const auto& g) { return g.empty(); });
  return q;
}

std::string fts5(const Query& q) {
  std::string out;
  for (const auto& group : q) {
    std::string g;
    for (const auto& t : group) {
      std::string phrase;
      for (const auto& tok : t.tokens) phrase += (phrase.empty() ? "" : " ") + tok;
      g += (g.empty() ? "" : " ") + ("\"" + phrase + "\"") + (t.prefix ? "*" : "");
    }
    out += (out.empty() ? "(" : " OR (") + g + ")";
  }
  return out;
}

std::string tsquery(const Query& q) {
  std::string out;
  for (const auto& group : q) {
    std::string g;
    for (const auto& t : group) {
      std::string phrase;
      for (const auto& tok : t.tokens) phrase += (phrase.empty() ? "" : " <-> ") + tok;
      if (t.prefix) phrase += ":*";
      g += (g.empty() ? "(" : " & (") + phrase + ")";
    }
    out += (out.empty() ? "(" : " | (") + g + ")";
  }
  return out;
}

// Ranking every hit of a very common word costs seconds on a large log, so
// the newest kCandidates hits of each index are ranked: "best match" is best
// among those.
constexpr int kCandidates = 2000;

}  // namespace

std::vector<SearchHit> Store::search(const std::string& text, const std::string& kind, int limit, bool newest_first) {
  const Query parsed = parse(text);
  if (parsed.empty()) return {};
  const bool pg = impl_->pg;
  const std::string match = pg ? tsquery(parsed) : fts5(parsed);
  return guarded("searching", [&] {
    std::vector<SearchHit> hits;
    if (kind != "title") {
      auto q = impl_->q(
          pg ? "SELECT e.id, e.case_id, e.kind, e.at, c.title, -ts_rank(e.text_tsv, to_tsquery('simple', ?1)) "
               "FROM entries e JOIN cases c ON c.id = e.case_id WHERE e.text_tsv @@ to_tsquery('simple', ?1) "
               "AND e.struck_at IS NULL AND (?2 = '' OR e.kind = ?2) ORDER BY e.id DESC LIMIT ?3"
             : "SELECT e.id, e.case_id, e.kind, e.at, c.title, bm25(entry_fts) FROM entry_fts "
               "JOIN entries e ON e.id = entry_fts.rowid JOIN cases c ON c.id = e.case_id "
               "WHERE entry_fts MATCH ?1 AND e.struck_at IS NULL AND (?2 = '' OR e.kind = ?2) "
               "ORDER BY entry_fts.rowid DESC LIMIT ?3",
          match, kind, kCandidates);
      while (q->step())
        hits.push_back({q->integer(1), q->integer(0), q->text(2), q->text(4), {}, rows::time(*q, 3), q->real(5)});
    }
    if (kind.empty() || kind == "title") {
      auto q = impl_->q(pg ? "SELECT c.id, c.updated_at, c.title, -ts_rank(c.title_tsv, to_tsquery('simple', ?1)) "
                             "FROM cases c WHERE c.title_tsv @@ to_tsquery('simple', ?1) ORDER BY c.id DESC LIMIT ?2"
                           : "SELECT c.id, c.updated_at, c.title, bm25(case_fts) FROM case_fts "
                             "JOIN cases c ON c.id = case_fts.rowid WHERE case_fts MATCH ?1 "
                             "ORDER BY case_fts.rowid DESC LIMIT ?2",
                        match, kCandidates);
      // A title match weighs double.
      while (q->step())
        hits.push_back({q->integer(0), 0, "title", q->text(2), {}, rows::time(*q, 1), q->real(3) * 2.0});
    }
    std::stable_sort(hits.begin(), hits.end(), [&](const SearchHit& a, const SearchHit& b) {
      if (newest_first) return a.at > b.at;
      return a.rank < b.rank;
    });
    if (limit > 0 && hits.size() > static_cast<std::size_t>(limit)) hits.resize(static_cast<std::size_t>(limit));
    // Snippets only for what is shown.
    auto entry_snippet = impl_->c().prepare(
        pg ? "SELECT ts_headline('simple', left(text, 100000), to_tsquery('simple', ?), ?) FROM entries WHERE id = ?"
           : "SELECT snippet(entry_fts, 0, char(2), char(3), '…', 16) FROM entry_fts WHERE entry_fts MATCH ? "
             "AND rowid = ?");
    auto title_snippet = impl_->c().prepare(
        pg ? "SELECT ts_headline('simple', title, to_tsquery('simple', ?), ?) FROM cases WHERE id = ?"
           : "SELECT highlight(case_fts, 0, char(2), char(3)) FROM case_fts WHERE case_fts MATCH ? AND rowid = ?");
    const std::string options = "StartSel=\x02, StopSel=\x03, MaxWords=16, MinWords=6, FragmentDelimiter=…";
    for (auto& h : hits) {
      auto& q = h.entry_id ? *entry_snippet : *title_snippet;
      q.reset();
      if (pg)
        q.with(match, h.entry_id ? options : std::string("StartSel=\x02, StopSel=\x03, HighlightAll=true"),
               h.entry_id ? h.entry_id : h.case_id);
      else
        q.with(match, h.entry_id ? h.entry_id : h.case_id);
      if (q.step()) h.snippet = q.text(0);
      q.reset();
    }
    return hits;
  });
}

}  // namespace esc
