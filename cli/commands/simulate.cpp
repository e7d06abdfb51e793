#include "commands.hpp"
namespace kanari::cli {
void setup_simulate(CLI::App&, Registry&) {}
} // namespace kanari::cli
