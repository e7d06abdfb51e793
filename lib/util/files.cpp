#include "util/files.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace kanari {

Result<void> write_file_atomically(const std::string& path, std::string_view data, const std::string& what,
                                   mode_t mode) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  if (path.empty() || !target.has_filename())
    return usage_error(what + " '" + path + "' names no file; give a file name");
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    return usage_error(what + " '" + path + "': the directory " + dir.string() + " does not exist; create it first");
  if (fs::is_directory(target, ec))
    return usage_error(what + " '" + path + "' is a directory; give a file name");
  // A dot file that the textfile collector (which reads *.prom) ignores.
  std::string tmpl = (dir / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    return operational_error("cannot write " + what + " in " + dir.string() + ": " + std::strerror(errno));
  auto fail = [&](const std::string& step) -> Result<void> {
    const int e = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    return operational_error("cannot write " + what + " '" + path + "' (" + step + "): " + std::strerror(e));
  };
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail("write");
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0)
    return fail("chmod");
  if (::fsync(fd) != 0)
    return fail("fsync");
  if (::close(fd) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    return operational_error("cannot write " + what + " '" + path + "' (close): " + std::strerror(e));
  }
  if (::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    return operational_error("cannot write " + what + " '" + path + "' (rename): " + std::strerror(e));
  }
  return {};
}

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
