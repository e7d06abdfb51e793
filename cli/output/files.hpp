// Writing files so that a reader sees the old content or the new, never half
// of it (node_exporter's textfile collector reads metrics files whenever it
// is scraped; a checkout may be read by an agent at any time): write a
// temporary file in the same directory, fsync it, rename it over the target.
// And writing a tree of files only inside its directory, whatever links an
// attacker placed there.
#pragma once

#include "util/result.hpp"

#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace kanari {

// `what` names the file in messages ("--output file"). A directory that
// does not exist, or a target that is a directory, is a usage error (exit 2);
// other failures are operational (exit 3). On failure nothing is left behind.
Result<void> write_file_atomically(const std::string& path, std::string_view data, const std::string& what,
                                   mode_t mode = 0644);

// One file of a directory tree: its path relative to the tree's root
// ('/'-separated, no empty, '.' or '..' segment) and its bytes.
struct TreeFile {
  std::string path;
  std::string_view data;
};

enum class Overwrite { no, yes };

struct WriteTreeOptions {
  Overwrite overwrite = Overwrite::no;
  std::string what;           // names the directory in messages: "--to 'out'"
  std::string overwrite_hint; // how to allow overwriting: "pass --force to overwrite"
};

// Writes `files` under the directory `dir`, which is created when missing
// (with its missing parents, as mkdir -p does). Nothing is ever written
// outside `dir`, and no symbolic link is followed or replaced: `dir` itself,
// every directory under it that a path goes through, and every file it
// replaces must not be a link. Each step opens the next directory relative
// to the one before with O_NOFOLLOW, so a link swapped in meanwhile is
// refused, not followed.
//
// Every path is checked before the first file is written: a link, a
// directory where a file goes, a file or special file where a directory
// goes, or (Overwrite::no) a non-empty `dir`, is a usage error (exit 2) and
// nothing is written. Each file is written to a temporary name in its
// directory, fsync'ed and renamed over its path, so a failure (a full disk,
// an I/O error: exit 3) leaves the files written before it whole, the one
// it hit as it was, and no temporary file. New files and directories get
// 0666 and 0777 less the umask, as with any program.
Result<void> write_tree(const std::string& dir, const std::vector<TreeFile>& files, const WriteTreeOptions& options);

} // namespace kanari
