#include "esc/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "esc/error.hpp"

namespace esc {

void make_private_dir(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return;
  // Each folder made here is 0700; those that were there stay as they are.
  fs::path made;
  for (const auto& part : fs::path(path)) {
    made /= part;
    if (fs::exists(made, ec)) continue;
    if (::mkdir(made.c_str(), 0700) != 0 && errno != EEXIST)
      throw io_error(fmt::format("cannot create the folder {}: {}", made.string(), std::strerror(errno)));
  }
}

namespace {

// Every byte of `text` to `fd`, or the errno of the write that failed.
int write_all(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

}  // namespace

void write_output_file(const std::string& path, const std::string& text) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
    return write_file_atomically(path, text);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  int err = write_all(fd, text);
  if (::close(fd) != 0 && !err) err = errno;
  if (err) throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
}

void write_file_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  fs::path target(path);
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  std::string tmpl = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemp(name.data());  // 0600
  if (fd < 0) throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  auto fail = [&](int err) {
    ::close(fd);
    ::unlink(name.data());
    throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  };
  if (const int err = write_all(fd, text)) fail(err);
  if (::fsync(fd) != 0) fail(errno);
  if (::close(fd) != 0 || ::rename(name.data(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(name.data());
    throw io_error(fmt::format("cannot write {}: {}", path, std::strerror(err)));
  }
  // The rename itself survives a crash once the folder is on disk.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace esc
