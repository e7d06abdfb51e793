#include "output/files.hpp"

#include "util/strings.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

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

namespace {

// A file descriptor, closed on scope exit.
class Fd {
public:
  explicit Fd(int fd = -1) : m_fd(fd) {}
  ~Fd() {
    if (m_fd >= 0)
      ::close(m_fd);
  }
  Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(m_fd, other.m_fd);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return m_fd; }
  int release() { return std::exchange(m_fd, -1); }
  explicit operator bool() const { return m_fd >= 0; }

private:
  int m_fd;
};

enum class Kind { missing, directory, regular, symlink, other };

// What `name` in the directory `dir_fd` is, without following a link.
Result<Kind> kind_at(int dir_fd, const std::string& name, const std::string& what, const std::string& rel) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT)
      return Kind::missing;
    return operational_error("cannot write " + what + ": '" + rel + "': " + std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode))
    return Kind::symlink;
  if (S_ISDIR(st.st_mode))
    return Kind::directory;
  if (S_ISREG(st.st_mode))
    return Kind::regular;
  return Kind::other;
}

Error refuse(const std::string& what, const std::string& rel, const std::string& problem) {
  return usage_error(what + ": '" + rel + "' " + problem + "; remove it or choose another directory");
}

Error refuse_link(const std::string& what, const std::string& rel) {
  return refuse(what, rel, "is a symbolic link, which is never followed or replaced");
}

// The directory `name` under `dir_fd`, opened without following a link;
// created first (0777 less the umask) when missing and `create` is set.
// An empty Fd means it is missing (and was not to be created).
Result<Fd> open_subdirectory(int dir_fd, const std::string& name, bool create, const std::string& what,
                             const std::string& rel) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    Fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd)
      return fd;
    const int e = errno;
    auto kind = kind_at(dir_fd, name, what, rel);
    KANARI_TRY(kind);
    if (*kind == Kind::symlink)
      return refuse_link(what, rel);
    if (*kind == Kind::regular || *kind == Kind::other)
      return refuse(what, rel, "is needed as a directory but is a file");
    if (*kind == Kind::directory)
      return operational_error("cannot write " + what + ": cannot open '" + rel + "': " + std::strerror(e));
    if (!create)
      return Fd();
    if (::mkdirat(dir_fd, name.c_str(), 0777) != 0 && errno != EEXIST)
      return operational_error("cannot write " + what + ": cannot create the directory '" + rel +
                               "': " + std::strerror(errno));
  }
  return operational_error("cannot write " + what + ": '" + rel + "' keeps changing");
}

// The path's segments, refusing any that would leave the tree (the caller
// validated them; this is the last line of defence).
Result<std::vector<std::string>> segments_of(const std::string& path, const std::string& what) {
  auto segs = split(path, '/');
  for (const auto& s : segs)
    if (s.empty() || s == "." || s == "..")
      return operational_error("cannot write " + what + ": refusing the path " + quote_for_message(path) +
                               ", which is not a plain relative path");
  return segs;
}

// Whether a file may be written at `name` in `dir_fd`: nothing there yet, or
// a regular file to replace.
Result<void> check_file_slot(int dir_fd, const std::string& name, const std::string& what, const std::string& rel) {
  auto kind = kind_at(dir_fd, name, what, rel);
  KANARI_TRY(kind);
  if (*kind == Kind::symlink)
    return refuse_link(what, rel);
  if (*kind == Kind::directory)
    return refuse(what, rel, "is a directory where a file goes");
  if (*kind == Kind::other)
    return refuse(what, rel, "is not a regular file");
  return {};
}

// Checks, without writing, that `path` can be written under `root_fd`
// without following or replacing a link.
Result<void> check_path(int root_fd, const std::string& path, const std::string& what) {
  auto segs = segments_of(path, what);
  KANARI_TRY(segs);
  Fd owned;
  int dir_fd = root_fd;
  std::string rel;
  for (std::size_t i = 0; i < segs->size(); ++i) {
    const std::string& seg = (*segs)[i];
    rel += (i ? "/" : "") + seg;
    if (i + 1 == segs->size())
      return check_file_slot(dir_fd, seg, what, rel);
    auto sub = open_subdirectory(dir_fd, seg, false, what, rel);
    KANARI_TRY(sub);
    if (!*sub)
      return {}; // nothing exists below
    owned = std::move(*sub);
    dir_fd = owned.get();
  }
  return {};
}

// A name for a temporary file that no other writer picks at the same time
// (O_EXCL settles the rest).
std::string temporary_name() {
  static std::atomic<std::uint64_t> counter{0};
  const auto now = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t x =
      now ^ (static_cast<std::uint64_t>(::getpid()) << 40) ^ (counter.fetch_add(1) * 0x9e3779b97f4a7c15ULL);
  static const char* digits = "0123456789abcdef";
  std::string name = ".kanari-tmp-";
  for (int i = 0; i < 12; ++i, x >>= 4)
    name += digits[x & 15];
  return name;
}

Result<void> write_one(int root_fd, const TreeFile& f, const std::string& what) {
  auto segs = segments_of(f.path, what);
  KANARI_TRY(segs);
  Fd owned;
  int dir_fd = root_fd;
  std::string rel;
  for (std::size_t i = 0; i + 1 < segs->size(); ++i) {
    rel += (i ? "/" : "") + (*segs)[i];
    auto sub = open_subdirectory(dir_fd, (*segs)[i], true, what, rel);
    KANARI_TRY(sub);
    owned = std::move(*sub);
    dir_fd = owned.get();
  }
  const std::string& name = segs->back();
  KANARI_TRY(check_file_slot(dir_fd, name, what, f.path));
  std::string tmp;
  Fd fd;
  for (int attempt = 0; attempt < 100 && !fd; ++attempt) {
    tmp = temporary_name();
    fd = Fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
    if (!fd && errno != EEXIST)
      return operational_error("cannot write " + what + ": '" + f.path + "': " + std::strerror(errno));
  }
  if (!fd)
    return operational_error("cannot write " + what + ": no free temporary name for '" + f.path + "'");
  auto fail = [&](const std::string& step, int e) -> Result<void> {
    fd = Fd();
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return operational_error("cannot write " + what + ": '" + f.path + "' (" + step + "): " + std::strerror(e));
  };
  std::size_t done = 0;
  while (done < f.data.size()) {
    ssize_t n = ::write(fd.get(), f.data.data() + done, f.data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail("write", errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0)
    return fail("fsync", errno);
  if (::close(fd.release()) != 0)
    return fail("close", errno);
  // Checked again just before the rename: a link that appeared meanwhile is
  // refused (rename itself never follows one).
  if (auto slot = check_file_slot(dir_fd, name, what, f.path); !slot.ok()) {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return slot;
  }
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) != 0)
    return fail("rename", errno);
  return {};
}

} // namespace

Result<void> write_tree(const std::string& dir, const std::vector<TreeFile>& files, const WriteTreeOptions& options) {
  namespace fs = std::filesystem;
  const std::string& what = options.what;
  std::string path = dir;
  while (path.size() > 1 && path.back() == '/')
    path.pop_back();
  if (path.empty())
    return usage_error(what + " names no directory");
  const fs::path p(path);
  const std::string leaf = p.filename().string();
  Fd root;
  if (path == "/" || leaf == "." || leaf == "..") {
    // Entries of a directory, never links: the directory itself is named.
    root = Fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root)
      return operational_error("cannot open " + what + ": " + std::strerror(errno));
  } else {
    const std::string parent = p.has_parent_path() ? p.parent_path().string() : ".";
    Fd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_fd && errno == ENOENT) {
      // Above the target, links are the user's own path: followed as usual.
      std::error_code ec;
      fs::create_directories(parent, ec);
      if (ec)
        return operational_error("cannot create " + parent + ": " + ec.message());
      parent_fd = Fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    }
    if (!parent_fd)
      return operational_error("cannot open " + parent + " to write " + what + ": " + std::strerror(errno));
    auto kind = kind_at(parent_fd.get(), leaf, what, path);
    KANARI_TRY(kind);
    if (*kind == Kind::symlink)
      return usage_error(what + " is a symbolic link, which is never followed; give the directory it points to");
    if (*kind == Kind::regular || *kind == Kind::other)
      return usage_error(what + " exists and is not a directory");
    auto opened = open_subdirectory(parent_fd.get(), leaf, true, what, path);
    KANARI_TRY(opened);
    root = std::move(*opened);
  }
  if (options.overwrite == Overwrite::no) {
    Fd copy(::dup(root.get()));
    DIR* d = copy ? ::fdopendir(copy.get()) : nullptr;
    if (!d)
      return operational_error("cannot read " + what + ": " + std::strerror(errno));
    copy.release(); // closedir closes it
    bool empty = true;
    while (const dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        empty = false;
    ::closedir(d);
    if (!empty)
      return usage_error(what + " is not empty; choose an empty directory or " + options.overwrite_hint);
  }
  for (const auto& f : files)
    KANARI_TRY(check_path(root.get(), f.path, what));
  for (const auto& f : files)
    KANARI_TRY(write_one(root.get(), f, what));
  return {};
}

} // namespace kanari
