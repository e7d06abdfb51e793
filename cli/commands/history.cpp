#include "commands.hpp"
namespace kanari::cli {
void setup_history(CLI::App&, Registry&) {}
} // namespace kanari::cli
