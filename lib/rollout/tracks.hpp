// Many tracks at once, and one rollout followed to its end (docs/cli.md:
// `track list`, the `--all` forms of `canary status|pause|resume|rollback`
// and `history`, `canary wait`). Each call reads one snapshot of its own,
// so a caller that polls sees what other processes committed meanwhile.
#pragma once

#include "rollout/context.hpp"

#include <optional>
#include <string>
#include <vector>

namespace kanari::rollout {

struct TrackSummary {
  std::string track;
  std::optional<std::string> stable;
  std::optional<store::RolloutRecord> rollout; // the open one
};

// Every track of the store, sorted by name.
Result<std::vector<TrackSummary>> list_tracks(Context& ctx);

// The tracks with an open (active or paused) rollout, sorted by name.
Result<std::vector<std::string>> tracks_with_open_rollouts(Context& ctx);

// `history --all`: every event of the store, newest first, at most `limit`.
Result<std::vector<store::EventRecord>> all_history(Context& ctx, std::optional<std::int64_t> limit);

// The rollout `canary wait` follows: `id` when given (exit 4 when no rollout
// has it), else the track's open rollout, else its latest; exit 4 when the
// track has had none.
Result<store::RolloutRecord> rollout_to_follow(Context& ctx, const std::string& track, std::optional<std::int64_t> id);

// A rollout as the store holds it now and, once it has ended, the event
// that ended it (`promoted` or `rolled_back`).
struct RolloutProgress {
  store::RolloutRecord rollout;
  std::optional<store::EventRecord> end;
};
Result<RolloutProgress> rollout_progress(Context& ctx, std::int64_t id);

} // namespace kanari::rollout
