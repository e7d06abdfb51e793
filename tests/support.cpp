#include "support.hpp"

#include "store/store.hpp"

#include <doctest/doctest.h>
#include <libpq-fe.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <fcntl.h>
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

// ---- PostgreSQL (docs/testing.md): with KANARI_TEST_STORE=postgresql every
// Cli() gets a store in a schema of its own on the server that
// KANARI_TEST_PG_URI (default "postgresql://", libpq's PG* variables fill
// the rest) names. ----

bool on_postgresql() {
  const char* s = std::getenv("KANARI_TEST_STORE");
  return s && std::string_view(s) == "postgresql";
}

std::string postgresql_base_uri() {
  const char* b = std::getenv("KANARI_TEST_PG_URI");
  return b && *b ? b : "postgresql://";
}

std::string with_search_path(const std::string& uri, const std::string& schema) {
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

std::string run_postgresql(const std::string& uri, const std::string& sql) {
  PGconn* c = PQconnectdb(uri.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("cannot connect to the test server: " + msg);
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, sql.c_str());
  std::string out;
  const auto status = PQresultStatus(r);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    throw std::runtime_error("test SQL failed: " + msg + " (" + sql + ")");
  }
  for (int i = 0; i < PQntuples(r); ++i) {
    for (int j = 0; j < PQnfields(r); ++j)
      out += std::string(j ? "|" : "") + (PQgetisnull(r, i, j) ? "" : PQgetvalue(r, i, j));
    out += "\n";
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

namespace {
// The schemas this process made, dropped when it exits.
struct Schemas {
  std::vector<std::string> names;
  ~Schemas() {
    for (const auto& n : names) {
      try {
        run_postgresql(postgresql_base_uri(), "DROP SCHEMA IF EXISTS " + n + " CASCADE");
      } catch (...) {
      }
    }
  }
};
} // namespace

std::string new_postgresql_location() {
  static Schemas schemas;
  static int n = 0;
  const std::string name = "kanari_test_" + std::to_string(::getpid()) + "_" + std::to_string(++n);
  run_postgresql(postgresql_base_uri(), "CREATE SCHEMA " + name);
  schemas.names.push_back(name);
  return with_search_path(postgresql_base_uri(), name);
}

std::string new_store_location(const TempDir& dir) {
  return on_postgresql() ? new_postgresql_location() : (dir.path() / "state").string();
}

Cli::Cli() : m_state(new_store_location(m_dir)) {}
Cli::Cli(std::string state_dir) : m_state(std::move(state_dir)) {}

CliResult Cli::operator()(std::vector<std::string> args, const std::string& stdin_text) {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  args.insert(args.begin(), {"--state", m_state});
  if (!actor.empty())
    args.insert(args.begin() + 2, {"--actor", actor});
  auto getenv = [this](const std::string& name) {
    auto it = env.find(name);
    return it == env.end() ? std::optional<std::string>() : std::optional<std::string>(it->second);
  };
  auto sleep = [this](TimeMs ms) {
    sleeps.push_back(ms);
    clock.advance_ms(ms);
    if (on_sleep)
      on_sleep(ms);
  };
  cli::Io io{in, out, err, getenv, clock_override ? clock_override : &clock, out_tty, err_tty, sleep};
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

TwoVersions::TwoVersions() {
  cli.ok({"init"});
  a = add("a.txt", "You are agent A.\n");
  b = add("b.txt", "You are agent B.\n");
}

std::string TwoVersions::add(const std::string& name, const std::string& text, const std::string& track) {
  auto path = cli.dir().file(track + "-" + name, text);
  return cli.json({"--track", track, "version", "add", "--prompt", "system=" + path})["id"].get<std::string>();
}

void TwoVersions::outcomes(const std::string& ref, int passes, int n, const std::string& track) {
  std::string text;
  for (int i = 0; i < n; ++i)
    text += nlohmann::json{{"task", "task-" + std::to_string(next_task++)},
                           {"pass", i >= n - passes},
                           {"version", ref},
                           {"track", track}}
                .dump() +
            "\n";
  REQUIRE(cli.json({"record", "--jsonl", "-"}, text)["inserted"] == n);
}

bool mentions(const nlohmann::json& lines, const std::string& text) {
  for (const auto& l : lines)
    if (l.get<std::string>().find(text) != std::string::npos)
      return true;
  return false;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string store_snapshot(const std::string& state_dir) {
  std::string snap;
  if (store::is_postgresql_location(state_dir)) {
    // Every row of every table of the store's schema, in a fixed order.
    // One query reads them all: each connection costs a handshake.
    const auto tables = run_postgresql(state_dir, "SELECT table_name FROM information_schema.tables"
                                                  " WHERE table_schema = current_schema() ORDER BY 1");
    std::istringstream names(tables);
    std::string sql;
    for (std::string t; std::getline(names, t);)
      sql += std::string(sql.empty() ? "" : " UNION ALL ") + "SELECT '" + t + "', (SELECT string_agg(x::text, E'\\n'" +
             " ORDER BY x::text) FROM " + t + " x)";
    return sql.empty() ? snap : run_postgresql(state_dir, sql);
  }
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
  return spawn_kanari_via({}, args, stdin_text);
}

Spawned spawn_kanari_via(const std::vector<std::string>& wrapper, const std::vector<std::string>& args,
                         const std::string& stdin_text) {
  TempDir tmp;
  const std::string in = tmp.file("stdin", stdin_text);
  const std::string out = (tmp.path() / "stdout").string();
  const std::string err = (tmp.path() / "stderr").string();
  // Everything the child needs is built before fork: between fork and exec
  // it only calls async-signal-safe functions, so tests may spawn from
  // several threads at once.
  std::string bin = KANARI_BINARY;
  std::vector<std::string> copy = wrapper;
  copy.push_back(bin);
  copy.insert(copy.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int fin = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
    int fout = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ferr = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fin < 0 || fout < 0 || ferr < 0 || ::dup2(fin, 0) < 0 || ::dup2(fout, 1) < 0 || ::dup2(ferr, 2) < 0)
      ::_exit(127);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), read_file(out), read_file(err)};
}

} // namespace kanari::test
