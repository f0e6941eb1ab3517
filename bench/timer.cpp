// Runs a command many times and prints, for each timed run, its wall time,
// peak resident memory, CPU time and exit code: "ns kib cpu_ns code". A run
// that exits with more than 1 is printed, warm-up or not, and ends the loop.
// Small on purpose: a child's peak memory counts the memory of the process
// that started it, until exec.
//
//   timer RUNS WARMUP STDIN STDOUT STDERR [--remove PATH] [--beside N FLOOR...] -- ARGV...
//
// STDOUT and STDERR are truncated before each run. With --remove, PATH,
// PATH-wal and PATH-shm are removed before each run. With --beside, the N
// words after it are a second command (the floor) run before each run of
// the first, warm-up included, with its output thrown away; its timed runs
// are printed too, each line starting with "floor ".
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

// One run of argv (null-terminated); false when it cannot be started.
bool run(char** argv, const char* in, const char* out, const char* err, Sample& s) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in, O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const long long t0 = now_ns();
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
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

void print(const char* tag, const Sample& s) {
  std::printf("%s%lld %ld %lld %d\n", tag, s.ns, s.kib, s.cpu_ns, s.code);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 8) {
    std::fprintf(stderr,
                 "usage: timer RUNS WARMUP STDIN STDOUT STDERR [--remove PATH] [--beside N FLOOR...] -- ARGV...\n");
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
  char** floor = nullptr;
  if (i + 1 < argc && std::strcmp(argv[i], "--beside") == 0) {
    const int n = std::atoi(argv[i + 1]);
    if (n < 1 || i + 2 + n >= argc) {
      std::fprintf(stderr, "timer: --beside N takes N words\n");
      return 64;
    }
    floor = argv + i + 2;
    i += 2 + n;
  }
  if (i >= argc || std::strcmp(argv[i], "--") != 0 || i + 1 >= argc) {
    std::fprintf(stderr, "timer: expected -- ARGV...\n");
    return 64;
  }
  argv[i] = nullptr;  // ends the floor's words
  char** child = argv + i + 1;
  char rm[3][4096];
  if (remove) {
    std::snprintf(rm[0], sizeof rm[0], "%s", remove);
    std::snprintf(rm[1], sizeof rm[1], "%s-wal", remove);
    std::snprintf(rm[2], sizeof rm[2], "%s-shm", remove);
  }
  for (int n = 0; n < warmup + runs; ++n) {
    Sample s;
    if (floor) {
      if (!run(floor, in, "/dev/null", "/dev/null", s)) return 70;
      const bool failed = s.code != 0;
      if (n >= warmup || failed) print("floor ", s);
      if (failed) break;
    }
    if (remove)
      for (auto& p : rm) unlink(p);
    if (!run(child, in, out, err, s)) return 70;
    const bool failed = s.code != 0 && s.code != 1;  // the caller decides whether 1 is a failure
    if (n >= warmup || failed) print("", s);
    if (failed) break;
  }
  return 0;
}
