// The rollout state machine (docs/cli.md):
//
//   (none) --start--> active <--pause/resume--> paused
//   active|paused --promote (last step or --full)--> promoted   (terminal)
//   active|paused --promote (more steps)-----------> active, next step
//   active|paused --rollback-----------------------> rolled_back (terminal)
//
// Every transition is one write transaction that loads the open rollout,
// checks the state it expects, changes it and appends its event. A
// transition that is not allowed, or whose expectation no longer holds
// because another process got there first, is a conflict (exit 5) and
// changes nothing.
#pragma once

#include "gate/policy.hpp"
#include "rollout/context.hpp"

#include <nlohmann/json.hpp>

namespace kanari::rollout {

struct StartInput {
  std::string track;
  std::string version; // a resolved id
  std::vector<std::int64_t> steps_bp;
  gate::Policy policy;
  std::int64_t shadow_steps = 0; // how many steps, from the first, are shadow steps
  std::string reason;
};

// Validates a step list: each in (0, 10000] basis points; the first
// `shadow_steps` (shadow steps) strictly ascending, the rest (live steps)
// strictly ascending.
Result<void> validate_steps(const std::vector<std::int64_t>& steps_bp, std::int64_t shadow_steps);

Result<store::RolloutRecord> start_rollout(Context& ctx, const StartInput& in);

// What a transition expects to find: the rollout and step the caller saw.
// Unset fields are not checked.
struct Expect {
  std::optional<std::int64_t> rollout;
  std::optional<std::int64_t> step;
};

// What a transition started now should expect: the track's open rollout
// and its step as they are (nothing, when none is open). A command takes
// this when it starts, so that a concurrent change makes it exit 5 instead
// of acting twice.
Result<Expect> current_expectation(Context& ctx, const std::string& track);

struct TransitionInput {
  std::string track;
  std::string reason;
  Expect expect;
  nlohmann::json evidence = nlohmann::json::object();
};

// Advances one step, or ends the rollout `promoted` (canary becomes stable)
// at the last step or with `full`.
Result<store::RolloutRecord> promote(Context& ctx, const TransitionInput& in, bool full);
Result<store::RolloutRecord> rollback(Context& ctx, const TransitionInput& in);
// `canary undo`: takes back the promotion of the track's latest rollout,
// making its stable the stable again (a stable_set event). Exit 5 when a
// rollout is open, the latest one was not promoted, or the stable has
// changed since; exit 4 when the track has never had a rollout.
Result<store::RolloutRecord> undo_promotion(Context& ctx, const TransitionInput& in);
Result<store::RolloutRecord> pause(Context& ctx, const TransitionInput& in);
Result<store::RolloutRecord> resume(Context& ctx, const TransitionInput& in);
Result<store::RolloutRecord> approve(Context& ctx, const TransitionInput& in);

// The same transitions for callers already inside a write transaction
// (evaluate --apply); `r` is the open rollout they loaded.
//
// Every promotion step re-checks the rollout's require_signature against the
// canary the row names now (docs/security.md): a canary swapped in the store after
// `canary start`, or a stored policy this build cannot read, is refused with
// a negative error (exit 1) and `r` and the store are left unchanged.
Result<void> apply_promote(Context& ctx, store::RolloutRecord& r, bool full, const std::string& reason,
                           const nlohmann::json& evidence);
void apply_rollback(Context& ctx, store::RolloutRecord& r, const std::string& reason, const nlohmann::json& evidence);

// The policy stored with a rollout, read as strictly as it was written: its
// text is strict JSON (core::parse_json) that gate::parse_policy accepts, and
// hashes to the row's policy_sha256. Otherwise a negative error (exit 1)
// saying what is wrong and to run `kanari doctor`.
Result<gate::Policy> read_stored_policy(const store::RolloutRecord& r);

// Percentages as users write them: 500 -> 5, 2525 -> 25.25.
nlohmann::json percentage_json(std::int64_t bp);

// Step `step` of `r` as users write it: "5", or "shadow:20" for a shadow step.
std::string step_spelling(const store::RolloutRecord& r, std::int64_t step);
// The current step in words: "step 2/4 at 5 %", or "shadow step 1/4 at 20 %
// mirrored".
std::string step_phrase(const store::RolloutRecord& r);

} // namespace kanari::rollout
