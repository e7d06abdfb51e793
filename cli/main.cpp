#include "cli.hpp"

#include <iostream>
#include <unistd.h>

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  return kanari::cli::run(std::vector<std::string>(argv + 1, argv + argc),
                          {std::cin, std::cout, std::cerr, kanari::cli::process_getenv, nullptr,
                           ::isatty(1) == 1, ::isatty(2) == 1});
}
