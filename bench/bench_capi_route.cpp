// kanari_route through the C API on an SQLite store with an open 20 %
// rollout: always-current (no route cache: the routing table is read again
// only when the store's commit stamp moved) against a route cache of an
// hour (the table never read again: the API's floor) and the bare Router,
// in the same run. Before the commit stamp, an always-current route read
// the table in a transaction on every call: about 35 k decisions/s.
#include "kanari/kanari.h"
#include "rollout/lifecycle.hpp"
#include "rollout/versions.hpp"
#include "store/store.hpp"

#include <benchmark/benchmark.h>

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
    char tmpl[] = "/tmp/kanari-bench-route-XXXXXX";
    const char* made = ::mkdtemp(tmpl);
    if (!made)
      std::abort();
    const std::string d = std::string(made) + "/state";
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

} // namespace
