// A concurrency soak (SPEC §7): for a fixed time, processes route, record,
// evaluate, promote and start rollouts against one store all at once. Then:
//   - every outcome a recorder was told it stored is there, and no other:
//     the store holds exactly the sum of the `inserted` counts;
//   - a retry of a stored batch never stores anything again;
//   - outcomes of a version that was a canary are never refused, during its
//     rollout or after it ended (late outcomes);
//   - every command ended with an exit code its contract allows (a lock
//     held past the busy timeout, exit 3, fails the soak);
//   - each rollout advanced through each step once: its step_advanced
//     events go 0->1, 1->2, ... and end where the rollout row says;
//   - the event chain, the integrity check and `kanari doctor` pass.
//
// Default 4 seconds; KANARI_SOAK_SECONDS=600 for a long run
// (scripts/soak.sh).
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace kanari::test;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

struct Tally {
  std::int64_t runs = 0;
  std::int64_t inserted = 0;
  std::int64_t retry_inserted = 0;
  std::int64_t unexpected = 0;
  std::string first_unexpected;
};

// One worker: runs `step` until the deadline, counting what it saw.
class Worker {
public:
  Worker(std::string name, std::string state) : m_name(std::move(name)), m_state(std::move(state)) {}

  Spawned run(std::vector<std::string> args, std::initializer_list<int> allowed, const std::string& in = "") {
    args.insert(args.begin(), {"--state", m_state, "--actor", m_name});
    Spawned r = spawn_kanari(args, in);
    ++tally.runs;
    bool ok = false;
    for (int code : allowed)
      ok = ok || r.code == code;
    if (!ok && tally.unexpected++ == 0) {
      tally.first_unexpected = m_name + ": kanari";
      for (const auto& a : args)
        tally.first_unexpected += " " + a;
      tally.first_unexpected += " -> exit " + std::to_string(r.code) + ": " + r.err;
    }
    return r;
  }

  Tally tally;

private:
  std::string m_name;
  std::string m_state;
};

long soak_seconds() {
  const char* v = std::getenv("KANARI_SOAK_SECONDS");
  return v && *v ? std::strtol(v, nullptr, 10) : 4;
}

} // namespace

TEST_CASE("soak: routing, recording, evaluating, promoting and starting at once lose nothing and skip nothing") {
  TempDir dir;
  const std::string state = new_store_location(dir);
  REQUIRE(spawn_kanari({"--state", state, "init", "-q"}).code == 0);
  const std::string v0 = dir.file("v0.md", "version 0\n");
  REQUIRE(spawn_kanari({"--state", state, "version", "add", "--prompt", "p.md=" + v0, "-q"}).code == 0);

  const auto deadline = Clock::now() + std::chrono::seconds(soak_seconds());
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  auto spawn = [&](const std::string& name, auto body) {
    workers.push_back(std::make_unique<Worker>(name, state));
    Worker* w = workers.back().get();
    // At least a few rounds each, however slow the build (a sanitizer
    // build starts a process in a few hundred milliseconds).
    threads.emplace_back([w, body, &deadline] {
      for (int k = 0; Clock::now() < deadline || k < 3; ++k)
        body(*w, k);
    });
  };

  for (int r = 0; r < 2; ++r)
    spawn("recorder" + std::to_string(r), [r](Worker& w, int k) {
      // Every other batch half stable, half canary: with no rollout open,
      // "canary" is an unknown ref and the whole batch is refused (exit 4).
      // The others are all stable, which always exists.
      std::string batch;
      for (int n = 0; n < 40; ++n)
        batch += R"({"task":"r)" + std::to_string(r) + "-" + std::to_string(k) + "-" + std::to_string(n) +
                 R"(","pass":true,"latency_ms":120,"version":")" + (k % 2 && n % 2 ? "canary" : "stable") + "\"}\n";
      auto first = w.run({"--json", "record", "--jsonl", "-"}, {0, 2, 4}, batch);
      if (first.code != 0)
        return;
      w.tally.inserted += json::parse(first.out)["inserted"].get<std::int64_t>();
      // A retry of the same batch stores nothing again, whatever happened
      // to the rollout in between.
      auto retry = w.run({"--json", "record", "--jsonl", "-"}, {0, 2, 4}, batch);
      if (retry.code == 0)
        w.tally.retry_inserted += json::parse(retry.out)["inserted"].get<std::int64_t>();
    });
  // Versions that have been the canary of a rollout: an outcome naming one
  // by id is always accepted, as the canary's or, once its rollout ended,
  // as a late outcome of it; never refused (exit 0 only).
  std::mutex arms_mutex;
  std::vector<std::string> arms;
  std::atomic<std::int64_t> late{0};
  spawn("late-recorder", [&](Worker& w, int k) {
    std::string id;
    {
      std::lock_guard lock(arms_mutex);
      if (arms.empty())
        return;
      id = arms[static_cast<size_t>(k) % arms.size()];
    }
    std::string batch;
    for (int n = 0; n < 20; ++n)
      batch += R"({"task":"late-)" + std::to_string(k) + "-" + std::to_string(n) + R"(","pass":false,"version":")" +
               id + "\"}\n";
    auto r = w.run({"--json", "record", "--jsonl", "-"}, {0}, batch);
    if (r.code != 0)
      return;
    const auto j = json::parse(r.out);
    w.tally.inserted += j["inserted"].get<std::int64_t>();
    late += j["late"].get<std::int64_t>();
  });
  spawn("router", [](Worker& w, int k) { w.run({"route", "--key", "user-" + std::to_string(k)}, {0}); });
  for (int e = 0; e < 2; ++e)
    spawn("evaluator" + std::to_string(e), [](Worker& w, int) {
      w.run({"canary", "evaluate", "--all", "--apply"}, {0, 1});
    });
  spawn("promoter", [](Worker& w, int) { w.run({"canary", "promote"}, {0, 5}); });
  spawn("starter", [&dir, &arms_mutex, &arms](Worker& w, int k) {
    const std::string file = dir.file("starter-" + std::to_string(k) + ".md", "version s" + std::to_string(k) + "\n");
    auto add = w.run({"--json", "version", "add", "--prompt", "p.md=" + file}, {0});
    if (add.code != 0)
      return;
    const std::string id = json::parse(add.out)["id"];
    if (w.run({"canary", "start", "--version", id, "--steps", "10,50,100", "--min-samples", "5"}, {0, 5}).code == 0) {
      std::lock_guard lock(arms_mutex);
      arms.push_back(id);
    }
  });
  for (auto& t : threads)
    t.join();

  Tally total;
  for (const auto& w : workers) {
    INFO(w->tally.first_unexpected);
    CHECK(w->tally.unexpected == 0);
    total.runs += w->tally.runs;
    total.inserted += w->tally.inserted;
    total.retry_inserted += w->tally.retry_inserted;
  }
  MESSAGE("soak: " << soak_seconds() << " s, " << total.runs << " kanari processes, " << total.inserted
                   << " outcomes stored, " << late.load() << " of them late");
  CHECK(total.inserted > 0);
  CHECK(total.retry_inserted == 0);
  const std::string db = state + "/kanari.db";
  CHECK(std::to_string(total.inserted) == sqlite_value(db, "SELECT count(*) FROM outcomes"));

  // One transition per step, and the rollout row agrees with its events.
  auto history = json::parse(spawn_kanari({"--state", state, "--json", "history"}).out);
  std::map<std::int64_t, std::vector<std::pair<std::int64_t, std::int64_t>>> advances; // rollout -> (from, to)
  std::map<std::int64_t, int> terminal;
  for (auto it = history.rbegin(); it != history.rend(); ++it) {
    const auto& e = *it;
    if (e["action"] == "step_advanced")
      advances[e["rollout"]].emplace_back(e["evidence"]["step"], e["evidence"]["to_step"]);
    if (e["action"] == "promoted" || e["action"] == "rolled_back")
      ++terminal[e["rollout"]];
  }
  const auto rollouts = std::stol(sqlite_value(db, "SELECT count(*) FROM rollouts"));
  CHECK(rollouts > 0);
  for (std::int64_t id = 1; id <= rollouts; ++id) {
    CAPTURE(id);
    const auto& steps = advances[id];
    for (size_t i = 0; i < steps.size(); ++i) {
      CHECK(steps[i].first == static_cast<std::int64_t>(i));
      CHECK(steps[i].second == static_cast<std::int64_t>(i + 1));
    }
    CHECK(sqlite_value(db, "SELECT step FROM rollouts WHERE id = " + std::to_string(id)) ==
          std::to_string(steps.size()));
    const std::string st = sqlite_value(db, "SELECT state FROM rollouts WHERE id = " + std::to_string(id));
    CHECK(terminal[id] == (st == "promoted" || st == "rolled_back" ? 1 : 0));
  }
  CHECK(spawn_kanari({"--state", state, "audit", "verify"}).code == 0);
  auto doctor = spawn_kanari({"--state", state, "doctor"});
  INFO(doctor.err);
  CHECK(doctor.code == 0);
}
