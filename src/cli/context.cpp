#include "context.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "esc/error.hpp"
#include "esc/text.hpp"

namespace esc::cli {

const LoadedConfig& Context::loaded_config() {
  if (!loaded_) loaded_ = read_config(opts.config);
  return *loaded_;
}

const Config& Context::config() {
  if (!config_) {
    std::vector<ConfigProblem> warnings;
    config_ = usable_config(loaded_config(), true, &warnings);
    if (!warnings.empty()) {
      // The broken channels are left out; what delivers refuses (strict_config).
      out().warn(fmt::format("{}{}; commands that deliver refuse until it is fixed (`esc config check`)",
                             warnings.front().str(),
                             warnings.size() > 1 ? fmt::format(" (and {} more)", warnings.size() - 1) : ""));
    }
  }
  return *config_;
}

const Config& Context::strict_config() {
  if (!loaded_config().problems.empty()) usable_config(*loaded_);  // throws
  return config();
}

std::string Context::db_location() {
  if (!opts.db.empty()) return opts.db;
  if (const char* e = std::getenv("ESC_DB"); e && *e) return e;
  const auto& cfg = config();
  if (!cfg.database_url.empty()) return cfg.database_url;
  if (!cfg.database_path.empty()) return expand_home(cfg.database_path);
  std::string base;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
    base = x;
  else
    base = std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.local/share";
  return base + "/esc/esc.db";
}

Store& Context::open_store(bool create) {
  if (!store_) {
    Store::Options o;
    o.create = create;
    o.busy_timeout_ms = static_cast<int>(config().busy_timeout.count() * 1000);
    store_ = Store::open(db_location(), o);
  }
  return *store_;
}

Store& Context::store() { return open_store(false); }
Store& Context::store_creating() { return open_store(true); }

Output& Context::out() {
  if (!out_) out_.emplace(opts.color, opts.quiet);
  return *out_;
}

Time Context::now() {
  if (!now_) now_ = esc::now();
  return *now_;
}

app::Engineer Context::engineer() { return {config().engineer_name, config().engineer_email}; }

Case Context::find_case(const std::string& word) {
  auto& s = store();
  auto number = [](std::string_view v) -> std::optional<std::int64_t> {
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    return std::stoll(std::string(v));
  };
  const std::string hint = "`esc list --status all` shows every case";
  if (word.starts_with("#")) {
    auto n = number(std::string_view(word).substr(1));
    if (!n) throw usage_error(fmt::format("\"{}\" is not a case number", inert(word)), "e.g. #12");
    if (auto c = s.get_case(*n)) return *c;
    throw not_found(fmt::format("no case #{}", *n), hint);
  }
  if (word.starts_with("ref:")) {
    if (auto c = s.case_by_ref(word.substr(4))) return *c;
    throw not_found(fmt::format("no case with ref \"{}\"", inert(word.substr(4))), hint);
  }
  auto by_id = number(word) ? s.get_case(*number(word)) : std::nullopt;
  auto by_ref = s.case_by_ref(word);
  if (by_id && by_ref && by_id->id != by_ref->id)
    throw usage_error(
        fmt::format("\"{}\" is both case #{} and the ref of case #{}", inert(word), by_id->id, by_ref->id),
        fmt::format("say which: `#{}` for the number, `ref:{}` for the ref", by_id->id, inert(word)));
  if (by_id) return *by_id;
  if (by_ref) return *by_ref;
  throw not_found(
      number(word) ? fmt::format("no case #{}", word) : fmt::format("no case with id or ref \"{}\"", inert(word)),
      hint);
}

}  // namespace esc::cli
