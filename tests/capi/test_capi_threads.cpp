// Several threads, each with its own kanari_store handle on one store, route
// and record at the same time: every outcome is stored exactly once, and
// every thread sees the same decisions. And several threads sharing one
// handle, whose calls the handle serialises.
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include "kanari/kanari.h"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace kanari::test;

TEST_CASE("capi threads: concurrent handles route and record with no lost outcomes") {
  Cli cli;
  // The handles record at the system clock's time, inside the window of a
  // rollout started on that clock.
  static const kanari::SystemClock system_clock;
  cli.clock_override = &system_clock;
  cli.ok({"init"});
  cli.json({"version", "add", "--prompt", "s=" + cli.dir().file("a.txt", "A\n")});
  auto b = cli.json({"version", "add", "--prompt", "s=" + cli.dir().file("b.txt", "B\n")})["id"].get<std::string>();
  cli.ok({"canary", "start", "--version", b, "--percentage", "40"});

  constexpr int k_threads = 8, k_tasks = 150;
  std::atomic<int> failures{0}, canary{0}, inserted{0};
  std::vector<std::vector<std::string>> versions(k_threads, std::vector<std::string>(k_tasks));
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t) {
    threads.emplace_back([&, t] {
      kanari_store* h = nullptr;
      if (kanari_open(cli.state().c_str(), "thread", 0, &h) != KANARI_OK) {
        ++failures;
        return;
      }
      for (int i = 0; i < k_tasks; ++i) {
        const std::string key = "user-" + std::to_string(i);
        const std::string task = "t" + std::to_string(t) + "-" + std::to_string(i);
        kanari_route_decision r{};
        // Half the tasks remember their assignment (a write), half route
        // read-only and name the version when recording.
        const bool remember = i % 2 == 0;
        if (kanari_route(h, nullptr, key.c_str(), remember ? task.c_str() : nullptr, &r) != KANARI_OK) {
          ++failures;
          continue;
        }
        versions[static_cast<size_t>(t)][static_cast<size_t>(i)] = r.version;
        kanari_outcome o{};
        o.task = task.c_str();
        o.pass = i % 3 != 0;
        o.version = remember ? nullptr : r.version;
        kanari_record_summary s{};
        if (kanari_record(h, &o, &s) != KANARI_OK) {
          ++failures;
          continue;
        }
        inserted += static_cast<int>(s.inserted);
        canary += r.arm == KANARI_ARM_CANARY;
      }
      kanari_close(h);
    });
  }
  for (auto& th : threads)
    th.join();
  CHECK(failures == 0);
  CHECK(inserted == k_threads * k_tasks);
  for (int t = 1; t < k_threads; ++t)
    CHECK(versions[static_cast<size_t>(t)] == versions[0]); // sticky: the same key, the same version
  auto st = cli.json({"canary", "status"});
  CHECK(st["canary_stats"]["n"] == canary.load());
  CHECK(st["canary_stats"]["n"].get<int>() + st["stable_stats"]["n"].get<int>() == k_threads * k_tasks);
}

// One handle shared by several threads (SPEC §9.1: calls on one handle are
// serialised inside). The threads run in a forked child, so that the
// failures this used to cause (a crash, a heap abort, a hang inside SQLite)
// fail the test instead of taking the test runner with them; the parent then
// checks the store with SQLite's integrity check and counts every outcome.
TEST_CASE("capi threads: one handle shared by many threads never corrupts the store" * doctest::test_suite("sqlite")) {
  Cli cli;
  cli.ok({"init"});
  cli.json({"version", "add", "--prompt", "s=" + cli.dir().file("a.txt", "A\n")});
  auto b = cli.json({"version", "add", "--prompt", "s=" + cli.dir().file("b.txt", "B\n")})["id"].get<std::string>();
  cli.ok({"canary", "start", "--version", b, "--percentage", "40"});

  constexpr int k_threads = 8, k_tasks = 120;
  const std::string state = cli.state();
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child: nothing here may use doctest. Exit 0 when every call
    // succeeded, 1 when one failed (its message on stderr).
    kanari_store* h = nullptr;
    if (kanari_open(state.c_str(), "shared", 0, &h) != KANARI_OK)
      ::_exit(2);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < k_threads; ++t) {
      threads.emplace_back([&, t] {
        auto failed = [&](const char* what) {
          std::fprintf(stderr, "thread %d: %s: %s\n", t, what, kanari_last_error(h));
          ++failures;
        };
        for (int i = 0; i < k_tasks; ++i) {
          const std::string task = "t" + std::to_string(t) + "-" + std::to_string(i);
          kanari_route_decision r{};
          // Even tasks remember their assignment (a write), odd ones route
          // read-only and name the version; every fourth call evaluates.
          const bool remember = i % 2 == 0;
          if (kanari_route(h, nullptr, task.c_str(), remember ? task.c_str() : nullptr, &r) != KANARI_OK) {
            failed("route");
            continue;
          }
          kanari_outcome o{};
          o.task = task.c_str();
          o.pass = i % 3 != 0;
          o.version = remember ? nullptr : r.version;
          o.has = KANARI_HAS_LATENCY_MS;
          o.latency_ms = 10.0 * i;
          if (kanari_record(h, &o, nullptr) != KANARI_OK)
            failed("record");
          if (i % 4 == 0) {
            char* j = nullptr;
            int verdict = -1;
            const auto st = kanari_evaluate(h, nullptr, 0, &verdict, &j);
            if ((st != KANARI_OK && st != KANARI_NEGATIVE) || !j) // NEGATIVE: a ROLLBACK verdict
              failed("evaluate");
            kanari_free(j);
          }
        }
      });
    }
    for (auto& th : threads)
      th.join();
    kanari_close(h);
    ::_exit(failures == 0 ? 0 : 1);
  }
  // The parent: wait at most a minute (the calls take a second or two).
  int status = 0;
  pid_t done = 0;
  for (int waited = 0; waited < 600 && (done = ::waitpid(pid, &status, WNOHANG)) == 0; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL("the threads sharing one handle hung (killed after 60 s)");
  }
  REQUIRE_MESSAGE(WIFEXITED(status), "the child died of signal " << WTERMSIG(status));
  CHECK(WEXITSTATUS(status) == 0);

  const std::string db = state + "/kanari.db";
  CHECK(sqlite_value(db, "PRAGMA integrity_check") == "ok");
  // Every outcome is there exactly once.
  CHECK(sqlite_value(db, "SELECT count(*) FROM outcomes") == std::to_string(k_threads * k_tasks));
  CHECK(sqlite_value(db, "SELECT count(DISTINCT task) FROM outcomes") == std::to_string(k_threads * k_tasks));
  CHECK(sqlite_value(db, "SELECT count(*) FROM outcomes WHERE task GLOB 't[0-9]-*'") ==
        std::to_string(k_threads * k_tasks));
  auto st = cli.json({"canary", "status"});
  CHECK(st["canary_stats"]["n"].get<int>() + st["stable_stats"]["n"].get<int>() == k_threads * k_tasks);
  cli.ok({"audit", "verify"});
}

TEST_CASE("capi threads: kanari_last_error(handle) is the calling thread's own message") {
  Cli cli;
  cli.ok({"init"});
  kanari_store* h = nullptr;
  REQUIRE(kanari_open(cli.state().c_str(), "shared", 0, &h) == KANARI_OK);
  kanari_route_decision r{};
  // Thread a fails first, then b fails differently; a's message is still a's.
  REQUIRE(kanari_route(h, nullptr, "", nullptr, &r) == KANARI_USAGE);
  std::string from_b;
  std::thread b([&] {
    CHECK(std::string(kanari_last_error(h)).empty()); // b has not failed on h yet
    REQUIRE(kanari_route(h, "no/such track", "k", nullptr, &r) == KANARI_USAGE);
    from_b = kanari_last_error(h);
  });
  b.join();
  CHECK(std::string(kanari_last_error(h)).find("routing key must not be empty") != std::string::npos);
  CHECK(from_b.find("track") != std::string::npos);
  CHECK(from_b.find("routing key") == std::string::npos);
  kanari_close(h);
}
