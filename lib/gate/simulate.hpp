// Operating characteristics of a policy on synthetic traffic (docs/gates.md,
// `kanari simulate`): how often the real gate promotes, rolls back or stays
// undecided when the true pass rates are known.
#pragma once

#include "gate/policy.hpp"
#include "util/result.hpp"

#include <cstdint>
#include <functional>

namespace kanari::gate {

struct SimulationConfig {
  double stable_rate;                   // true pass probability of stable, in [0, 1]
  double canary_rate;                   // true pass probability of the canary, in [0, 1]
  std::int64_t trials = 10000;          // [1, 10^7]
  std::int64_t eval_every = 1;          // evaluate after every K canary tasks, [1, max_canary_tasks]
  std::int64_t max_canary_tasks = 1000; // a trial still undecided here ends undecided, [1, 10^7]
  double stable_per_canary = 1.0;       // stable tasks observed per canary task, [0, 1000]
  std::uint64_t seed = 1;
  // Paired (a shadow step): every canary task also runs on stable, and the
  // gate compares the pairs (docs/gates.md, "Paired analysis"). The two
  // outcomes of a task share their uniform draw with this probability, so
  // they agree more often than independent ones would; the marginal pass
  // rates stay stable_rate and canary_rate. [0, 1]
  bool paired = false;
  double pair_correlation = 0.5;
};

struct SimulationResult {
  std::int64_t trials, promote, rollback, undecided;
  double p_promote, p_rollback, p_undecided;
  double mean_tasks_to_verdict; // canary tasks at the verdict, over decided trials; NaN if none
  std::int64_t gate_evaluations;
};

// Each trial, unpaired: the baseline starts with effective_min_stable_samples stable
// outcomes; then canary tasks arrive one at a time, each followed by
// stable_per_canary stable tasks (fractions accumulate); after every
// eval_every canary tasks the real evaluate() runs (one step, not paused,
// approved, no step timing: the policy's min/max_step_seconds are ignored;
// its metric gates too, since the traffic has pass rates only).
// The trial ends at the first ROLLBACK, at the first PROMOTE that is applied
// (`consecutive` PROMOTEs in a row), or undecided after max_canary_tasks.
// Paired: each canary task is a pair (stable, canary) drawn as above and
// stable_per_canary is not used; the gate sees the pairs (GateInput::paired).
// Deterministic for a seed (xoshiro256** seeded by splitmix64). The config is
// validated (usage errors name the field); the policy is taken as valid.
// `progress`, when set, is called after every trial with the number done.
Result<SimulationResult> simulate(const Policy& policy, const SimulationConfig& cfg,
                                  const std::function<void(std::int64_t)>& progress = {});

} // namespace kanari::gate
