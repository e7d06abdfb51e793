#include "commands.hpp"
namespace kanari::cli {
void setup_route(CLI::App&, Registry&) {}
} // namespace kanari::cli
