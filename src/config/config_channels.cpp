// The [[channel]] tables, and the rules for the URLs esc posts to.

#include <filesystem>

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

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1";
}

// A URL in the config: a scheme that belongs to the channel, no
// credentials in it, and https (not http) beyond this machine unless the
// channel allows it. Returns what is wrong, or nothing.
std::string url_problem(const std::string& url, const std::vector<std::string>& schemes, bool allow_http) {
  const auto sep = url.find("://");
  if (sep == std::string::npos)
    return fmt::format("\"{}\" has no scheme (expected {}://...)", url, join(schemes, ":// or "));
  const std::string scheme = lower(url.substr(0, sep));
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
    return fmt::format("the scheme {}:// is not one of {}", scheme, join(schemes, ", "));
  std::string rest = url.substr(sep + 3);
  const auto end = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, end);
  if (authority.find('@') != std::string::npos)
    return "credentials in a URL are refused: name a *_env variable or a *_file for them";
  std::string host = authority;
  if (!host.empty() && host.front() == '[')
    host = host.substr(0, host.find(']') + 1);
  else
    host = host.substr(0, host.find(':'));
  if (host.empty()) return "the URL names no host";
  if (scheme == "http" && !allow_http && !is_loopback(host))
    return "plain http:// sends the hand-over unencrypted: use https://, or set allow_http = true";
  return {};
}


}  // namespace

std::string webhook_url_problem(const std::string& url, bool allow_http) {
  return url_problem(url, {"https", "http"}, allow_http);
}

namespace config_detail {

// A problem in a channel concerns that channel only (ConfigProblem::channel);
// a channel with one is left out of the config.
void parse_channels(Reader& r, const toml::table& top, Config& cfg) {
  auto& problems = r.problems();
  if (auto it = top.find("channel"); it != top.end()) {
    cfg.channels.clear();
    r.in_channel = true;
    for (const auto* tv : r.table_array(it->second, "channel")) {
      const auto& t = tv->as_table();
      const std::size_t problems_before = problems.size();
      r.unknown_keys(t, "channel");
      ChannelConfig ch;
      auto get = [&](const char* key, std::string& out) {
        if (auto f = t.find(key); f != t.end())
          if (auto s = r.str(f->second, fmt::format("channel.{}", key))) {
            if (has_control_chars(*s))
              r.problem(f->second, fmt::format("channel.{} holds control characters", key));
            else
              out = *s;
          }
      };
      auto secret = [&](const char* key, SecretRef& out) {
        get(fmt::format("{}_env", key).c_str(), out.env);
        get(fmt::format("{}_file", key).c_str(), out.file);
      };
      get("name", ch.name);
      const std::string label = ch.name.empty() ? std::string("channel") : fmt::format("channel \"{}\"", ch.name);
      get("type", ch.type);
      get("format", ch.format);
      get("url", ch.url);
      secret("url", ch.url_secret);
      get("from", ch.from);
      get("username", ch.username);
      secret("username", ch.username_secret);
      secret("password", ch.password);
      secret("routing_key", ch.routing_key);
      secret("token", ch.token);
      secret("api_token", ch.api_token);
      get("api_url", ch.api_url);
      get("auth", ch.auth);
      get("project", ch.project);
      get("issue_type", ch.issue_type);
      get("repo", ch.repo);
      get("imap_url", ch.imap_url);
      get("imap_username", ch.imap_username);
      secret("imap_username", ch.imap_username_secret);
      secret("imap_password", ch.imap_password);
      get("dir", ch.dir);
      get("ca_file", ch.ca_file);
      if (auto f = t.find("allow_http"); f != t.end())
        if (auto b = r.boolean(f->second, label + ": allow_http")) ch.allow_http = *b;
      if (auto f = t.find("to"); f != t.end())
        if (auto s = r.strings(f->second, label + ": to", true)) ch.to = *s;
      if (auto f = t.find("labels"); f != t.end())
        if (auto s = r.strings(f->second, label + ": labels", true)) ch.labels = *s;
      if (auto f = t.find("argv"); f != t.end())
        if (auto s = r.strings(f->second, label + ": argv", false)) ch.argv = *s;
      if (auto f = t.find("timeout"); f != t.end())
        if (auto d = r.duration(f->second, label + ": timeout")) ch.timeout = *d;

      auto need = [&](bool ok, const char* what) {
        if (!ok) r.problem(*tv, fmt::format("{}: {} is required for type \"{}\"", label, what, ch.type));
      };
      auto check_url = [&](const std::vector<std::string>& schemes) {
        if (ch.url.empty()) return;
        if (auto why = url_problem(ch.url, schemes, ch.allow_http); !why.empty())
          r.problem(t.at("url"), fmt::format("{}: url: {}", label, why));
      };
      if (ch.name.empty()) r.problem(*tv, "channel: name is required");
      if (ch.type.empty()) {
        r.problem(*tv, fmt::format("{}: type is required (expected {})", label, quoted_list(kChannelTypes)));
      } else if (!contains(kChannelTypes, ch.type)) {
        r.problem(t.at("type"),
                  fmt::format("{}: unknown type \"{}\" (expected {})", label, ch.type, quoted_list(kChannelTypes)));
      }
      if ((ch.type == "stdout" || ch.type == "file" || ch.type == "command") && !ch.format.empty() &&
          !contains(kDocumentFormats, ch.format))
        r.problem(t.at("format"), fmt::format("{}: unknown format \"{}\" (expected {})", label, ch.format,
                                              quoted_list(kDocumentFormats)));
      if (ch.type == "file") {
        need(!ch.dir.empty(), "dir");
      } else if (ch.type == "command") {
        need(!ch.argv.empty(), "argv");
      } else if (ch.type == "smtp") {
        need(!ch.url.empty(), "url");
        need(!ch.to.empty(), "to");
        check_url({"smtp", "smtps"});
        if (!ch.imap_url.empty())
          if (auto why = url_problem(ch.imap_url, {"imap", "imaps"}, ch.allow_http); !why.empty())
            r.problem(t.at("imap_url"), fmt::format("{}: imap_url: {}", label, why));
      } else if (ch.type == "webhook") {
        if (ch.format.empty()) ch.format = "slack";
        if (!contains(kWebhookFormats, ch.format))
          r.problem(t.at("format"), fmt::format("{}: unknown format \"{}\" (expected {})", label, ch.format,
                                                quoted_list(kWebhookFormats)));
        if (!ch.url.empty())
          r.problem(t.at("url"), fmt::format("{}: a webhook URL is a secret; put it in an environment variable "
                                             "(url_env) or a file (url_file), not in the config",
                                             label));
        else
          need(ch.url_secret.set(), "url_env or url_file");
      } else if (ch.type == "pagerduty") {
        need(ch.routing_key.set(), "routing_key_env or routing_key_file");
        check_url({"https", "http"});
        if (!ch.api_url.empty())
          if (auto why = url_problem(ch.api_url, {"https", "http"}, ch.allow_http); !why.empty())
            r.problem(t.at("api_url"), fmt::format("{}: api_url: {}", label, why));
      } else if (ch.type == "jira" || ch.type == "github") {
        const bool jira = ch.type == "jira";
        need(!ch.url.empty() || !jira, "url");
        need(ch.token.set(), "token_env or token_file");
        check_url({"https", "http"});
        if (jira) {
          need(!ch.project.empty(), "project");
          if (ch.auth.empty()) ch.auth = "basic";
          if (ch.auth != "basic" && ch.auth != "bearer")
            r.problem(t.at("auth"), fmt::format("{}: auth must be basic or bearer", label));
          if (ch.auth == "basic") need(!ch.username.empty() || ch.username_secret.set(), "username (the e-mail)");
          if (ch.issue_type.empty()) ch.issue_type = "Task";
        } else {
          if (ch.url.empty()) ch.url = "https://api.github.com";
          if (ch.repo.find('/') == std::string::npos || ch.repo.front() == '/' || ch.repo.back() == '/')
            r.problem(*tv, fmt::format("{}: repo must be owner/name", label));
        }
      }
      if (!ch.ca_file.empty() && !std::filesystem::exists(expand_home(ch.ca_file)))
        r.problem(t.at("ca_file"), fmt::format("{}: ca_file {} does not exist", label, ch.ca_file));
      if (!ch.name.empty() && cfg.find_channel(ch.name))
        r.problem(*tv, fmt::format("{}: a channel of that name is already defined", label));
      if (problems.size() > problems_before)
        cfg.broken_channels.push_back(ch.name);
      else
        cfg.channels.push_back(std::move(ch));
    }
    r.in_channel = false;
    if (!cfg.find_channel("stdout")) cfg.channels.push_back(stdout_channel());
  }

}

}  // namespace config_detail

}  // namespace esc
