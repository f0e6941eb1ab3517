#include "cli/run.hpp"

int main(int argc, char** argv) { return esc::cli::run(argc, argv); }
