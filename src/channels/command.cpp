#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "channels_internal.hpp"
#include "esc/text.hpp"

namespace esc::detail {

namespace {

// The environment the command runs in: esc's own, without any variable a
// channel names for a secret (the command needs none of them, and any
// program it runs could leak them).
std::vector<std::string> child_environment(const Config& cfg) {
  const auto secrets = secret_variables(cfg);
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string_view var(*e);
    const auto name = var.substr(0, var.find('='));
    if (std::find(secrets.begin(), secrets.end(), name) == secrets.end()) env.emplace_back(var);
  }
  return env;
}

}  // namespace

DeliveryResult deliver_command(const ChannelConfig& ch, const Summary& s, const Payload& p, const std::string& key,
                               const Config& cfg) {
  std::vector<std::string> argv;
  try {
    argv = command_argv(ch, s, key);
  } catch (const std::invalid_argument& e) {
    return not_delivered(e.what(), true);
  }
  if (argv.empty()) return not_delivered("the command's argv is empty");
  std::vector<std::string> env = child_environment(cfg);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return not_delivered("cannot create a pipe");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]);
    return not_delivered("cannot create a pipe");
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return not_delivered("cannot start the command");
  if (pid == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, STDOUT_FILENO);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvpe(args[0], args.data(), envp.data());
    std::string m = fmt::format("cannot run {}: {}\n", argv[0], std::strerror(errno));
    (void)!::write(STDERR_FILENO, m.data(), m.size());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(err[1]);
  ::signal(SIGPIPE, SIG_IGN);
  ::fcntl(in[1], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);

  const auto deadline = std::chrono::steady_clock::now() + ch.timeout;
  size_t written = 0;
  std::string errors;
  bool in_open = true, err_open = true, timed_out = false;
  if (p.body.empty()) ::close(in[1]), in_open = false;
  while (in_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd fds[2];
    int n = 0;
    if (in_open) fds[n++] = {in[1], POLLOUT, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    if (::poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<long long>(left.count(), 1000))) < 0 &&
        errno != EINTR)
      break;
    for (int k = 0; k < n; ++k) {
      if (fds[k].fd == in[1] && (fds[k].revents & (POLLOUT | POLLERR | POLLHUP))) {
        ssize_t w = ::write(in[1], p.body.data() + written, p.body.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) written = p.body.size();  // the reader went away
        if (written >= p.body.size()) ::close(in[1]), in_open = false;
      } else if (fds[k].fd == err[0] && (fds[k].revents & (POLLIN | POLLHUP | POLLERR))) {
        char buf[4096];
        ssize_t r = ::read(err[0], buf, sizeof buf);
        if (r > 0) {
          if (errors.size() < 2000) errors.append(buf, static_cast<size_t>(r));
        } else if (r == 0 || errno != EAGAIN) {
          ::close(err[0]), err_open = false;
        }
      }
    }
  }
  if (in_open) ::close(in[1]);
  if (err_open) ::close(err[0]);
  int status = 0;
  if (timed_out) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return not_delivered(fmt::format("{} timed out after {}", argv[0], format_duration(ch.timeout)));
  }
  // stderr closed: wait for the exit, still within the timeout.
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return not_delivered(fmt::format("{} timed out after {}", argv[0], format_duration(ch.timeout)));
    }
    ::usleep(5000);
  }
  errors = trim(inert(errors));
  if (errors.size() > 500) errors = errors.substr(0, 500) + "…";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return delivered();
  std::string how = WIFEXITED(status) ? fmt::format("exited with status {}", WEXITSTATUS(status))
                                      : fmt::format("was killed by signal {}", WTERMSIG(status));
  return not_delivered(errors.empty() ? fmt::format("{} {}", argv[0], how) : fmt::format("{} {}: {}", argv[0], how, errors));
}

}  // namespace esc::detail
