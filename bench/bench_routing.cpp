// Routing decisions per second: the Router (salt state precomputed, one
// SHA-256 block per 16-byte key) against a plain one-shot SHA-256 of the
// same bytes, measured in the same run.
#include "crypto/sha256.hpp"
#include "rollout/routing.hpp"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

namespace {

const std::string k_salt = "9f2c1d7e4b3a5c6d8e9f0a1b2c3d4e5f";

std::vector<std::string> keys16(size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  char buf[32];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "user-%011zu", i); // 16 bytes
    keys.emplace_back(buf);
  }
  return keys;
}

void BM_router_16_byte_keys(benchmark::State& state) {
  auto keys = keys16(4096);
  kanari::rollout::Router router(k_salt, 2000);
  size_t i = 0, canary = 0;
  for (auto _ : state) {
    auto b = router.bucket(keys[i++ & 4095]);
    canary += router.in_canary(b);
  }
  benchmark::DoNotOptimize(canary);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_router_16_byte_keys);

// Baseline: what one EVP one-shot SHA-256 of salt:key costs.
void BM_baseline_evp_sha256_49_bytes(benchmark::State& state) {
  auto keys = keys16(4096);
  std::vector<std::string> inputs;
  for (auto& k : keys)
    inputs.push_back(k_salt + ":" + k);
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(kanari::crypto::sha256(inputs[i++ & 4095]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_baseline_evp_sha256_49_bytes);

void BM_routing_bucket_one_shot(benchmark::State& state) {
  auto keys = keys16(4096);
  size_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(kanari::rollout::routing_bucket(k_salt, keys[i++ & 4095]));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_routing_bucket_one_shot);

} // namespace
