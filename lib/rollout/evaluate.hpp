// Evaluation: load the rollout and its samples from the store, ask the pure
// gate for a verdict, and (with apply) perform it in the same write
// transaction. Because the samples are read and the transition is made
// under one lock, two crons evaluating at the same instant cannot both
// promote: the second sees the new step, whose canary window is empty.
#pragma once

#include "gate/gate.hpp"
#include "rollout/context.hpp"
#include "rollout/hooks.hpp"
#include "rollout/sessions.hpp"

#include <nlohmann/json.hpp>

namespace kanari::rollout {

struct Samples {
  store::SampleStats canary;   // the current step's canary outcomes
  store::SampleStats baseline; // stable since the rollout started, topped up
  std::int64_t baseline_top_up = 0;
  // A shadow step's pairs (docs/gates.md, "Paired analysis"); metrics per
  // gate of the policy, read for the gates with "paired": true.
  std::optional<store::PairedSample> paired;
};

// docs/gates.md windows for an open rollout, with the aggregates of every
// metric its policy gates on, and the pairs when the step is a shadow step.
Samples load_samples(Context& ctx, const store::RolloutRecord& r, const gate::Policy& policy);

struct Evaluation {
  std::string track;
  gate::GateResult gate;
  bool applied = false;
  std::string action = "none";                 // advanced | promoted | rolled_back | none
  std::string reason;                          // the event's reason, when applied
  std::optional<store::RolloutRecord> rollout; // as it is after the evaluation
  Samples samples;
};

enum class Apply { no, yes };
Result<Evaluation> evaluate_track(Context& ctx, const std::string& track, Apply apply);

// `canary evaluate --all`: every track with an open rollout, each in its own
// transaction, handed to `each` as it is done. A track that fails (a damaged
// rollout, a store failure) is handed its error and the others are still
// evaluated: a damaged rollout on one track must not stop cron from rolling
// back a bad canary on another. Returns how many tracks there were.
Result<std::size_t> evaluate_all(Context& ctx, Apply apply,
                                 const std::function<void(const std::string& track, const Result<Evaluation>&)>& each);

// The verdict object of `canary evaluate --json` (docs/cli.md), shared by the
// CLI and the C API's kanari_evaluate.
nlohmann::json verdict_json(const Evaluation& ev);

// Every gated metric of the policy with its value and count per arm, as
// `canary status --json` shows it ("metrics"):
//   [{"metric", "aggregate", "direction", "paired",
//     "canary": {"n", "value"}, "stable": {"n", "value"}}]
nlohmann::json gated_metrics_json(const gate::Policy& policy, const Samples& samples);

// A shadow step's pairs, as `canary status --json` shows them ("paired"):
// pairs, both_pass, stable_only, canary_only, both_fail; null outside one.
nlohmann::json paired_json(const Samples& samples);

// Whether the rollout's current step is a shadow step (its pairs are
// compared, docs/gates.md "Paired analysis").
bool in_shadow_step(const store::RolloutRecord& r);

// The policy stored with a rollout.
gate::Policy rollout_policy(const store::RolloutRecord& r);

// What `canary status` shows.
struct Status {
  std::string track;
  std::optional<std::string> stable;
  std::optional<store::RolloutRecord> rollout; // the open one
  gate::Policy policy;
  Samples samples;
  // With no open rollout, the track's latest one (how it ended), if any.
  std::optional<store::RolloutRecord> last;
  std::optional<store::EventRecord> last_end; // the event that ended `last`
  // Notifications of the track's events not delivered yet (docs/hooks.md).
  DeliverySummary deliveries;
  SessionSummary sessions; // docs/routing.md, "Sessions"
};
Result<Status> track_status(Context& ctx, const std::string& track);

} // namespace kanari::rollout
