// kanari_cli_main: the whole `kanari` command line as one exported function
// of libkanari.so, so that the executable (cli/main.cpp) is a one-line
// forwarder and the CLI and agent runtimes run the very same library.
// Compiled into the shared library only: the static C API module (which the
// in-process tests link) does not depend on the CLI.
#include "cli.hpp"
#include "kanari/kanari.h"
#include "store/store.hpp"

#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" KANARI_API int kanari_cli_main(int argc, char** argv) {
  try {
    std::ios::sync_with_stdio(false);
    kanari::store::configure_for_executable(); // the executable owns the process
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i)
      args.emplace_back(argv[i]);
    return kanari::cli::run(args, {std::cin, std::cout, std::cerr, kanari::cli::process_getenv, nullptr,
                                   ::isatty(1) == 1, ::isatty(2) == 1});
  } catch (...) {
    // cli::run catches everything from the commands; this is only reached
    // when building the argument vector runs out of memory.
    std::cerr << "kanari: error: out of memory\n";
    return 3;
  }
}
