#pragma once

#include <stdexcept>
#include <string>

namespace esc {

// Exit codes follow sysexits(3), as mail tools use them.
enum class Exit : int {
  ok = 0,
  no = 1,  // a check answered no: not ready, send refused, work is due
  usage = 64,
  data = 65,
  no_input = 66,
  io = 74,
  temp_fail = 75,
  config = 78,
};

// The one exception type that reaches main(): a one-line message, an
// optional hint, and the exit code it maps to.
class Error : public std::runtime_error {
 public:
  Error(Exit code, const std::string& message, std::string hint = {})
      : std::runtime_error(message), code_(code), hint_(std::move(hint)) {}

  Exit code() const noexcept { return code_; }
  const std::string& hint() const noexcept { return hint_; }

 private:
  Exit code_;
  std::string hint_;
};

inline Error usage_error(const std::string& m, std::string hint = {}) { return Error(Exit::usage, m, std::move(hint)); }
inline Error data_error(const std::string& m, std::string hint = {}) { return Error(Exit::data, m, std::move(hint)); }
inline Error not_found(const std::string& m, std::string hint = {}) {
  return Error(Exit::no_input, m, std::move(hint));
}
inline Error io_error(const std::string& m, std::string hint = {}) { return Error(Exit::io, m, std::move(hint)); }
// The log could not be reached or answered too late (a server down or
// restarted, a lock held past the timeout): 74 like any I/O error, and a
// later run may well succeed.
class TransientError : public Error {
 public:
  TransientError(const std::string& m, std::string hint) : Error(Exit::io, m, std::move(hint)) {}
};

inline Error config_error(const std::string& m, std::string hint = {}) {
  return Error(Exit::config, m, std::move(hint));
}

}  // namespace esc
