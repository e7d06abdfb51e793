// The records the store keeps, in plain C++ types: no SQL dialect or SQLite
// type leaks past store/, so a PostgreSQL backend can implement Store alike.
#pragma once

#include "core/manifest.hpp"
#include "util/clock.hpp"
#include "util/summary.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kanari::store {

struct VersionRecord {
  std::string id;
  std::string manifest; // canonical manifest JSON
  std::string model;    // canonical model JSON
  std::optional<std::string> label;
  std::optional<std::string> message;
  std::string author;
  TimeMs created_at = 0;
  std::vector<core::Component> components; // without content
};

struct TrackVersion {
  std::string version_id;
  std::optional<std::string> label;
  TimeMs created_at = 0;
  TimeMs added_at = 0;
};

enum class RolloutState { active, paused, promoted, rolled_back };
std::string_view to_string(RolloutState s);
std::optional<RolloutState> rollout_state_from_string(std::string_view s);
inline bool is_open(RolloutState s) { return s == RolloutState::active || s == RolloutState::paused; }

struct RolloutRecord {
  std::int64_t id = 0;
  std::string track;
  std::string canary;
  std::string stable;
  std::vector<std::int64_t> steps_bp; // percentages in basis points
  std::int64_t step = 0;
  RolloutState state = RolloutState::active;
  std::string salt; // 32 lowercase hex chars
  // Steps may begin with shadow steps (docs/routing.md): in those everyone
  // is served stable and the keys below the percentage are mirrored to the
  // canary. `shadow` says the rollout has at least one (so a task may carry
  // outcomes for both versions); `shadow_steps` how many, from the first.
  bool shadow = false;
  std::int64_t shadow_steps = 0;
  std::string policy; // canonical policy JSON
  std::string policy_sha256;
  TimeMs started_at = 0;
  TimeMs step_started_at = 0;
  std::optional<TimeMs> ended_at;
  std::int64_t promote_streak = 0;
  std::optional<std::int64_t> approved_step;

  bool shadow_step() const { return step < shadow_steps; } // the current step is a shadow step
};

enum class Arm { stable, canary };
std::string_view to_string(Arm a);

// Whether an outcome counts in its arm's gate window (docs/gates.md,
// "Windows"). Decided when it is recorded; late and backdated outcomes are
// stored and reported but never counted.
enum class Counted {
  yes,
  late,      // its version was an arm of an earlier rollout, not of the open one
  backdated, // its time is before the window it would fall in
};

// One named measurement of an outcome (docs/gates.md, "Metrics"): a name
// matching [a-z][a-z0-9_]{0,63}, not a built-in field's, and a finite value.
struct Metric {
  std::string name;
  double value = 0;
  bool operator==(const Metric&) const = default;
};
// An outcome's metrics, sorted by name, names unique.
using Metrics = std::vector<Metric>;

struct OutcomeRecord {
  std::string track;
  std::string task;
  std::string version_id;
  Arm arm = Arm::stable;
  std::optional<std::int64_t> rollout_id;
  std::optional<std::int64_t> step;
  bool pass = false;
  std::optional<double> latency_ms;
  std::optional<double> cost;
  std::optional<std::int64_t> tokens;
  std::optional<double> score;
  std::optional<std::string> error;
  TimeMs at = 0;
  Counted counted = Counted::yes;
  Metrics metrics;
};

enum class InsertResult {
  inserted,
  duplicate,     // the same outcome again (a retry)
  conflict,      // a different outcome for the same (track, task, version)
  other_version, // the task already has an outcome for another version
};

struct InsertOutcome {
  InsertResult result = InsertResult::inserted;
  std::optional<std::string> other_version; // with other_version
};

// Whether a task may carry outcomes for two versions (a shadow rollout).
enum class TaskVersions { one, several };

struct PendingOutcome {
  OutcomeRecord outcome;
  TaskVersions versions = TaskVersions::one;
};

struct Assignment {
  std::string version_id;
  Arm arm = Arm::stable;
  std::optional<std::int64_t> rollout_id;
};

// A fingerprint of a store's newest commit (Store::commit_stamp).
using CommitStamp = std::array<std::uint32_t, 24>;

// A session pinned to a version (docs/routing.md, "Sessions").
enum class SessionState {
  active,   // served its pinned version
  draining, // pinned to a rolled-back canary, served it until drain_until
  cut,      // pinned to a rolled-back canary; its next route moves it to the stable
  ended,    // `session end`; its next route pins it afresh
};
std::string_view to_string(SessionState s);
std::optional<SessionState> session_state_from_string(std::string_view s);

struct SessionRecord {
  std::string track;
  std::string session;
  std::string version_id;
  Arm arm = Arm::stable;                  // the arm it was pinned to
  std::optional<std::int64_t> rollout_id; // the rollout open when it was pinned
  SessionState state = SessionState::active;
  TimeMs pinned_at = 0;
  TimeMs last_seen_at = 0;
  std::int64_t ttl_seconds = 0;
  TimeMs expires_at = 0; // last_seen_at + ttl_seconds; idle past it, the session is over
  std::optional<TimeMs> drain_until;
  std::int64_t requests = 0;
  std::optional<std::string> moved_from; // the version a cut moved it from
  std::optional<TimeMs> ended_at;
  bool operator==(const SessionRecord&) const = default;
};

// Live pins (not ended, not expired) of a track per version and state.
struct SessionCount {
  std::string version_id;
  SessionState state = SessionState::active;
  std::optional<TimeMs> drain_until; // the latest, for draining ones
  std::int64_t sessions = 0;
};

// Requests `route --session` served in a step, per arm: "stable",
// "canary", or "previous" (a version that is neither, kept by its pins).
struct ArmRequests {
  std::string arm;
  std::int64_t requests = 0;
};

// A metric whose aggregates a sample should carry: a built-in field
// ("pass", "latency_ms", "cost", "tokens", "score", "error") or a recorded
// metric's name. `percentiles`: also the nearest-rank p50, p90, p95, p99.
struct MetricRequest {
  std::string name;
  bool percentiles = false;
  bool operator==(const MetricRequest&) const = default;
};

// The aggregates a gate needs over one sample of outcomes.
struct SampleStats {
  std::int64_t n = 0;
  std::int64_t pass = 0;
  std::int64_t errors = 0;
  std::int64_t latency_n = 0;
  std::optional<double> latency_p50_ms; // nearest-rank
  std::optional<double> latency_p95_ms; // nearest-rank
  std::optional<double> cost_mean;
  std::optional<double> tokens_mean;
  std::vector<ValueSummary> metrics; // one per SampleQuery::metrics, in its order
  // Whether the percentiles came from the window's buckets (docs/gates.md,
  // "Large windows"), each within 0.5 % of the exact value, rather than
  // from its outcomes.
  bool percentiles_from_buckets = false;
};

// Which outcomes form a sample: one arm of one rollout (optionally one step
// of it), plus, for the baseline, a top-up of the `top_up` most recent other
// outcomes of `top_up_version` on the track (docs/gates.md).
struct SampleQuery {
  std::int64_t rollout_id = 0;
  Arm arm = Arm::canary;
  std::optional<std::int64_t> step;
  std::string track;
  std::string top_up_version;
  std::int64_t top_up = 0;
  std::vector<MetricRequest> metrics;
  // A window of more outcomes than this is read from its sums, with
  // percentiles from its buckets; up to it, from its outcomes.
  std::int64_t exact_up_to = 100'000;
};

// The tasks of a shadow step that ran on both versions (docs/gates.md,
// "Paired analysis"): the canary outcomes of the rollout's step `step`
// that count, each with the counting stable outcome of the same task in
// the same rollout.
struct PairQuery {
  std::int64_t rollout_id = 0;
  std::int64_t step = 0;
  std::vector<std::string> metrics; // per-pair values wanted (built-in or recorded names)
};

struct PairedSample {
  std::int64_t pairs = 0, both_pass = 0, stable_only = 0, canary_only = 0, both_fail = 0;
  // Per PairQuery::metrics, in its order: the pairs in which both
  // outcomes have the metric, as (stable value, canary value).
  std::vector<std::vector<std::pair<double, double>>> metrics;
};

// An Ed25519 signature of a version id (docs/security.md). The store keeps
// it as given; whoever trusts it checks it against the key.
struct SignatureRecord {
  std::string version_id;
  std::string key_id;    // "ed25519:" + hex of the public key
  std::string signature; // hex of the 64-byte signature
  std::string signer;
  TimeMs signed_at = 0;
};

struct EventRecord {
  std::int64_t seq = 0;
  TimeMs at = 0;
  std::string actor;
  std::string action;
  std::string track;
  std::optional<std::int64_t> rollout;
  std::optional<std::string> version;
  std::string reason;
  std::string evidence; // canonical JSON
  std::string prev_hash;
  std::string hash;
};

// A notification hook (docs/hooks.md): a URL to POST to or a command to
// run when an event of one of `actions` is appended on `track` (every
// track when unset). The secret's value is never stored, only the name of
// the environment variable that holds it.
struct HookRecord {
  std::string name;
  std::optional<std::string> track;
  std::optional<std::string> url; // exactly one of url and command
  std::optional<std::string> command;
  std::vector<std::string> actions; // sorted, unique
  std::string format = "json";      // json | slack
  std::optional<std::string> secret_env;
  TimeMs created_at = 0;
  std::string created_by;
};

enum class DeliveryState { pending, delivered, failed };
std::string_view to_string(DeliveryState s);
std::optional<DeliveryState> delivery_state_from_string(std::string_view s);

// One event to deliver to one hook: the outbox row, enqueued in the
// transaction that appends the event.
struct DeliveryRecord {
  std::int64_t id = 0;
  std::string hook;
  std::int64_t event_seq = 0;
  DeliveryState state = DeliveryState::pending;
  std::int64_t attempts = 0;
  TimeMs created_at = 0;
  TimeMs next_attempt_at = 0; // while an attempt runs: when it may be presumed dead
  std::optional<TimeMs> last_attempt_at;
  std::optional<std::string> last_error;
  std::optional<TimeMs> done_at;
};

// One attempt to deliver (`hook log`); `delivery` is unset for `hook test`.
struct HookAttempt {
  std::int64_t id = 0;
  std::string hook;
  std::optional<std::int64_t> delivery;
  std::string event_hash;
  std::string action;
  std::string track;
  TimeMs at = 0;
  std::int64_t duration_ms = 0;
  bool ok = false;
  std::string detail;
};

struct DeliveryCount {
  std::string hook;
  DeliveryState state = DeliveryState::pending;
  std::int64_t count = 0;
};

} // namespace kanari::store
