#include "config_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>

#include "esc/model.hpp"

namespace esc {

namespace {

// The cache is a run of fields, each written as its length, a colon and its
// bytes ("5:tier2"); numbers and flags as their decimal text; a list as its
// count, then its items. Read back in the same order; anything else throws.
class Writer {
 public:
  void str(std::string_view s) {
    out_ += std::to_string(s.size());
    out_ += ':';
    out_ += s;
  }
  void num(std::int64_t n) { str(std::to_string(n)); }
  void flag(bool b) { num(b ? 1 : 0); }
  void seconds(Seconds s) { num(s.count()); }
  void strings(const std::vector<std::string>& v) {
    num(static_cast<std::int64_t>(v.size()));
    for (const auto& s : v) str(s);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  std::string_view view() {
    const size_t colon = in_.find(':', at_);
    if (colon == std::string_view::npos || colon == at_ || colon - at_ > 9) throw std::runtime_error("bad field");
    size_t n = 0;
    for (size_t i = at_; i < colon; ++i) {
      if (in_[i] < '0' || in_[i] > '9') throw std::runtime_error("bad length");
      n = n * 10 + static_cast<size_t>(in_[i] - '0');
    }
    if (in_.size() - colon - 1 < n) throw std::runtime_error("short field");
    at_ = colon + 1 + n;
    return in_.substr(colon + 1, n);
  }
  std::string str() { return std::string(view()); }
  std::int64_t num() {
    const std::string s = str();
    size_t used = 0;
    const std::int64_t n = std::stoll(s, &used);
    if (used != s.size()) throw std::runtime_error("bad number");
    return n;
  }
  bool flag() { return num() != 0; }
  Seconds seconds() { return Seconds{num()}; }
  size_t count() {
    const std::int64_t n = num();
    if (n < 0 || static_cast<size_t>(n) > in_.size()) throw std::runtime_error("bad count");
    return static_cast<size_t>(n);
  }
  std::vector<std::string> strings() {
    std::vector<std::string> v(count());
    for (auto& s : v) s = str();
    return v;
  }
  bool done() const { return at_ == in_.size(); }

 private:
  std::string_view in_;
  size_t at_ = 0;
};

// Bumped whenever the layout below changes.
constexpr const char* kMagic = "esc config cache 1";

// Reads a whole file with read(2): a stream's first use would cost more than
// the rest of loading the cache.
std::optional<std::string> slurp(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text;
  char buf[16384];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) return std::nullopt;
  return text;
}

// FNV-1a, 64 bits: tells one version of a config file from another.
std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// The key: the config file, by its path, size and content (timestamps can
// stay the same across two quick writes), and the esc executable that read
// it, by its device, inode, size and time of change.
std::string cache_key(const std::filesystem::path& file) {
  const auto text = slurp(file.c_str());
  struct stat exe {};
  if (!text || ::stat("/proc/self/exe", &exe) != 0) return {};
  Writer w;
  w.str(kMagic);
  w.str(file.string());
  w.num(static_cast<std::int64_t>(text->size()));
  w.str(std::to_string(fnv1a(*text)));
  for (std::int64_t n : {static_cast<std::int64_t>(exe.st_dev), static_cast<std::int64_t>(exe.st_ino),
                         static_cast<std::int64_t>(exe.st_size), static_cast<std::int64_t>(exe.st_ctim.tv_sec),
                         static_cast<std::int64_t>(exe.st_ctim.tv_nsec)})
    w.num(n);
  return w.take();
}

std::filesystem::path cache_file() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg == '/') return std::filesystem::path(xdg) / "esc" / "config.cache";
  const char* home = std::getenv("HOME");
  if (home && *home == '/') return std::filesystem::path(home) / ".cache" / "esc" / "config.cache";
  return {};
}

}  // namespace

std::string config_to_bytes(const Config& c) {
  Writer w;
  w.str(c.source.string());
  // Unless the file names the engineer, the name is $USER's, at each run.
  w.flag(c.engineer_name_set);
  w.str(c.engineer_name_set ? c.engineer_name : "");
  w.str(c.engineer_email);
  w.str(c.database_path);
  w.strings(c.severities);
  w.str(c.default_severity);
  w.strings(c.triggers);
  w.num(static_cast<std::int64_t>(c.paths.size()));
  for (const auto& p : c.paths) {
    w.str(p.name);
    w.strings(p.channels);
    w.flag(p.ack_within.has_value());
    w.seconds(p.ack_within.value_or(Seconds{0}));
    w.str(p.next);
    w.flag(p.external);
  }
  w.str(c.default_path);
  w.num(static_cast<std::int64_t>(c.route_by_severity.size()));
  for (const auto& [k, v] : c.route_by_severity) w.str(k), w.str(v);
  w.num(static_cast<std::int64_t>(c.deadlines.size()));
  for (const auto& [k, v] : c.deadlines) w.str(k), w.seconds(v);
  w.seconds(c.client_update_every);
  w.num(static_cast<std::int64_t>(c.channels.size()));
  for (const auto& x : c.channels) {
    for (const auto* s : {&x.name, &x.type, &x.format, &x.url, &x.url_env, &x.url_file, &x.from}) w.str(*s);
    w.strings(x.to);
    for (const auto* s : {&x.username, &x.username_env, &x.username_file, &x.password_env, &x.password_file,
                          &x.routing_key_env, &x.routing_key_file})
      w.str(*s);
    w.strings(x.argv);
    w.str(x.dir);
    w.seconds(x.timeout);
  }
  w.num(static_cast<std::int64_t>(c.checklist.size()));
  for (const auto& i : c.checklist) {
    w.str(i.key);
    w.str(i.question);
    w.strings(i.kinds);
    w.flag(i.required);
  }
  w.num(static_cast<std::int64_t>(c.redact.size()));
  for (const auto& r : c.redact) w.str(r.pattern), w.str(r.replace);
  w.flag(c.redact_card_numbers);
  w.seconds(c.retry_base);
  w.seconds(c.retry_max);
  return w.take();
}

Config config_from_bytes(std::string_view bytes) {
  Reader r(bytes);
  Config c;
  c.source = r.str();
  c.engineer_name_set = r.flag();
  c.engineer_name = r.str();
  if (!c.engineer_name_set) c.engineer_name = default_engineer_name();
  c.engineer_email = r.str();
  c.database_path = r.str();
  c.severities = r.strings();
  c.default_severity = r.str();
  c.triggers = r.strings();
  c.paths.resize(r.count());
  for (auto& p : c.paths) {
    p.name = r.str();
    p.channels = r.strings();
    const bool ack = r.flag();
    const Seconds within = r.seconds();
    if (ack) p.ack_within = within;
    p.next = r.str();
    p.external = r.flag();
  }
  c.default_path = r.str();
  for (size_t n = r.count(); n; --n) {
    std::string k = r.str();
    c.route_by_severity[k] = r.str();
  }
  c.deadlines.clear();
  for (size_t n = r.count(); n; --n) {
    std::string k = r.str();
    c.deadlines[k] = r.seconds();
  }
  c.client_update_every = r.seconds();
  c.channels.resize(r.count());
  for (auto& x : c.channels) {
    for (auto* s : {&x.name, &x.type, &x.format, &x.url, &x.url_env, &x.url_file, &x.from}) *s = r.str();
    x.to = r.strings();
    for (auto* s : {&x.username, &x.username_env, &x.username_file, &x.password_env, &x.password_file,
                    &x.routing_key_env, &x.routing_key_file})
      *s = r.str();
    x.argv = r.strings();
    x.dir = r.str();
    x.timeout = r.seconds();
  }
  c.checklist.resize(r.count());
  for (auto& i : c.checklist) {
    i.key = r.str();
    i.question = r.str();
    i.kinds = r.strings();
    i.required = r.flag();
  }
  c.redact.resize(r.count());
  for (auto& x : c.redact) {
    x.pattern = r.str();
    x.replace = r.str();
  }
  c.redact_card_numbers = r.flag();
  c.retry_base = r.seconds();
  c.retry_max = r.seconds();
  if (!r.done()) throw std::runtime_error("trailing bytes");
  return c;
}

std::optional<Config> cached_config(const std::filesystem::path& file) {
  const auto cache = cache_file();
  if (cache.empty()) return std::nullopt;
  const auto text = slurp(cache.c_str());
  if (!text) return std::nullopt;
  const std::string key = cache_key(file);
  if (key.empty() || !std::string_view(*text).starts_with(key)) return std::nullopt;
  try {
    return config_from_bytes(std::string_view(*text).substr(key.size()));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void keep_config(const std::filesystem::path& file, const Config& cfg) {
  const auto cache = cache_file();
  const std::string key = cache_key(file);
  if (cache.empty() || key.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(cache.parent_path(), ec);
  ::chmod(cache.parent_path().c_str(), 0700);
  // Written aside and renamed over it: a reader sees the old cache or the new.
  const std::string text = key + config_to_bytes(cfg);
  const std::string tmp = cache.string() + "." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return;
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), cache.c_str()) != 0) ::unlink(tmp.c_str());
}

}  // namespace esc
