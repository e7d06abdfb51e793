// A POSIX tar stream of a few files held in memory (`version checkout --to
// -`), written so that any tar reads it and the same files always give the
// same bytes.
//
// Format: POSIX.1-1988 ustar headers (512-byte blocks, octal fields, the
// "ustar\0" "00" magic). A path of up to 100 bytes sits in the name field; a
// longer one is split at a '/' into the 155-byte prefix and 100-byte name
// fields. A path that cannot be split so, or that is not plain ASCII, is
// carried by a POSIX.1-2001 (pax) extended header, type 'x', whose `path`
// record (UTF-8) overrides the name field for the entry that follows. Every
// tar since 2001 (GNU tar, bsdtar, Python's tarfile) reads pax headers; one
// that does not sees a truncated name. Each file is limited to 8 GiB - 1
// bytes (11 octal digits of size).
//
// Determinism: entries sorted by path (bytes), every parent directory given
// its own entry before its contents, regular files mode 0644, directories
// 0755, uid and gid 0 with no user or group name, and one mtime for all. The
// stream ends with two zero blocks and is padded to a multiple of 10240
// bytes (the default record size of tar and pax).
#pragma once

#include "output/files.hpp"

#include <cstdint>
#include <ostream>
#include <vector>

namespace kanari {

// Writes the archive of `files` (distinct paths; none also a parent of
// another) to `out`. `mtime` is seconds since the epoch, clamped to what
// ustar can hold (0 to 8^11 - 1). Throws std::length_error for a file of
// 8 GiB or more. The caller checks `out`'s state.
void write_tar(std::ostream& out, const std::vector<TreeFile>& files, std::int64_t mtime);

} // namespace kanari
