// The SQLite store's files on disk: kanari.db, and the -wal and -shm that
// SQLite keeps beside it in WAL mode.
//
// Why this exists. SQLite's WAL mode needs more than the database file:
//
// - Every connection, a reader included, maps the -shm (the WAL index) and
//   writes to it. SQLite creates the -shm, and the -wal, with the permission
//   bits of the database file. A read of a kanari.db made 0444 therefore
//   left a 0444 -shm; after kanari.db was writable again, every write failed
//   ("attempt to write a readonly database") on that leftover, and nothing
//   said why. So after opening, the store gives a -wal or -shm this process
//   owns its owner's read and write bits back (repair_wal_modes), and
//   doctor reports one the current user cannot write (wal_file_problems).
//
// - In a directory the process cannot write (a read-only mount, an archived
//   copy, a 0555 directory), SQLite cannot create a missing -shm or -wal and
//   refuses to open the database at all. SQLite's documented ways out
//   (https://www.sqlite.org/wal.html, "Read-Only Databases", and
//   walformat.html): a read-only connection works when the -wal and -shm
//   already exist (since 3.22.0, even if it cannot write the -shm), and a
//   database opened with the `immutable=1` URI parameter needs neither,
//   because SQLite then takes no locks and ignores any -wal. choose_access()
//   picks among them:
//
//     directory writable                  -> read_write (as always)
//     not writable, -wal and -shm exist   -> read_only: SQLite reads the
//                                            -wal through the -shm, locks
//                                            as usual
//     not writable, no -wal or an empty   -> immutable: the database file
//       one                                  holds every committed change
//     not writable, a -wal with content   -> refused: that content is
//       but no -shm                          committed data SQLite cannot
//                                            read here, and immutable would
//                                            silently show an older store
//
//   immutable is safe only if nothing writes the file meanwhile. A store
//   without a -wal has no open connection (SQLite deletes the -wal when the
//   last one closes), and a writer would first have to create one in a
//   directory that is read-only, at least to us: the remaining risk is a
//   directory its owner writes while we may not, or a read-only view of a
//   store live elsewhere, both opened at the instant no connection is open.
//   docs/operations.md says to archive a store with `sqlite3 .backup`, which
//   leaves a file with no -wal.
//
// Writing to a store opened read_only or immutable fails before SQLite is
// asked, with read_only_message().
#pragma once

#include "util/result.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace kanari::store {

enum class Access { read_write, read_only, immutable };

// How to open the database file at `db` (see above).
Result<Access> choose_access(const std::filesystem::path& db);

// Gives the -wal and -shm of `db` their owner's read and write bits when
// this process owns them and SQLite created them without; never throws.
void repair_wal_modes(const std::filesystem::path& db) noexcept;

// For doctor: a -wal or -shm the current user cannot read and write, which
// makes every write to the store fail. Empty unless the store is writable.
std::vector<std::string> wal_file_problems(const std::filesystem::path& db, Access access);

// The error for a write to a store opened read_only or immutable.
std::string read_only_message(const std::filesystem::path& db);

} // namespace kanari::store
