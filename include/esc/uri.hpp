#pragma once

#include <string>
#include <vector>

namespace esc {

// A PostgreSQL connection URI's password, wherever libpq would find one:
// the user information (`user:PASSWORD@host`, up to the last `@`), or a
// `password` or `sslpassword` parameter, its name percent-encoded or not.

// Whether the URI holds a password.
bool uri_has_password(const std::string& uri);
// The URI with every password replaced by `***`, for messages and display.
std::string uri_without_password(const std::string& uri);
// Each password, and each part of one that another reading of the URI
// could show (libpq ends the user information at the first `@`, and names
// the rest as the host in its errors): to scrub from a server's message.
std::vector<std::string> uri_password_pieces(const std::string& uri);

}  // namespace esc
