// Sessions pinned for their lifetime (docs/routing.md, "Sessions").
//
// A session's first `route --session ID` routes it as a key (routing.hpp)
// and pins it to the version it got; every later route serves that
// version, whatever the percentage does, and moves the pin's expiry on by
// its TTL. The pin, the count of requests served and the task's assignment
// are written in the route's one write transaction: concurrent hosts pin a
// new session once, and a crash leaves the whole pin or none.
//
//   promotion      pins to the old stable keep it until they end
//   rollback       the canary's live pins are cut (their next route moves
//                  them to the stable, "moved": true) or drain until
//                  drain_seconds after it, as the rollout's policy says
//   undo           the same for the pins to the version taken back
//   session end    the next route pins afresh
//   idle past TTL  the session is over; the next route pins afresh
#pragma once

#include "gate/policy.hpp"
#include "rollout/context.hpp"
#include "rollout/routing.hpp"

#include <vector>

namespace kanari::rollout {

using store::SessionRecord;
using store::SessionState;

// docs/cli.md: session ids are 1 to 256 bytes of UTF-8 without NUL.
Result<void> validate_session_id(std::string_view session);

// The arm a session's version is now: the open rollout's canary, the
// track's stable, or neither ("previous": an old stable after a promotion,
// a rolled-back canary still draining).
enum class SessionArm { stable, canary, previous };
std::string_view to_string(SessionArm a);
std::optional<SessionArm> session_arm_from_string(std::string_view s);
SessionArm session_arm(std::string_view version, const std::optional<std::string>& stable,
                       const std::optional<store::RolloutRecord>& rollout);

// A session's state as users see it: its stored state, except that a pin
// idle past its expiry is "expired" and a drain past its deadline "cut".
std::string_view visible_state(const SessionRecord& s, TimeMs now);

struct SessionRoute {
  RouteDecision decision; // version, bucket, shadow, canary; arm: canary iff the version is the canary
  SessionArm arm = SessionArm::stable;
  SessionRecord pin;   // as stored by this route
  bool pinned = false; // this route pinned it (a new, ended or expired session)
  bool moved = false;  // a cut moved it to another version: pin.moved_from had it
};

// route --session ID [--task T].
Result<SessionRoute> route_session(Context& ctx, const std::string& track, const std::string& session,
                                   const std::optional<std::string>& task);

struct SessionView {
  SessionRecord pin;
  SessionArm arm = SessionArm::stable;
  std::string_view state; // visible_state
};

// session show: exit 4 when the track has never pinned it.
Result<SessionView> show_session(Context& ctx, const std::string& track, const std::string& session);
// session end: exit 4 when the track has never pinned it; `was_live`
// tells whether it was (an ended or expired one is left as it is).
Result<SessionView> end_session(Context& ctx, const std::string& track, const std::string& session,
                                bool* was_live = nullptr);
// session list: the live sessions, most recently seen first, optionally of
// one arm, at most `limit`.
Result<std::vector<SessionView>> list_sessions(Context& ctx, const std::string& track, std::optional<SessionArm> arm,
                                               std::int64_t limit);

// What `canary status`, `metrics` and `report` show of a track's sessions;
// read inside the caller's transaction.
struct SessionSummary {
  std::int64_t pinned_stable = 0, pinned_canary = 0, pinned_previous = 0; // live pins per arm
  std::int64_t draining = 0;                                              // of pinned_previous
  std::optional<TimeMs> drain_until;                                      // the last drain deadline
  // Requests `route --session` served per arm in the open rollout's step.
  std::int64_t served_stable = 0, served_canary = 0, served_previous = 0;
  std::int64_t pinned() const { return pinned_stable + pinned_canary + pinned_previous; }
  std::int64_t served() const { return served_stable + served_canary + served_previous; }
};
SessionSummary session_summary(Context& ctx, const std::string& track, const std::optional<std::string>& stable,
                               const std::optional<store::RolloutRecord>& rollout);

// Inside a rollback's (or an undo's) write transaction: cuts or drains the
// track's live pins to `version` as `policy` says; returns how many.
std::int64_t release_sessions(Context& ctx, const std::string& track, const std::string& version,
                              const gate::Policy& policy, TimeMs now);

} // namespace kanari::rollout
