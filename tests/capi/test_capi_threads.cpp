// Several threads, each with its own kanari_store handle on one store, route
// and record at the same time: every outcome is stored exactly once, and
// every thread sees the same decisions.
#include "support.hpp"

#include "kanari/kanari.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

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
