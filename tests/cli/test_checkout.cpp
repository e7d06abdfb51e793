// `kanari version checkout` writes only inside --to (SPEC §9.1): a component
// name read from the store is checked again with `version add`'s rules, no
// symbolic link at or under the target is followed or replaced, and each file
// appears whole or not at all. `--to -` writes a tar stream on stdout (SPEC
// §9.4; tests/cli/check_checkout_tar.py reads it with Python and GNU tar).
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace kanari::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// A store whose stable has the prompt `roles/a.md`, the file `z.bin` and a
// model configuration, and a scratch directory `root` for targets.
struct Checkout {
  Cli cli;
  std::string id;
  fs::path root;
  std::string db;

  Checkout() : root(cli.dir().path() / "root"), db(cli.state() + "/kanari.db") {
    cli.ok({"init"});
    id = cli.json({"version", "add", "--prompt", "roles/a.md=" + cli.dir().file("in/a.md", "new a\n"), "--file",
                   "z.bin=" + cli.dir().file("in/z.bin", "new z\n"), "--param", "temperature=0.5"})["id"];
    fs::create_directories(root);
  }

  CliResult checkout(const fs::path& to, bool force = false) {
    std::vector<std::string> args = {"version", "checkout", id, "--to", to.string()};
    if (force)
      args.push_back("--force");
    return cli(args);
  }

  // Renames a component in the store as someone with write access would.
  void forge_name(const std::string& old_name, const std::string& new_name) {
    sqlite_value(db, "UPDATE components SET name = " + sql_text(new_name) + " WHERE version_id = '" + id +
                         "' AND name = '" + old_name + "'; SELECT changes();");
    REQUIRE(sqlite_value(db, "SELECT count(*) FROM components WHERE name = " + sql_text(new_name)) == "1");
  }

  static std::string sql_text(const std::string& s) {
    std::string hex;
    for (unsigned char c : s) {
      static const char* digits = "0123456789abcdef";
      hex += digits[c >> 4];
      hex += digits[c & 15];
    }
    return "CAST(x'" + hex + "' AS TEXT)";
  }
};

// Every entry under `dir`, recursively, as "path" or "path -> target".
std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(fs::symlink_status(dir)))
    return out;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = it->path().lexically_relative(dir).string(); // fs::relative resolves links
    if (it->is_symlink())
      rel += " -> " + fs::read_symlink(it->path()).string();
    out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool one_error_line(const CliResult& r, const std::string& fragment) {
  INFO("stderr: " << r.err);
  return r.out.empty() && r.err.rfind("kanari: error: ", 0) == 0 && std::count(r.err.begin(), r.err.end(), '\n') == 1 &&
         r.err.find(fragment) != std::string::npos;
}

// Changes the working directory for one test and restores it.
class InDir {
public:
  explicit InDir(const fs::path& p) : m_old(fs::current_path()) { fs::current_path(p); }
  ~InDir() { fs::current_path(m_old); }
  InDir(const InDir&) = delete;
  InDir& operator=(const InDir&) = delete;

private:
  fs::path m_old;
};

// Runs the real binary with files it writes limited to `fsize_limit` bytes
// (RLIMIT_FSIZE; SIGXFSZ ignored, so write() fails with EFBIG as on a full
// disk) and stdout sent to `stdout_path`.
Spawned spawn_limited(const std::vector<std::string>& args, rlim_t fsize_limit, const std::string& stdout_path) {
  TempDir tmp;
  const std::string err = (tmp.path() / "stderr").string();
  std::string bin = KANARI_BINARY;
  std::vector<std::string> copy = args;
  std::vector<char*> argv{bin.data()};
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int fout = ::open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ferr = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fout < 0 || ferr < 0 || ::dup2(fout, 1) < 0 || ::dup2(ferr, 2) < 0)
      ::_exit(127);
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit lim{fsize_limit, fsize_limit};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0)
      ::_exit(127);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string out = fs::exists(stdout_path) && fs::is_regular_file(stdout_path) ? read_file(stdout_path) : "";
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), out, read_file(err)};
}

} // namespace

TEST_CASE("checkout: a stored component name that version add refuses exits 3 and writes nothing" *
          doctest::test_suite("sqlite")) {
  const std::vector<std::string> names = {"../../escaped",
                                          "roles/../../escaped",
                                          "./roles/a.md",
                                          "roles//a.md",
                                          "roles/./a.md",
                                          "..",
                                          "roles/a.md/",
                                          "a\x01"
                                          "b",
                                          std::string(257, 'n')};
  for (const auto& name : names) {
    CAPTURE(name);
    Checkout c;
    c.forge_name("roles/a.md", name);
    const fs::path to = c.root / "d1/d2/co";
    auto r = c.checkout(to);
    CHECK(r.code == 3);
    CHECK(one_error_line(r, "component name"));
    CHECK(r.err.find("version add") != std::string::npos);
    // Nothing at all: not the target directory, not the escaped file.
    CHECK(tree(c.root).empty());
    CHECK_FALSE(fs::exists(c.root / "d1/escaped"));
    auto forced = c.checkout(to, true);
    CHECK(forced.code == 3);
    CHECK(tree(c.root).empty());
    // Nor a tar stream.
    auto tar = c.cli({"version", "checkout", c.id, "--to", "-"});
    CHECK(tar.code == 3);
    CHECK(tar.out.empty());
  }
}

TEST_CASE("checkout: a stored absolute component name exits 3 and writes nothing" * doctest::test_suite("sqlite")) {
  Checkout c;
  const fs::path victim = c.root / "victim.md";
  c.forge_name("roles/a.md", victim.string());
  auto r = c.checkout(c.root / "co");
  CHECK(r.code == 3);
  CHECK(one_error_line(r, "absolute"));
  CHECK(tree(c.root).empty());
}

TEST_CASE("checkout: --to that is a symbolic link is refused, with or without --force") {
  Checkout c;
  fs::create_directories(c.root / "real");
  fs::create_directory_symlink("real", c.root / "link");
  for (bool force : {false, true}) {
    CAPTURE(force);
    auto r = c.checkout(c.root / "link", force);
    CHECK(r.code == 2);
    CHECK(one_error_line(r, "symbolic link"));
    CHECK(tree(c.root) == std::vector<std::string>{"link -> real", "real"});
  }
  // A dangling one: its target is not created.
  fs::create_symlink("nowhere", c.root / "dangling");
  auto r = c.checkout(c.root / "dangling", true);
  CHECK(r.code == 2);
  CHECK(one_error_line(r, "symbolic link"));
  CHECK_FALSE(fs::exists(c.root / "nowhere"));
}

TEST_CASE("checkout --force: a symbolic link inside the target is never followed or replaced") {
  Checkout c;
  const fs::path co = c.root / "co";
  fs::create_directories(co);
  const std::string victim = c.cli.dir().file("root/victim", "precious\n");
  fs::create_symlink("../victim", co / "model.json");
  auto before = tree(c.root);
  // Without --force the directory is not empty; with it, the link is refused
  // before any file is written (roles/a.md would come first).
  auto plain = c.checkout(co);
  CHECK(plain.code == 2);
  CHECK(one_error_line(plain, "not empty"));
  auto r = c.checkout(co, true);
  CHECK(r.code == 2);
  CHECK(one_error_line(r, "symbolic link"));
  CHECK(r.err.find("model.json") != std::string::npos);
  CHECK(read_file(victim) == "precious\n");
  CHECK(tree(c.root) == before);
}

TEST_CASE("checkout --force: a symbolic link in place of a directory is never followed") {
  Checkout c;
  const fs::path co = c.root / "co";
  fs::create_directories(co);
  fs::create_directories(c.root / "elsewhere");
  fs::create_directory_symlink("../elsewhere", co / "roles");
  auto before = tree(c.root);
  auto r = c.checkout(co, true);
  CHECK(r.code == 2);
  CHECK(one_error_line(r, "symbolic link"));
  CHECK(r.err.find("roles") != std::string::npos);
  CHECK(tree(c.root) == before);
  CHECK_FALSE(fs::exists(c.root / "elsewhere/a.md"));
}

TEST_CASE("checkout --force: a dangling symbolic link does not get its target created") {
  Checkout c;
  const fs::path co = c.root / "co";
  fs::create_directories(co);
  SUBCASE("as a file") { fs::create_symlink("../made", co / "z.bin"); }
  SUBCASE("as a directory") { fs::create_symlink("../made", co / "roles"); }
  auto before = tree(c.root);
  auto r = c.checkout(co, true);
  CHECK(r.code == 2);
  CHECK(one_error_line(r, "symbolic link"));
  CHECK_FALSE(fs::exists(c.root / "made"));
  CHECK(tree(c.root) == before);
}

TEST_CASE("checkout --force: a directory or a special file where a file goes is refused before writing") {
  Checkout c;
  const fs::path co = c.root / "co";
  fs::create_directories(co / "z.bin");
  auto r = c.checkout(co, true);
  CHECK(r.code == 2);
  CHECK(one_error_line(r, "z.bin"));
  CHECK(tree(c.root) == std::vector<std::string>{"co", "co/z.bin"});
  fs::remove(co / "z.bin");
  REQUIRE(::mkfifo((co / "model.json").c_str(), 0600) == 0);
  auto fifo = c.checkout(co, true);
  CHECK(fifo.code == 2);
  CHECK(one_error_line(fifo, "model.json"));
  CHECK(tree(c.root) == std::vector<std::string>{"co", "co/model.json"});
}

TEST_CASE("checkout --force: a hard link inside the target is replaced, not written through") {
  Checkout c;
  const fs::path co = c.root / "co";
  fs::create_directories(co);
  const std::string victim = c.cli.dir().file("root/victim", "precious\n");
  fs::create_hard_link(victim, co / "model.json");
  c.cli.ok({"version", "checkout", c.id, "--to", co.string(), "--force"});
  CHECK(read_file(victim) == "precious\n");
  CHECK(read_file(co / "model.json") == "{\"temperature\":0.5}\n");
}

TEST_CASE("checkout --force: overwrites regular files and keeps others") {
  Checkout c;
  const fs::path co = c.root / "co";
  c.cli.dir().file("root/co/roles/a.md", "old a\n");
  c.cli.dir().file("root/co/keep.txt", "mine\n");
  c.cli.ok({"version", "checkout", c.id, "--to", co.string(), "--force"});
  CHECK(read_file(co / "roles/a.md") == "new a\n");
  CHECK(read_file(co / "z.bin") == "new z\n");
  CHECK(read_file(co / "keep.txt") == "mine\n");
  CHECK(tree(co) == std::vector<std::string>{"keep.txt", "model.json", "roles", "roles/a.md", "z.bin"});
}

TEST_CASE("checkout: a write that fails (file size limit, as on a full disk) leaves no partial or temporary file") {
  Checkout c;
  // A 1 MiB component, written under a 256 KiB limit on file size: the
  // store's own files stay below it.
  const std::string big(1 << 20, 'b');
  const std::string id = c.cli.json({"version", "add", "--prompt", "a.md=" + c.cli.dir().file("in/small.md", "small\n"),
                                     "--prompt", "big.md=" + c.cli.dir().file("in/big.md", big)})["id"];
  const std::string out = (c.root / "stdout").string();
  SUBCASE("into a new directory") {
    const fs::path co = c.root / "co";
    auto r = spawn_limited({"--state", c.cli.state(), "version", "checkout", id, "--to", co.string()}, 256 << 10, out);
    CHECK(r.code == 3);
    CHECK(r.err.find("big.md") != std::string::npos);
    // a.md is written whole, big.md not at all, and nothing else is left.
    CHECK(tree(co) == std::vector<std::string>{"a.md"});
    CHECK(read_file(co / "a.md") == "small\n");
  }
  SUBCASE("over existing files with --force") {
    const fs::path co = c.root / "co";
    c.cli.dir().file("root/co/big.md", "old big\n");
    auto r = spawn_limited({"--state", c.cli.state(), "version", "checkout", id, "--to", co.string(), "--force"},
                           256 << 10, out);
    CHECK(r.code == 3);
    CHECK(read_file(co / "big.md") == "old big\n");
    CHECK(tree(co) == std::vector<std::string>{"a.md", "big.md"});
  }
}

TEST_CASE("checkout --to -: a tar stream on stdout, no directory named -") {
  Checkout c;
  InDir here(c.root);
  auto r = c.cli.ok({"version", "checkout", c.id, "--to", "-"});
  CHECK(tree(c.root).empty());
  REQUIRE(r.out.size() % 10240 == 0);
  CHECK(r.out.substr(0, 7) == "model.j");
  CHECK(r.out.substr(257, 8) == std::string("ustar\0"
                                            "00",
                                            8));
  CHECK(r.out.find("new a\n") != std::string::npos);
  CHECK(r.out.find("{\"temperature\":0.5}\n") != std::string::npos);
  CHECK(r.err.empty());
  // Deterministic: the same version gives the same bytes.
  CHECK(c.cli.ok({"version", "checkout", c.id, "--to", "-"}).out == r.out);
  // A directory literally named - is still reachable as ./-.
  c.cli.ok({"version", "checkout", c.id, "--to", "./-"});
  CHECK(read_file(c.root / "-" / "model.json") == "{\"temperature\":0.5}\n");
}

TEST_CASE("checkout --to -: refused with --json, or when stdout is a terminal") {
  Checkout c;
  InDir here(c.root);
  auto json_out = c.cli({"--json", "version", "checkout", c.id, "--to", "-"});
  CHECK(json_out.code == 2);
  CHECK(one_error_line(json_out, "--json"));
  c.cli.out_tty = true;
  auto tty = c.cli({"version", "checkout", c.id, "--to", "-"});
  CHECK(tty.code == 2);
  CHECK(one_error_line(tty, "terminal"));
  CHECK(tree(c.root).empty());
}

TEST_CASE("checkout --to -: a stdout that cannot be written exits 3") {
  Checkout c;
  auto r =
      spawn_limited({"--state", c.cli.state(), "version", "checkout", c.id, "--to", "-"}, RLIM_INFINITY, "/dev/full");
  CHECK(r.code == 3);
  CHECK(r.err.find("standard output") != std::string::npos);
}
