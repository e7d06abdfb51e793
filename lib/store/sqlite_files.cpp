#include "store/sqlite_files.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace kanari::store {

namespace {

std::filesystem::path with_suffix(const std::filesystem::path& db, const char* suffix) {
  return std::filesystem::path(db.string() + suffix);
}

std::filesystem::path directory_of(const std::filesystem::path& db) {
  auto dir = db.parent_path();
  return dir.empty() ? std::filesystem::path(".") : dir;
}

// Whether this process (its effective ids, as the kernel checks on open)
// may do `mode` to `p`: 0, or the errno.
int access_error(const std::filesystem::path& p, int mode) {
  return ::faccessat(AT_FDCWD, p.c_str(), mode, AT_EACCESS) == 0 ? 0 : errno;
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

} // namespace

Result<Access> choose_access(const std::filesystem::path& db) {
  if (access_error(directory_of(db), W_OK) == 0)
    return Access::read_write;
  struct stat wal {};
  struct stat shm {};
  const bool has_wal = ::stat(with_suffix(db, "-wal").c_str(), &wal) == 0;
  const bool has_shm = ::stat(with_suffix(db, "-shm").c_str(), &shm) == 0;
  if (has_wal && has_shm)
    return Access::read_only;
  if (!has_wal || wal.st_size == 0)
    return Access::immutable;
  return operational_error(
      "cannot read the store in " + directory_of(db).string() + ": its " + with_suffix(db, "-wal").filename().string() +
      " holds committed changes, which SQLite can read only with the " + with_suffix(db, "-shm").filename().string() +
      " beside it, and the directory is read-only so it cannot create one; copy kanari.db and kanari.db-wal "
      "together to a writable directory and use the copy");
}

void repair_wal_modes(const std::filesystem::path& db) noexcept {
  for (const char* suffix : {"-wal", "-shm"}) {
    const auto p = with_suffix(db, suffix);
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid())
      continue;
    if ((st.st_mode & (S_IRUSR | S_IWUSR)) != (S_IRUSR | S_IWUSR))
      (void)::chmod(p.c_str(), (st.st_mode & 07777) | S_IRUSR | S_IWUSR);
  }
}

std::vector<std::string> wal_file_problems(const std::filesystem::path& db, Access access) {
  std::vector<std::string> out;
  if (access != Access::read_write)
    return out; // nothing can write a read-only store; that is not a fault
  for (const char* suffix : {"-wal", "-shm"}) {
    const auto p = with_suffix(db, suffix);
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0)
      continue;
    const int err = access_error(p, R_OK | W_OK);
    if (err == 0)
      continue;
    out.push_back(p.string() + " cannot be written by this user (uid " + std::to_string(::geteuid()) +
                  "; the file is owned by uid " + std::to_string(st.st_uid) + ", mode " + mode_text(st.st_mode) + ": " +
                  std::strerror(err) + "), so every write to the store fails; give it the permissions of " +
                  db.filename().string() + " (chown/chmod), never delete it while the store is in use");
  }
  return out;
}

std::string read_only_message(const std::filesystem::path& db) {
  return "the store in " + directory_of(db).string() +
         " is read-only (this user cannot write its directory, or the file system is mounted read-only), and this "
         "command writes to it; run it where the store is writable";
}

} // namespace kanari::store
