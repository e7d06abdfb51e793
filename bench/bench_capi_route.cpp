// kanari_route through the C API on a store with an open 20 % rollout:
// always-current (no route cache: the routing table is read again only when
// the store's commit stamp moved) against a route cache of an hour (the
// table never read again: the API's floor) and the bare Router, in the same
// run. Before the commit stamp, an always-current route read the table in a
// transaction on every call: about 35 k decisions/s on SQLite.
//
// BM_capi_route_sees_a_change: how long after another connection commits
// a rollback, or a new rollout, the handle's always-current route returns
// the new version (counters: mean and max in ms).
//
// The store is an SQLite one in a temporary directory, or the location in
// KANARI_BENCH_STORE (a fresh PostgreSQL database, say), created there.
#include "kanari/kanari.h"
#include "rollout/lifecycle.hpp"
#include "rollout/versions.hpp"
#include "store/store.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using namespace kanari;

// A store with two versions and the second at 20 %, made once per process.
const std::string& store_dir() {
  static const std::string dir = [] {
    const char* given = std::getenv("KANARI_BENCH_STORE");
    char tmpl[] = "/tmp/kanari-bench-route-XXXXXX";
    const char* made = given ? nullptr : ::mkdtemp(tmpl);
    if (!given && !made)
      std::abort();
    const std::string d = given ? std::string(given) : std::string(made) + "/state";
    auto s = store::open(d, store::OpenMode::create);
    if (!s.ok())
      std::abort();
    SystemClock clock;
    rollout::Context ctx{**s, clock, "bench"};
    std::string canary;
    for (const char* text : {"A\n", "B\n"}) {
      rollout::AddVersionInput in;
      in.track = "default";
      in.components.push_back(*core::make_component(core::ComponentKind::prompt, "system", text));
      auto added = rollout::add_version(ctx, std::move(in));
      if (!added.ok())
        std::abort();
      canary = added->id;
    }
    if (!rollout::start_rollout(ctx, {"default", canary, {2000}, gate::Policy{}, 0, ""}).ok())
      std::abort();
    if (!given)
      std::atexit([] { std::filesystem::remove_all(std::filesystem::path(store_dir()).parent_path()); });
    return d;
  }();
  return dir;
}

std::vector<std::string> keys16(size_t n) {
  std::vector<std::string> keys;
  char buf[32];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "user-%011zu", i);
    keys.emplace_back(buf);
  }
  return keys;
}

void route(benchmark::State& state, std::int64_t cache_ms) {
  kanari_store* h = nullptr;
  if (kanari_open(store_dir().c_str(), "bench", 0, &h) != KANARI_OK)
    std::abort();
  kanari_set_route_cache_ms(h, cache_ms);
  const auto keys = keys16(4096);
  kanari_route_decision d{};
  size_t i = 0, canary = 0;
  for (auto _ : state) {
    if (kanari_route(h, nullptr, keys[i++ & 4095].c_str(), nullptr, &d) != KANARI_OK)
      std::abort();
    canary += d.arm == KANARI_ARM_CANARY;
  }
  benchmark::DoNotOptimize(canary);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  kanari_close(h);
}

void BM_capi_route_always_current(benchmark::State& state) { route(state, 0); }
BENCHMARK(BM_capi_route_always_current);

void BM_baseline_capi_route_cached_an_hour(benchmark::State& state) { route(state, 3'600'000); }
BENCHMARK(BM_baseline_capi_route_cached_an_hour);

// Each iteration: another connection rolls the rollout back (or starts a
// new one at 100 %), then the handle routes a key of the canary until it
// gets the version that change implies.
void BM_capi_route_sees_a_change(benchmark::State& state) {
  auto other = store::open(store_dir(), store::OpenMode::existing);
  if (!other.ok())
    std::abort();
  SystemClock clock;
  rollout::Context ctx{**other, clock, "bench-other"};
  kanari_store* h = nullptr;
  if (kanari_open(store_dir().c_str(), "bench", 0, &h) != KANARI_OK)
    std::abort();
  kanari_route_decision d{};
  std::string canary, key;
  for (int i = 0; canary.empty(); ++i) { // a key the 20 % canary has
    key = "k" + std::to_string(i);
    if (kanari_route(h, nullptr, key.c_str(), nullptr, &d) != KANARI_OK)
      std::abort();
    if (d.arm == KANARI_ARM_CANARY)
      canary = d.version;
  }
  double total_ms = 0, max_ms = 0;
  bool open = true;
  for (auto _ : state) {
    state.PauseTiming();
    const auto begin = std::chrono::steady_clock::now();
    const bool ok = open ? rollout::rollback(ctx, {"default", "bench", {}, {}}).ok()
                         : rollout::start_rollout(ctx, {"default", canary, {10000}, gate::Policy{}, 0, ""}).ok();
    if (!ok)
      std::abort();
    open = !open;
    state.ResumeTiming();
    for (;;) {
      if (kanari_route(h, nullptr, key.c_str(), nullptr, &d) != KANARI_OK)
        std::abort();
      if ((d.arm == KANARI_ARM_CANARY) == open)
        break;
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begin).count();
    total_ms += ms;
    max_ms = std::max(max_ms, ms);
  }
  state.counters["mean_ms"] = total_ms / static_cast<double>(state.iterations());
  state.counters["max_ms"] = max_ms;
  if (!open && !rollout::start_rollout(ctx, {"default", canary, {2000}, gate::Policy{}, 0, ""}).ok())
    std::abort();
  kanari_close(h);
}
BENCHMARK(BM_capi_route_sees_a_change)->Iterations(20)->Unit(benchmark::kMillisecond);

} // namespace
