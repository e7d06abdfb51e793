// `kanari metrics`: the store's state in the Prometheus text exposition
// format (version 0.0.4), for node_exporter's textfile collector.
//
//   kanari_tracks                      how many tracks are exported (always
//                                      present, so an empty store still shows)
// Per track and arm:
//   kanari_outcomes_total, kanari_outcome_passes_total,
//   kanari_outcome_errors_total        counters over every outcome ever
//                                      recorded (monotonic: rate() works)
//   kanari_gate_outcomes, kanari_gate_passes, kanari_gate_pass_rate,
//   kanari_gate_latency_seconds{quantile="0.5"|"0.95"}
//                                      gauges of what the gate sees now (the
//                                      canary's current step, the stable
//                                      baseline): the numbers of `canary
//                                      status`, for tracks with an open rollout
//   kanari_gate_metric{metric, aggregate}, kanari_gate_metric_values{...}
//                                      every metric the open rollout's policy
//                                      gates on: its aggregate and how many
//                                      outcomes had it
// Per track, in a shadow step:
//   kanari_gate_pairs{passed="both"|"stable"|"canary"|"neither"}
// Per track:
//   kanari_rollout_state{state="idle"|"active"|"paused"}  1 for the current state
//   kanari_rollout_percentage, kanari_rollout_step, kanari_rollout_steps,
//   kanari_rollout_step_started_timestamp_seconds, kanari_rollout_info
//   (rollout, stable, canary ids as labels), kanari_stable_info.
// Per track, sessions (docs/routing.md, "Sessions"):
//   kanari_sessions_pinned{arm="stable"|"canary"|"previous"}, kanari_sessions_draining
//   kanari_session_requests{arm}, kanari_session_request_share{arm}
//                                      with an open rollout: what its current
//                                      step served per arm, beside
//                                      kanari_rollout_percentage
// Per track, from its events:
//   kanari_transitions_total{action}   events with that action, ever (the
//                                      lifecycle's actions always, at 0
//                                      until one happens)
//   kanari_last_transition_timestamp_seconds{action}
//                                      when the newest event with that
//                                      action was written
//   kanari_last_verdict{verdict}       1 for the verdict recorded in the
//                                      newest event that carries one (an
//                                      evaluation that acted), 0 for the
//                                      others; absent without such an event
//
// Gathering reads the store in one snapshot; rendering is a pure function.
#pragma once

#include "rollout/context.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kanari::report {

struct MetricSample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct MetricFamily {
  std::string name;
  std::string type; // counter | gauge
  std::string help;
  std::vector<MetricSample> samples;
};

// Every track in the store, or only `tracks` (each must exist: exit 4).
Result<std::vector<MetricFamily>> gather_metrics(rollout::Context& ctx, const std::vector<std::string>& tracks);

// The exposition: `# HELP` and `# TYPE` before each family's samples, label
// values and help text escaped, families without samples left out.
std::string exposition_text(const std::vector<MetricFamily>& families);
// The same samples as JSON: [{"name", "type", "help", "samples": [{"labels": {...}, "value"}]}].
nlohmann::json metrics_json(const std::vector<MetricFamily>& families);

// Text format escapes: in label values backslash, double quote and newline;
// in help text backslash and newline.
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);
// Integers without a fraction, others in the shortest form that reads back
// exactly; NaN and infinities as Prometheus spells them.
std::string format_value(double v);

} // namespace kanari::report
