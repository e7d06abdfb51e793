#include "util/files.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>

namespace kanari {

Result<void> create_private_directories(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return {};
    return operational_error("cannot create the directory " + dir + ": a file of that name exists");
  }
  if (errno != ENOENT)
    return operational_error("cannot create the directory " + dir + ": " + std::strerror(errno));
  const std::filesystem::path p(dir);
  if (p.has_parent_path() && p.parent_path() != p)
    KANARI_TRY(create_private_directories(p.parent_path().string()));
  if (::mkdir(dir.c_str(), 0700) != 0) {
    const int e = errno;
    // Another process made it meanwhile: its mode is theirs to choose.
    if (e == EEXIST && ::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      return {};
    return operational_error("cannot create the directory " + dir + ": " + std::strerror(e));
  }
  return {};
}

} // namespace kanari
