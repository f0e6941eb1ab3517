// Runs a command many times and prints, for each timed run, its wall time,
// peak resident memory, CPU time and exit code: "ns kib cpu_ns code". A run
// that exits with more than 1 is printed, warm-up or not, and ends the loop.
// Small on purpose: a child's peak memory counts the memory of the process
// that started it, until exec.
//
//   timer RUNS WARMUP STDIN STDOUT STDERR [--remove PATH] -- ARGV...
//
// STDOUT is truncated before each run. The command's stderr is a pipe that
// the timer reads, as a terminal or `2>&1 | ...` would be; what the last run
// printed there is written to STDERR at the end. (A file truncated before
// each run cost the runs after it disk work: ext4 writes such a file back
// when it is closed.) With --remove, PATH, PATH-wal and PATH-shm are
// removed before each run.
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace {

long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct Sample {
  long long ns = 0;
  long kib = 0;
  long long cpu_ns = 0;
  int code = 0;
};

// One run of argv (null-terminated), its stderr into `err`; false when it
// cannot be started.
bool run(char** argv, const char* in, const char* out, std::string& err, Sample& s) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    std::perror("timer: pipe");
    return false;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, pipe_fds[1], 2);
  const long long t0 = now_ns();
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pipe_fds[1]);
  err.clear();
  if (rc == 0) {
    char buf[4096];
    ssize_t n;
    while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) err.append(buf, static_cast<std::size_t>(n));
  }
  close(pipe_fds[0]);
  if (rc != 0) {
    std::perror("timer: spawn");
    return false;
  }
  int status = 0;
  rusage ru{};
  if (wait4(pid, &status, 0, &ru) < 0) {
    std::perror("timer: wait");
    return false;
  }
  s.ns = now_ns() - t0;
  s.kib = ru.ru_maxrss;
  s.cpu_ns =
      (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
  s.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

void print(const Sample& s) { std::printf("%lld %ld %lld %d\n", s.ns, s.kib, s.cpu_ns, s.code); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr, "usage: timer RUNS WARMUP STDIN STDOUT STDERR [--remove PATH] -- ARGV...\n");
    return 64;
  }
  const int runs = std::atoi(argv[1]);
  const int warmup = std::atoi(argv[2]);
  const char* in = argv[3];
  const char* out = argv[4];
  const char* err = argv[5];
  const char* remove = nullptr;
  int i = 6;
  if (i + 1 < argc && std::strcmp(argv[i], "--remove") == 0) {
    remove = argv[i + 1];
    i += 2;
  }
  if (i >= argc || std::strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
    std::fprintf(stderr, "timer: expected -- ARGV...\n");
    return 64;
  }
  char** child = argv + i + 1;
  char rm[3][4096];
  if (remove) {
    std::snprintf(rm[0], sizeof rm[0], "%s", remove);
    std::snprintf(rm[1], sizeof rm[1], "%s-wal", remove);
    std::snprintf(rm[2], sizeof rm[2], "%s-shm", remove);
  }
  std::string last_err;
  int code = 0;
  for (int n = 0; n < warmup + runs; ++n) {
    Sample s;
    if (remove)
      for (auto& p : rm) unlink(p);
    if (!run(child, in, out, last_err, s)) {
      code = 70;
      break;
    }
    const bool failed = s.code != 0 && s.code != 1;  // the caller decides whether 1 is a failure
    if (n >= warmup || failed) print(s);
    if (failed) break;
  }
  if (FILE* f = std::fopen(err, "w")) {
    std::fwrite(last_err.data(), 1, last_err.size(), f);
    std::fclose(f);
  } else {
    std::perror("timer: stderr file");
    code = 70;
  }
  return code;
}
