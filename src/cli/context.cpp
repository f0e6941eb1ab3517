#include "context.hpp"

#include <fmt/format.h>

#include <cstdlib>

#include "esc/error.hpp"

namespace esc::cli {

const Config& Context::config() {
  if (!config_) config_ = load_config(opts.config);
  return *config_;
}

std::filesystem::path Context::db_path() {
  if (!opts.db.empty()) return opts.db;
  if (const char* e = std::getenv("ESC_DB"); e && *e) return e;
  if (const auto& p = config().database_path; !p.empty()) return expand_home(p);
  std::string base;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x)
    base = x;
  else
    base = std::string(std::getenv("HOME") ? std::getenv("HOME") : ".") + "/.local/share";
  return std::filesystem::path(base) / "esc" / "esc.db";
}

Store& Context::store() {
  if (!store_) store_ = Store::open(db_path());
  return *store_;
}

Output& Context::out() {
  if (!out_) out_.emplace(opts.color, opts.quiet);
  return *out_;
}

Time Context::now() {
  if (!now_) now_ = esc::now();
  return *now_;
}

std::string Context::engineer() { return config().engineer_name; }

Case Context::find_case(const std::string& id) {
  std::string s = id;
  if (s.starts_with("#")) s.erase(0, 1);
  const bool numeric = !s.empty() && s.size() < 19 && s.find_first_not_of("0123456789") == std::string::npos;
  if (numeric) {
    if (auto c = store().get_case(std::stoll(s))) return *c;
  }
  if (!id.empty()) {
    if (auto c = store().find_case_by_ref(id)) return *c;
  }
  throw not_found(numeric ? fmt::format("no case #{}", s) : fmt::format("no case with id or ref \"{}\"", id),
                  "`esc list --status all` shows every case");
}

}  // namespace esc::cli
