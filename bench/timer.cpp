// Runs a command many times and prints, for each timed run, its wall time,
// peak resident memory, CPU time and exit code: "ns kib cpu_ns code". A run
// that exits with more than 1 is printed, warm-up or not, and ends the loop.
// Small on purpose: a child's peak memory counts the memory of the process
// that started it, until exec.
//
//   timer RUNS WARMUP STDIN STDOUT STDERR [--remove PATH] -- ARGV...
//
// STDOUT and STDERR are truncated before each run. With --remove, PATH,
// PATH-wal and PATH-shm are removed before each run.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

extern char** environ;

static long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

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
  if (std::strcmp(argv[i], "--remove") == 0 && i + 1 < argc) {
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
  for (int n = 0; n < warmup + runs; ++n) {
    if (remove)
      for (auto& p : rm) unlink(p);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const long long t0 = now_ns();
    pid_t pid;
    if (posix_spawnp(&pid, child[0], &fa, nullptr, child, environ) != 0) {
      std::perror("timer: spawn");
      return 70;
    }
    int status = 0;
    rusage ru{};
    if (wait4(pid, &status, 0, &ru) < 0) {
      std::perror("timer: wait");
      return 70;
    }
    const long long t1 = now_ns();
    posix_spawn_file_actions_destroy(&fa);
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    const long long cpu =
        (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
    const bool failed = code != 0 && code != 1;  // the caller decides whether 1 is a failure
    if (n >= warmup || failed) std::printf("%lld %ld %lld %d\n", t1 - t0, ru.ru_maxrss, cpu, code);
    if (failed) break;
  }
  return 0;
}
