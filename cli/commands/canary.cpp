#include "commands.hpp"
namespace kanari::cli {
void setup_canary(CLI::App&, Registry&) {}
} // namespace kanari::cli
