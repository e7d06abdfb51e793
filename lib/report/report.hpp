// `kanari report`: one rollout as data a person can look at. gather_report
// reads the rollout, its outcomes and its events in one snapshot and
// reduces them to what the page draws:
//
// - pass rate over time: the outcomes the rollout's windows counted,
//   bucketed by time per arm (late and backdated outcomes are counted
//   apart), each bucket with its Wilson 95 % interval
//   (gate::wilson_interval), so a bucket of 3 tasks shows how little it says;
// - latency per arm: a histogram on log-spaced bins and nearest-rank
//   p50/p95/p99 over the whole rollout;
// - every metric the rollout's policy gates on: its aggregate per bucket
//   and overall, per arm;
// - the step timeline: the canary's percentage over time, rebuilt from the
//   rollout's events, with a marker per event and the gate's verdict where
//   `evaluate --apply` made the change;
// - the event log itself.
//
// render_html (html.cpp) turns it into one self-contained page.
#pragma once

#include "rollout/context.hpp"
#include "rollout/sessions.hpp"

#include <nlohmann/json.hpp>

namespace kanari::report {

struct ArmCount {
  std::int64_t n = 0;
  std::int64_t pass = 0;
  std::int64_t errors = 0;
};

struct TimeBucket {
  TimeMs start = 0;
  TimeMs end = 0; // exclusive
  ArmCount canary, stable;
};

struct LatencyArm {
  std::int64_t n = 0;               // outcomes with a latency
  std::vector<std::int64_t> counts; // per bin
  std::optional<double> p50_ms, p95_ms, p99_ms;
};

struct LatencyHistogram {
  std::vector<double> edges_ms; // bins + 1 ascending edges; empty when no latency was recorded
  bool log_scale = true;
  LatencyArm canary, stable;
};

// The canary's share of traffic from `from` to `to`.
struct StepSpan {
  std::int64_t step = 0;
  std::int64_t bp = 0; // basis points
  bool shadow = false; // a shadow step: the canary mirrored, not served
  TimeMs from = 0;
  TimeMs to = 0;
  // Requests `route --session` served in the step per arm (docs/routing.md,
  // "Sessions"): pinned sessions make the canary's actual share lag `bp`.
  std::int64_t session_stable = 0, session_canary = 0, session_previous = 0;
};

// One event of the rollout as the timeline marks it.
struct Marker {
  std::int64_t seq = 0;
  TimeMs at = 0;
  std::string action;
  std::optional<std::string> verdict; // the gate's, when evaluate --apply acted
  std::int64_t bp_after = 0;          // the canary's percentage after the event
  bool shadow_after = false;          // whether that percentage is a shadow step's (mirrored)
  std::string actor;
  std::string reason;
};

// One gated metric of the rollout's policy, per time bucket and overall,
// for both arms: the gate's aggregate over the counted outcomes that have
// the metric.
struct MetricArm {
  std::vector<std::optional<double>> buckets; // one per RolloutReport::buckets
  std::vector<std::int64_t> bucket_n;
  std::optional<double> value; // over the whole rollout
  std::int64_t n = 0;
};
struct MetricSeries {
  std::string metric, aggregate, direction;
  MetricArm canary, stable;
};

struct RolloutReport {
  std::string track;
  store::RolloutRecord rollout;
  TimeMs generated_at = 0;
  TimeMs from = 0, to = 0; // the time axis
  TimeMs bucket_ms = 0;
  std::vector<TimeBucket> buckets;
  ArmCount canary, stable; // over the whole rollout: the outcomes its windows counted
  // Stored against the rollout but counted in no window: late outcomes
  // (recorded after the rollout ended, for a task routed before) and
  // backdated ones (dated before the window they would fall in). Neither is
  // in the buckets, the latency histogram or the time axis.
  ArmCount late_canary, late_stable;
  ArmCount backdated_canary, backdated_stable;
  LatencyHistogram latency;
  std::vector<MetricSeries> metrics; // the policy's metric gates, in order
  std::vector<StepSpan> steps;
  std::vector<Marker> markers;
  std::vector<store::EventRecord> events; // the rollout's, oldest first
  // The track's sessions now (docs/routing.md, "Sessions"): live pins per
  // arm and the draining ones.
  rollout::SessionSummary sessions;
};

inline constexpr int k_default_buckets = 24;
inline constexpr int k_max_buckets = 500;

// The track's latest rollout, or `rollout_id` (which must be on the track:
// exit 4 otherwise). `buckets` is the most time buckets wanted, [1, 500].
Result<RolloutReport> gather_report(rollout::Context& ctx, const std::string& track,
                                    std::optional<std::int64_t> rollout_id, int buckets);

// The bucket width for a time span: the smallest of 1 s, 5 s, 10 s, 30 s,
// 1, 5, 10, 15, 30 min, 1, 2, 3, 6, 12 h, 1, 2, 7 days that covers `span_ms`
// in at most `buckets` buckets (else span / buckets rounded up to a second).
TimeMs bucket_width(TimeMs span_ms, int buckets);

// Everything above as JSON (`kanari report --json`).
nlohmann::json report_json(const RolloutReport& r);

// The page: HTML5, CSS and SVG inline, no scripts, nothing fetched, every
// stored string HTML-escaped.
std::string render_html(const RolloutReport& r);

// HTML-escapes text for element content and quoted attribute values.
std::string html_escape(std::string_view s);

} // namespace kanari::report
