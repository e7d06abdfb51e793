#include "support.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace kanari::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kanari-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp failed");
  m_path = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(m_path, ec);
}

std::string TempDir::file(const std::string& name, const std::string& content) const {
  auto p = m_path / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f << content;
  return p.string();
}

Cli::Cli() : m_state((m_dir.path() / "state").string()) {}
Cli::Cli(std::string state_dir) : m_state(std::move(state_dir)) {}

CliResult Cli::operator()(std::vector<std::string> args, const std::string& stdin_text) {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  args.insert(args.begin(), {"--state", m_state, "--actor", actor});
  auto getenv = [this](const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  };
  cli::Io io{in, out, err, getenv, clock_override ? clock_override : &clock, out_tty, err_tty};
  int code = cli::run(args, io);
  return {code, out.str(), err.str()};
}

CliResult Cli::ok(std::vector<std::string> args, const std::string& stdin_text) {
  auto r = (*this)(args, stdin_text);
  INFO("stderr: " << r.err);
  REQUIRE(r.code == 0);
  return r;
}

nlohmann::json Cli::json(std::vector<std::string> args, const std::string& stdin_text) {
  args.push_back("--json");
  auto r = ok(args, stdin_text);
  return r.json();
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string store_snapshot(const std::string& state_dir) {
  std::string snap;
  if (!std::filesystem::exists(state_dir))
    return snap;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::recursive_directory_iterator(state_dir))
    if (e.is_regular_file() && e.path().filename().string().find("-shm") == std::string::npos)
      files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files)
    snap += f.filename().string() + "\n" + read_file(f) + "\n";
  return snap;
}

Spawned spawn_kanari(const std::vector<std::string>& args, const std::string& stdin_text) {
  TempDir tmp;
  auto in = tmp.file("stdin", stdin_text);
  auto out = (tmp.path() / "stdout").string();
  auto err = (tmp.path() / "stderr").string();
  std::fflush(nullptr); // or the child's freopen writes the parent's buffers again
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    std::string bin = KANARI_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (!std::freopen(in.c_str(), "rb", stdin) || !std::freopen(out.c_str(), "wb", stdout) ||
        !std::freopen(err.c_str(), "wb", stderr))
      ::_exit(127);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_file(out), read_file(err)};
}

} // namespace kanari::test
