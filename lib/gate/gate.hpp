// The gate: counts in, verdict out (docs/gates.md). Pure: no clock, no I/O; the
// caller gathers the canary and baseline samples (§6.1), the step's elapsed
// time, approval and the PROMOTE streak, and applies the verdict.
#pragma once

#include "gate/policy.hpp"
#include "util/summary.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanari::gate {

enum class Verdict { promote, hold, rollback, insufficient_data, awaiting_approval, no_canary };

// "PROMOTE", "HOLD", "ROLLBACK", "INSUFFICIENT_DATA", "AWAITING_APPROVAL", "NO_CANARY"
std::string_view to_string(Verdict v);

struct ArmSample {
  std::int64_t n = 0, pass = 0;
  std::int64_t errors = 0;              // outcomes with an error code
  std::optional<double> latency_p95_ms; // nearest-rank p95 over the outcomes that have a latency; nullopt if none
  std::optional<double> cost_mean;      // over outcomes that have a cost
  std::optional<double> tokens_mean;
  // Per gate of policy.metrics, in order: the aggregates of its metric
  // over this arm. Empty: the gates on release-1 names take their values
  // from the fields above (the C API and the simulator), other gates are
  // inconclusive.
  std::vector<ValueSummary> metrics;
};

// A shadow step's pairs (docs/gates.md, "Paired analysis"): tasks with an
// outcome from both versions.
struct PairedInput {
  std::int64_t pairs = 0, both_pass = 0, stable_only = 0, canary_only = 0, both_fail = 0;
  // Per gate of policy.metrics, in order: the (stable, canary) values of
  // the pairs in which both outcomes have the metric (read for gates with
  // "paired": true; others may leave theirs empty).
  std::vector<std::vector<std::pair<double, double>>> metrics;
};

struct GateInput {
  bool has_rollout = false; // false => NO_CANARY
  bool paused = false;      // paused: never PROMOTE (verdict HOLD with reason), may still ROLLBACK
  ArmSample canary;         // canary outcomes of the current step
  ArmSample baseline;       // stable baseline per docs/gates.md (caller does the top-up)
  std::int64_t step_elapsed_seconds = 0;
  bool final_step = false;         // promoting now would make the canary stable
  bool approved = false;           // approval granted for the current step
  std::int64_t promote_streak = 0; // consecutive PROMOTE verdicts already recorded for this step (before this one)
  // Set in a shadow step: the pass-rate gate compares the pairs (McNemar),
  // and paired metric gates compare per-task differences (Wilcoxon).
  std::optional<PairedInput> paired;
};

struct GateResult {
  Verdict verdict = Verdict::no_canary;
  bool apply_promote = false;       // PROMOTE and the `consecutive` requirement is met now (streak+1 >= consecutive)
  std::vector<std::string> reasons; // human readable, one per gate or condition
  nlohmann::json evidence;          // inputs, method and parameters, per-gate results
  std::optional<std::int64_t> more_canary_tasks; // HOLD/INSUFFICIENT_DATA: estimate of further canary tasks needed
};

// How much of a GateResult to build. verdict_only fills verdict and
// apply_promote only (no reasons, evidence or estimate) for the simulator's
// hot loop; both go through the same decision code.
enum class Detail { full, verdict_only };

// The verdict of docs/gates.md for one evaluation (order and decisions in
// docs/gates.md). Inputs that no caller can produce legitimately (negative
// counts, pass or errors > n, counts above k_max_count = 2^40, a negative
// streak) are a bug in the caller and throw std::invalid_argument.
GateResult evaluate(const Policy& policy, const GateInput& in);

// An aggregate of a summary (docs/gates.md, "Aggregates"); nullopt without
// values, or for a percentile the summary was not asked for.
std::optional<double> aggregate_value(const ValueSummary& s, Aggregate a);
GateResult evaluate(const Policy& policy, const GateInput& in, Detail detail);

} // namespace kanari::gate
