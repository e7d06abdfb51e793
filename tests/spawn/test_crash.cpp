// kill -9 during a large JSONL import (SPEC §7: "a process killed at any
// instant leaves the store consistent: a JSONL import is all or nothing").
//
// Each iteration imports the same 200,000-line file onto its own track and
// kills the process after a random 20-300 ms; afterwards SQLite's integrity
// check passes, the track holds 0 or exactly 200,000 outcomes, and the event
// chain verifies. The store is reused across iterations, so each run also
// recovers the WAL the previous kill left behind.
//
// Long run: KANARI_CRASH_ITERATIONS=200 (and KANARI_CRASH_MAX_DELAY_MS=2500
// to also land kills around the commit of an import that takes ~1.5 s);
// KANARI_CRASH_SEED replays a run.
#include "store/store.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

using namespace kanari;
using kanari::test::TempDir;

namespace {

long env_number(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v)
    return fallback;
  char* end = nullptr;
  long n = std::strtol(v, &end, 10);
  REQUIRE_MESSAGE(*end == '\0', name << " must be a number, got " << v);
  return n;
}

// Starts the binary with stdout/stderr discarded; returns its pid.
pid_t start_kanari(const std::vector<std::string>& args) {
  const std::string bin = KANARI_BINARY;
  std::vector<std::string> copy = args;
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(bin.c_str()));
  for (auto& a : copy)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(null, 1) < 0 || ::dup2(null, 2) < 0)
      ::_exit(127);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

} // namespace

TEST_CASE("crash: kill -9 during a 200,000-line import leaves all or nothing") {
  constexpr std::int64_t k_lines = 200'000;
  const long iterations = env_number("KANARI_CRASH_ITERATIONS", 5);
  const long max_delay_ms = env_number("KANARI_CRASH_MAX_DELAY_MS", 300);
  const auto seed = static_cast<std::uint32_t>(env_number("KANARI_CRASH_SEED", std::random_device{}()));
  REQUIRE(max_delay_ms >= 20);
  MESSAGE("crash test: " << iterations << " iterations, delays 20.." << max_delay_ms << " ms, KANARI_CRASH_SEED="
                         << seed);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<long> delay(20, max_delay_ms);

  TempDir dir;
  const std::string state = (dir.path() / "state").string();
  auto kanari = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--state", state, "--actor", "tester"});
    return test::spawn_kanari(args);
  };
  REQUIRE(kanari({"init"}).code == 0);
  const std::string prompt = "system=" + dir.file("v1.txt", "one\n");

  // Lines name no track, so the one file imports onto whichever --track.
  const std::string jsonl = (dir.path() / "big.jsonl").string();
  {
    std::ofstream f(jsonl, std::ios::binary);
    for (std::int64_t i = 0; i < k_lines; ++i)
      f << "{\"task\":\"t-" << i << "\",\"pass\":" << (i % 3 ? "true" : "false")
        << ",\"version\":\"stable\",\"latency_ms\":" << i % 1000 << "}\n";
    REQUIRE(f.good());
  }

  auto check_store = [&](const std::string& track) {
    auto s = store::open_sqlite_store(state);
    REQUIRE(s.ok());
    const auto problems = (*s)->integrity_check();
    CHECK_MESSAGE(problems.empty(), "integrity_check: " << (problems.empty() ? "" : problems.front()));
    return (*s)->count_outcomes(track);
  };

  int killed = 0;
  for (long i = 0; i < iterations; ++i) {
    const std::string track = "crash-" + std::to_string(i);
    const long ms = delay(rng);
    INFO("iteration " << i << ", kill after " << ms << " ms, KANARI_CRASH_SEED=" << seed);
    // The version is already stored; adding it to the track makes it stable.
    REQUIRE(kanari({"--track", track, "version", "add", "--prompt", prompt}).code == 0);
    const pid_t pid = start_kanari({"--state", state, "--actor", "tester", "--track", track, "record", "--jsonl", jsonl});
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    const bool finished = WIFEXITED(status);
    if (finished)
      CHECK(WEXITSTATUS(status) == 0);
    else
      ++killed;
    const auto n = check_store(track);
    CHECK_MESSAGE((n == 0 || n == k_lines), "track " << track << " holds " << n << " outcomes");
    if (finished)
      CHECK(n == k_lines);
    CHECK(kanari({"audit", "verify"}).code == 0);
  }
  MESSAGE(killed << " of " << iterations << " imports killed before they finished");

  // After the crashes the store takes a whole import.
  REQUIRE(kanari({"--track", "after", "version", "add", "--prompt", prompt}).code == 0);
  const auto r = kanari({"--track", "after", "record", "--jsonl", jsonl});
  INFO("stderr: " << r.err);
  CHECK(r.code == 0);
  CHECK(check_store("after") == k_lines);
  CHECK(kanari({"audit", "verify"}).code == 0);
}
