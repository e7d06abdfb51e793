#include "rollout/sessions.hpp"

#include "rollout/lifecycle.hpp"
#include "util/strings.hpp"

namespace kanari::rollout {

namespace {

constexpr TimeMs k_ms_per_second = 1000;

Result<void> no_such_session(const std::string& track, const std::string& session) {
  return not_found_error("session " + quote_for_message(session) + " has never been routed on track '" + track +
                         "'; route it with `kanari route --session ID`");
}

// The TTL of a pin made now: that of the policy of the open rollout, or
// with none open of the track's latest one (a team's TTL holds between
// rollouts too); the default for a track that never had one, or whose
// stored policy cannot be read (`canary evaluate` reports that; routing
// goes on).
std::int64_t pin_ttl_seconds(Context& ctx, const std::string& track, const std::optional<store::RolloutRecord>& open) {
  const auto rollout = open ? open : ctx.store.latest_rollout(track);
  if (rollout)
    if (auto p = read_stored_policy(*rollout); p.ok())
      return p->session_ttl_seconds;
  return gate::Policy{}.session_ttl_seconds;
}

SessionView view(SessionRecord pin, const std::optional<std::string>& stable,
                 const std::optional<store::RolloutRecord>& rollout, TimeMs now) {
  SessionView v{std::move(pin), SessionArm::stable, {}};
  v.arm = session_arm(v.pin.version_id, stable, rollout);
  v.state = visible_state(v.pin, now);
  return v;
}

} // namespace

Result<void> validate_session_id(std::string_view session) {
  if (session.empty() || session.size() > 256)
    return usage_error("a session id must be 1 to 256 bytes, got " + std::to_string(session.size()) + " bytes");
  if (!is_valid_utf8(session))
    return usage_error("session id " + quote_for_message(session) + " is not valid UTF-8");
  if (session.find('\0') != std::string_view::npos)
    return usage_error("session id " + quote_for_message(session) + " contains U+0000 (NUL)");
  return {};
}

std::string_view to_string(SessionArm a) {
  switch (a) {
  case SessionArm::stable: return "stable";
  case SessionArm::canary: return "canary";
  case SessionArm::previous: return "previous";
  }
  return "stable";
}

std::optional<SessionArm> session_arm_from_string(std::string_view s) {
  for (auto a : {SessionArm::stable, SessionArm::canary, SessionArm::previous})
    if (to_string(a) == s)
      return a;
  return std::nullopt;
}

SessionArm session_arm(std::string_view version, const std::optional<std::string>& stable,
                       const std::optional<store::RolloutRecord>& rollout) {
  if (rollout && rollout->canary == version)
    return SessionArm::canary;
  if (stable && *stable == version)
    return SessionArm::stable;
  return SessionArm::previous;
}

std::string_view visible_state(const SessionRecord& s, TimeMs now) {
  if (s.state == SessionState::ended)
    return "ended";
  if (s.expires_at < now) // idle longer than its TTL
    return "expired";
  if (s.state == SessionState::draining && s.drain_until && *s.drain_until <= now)
    return "cut";
  return store::to_string(s.state);
}

Result<SessionRoute> route_session(Context& ctx, const std::string& track, const std::string& session,
                                   const std::optional<std::string>& task) {
  KANARI_TRY(validate_track_name(track));
  KANARI_TRY(validate_session_id(session));
  if (task)
    KANARI_TRY(validate_task_id(*task));
  SessionRoute out;
  auto r = ctx.store.write([&]() -> Result<void> {
    out = SessionRoute{};
    auto stable = ctx.store.stable_of(track);
    if (!stable)
      return not_found_error("track '" + track + "' has no stable version; add one with `kanari version add`");
    RoutingTable table{*stable, ctx.store.open_rollout(track)};
    std::optional<Router> router;
    if (table.rollout)
      router.emplace(table.rollout->salt, table.threshold_bp());
    const TimeMs now = ctx.clock.now_ms();
    auto pin = ctx.store.get_session(track, session);
    const std::string_view state = pin ? visible_state(*pin, now) : "ended";
    if (state == "active" || state == "draining") {
      // The pinned version, whatever the rollout does now.
      pin->last_seen_at = now;
      pin->expires_at = now + pin->ttl_seconds * k_ms_per_second;
      ++pin->requests;
      out.pin = std::move(*pin);
    } else {
      // A new or ended session is routed as a key. One a rollback released
      // (cut, or drained past its deadline, or expired meanwhile) goes to
      // the stable, never to a newer canary. Whenever a session that was
      // not ended gets another version, it is told: "moved".
      auto d = decide(table, router ? &*router : nullptr, session);
      if (pin && (pin->state == SessionState::cut || pin->state == SessionState::draining)) {
        d.version = table.stable;
        d.arm = Arm::stable;
      }
      SessionRecord fresh;
      fresh.track = track;
      fresh.session = session;
      fresh.version_id = d.version;
      fresh.arm = d.arm;
      fresh.rollout_id = table.rollout ? std::optional(table.rollout->id) : std::nullopt;
      fresh.pinned_at = now;
      fresh.last_seen_at = now;
      fresh.ttl_seconds = pin_ttl_seconds(ctx, track, table.rollout);
      fresh.expires_at = now + fresh.ttl_seconds * k_ms_per_second;
      fresh.requests = 1;
      if (pin && pin->state != SessionState::ended && pin->version_id != d.version) {
        fresh.moved_from = pin->version_id;
        out.moved = true;
      } else if (pin && pin->state != SessionState::ended) {
        fresh.moved_from = pin->moved_from; // its last move, still the news a lost reply may have carried
      }
      out.pinned = true;
      out.pin = std::move(fresh);
    }
    ctx.store.put_session(out.pin);

    RouteDecision& d = out.decision;
    d.version = out.pin.version_id;
    out.arm = session_arm(d.version, table.stable, table.rollout);
    d.arm = out.arm == SessionArm::canary ? Arm::canary : Arm::stable;
    if (table.rollout) {
      d.canary = table.rollout->canary;
      d.bucket = router->bucket(session);
      // A shadow step mirrors the stable's sessions below its percentage,
      // as it does keys.
      d.shadow = table.rollout->shadow_step() && out.arm == SessionArm::stable && router->in_canary(*d.bucket);
      ctx.store.count_session_request(table.rollout->id, table.rollout->step, to_string(out.arm));
    }
    if (task)
      ctx.store.put_assignment(
          track, *task, {d.version, d.arm, table.rollout ? std::optional(table.rollout->id) : std::nullopt}, now);
    return {};
  });
  KANARI_TRY(r);
  return out;
}

Result<SessionView> show_session(Context& ctx, const std::string& track, const std::string& session) {
  KANARI_TRY(validate_track_name(track));
  KANARI_TRY(validate_session_id(session));
  std::optional<SessionView> out;
  auto r = ctx.store.read([&]() -> Result<void> {
    auto pin = ctx.store.get_session(track, session);
    if (!pin)
      return no_such_session(track, session);
    out = view(std::move(*pin), ctx.store.stable_of(track), ctx.store.open_rollout(track), ctx.clock.now_ms());
    return {};
  });
  KANARI_TRY(r);
  return std::move(*out);
}

Result<SessionView> end_session(Context& ctx, const std::string& track, const std::string& session, bool* was_live) {
  KANARI_TRY(validate_track_name(track));
  KANARI_TRY(validate_session_id(session));
  std::optional<SessionView> out;
  bool live = false;
  auto r = ctx.store.write([&]() -> Result<void> {
    auto pin = ctx.store.get_session(track, session);
    if (!pin)
      return no_such_session(track, session);
    const TimeMs now = ctx.clock.now_ms();
    const std::string_view state = visible_state(*pin, now);
    live = state != "ended" && state != "expired";
    if (live) {
      pin->state = SessionState::ended;
      pin->ended_at = now;
      ctx.store.put_session(*pin);
    }
    out = view(std::move(*pin), ctx.store.stable_of(track), ctx.store.open_rollout(track), now);
    return {};
  });
  KANARI_TRY(r);
  if (was_live)
    *was_live = live;
  return std::move(*out);
}

Result<std::vector<SessionView>> list_sessions(Context& ctx, const std::string& track, std::optional<SessionArm> arm,
                                               std::int64_t limit) {
  KANARI_TRY(validate_track_name(track));
  std::vector<SessionView> out;
  auto r = ctx.store.read([&]() -> Result<void> {
    const TimeMs now = ctx.clock.now_ms();
    const auto stable = ctx.store.stable_of(track);
    const auto rollout = ctx.store.open_rollout(track);
    // The arm's versions: its own, or for "previous" every other.
    std::vector<std::string> versions;
    if (stable && arm != SessionArm::canary)
      versions.push_back(*stable);
    if (rollout && arm != SessionArm::stable)
      versions.push_back(rollout->canary);
    if (arm && arm != SessionArm::previous && versions.empty())
      return {}; // no such arm now
    const bool except = arm == SessionArm::previous;
    for (auto& pin : ctx.store.live_sessions(track, now, limit, arm ? versions : std::vector<std::string>{}, except))
      out.push_back(view(std::move(pin), stable, rollout, now));
    return {};
  });
  KANARI_TRY(r);
  return out;
}

SessionSummary session_summary(Context& ctx, const std::string& track, const std::optional<std::string>& stable,
                               const std::optional<store::RolloutRecord>& rollout) {
  SessionSummary s;
  const TimeMs now = ctx.clock.now_ms();
  for (const auto& c : ctx.store.session_counts(track, now)) {
    const bool draining = c.state == SessionState::draining && c.drain_until && *c.drain_until > now;
    switch (session_arm(c.version_id, stable, rollout)) {
    case SessionArm::stable: s.pinned_stable += c.sessions; break;
    case SessionArm::canary: s.pinned_canary += c.sessions; break;
    case SessionArm::previous: s.pinned_previous += c.sessions; break;
    }
    if (draining) {
      s.draining += c.sessions;
      s.drain_until = std::max(s.drain_until.value_or(0), *c.drain_until);
    }
  }
  if (rollout)
    for (const auto& a : ctx.store.session_requests(rollout->id, rollout->step)) {
      if (a.arm == "stable")
        s.served_stable = a.requests;
      else if (a.arm == "canary")
        s.served_canary = a.requests;
      else
        s.served_previous = a.requests;
    }
  return s;
}

std::int64_t release_sessions(Context& ctx, const std::string& track, const std::string& version,
                              const gate::Policy& policy, TimeMs now) {
  if (policy.on_rollback == gate::OnRollback::drain)
    return ctx.store.mark_sessions(track, version, SessionState::draining, now + policy.drain_seconds * k_ms_per_second,
                                   now);
  return ctx.store.mark_sessions(track, version, SessionState::cut, std::nullopt, now);
}

} // namespace kanari::rollout
