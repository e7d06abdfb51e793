// Test support: temporary directories, the CLI run in-process with captured
// streams, and the real binary spawned.
#pragma once

#include "cli.hpp"
#include "util/clock.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace kanari::test {

class TempDir {
public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return m_path; }
  std::string str() const { return m_path.string(); }
  std::string file(const std::string& name, const std::string& content) const; // writes, returns path

private:
  std::filesystem::path m_path;
};

struct CliResult {
  int code;
  std::string out;
  std::string err;
  nlohmann::json json() const { return nlohmann::json::parse(out); }
};

// Runs the CLI in-process against a store directory, with a fake clock.
class Cli {
public:
  Cli(); // its own temporary store directory, not yet initialised
  explicit Cli(std::string state_dir);
  CliResult operator()(std::vector<std::string> args, const std::string& stdin_text = "");
  CliResult ok(std::vector<std::string> args, const std::string& stdin_text = ""); // REQUIREs exit 0
  nlohmann::json json(std::vector<std::string> args, const std::string& stdin_text = "");
  const std::string& state() const { return m_state; }
  TempDir& dir() { return m_dir; }
  FakeClock clock{1'800'000'000'000};
  // What the command sees of its surroundings: whether stdout and stderr
  // are terminals, the environment (nothing else is set), and a clock other
  // than `clock` when set.
  bool out_tty = false;
  bool err_tty = false;
  std::map<std::string, std::string> env;
  const Clock* clock_override = nullptr;
  std::string actor = "tester"; // --actor of every command; empty: none given
  // A command's waits (`canary wait` between polls) do not sleep: each is
  // recorded in `sleeps`, advances `clock` by its length, then calls
  // `on_sleep` when set, which may change the store as another process
  // would meanwhile.
  std::vector<TimeMs> sleeps;
  std::function<void(TimeMs)> on_sleep;

private:
  TempDir m_dir;
  std::string m_state;
};

// PostgreSQL (docs/testing.md). With KANARI_TEST_STORE=postgresql, Cli()
// puts its store in a new schema of the server KANARI_TEST_PG_URI names
// (default "postgresql://", with libpq's PG* variables), dropped when the
// process exits.
bool on_postgresql();
std::string postgresql_base_uri();
// `uri` with its search_path set to `schema`.
std::string with_search_path(const std::string& uri, const std::string& schema);
// Runs `sql` on `uri`; returns the rows, '|' between columns (NULL empty),
// one per line, as the sqlite3 shell prints them.
std::string run_postgresql(const std::string& uri, const std::string& sql);
// A location for a new store: a new schema on PostgreSQL, else DIR/state.
std::string new_store_location(const TempDir& dir);
std::string new_postgresql_location();

// An initialised store with two versions on the default track: `a` (the
// stable) and `b`.
struct TwoVersions {
  Cli cli;
  std::string a, b;
  TwoVersions();
  // Adds a version with one prompt `system` of `text`; returns its id.
  std::string add(const std::string& name, const std::string& text, const std::string& track = "default");
  // Records `passes` of `n` outcomes for `ref` on the track (failures
  // first), as tasks task-0, task-1, ... never used before.
  void outcomes(const std::string& ref, int passes, int n, const std::string& track = "default");
  int next_task = 0;
};

// Whether any string of the JSON array `lines` contains `text`.
bool mentions(const nlohmann::json& lines, const std::string& text);

std::string read_file(const std::filesystem::path& p);
// Bytes of every file of the store, to prove a rejected command wrote nothing.
std::string store_snapshot(const std::string& state_dir);

struct Spawned {
  int code;
  std::string out;
  std::string err;
};
// Runs the real kanari binary with the given arguments and stdin.
Spawned spawn_kanari(const std::vector<std::string>& args, const std::string& stdin_text = "");
// The same behind a wrapper command: runs wrapper[0] (found on PATH) with the
// rest of `wrapper`, the kanari binary's path, then `args` (e.g. {"setpriv",
// "--reuid=65534", ...} to run it as another user).
Spawned spawn_kanari_via(const std::vector<std::string>& wrapper, const std::vector<std::string>& args,
                         const std::string& stdin_text = "");

} // namespace kanari::test
