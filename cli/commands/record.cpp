#include "commands.hpp"
namespace kanari::cli {
void setup_record(CLI::App&, Registry&) {}
} // namespace kanari::cli
