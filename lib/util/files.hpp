// Creating a store's directories without touching ones that exist.
#pragma once

#include "util/result.hpp"

#include <string>

namespace kanari {

// Creates `dir` and each missing parent with mode 0700 (less what the umask
// takes away); a directory that exists, or a symbolic link to one, is left
// exactly as it is. Failure is operational (exit 3).
Result<void> create_private_directories(const std::string& dir);

} // namespace kanari
