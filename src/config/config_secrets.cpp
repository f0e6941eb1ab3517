// Secrets: read from the environment or a file, never kept; and what
// `esc config check` says of each a channel names.

#include <sys/stat.h>

#include <fstream>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "config_internal.hpp"
#include "esc/error.hpp"
#include "esc/model.hpp"
#include "esc/text.hpp"

namespace esc {

namespace {
// The file's contents if it can be read, without trailing line ends.
std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(expand_home(path), std::ios::binary);
  if (!in) return std::nullopt;
  std::string s;
  s.resize(64 * 1024);
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  s.resize(static_cast<std::size_t>(in.gcount()));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

std::optional<std::string> read_secret(const SecretRef& ref) {
  if (!ref.env.empty()) {
    if (const char* v = std::getenv(ref.env.c_str()); v && *v) return std::string(v);
  }
  if (!ref.file.empty())
    if (auto s = read_small_file(ref.file); s && !s->empty()) return s;
  return std::nullopt;
}

std::string secret_problem(const SecretRef& ref, const std::string& what) {
  if (!ref.set()) return {};
  if (!ref.env.empty()) {
    if (const char* v = std::getenv(ref.env.c_str()); v && *v) return {};
    if (ref.file.empty()) return fmt::format("${} is not set (it holds {})", ref.env, what);
  }
  const std::string path = expand_home(ref.file);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return fmt::format("{} does not exist (it holds {}){}", ref.file, what,
                       ref.env.empty() ? "" : fmt::format(", and ${} is not set", ref.env));
  auto s = read_small_file(ref.file);
  if (!s) return fmt::format("{} cannot be read (it holds {})", ref.file, what);
  if (s->empty()) return fmt::format("{} is empty (it should hold {})", ref.file, what);
  return {};
}

std::vector<std::string> secret_variables(const Config& cfg) {
  std::vector<std::string> out;
  for (const auto& ch : cfg.channels)
    for (const auto* r : {&ch.url_secret, &ch.username_secret, &ch.password, &ch.routing_key, &ch.token,
                          &ch.api_token, &ch.imap_username_secret, &ch.imap_password})
      if (!r->env.empty()) out.push_back(r->env);
  return out;
}


std::vector<ConfigProblem> check_secrets(const Config& cfg) {
  std::vector<ConfigProblem> out;
  const std::string file = cfg.source.string();
  for (const auto& ch : cfg.channels) {
    auto check = [&](const SecretRef& ref, const char* what) {
      if (auto why = secret_problem(ref, what); !why.empty())
        out.push_back({file, 0, 0, fmt::format("channel \"{}\": {}", ch.name, why), true});
      if (!ref.file.empty()) {
        struct stat st {};
        if (::stat(expand_home(ref.file).c_str(), &st) == 0 && (st.st_mode & 077))
          out.push_back({file, 0, 0,
                         fmt::format("channel \"{}\": {} can be read by others (chmod 600 {})", ch.name, ref.file,
                                     ref.file),
                         true});
      }
    };
    check(ch.url_secret, "the webhook URL");
    check(ch.username_secret, "the login name");
    check(ch.password, "the password");
    check(ch.routing_key, "the routing key");
    check(ch.token, "the API token");
    check(ch.api_token, "the REST API token");
    check(ch.imap_username_secret, "the mailbox's login name");
    check(ch.imap_password, "the mailbox's password");
    if (ch.type == "webhook")
      if (auto url = read_secret(ch.url_secret))
        if (auto why = webhook_url_problem(*url, ch.allow_http); !why.empty())
          out.push_back({file, 0, 0, fmt::format("channel \"{}\": the webhook URL: {}", ch.name,
                                                 why.find('"') == std::string::npos ? why : "it has no scheme"),
                         true});
  }
  return out;
}


}  // namespace esc
