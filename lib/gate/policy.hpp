// The gate policy of a rollout (docs/gates.md): what the gate waits for, how it
// compares the canary with stable, and what it does when a step runs out of
// time. parse_policy() is the only way a policy enters kanari from outside;
// policy_to_json() is its complete, stored form (every key present), which
// the caller canonicalises and hashes.
//
// Fractions that the gate compares exactly (max_regression, step
// percentages) are converted to integers from their decimal text, never by
// multiplying a double: 0.07 becomes exactly 70000 ppm.
#pragma once

#include "util/result.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kanari::gate {

enum class Method { threshold, sequential };
enum class Regression { absolute, relative };
enum class OnFail { rollback, hold };
enum class OnTimeout { hold, rollback, promote };
enum class Approval { none, final_step, every }; // JSON: "none" | "final" | "every"
// What a rollback does to the sessions pinned to the canary
// (docs/routing.md, "Sessions").
enum class OnRollback { cut, drain };

enum class Aggregate { mean, rate, p50, p90, p95, p99, max }; // JSON: "mean", "rate", "p50", ...
enum class Direction { lower_is_better, higher_is_better };

// The outcome fields that are metrics too (docs/gates.md, "Metrics"):
// pass (1/0), latency_ms, cost, tokens, score, error (1 with an error code).
bool is_builtin_metric(std::string_view name);
// The release-1 gate names, each a built-in field with its aggregate:
// latency_p95_ms (latency_ms p95), cost_mean, tokens_mean, error_rate.
bool is_legacy_metric_gate(std::string_view name);

// A gate on one metric (docs/gates.md, "Metric gates"). Its value is the
// aggregate of the metric over each arm's outcomes that have it.
//   max, min:                 absolute bounds on the canary's value
//   max_ratio, max_regression: the canary against the baseline, in `direction`
//   target:                   beyond `min`/`max`, values short of it are marginal
// A release-1 name (latency_p95_ms, ...) fixes `source` and `aggregate`
// and keeps its release-1 bounds.
struct MetricGate {
  std::string metric; // as written in the policy
  std::string source; // the metric its values come from (latency_p95_ms: latency_ms)
  Aggregate aggregate = Aggregate::mean;
  Direction direction = Direction::lower_is_better;
  std::optional<double> max, min, max_ratio, max_regression, target;
  std::int64_t min_samples = 1; // fewer values in an arm the gate needs: inconclusive (HOLD)
  bool paired = false;          // in shadow steps: Wilcoxon signed-rank on the per-task differences
  OnFail on_fail = OnFail::rollback;

  bool percentile() const;
  bool operator==(const MetricGate&) const = default;
};

struct Policy {
  std::int64_t min_samples = 10;
  std::optional<std::int64_t> min_stable_samples; // unset => equals min_samples
  std::int64_t max_regression_ppm = 100000;       // 0.10 as parts-per-million, exact
  Regression regression = Regression::absolute;
  Method method = Method::threshold;
  std::vector<std::int64_t> steps_bp; // optional steps in basis points (5% = 500); empty = not given
  // How many of steps_bp, from the first, are shadow steps (JSON: "shadow:P"
  // strings leading the numbers, docs/gates.md).
  std::int64_t shadow_steps = 0;
  std::int64_t min_step_seconds = 0;
  std::optional<std::int64_t> max_step_seconds;
  OnTimeout on_timeout = OnTimeout::hold;
  std::int64_t consecutive = 1;
  Approval require_approval = Approval::none;
  std::vector<MetricGate> metrics;
  // An absolute floor on the canary's pass rate, in parts per million
  // (exact): below it, with min_samples outcomes, the gate rolls back.
  std::optional<std::int64_t> min_pass_rate_ppm;
  // Shadow steps: the one-sided level of the exact McNemar test on the
  // pairs (and of the Wilcoxon test of paired metric gates).
  double paired_alpha = 0.05;
  double alpha = 0.05; // sequential only
  // Sequential only: the total number of outcomes (canary + baseline) at
  // which the confidence sequence is tightest (GrowthBook's "tuning
  // parameter" N*, docs/gates.md).
  std::int64_t planned_samples = 200;
  // `canary start` refuses a version without a valid signature by one of
  // these keys ("ed25519:" + 64 lowercase hex; docs/security.md). Empty:
  // no signature required. JSON: "require_signature": [keys] or null.
  std::vector<std::string> require_signature;
  // Sessions (docs/routing.md): a pin made while this rollout is open
  // lasts this long idle; a rollback cuts the canary's pins (their next
  // route moves them to the stable) or lets them drain for drain_seconds.
  std::int64_t session_ttl_seconds = 3600;
  OnRollback on_rollback = OnRollback::cut;
  std::int64_t drain_seconds = 900;

  std::int64_t effective_min_stable_samples() const;
  bool operator==(const Policy&) const = default;
};

// Limits enforced by parse_policy (and documented in docs/gates.md).
inline constexpr std::int64_t k_max_min_samples = 1'000'000'000;
inline constexpr std::int64_t k_max_seconds = 10LL * 366 * 24 * 3600; // ten years
inline constexpr std::int64_t k_max_consecutive = 1000;
inline constexpr std::int64_t k_max_planned_samples = 1'000'000'000;

// Parses and validates a policy JSON object. Unknown keys, wrong types and
// out-of-range values are usage errors whose message names the key and the
// allowed values, e.g.
//   policy key 'regression' must be "absolute" or "relative", got "abs"
// Absent keys take their defaults; `min_stable_samples` and
// `max_step_seconds` also accept null (= unset).
Result<Policy> parse_policy(const nlohmann::json& j);

// Complete JSON form of a policy with every key present (defaults filled
// in): the form that is canonicalised, hashed and stored.
// parse_policy(policy_to_json(p)) == p for every policy parse_policy accepts.
nlohmann::json policy_to_json(const Policy& p);

// A shadow step as written in a policy's steps and in `--steps`: "shadow:20".
inline constexpr std::string_view k_shadow_step_prefix = "shadow:";

// Parses decimal text ("0.1", "10", "25.25", "-3", "1e-2") into an exact
// integer scaled by 10^decimals: parse_decimal("25.25", 2) == 2525. Returns
// nullopt for more significant decimals than `decimals`, non-finite or
// malformed text, or a result outside int64. Trailing zeros are not
// significant ("0.100" with 1 decimal is 1). decimals must be in [0, 18].
std::optional<std::int64_t> parse_decimal(std::string_view text, int decimals);

// The JSON spellings of the enums ("threshold", "final", ...).
std::string_view to_string(Method m);
std::string_view to_string(Regression r);
std::string_view to_string(OnFail f);
std::string_view to_string(OnTimeout t);
std::string_view to_string(Approval a);
std::string_view to_string(OnRollback o);
std::string_view to_string(Aggregate a);
std::string_view to_string(Direction d);

} // namespace kanari::gate
