// Records of the store's report and metrics queries (Store, "Reports and
// metrics"): what `kanari report` and `kanari metrics` read, in plain C++
// types like types.hpp.
#pragma once

#include "store/types.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace kanari::store {

// Every outcome ever recorded on a track for one arm.
struct ArmTotals {
  Arm arm = Arm::stable;
  std::int64_t n = 0;
  std::int64_t pass = 0;
  std::int64_t errors = 0;
};

// One outcome recorded while a rollout was open, as a report plots it.
struct RolloutOutcome {
  TimeMs at = 0;
  Arm arm = Arm::stable;
  std::int64_t step = 0;
  bool pass = false;
  bool error = false; // it has an error code
  std::optional<double> latency_ms;
  Counted counted = Counted::yes;
  // The values of the metrics the caller asked for, in its order (nullopt:
  // the outcome lacks it).
  std::vector<std::optional<double>> metrics;
};

// How many outcomes of a rollout count in its windows, and the times of the
// first and last of them (late and backdated outcomes are left out: a
// backdated `at` may lie years before the rollout).
struct OutcomeSpan {
  std::int64_t n = 0;
  TimeMs first = 0;
  TimeMs last = 0;
};

} // namespace kanari::store
