// The outcome ledger (docs/cli.md `record`): every task's result stored against
// the version it ran with and the arm that version had on the track.
//
// - The arm is derived, never given: the open rollout's canary is `canary`,
//   the track's stable is `stable`. A version that was an arm of an earlier
//   rollout of the track is a *late* outcome (a task routed before a
//   promotion or rollback that finished after it): stored against the last
//   such rollout, with the arm it had there, counted in no window. Any other
//   version is refused (exit 2).
// - An outcome's time is its `at` (default: now). One dated before the
//   window it would fall in (the current step for the canary, the rollout
//   for the stable) is *backdated*: stored, counted in no window. One dated
//   more than k_max_future_ms after the clock is refused (exit 2).
// - (track, task, version) is unique. A repeat with the same fields is a
//   duplicate (skipped, counted; retries are safe); a repeat with different
//   fields is a conflict (not stored, counted, named; first write wins).
//   The time of a repeat is not compared, so a retry later is a duplicate.
// - Outside a shadow rollout a task runs on one version: an outcome for a
//   task already recorded under another version is a conflict.
// - A batch is one transaction: all or nothing. JSONL is read line by line
//   (memory does not grow with the file) inside that transaction; the first
//   invalid line rolls everything back unless invalid lines are skipped.
//   The transaction may run more than once (a backend retries it after a
//   serialization failure), so each attempt counts from zero and reads the
//   input again from its start: a stream that cannot seek back (a pipe) is
//   first copied to an unnamed temporary file (util/rereadable_input.hpp).
#pragma once

#include "rollout/context.hpp"

#include <istream>
#include <map>

namespace kanari::rollout {

struct OutcomeInput {
  std::string track;
  std::string task;
  std::optional<std::string> version_ref; // none: the session's version, or the task's routed assignment
  std::optional<std::string> session;     // record against the version the session is pinned to
  bool pass = false;
  std::optional<double> latency_ms;
  std::optional<double> cost;
  std::optional<std::int64_t> tokens;
  std::optional<double> score;
  std::optional<std::string> error;
  std::optional<TimeMs> at;
  store::Metrics metrics; // in any order; stored sorted by name
};

// An outcome's own metrics: at most this many, each named
// [a-z][a-z0-9_]{0,63} (not a built-in field's name or a release-1 gate
// name) with a finite value, each name once.
inline constexpr size_t k_max_metrics = 32;
Result<void> validate_metrics(const store::Metrics& metrics);

// How far in the future an outcome's `at` may lie (clock skew between the
// agent's host and the recording one): 10 minutes.
inline constexpr TimeMs k_max_future_ms = 10 * 60 * 1000;

struct RecordSummary {
  std::int64_t inserted = 0;
  std::int64_t late = 0;      // of the inserted: late outcomes of an ended arm
  std::int64_t backdated = 0; // of the inserted: dated before their window
  std::int64_t duplicates = 0;
  std::int64_t conflicts = 0;
  std::int64_t invalid = 0;
  std::vector<std::string> notes; // conflicts and skipped lines, for stderr (the first 100)
  std::int64_t notes_omitted = 0;
};

// Checks field ranges (task id, finite non-negative latency/cost/tokens,
// finite score, UTF-8 error code, track name, metrics).
Result<void> validate_outcome(const OutcomeInput& in);

// Parses one JSONL line into an OutcomeInput (default_track when the line
// has no "track"). Unknown keys are refused so typos do not pass silently.
Result<OutcomeInput> parse_outcome_line(std::string_view line, const std::string& default_track);

Result<RecordSummary> record_one(Context& ctx, const OutcomeInput& in);

enum class InvalidLines { fail, skip };
// Stores outcomes in one transaction, each as record_one would. An error
// names the outcome's index: "outcome 2: ...; nothing was recorded".
Result<RecordSummary> record_batch(Context& ctx, const std::vector<OutcomeInput>& outcomes, InvalidLines invalid);
// Reads JSON Lines from `in` and stores them as record_batch does; blank
// lines are ignored, and an error names the line ("line 3: ..."). `progress`,
// when set, is called every 65536 lines with the line count.
Result<RecordSummary> record_jsonl(Context& ctx, std::istream& in, const std::string& default_track,
                                   InvalidLines invalid, const std::function<void(std::int64_t)>& progress = {});

} // namespace kanari::rollout
