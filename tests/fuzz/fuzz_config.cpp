// The config loader with arbitrary file contents: problems are reported,
// never a crash, and every problem names a position or the file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "esc/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/esc-fuzz-config-" + std::to_string(::getpid()) + ".toml";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  std::vector<esc::ConfigProblem> problems;
  esc::Config cfg = esc::parse_config(path, problems);
  for (const auto& p : problems)
    if (p.message.empty()) std::abort();
  if (problems.empty() && cfg.paths.empty()) std::abort();  // a valid config always has a path
  return 0;
}
