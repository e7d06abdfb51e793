// The kanari executable: the process's streams, environment and terminal
// handed to cli::run, which does everything else.
#include "cli.hpp"
#include "store/store.hpp"

#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

int main(int argc, char** argv) {
  try {
    std::ios::sync_with_stdio(false);
    kanari::store::configure_for_executable(); // the executable owns the process
    std::vector<std::string> args(argv + 1, argv + argc);
    return kanari::cli::run(
        args,
        {std::cin, std::cout, std::cerr, kanari::cli::process_getenv, nullptr, ::isatty(1) == 1, ::isatty(2) == 1, {}});
  } catch (...) {
    // cli::run catches everything from the commands; this is only reached
    // when building the argument vector runs out of memory.
    std::cerr << "kanari: error: out of memory\n";
    return 3;
  }
}
