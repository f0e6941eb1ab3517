#include "esc/channels.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "channels_internal.hpp"
#include "esc/error.hpp"

namespace esc {

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string tmpl = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = ::mkstemp(name.data());
  if (fd < 0) throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(name.data());
      throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  // mkstemp makes the file 0600; give it the mode any new file gets here.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(name.data());
    throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  if (::close(fd) != 0 || ::rename(name.data(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(name.data());
    throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  // The rename itself survives a crash once the folder is on disk.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

namespace {

DeliveryResult deliver_stdout(const Payload& p) {
  // A reader that went away (`esc send 12 | true`) makes a failed delivery,
  // kept in the outbox, not a death by SIGPIPE halfway through recording it.
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, &previous);
  std::cout << p.body << std::flush;
  const bool ok = static_cast<bool>(std::cout);
  ::sigaction(SIGPIPE, &previous, nullptr);
  if (!ok) return {false, "standard output is closed (nobody read the summary)"};
  return {true, {}};
}

DeliveryResult deliver_file(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key) {
  // The file is named by the delivery key, so a retry replaces rather than duplicates.
  std::string dir = expand_home(ch.dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return {false, fmt::format("cannot create {}: {}", dir, ec.message())};
  std::string ext = ch.format == "json" ? "json" : ch.format == "markdown" ? "md" : "txt";
  std::string path = fmt::format("{}/esc-{}-{}.{}", dir, s.c.id, key, ext);
  try {
    write_file_atomically(path, p.body);
  } catch (const Error& e) {
    return {false, e.what()};
  }
  return {true, {}};
}

}  // namespace

DeliveryResult deliver(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key) {
  if (ch.type == "stdout") return deliver_stdout(p);
  if (ch.type == "file") return deliver_file(ch, s, p, key);
  if (ch.type == "command") return detail::deliver_command(ch, s, p, key);
  if (ch.type == "smtp") return detail::deliver_smtp(ch, p);
  if (ch.type == "webhook") return detail::deliver_webhook(ch, p, key);
  if (ch.type == "pagerduty") return detail::deliver_pagerduty(ch, p);
  return {false, fmt::format("unknown channel type \"{}\"", ch.type)};
}

}  // namespace esc
