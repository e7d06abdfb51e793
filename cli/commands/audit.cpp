#include "commands.hpp"
namespace kanari::cli {
void setup_audit(CLI::App&, Registry&) {}
} // namespace kanari::cli
