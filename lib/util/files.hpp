// Writing a file so that a concurrent reader sees the old content or the new,
// never half of it (node_exporter's textfile collector reads metrics files
// whenever it is scraped): write a temporary file in the same directory,
// fsync it, rename it over the target. And creating directories without
// touching ones that exist.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>
#include <sys/types.h>

namespace kanari {

// `what` names the file in messages ("--output file"). A directory that
// does not exist, or a target that is a directory, is a usage error (exit 2);
// other failures are operational (exit 3). On failure nothing is left behind.
Result<void> write_file_atomically(const std::string& path, std::string_view data, const std::string& what,
                                   mode_t mode = 0644);

// Creates `dir` and each missing parent with mode 0700 (less what the umask
// takes away); a directory that exists, or a symbolic link to one, is left
// exactly as it is. Failure is operational (exit 3).
Result<void> create_private_directories(const std::string& dir);

} // namespace kanari
