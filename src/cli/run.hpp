#pragma once

namespace esc::cli {

// The program: parse, run, map every failure to an exit code. Declared
// apart from context.hpp so that main.cpp does not include CLI11, whose
// validators are objects built before main() in every file that does.
int run(int argc, char** argv);

}  // namespace esc::cli
