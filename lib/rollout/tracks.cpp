#include "rollout/tracks.hpp"

#include <algorithm>
#include <deque>

namespace kanari::rollout {

Result<std::vector<TrackSummary>> list_tracks(Context& ctx) {
  std::vector<TrackSummary> out;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    out.clear();
    for (auto& track : ctx.store.track_names()) {
      TrackSummary s;
      s.stable = ctx.store.stable_of(track);
      s.rollout = ctx.store.open_rollout(track);
      s.track = std::move(track);
      out.push_back(std::move(s));
    }
    return {};
  }));
  return out;
}

Result<std::vector<std::string>> tracks_with_open_rollouts(Context& ctx) {
  std::vector<std::string> out;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    out = ctx.store.tracks_with_open_rollouts();
    return {};
  }));
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<store::EventRecord>> all_history(Context& ctx, std::optional<std::int64_t> limit) {
  std::deque<store::EventRecord> newest;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    newest.clear();
    ctx.store.for_each_event([&](const store::EventRecord& e) { // ascending seq
      newest.push_back(e);
      if (limit && static_cast<std::int64_t>(newest.size()) > *limit)
        newest.pop_front();
    });
    return {};
  }));
  return std::vector<store::EventRecord>(newest.rbegin(), newest.rend());
}

Result<store::RolloutRecord> rollout_to_follow(Context& ctx, const std::string& track, std::optional<std::int64_t> id) {
  KANARI_TRY(validate_track_name(track));
  std::optional<store::RolloutRecord> r;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    if (id) {
      r = ctx.store.get_rollout(*id);
      if (!r)
        return not_found_error("no rollout " + std::to_string(*id) + "; `kanari track list` shows the open ones");
      return {};
    }
    r = ctx.store.open_rollout(track);
    if (!r)
      r = ctx.store.latest_rollout(track);
    if (!r)
      return not_found_error("track '" + track + "' has no rollout to wait for; start one with `kanari canary start`");
    return {};
  }));
  return std::move(*r);
}

Result<RolloutProgress> rollout_progress(Context& ctx, std::int64_t id) {
  RolloutProgress p;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    auto r = ctx.store.get_rollout(id);
    if (!r)
      return not_found_error("rollout " + std::to_string(id) + " is no longer in the store");
    p.rollout = std::move(*r);
    p.end.reset();
    if (!is_open(p.rollout.state)) {
      const char* action = p.rollout.state == store::RolloutState::promoted ? "promoted" : "rolled_back";
      for (auto& e : ctx.store.events(p.rollout.track, std::nullopt)) // newest first
        if (e.rollout == id && e.action == action) {
          p.end = std::move(e);
          break;
        }
    }
    return {};
  }));
  return p;
}

} // namespace kanari::rollout
