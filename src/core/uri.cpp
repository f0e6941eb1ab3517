#include "esc/uri.hpp"

#include <cctype>
#include <string_view>

namespace esc {

namespace {

std::string percent_decoded_lower(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Where each password lies in the URI: [begin, end) ranges, in order.
template <class F>
void each_password(const std::string& uri, F&& f) {
  const auto scheme = uri.find("://");
  if (scheme == std::string::npos) return;
  const auto query = uri.find('?', scheme + 3);
  const std::string_view before_query = std::string_view(uri).substr(0, query);
  // The host follows the last '@' of the part before the query: a raw '@'
  // in a password does not end the user information.
  const auto at = before_query.rfind('@');
  if (at != std::string::npos && at > scheme + 3) {
    const auto colon = uri.find(':', scheme + 3);
    if (colon < at) f(colon + 1, at);
  }
  if (query == std::string::npos) return;
  std::size_t p = query + 1;
  while (p <= uri.size()) {
    auto end = uri.find('&', p);
    if (end == std::string::npos) end = uri.size();
    const auto eq = uri.find('=', p);
    if (eq != std::string::npos && eq < end) {
      const auto key = percent_decoded_lower(std::string_view(uri).substr(p, eq - p));
      if (key == "password" || key == "sslpassword") f(eq + 1, end);
    }
    p = end + 1;
  }
}

}  // namespace

bool uri_has_password(const std::string& uri) {
  bool found = false;
  each_password(uri, [&](std::size_t, std::size_t) { found = true; });
  return found;
}

std::vector<std::string> uri_password_pieces(const std::string& uri) {
  std::vector<std::string> out;
  each_password(uri, [&](std::size_t b, std::size_t e) {
    const std::string password = uri.substr(b, e - b);
    out.push_back(password);
    for (std::size_t from = 0;;) {
      const auto at = password.find('@', from);
      const std::string piece = password.substr(from, at == std::string::npos ? std::string::npos : at - from);
      if (piece.size() >= 3 && piece != password) out.push_back(piece);
      if (at == std::string::npos) break;
      from = at + 1;
    }
  });
  return out;
}

std::string uri_without_password(const std::string& uri) {
  std::string out;
  std::size_t from = 0;
  each_password(uri, [&](std::size_t b, std::size_t e) {
    out.append(uri, from, b - from);
    out += "***";
    from = e;
  });
  out.append(uri, from, std::string::npos);
  return out;
}

}  // namespace esc
