// Gate evaluations per second (SPEC §6): the threshold rule and the
// sequential test on counts, both with the full result (reasons, evidence)
// that `canary evaluate` prints and verdict-only as `simulate` runs it.
#include "gate/gate.hpp"
#include "gate/policy.hpp"

#include <benchmark/benchmark.h>

namespace {

kanari::gate::Policy policy_of(kanari::gate::Method method) {
  kanari::gate::Policy p;
  p.method = method;
  return p;
}

kanari::gate::GateInput input(std::int64_t i) {
  kanari::gate::GateInput in;
  in.has_rollout = true;
  in.canary = {40 + (i & 63), 30 + (i & 31), 0, std::nullopt, std::nullopt, std::nullopt, {}};
  in.baseline = {400, 360, 0, std::nullopt, std::nullopt, std::nullopt, {}};
  return in;
}

void run(benchmark::State& state, kanari::gate::Method method, kanari::gate::Detail detail) {
  const auto policy = policy_of(method);
  std::int64_t i = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(kanari::gate::evaluate(policy, input(i++), detail).verdict);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_gate_threshold_verdict_only(benchmark::State& s) {
  run(s, kanari::gate::Method::threshold, kanari::gate::Detail::verdict_only);
}
void BM_gate_threshold_full(benchmark::State& s) {
  run(s, kanari::gate::Method::threshold, kanari::gate::Detail::full);
}
void BM_gate_sequential_verdict_only(benchmark::State& s) {
  run(s, kanari::gate::Method::sequential, kanari::gate::Detail::verdict_only);
}
void BM_gate_sequential_full(benchmark::State& s) {
  run(s, kanari::gate::Method::sequential, kanari::gate::Detail::full);
}
BENCHMARK(BM_gate_threshold_verdict_only);
BENCHMARK(BM_gate_threshold_full);
BENCHMARK(BM_gate_sequential_verdict_only);
BENCHMARK(BM_gate_sequential_full);

} // namespace
