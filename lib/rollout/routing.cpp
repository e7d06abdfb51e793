#include "rollout/routing.hpp"

namespace kanari::rollout {

std::uint32_t routing_bucket(std::string_view salt, std::string_view key) {
  std::string input;
  input.reserve(salt.size() + 1 + key.size());
  input.append(salt).append(":").append(key);
  auto d = crypto::sha256(input);
  std::uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i)
    v = (v << 8) | d[i];
  return static_cast<std::uint32_t>(v % k_buckets);
}

Router::Router(std::string_view salt, std::int64_t threshold_bp)
    : m_hash(std::string(salt) + ":"), m_threshold_bp(threshold_bp) {}

std::int64_t RoutingTable::threshold_bp() const {
  return rollout ? rollout->steps_bp.at(static_cast<size_t>(rollout->step)) : 0;
}

Result<RoutingTable> load_routing_table(Context& ctx, const std::string& track) {
  KANARI_TRY(validate_track_name(track));
  RoutingTable t;
  auto r = ctx.store.read([&]() -> Result<void> {
    auto stable = ctx.store.stable_of(track);
    if (!stable)
      return not_found_error("track '" + track + "' has no stable version; add one with `kanari version add`");
    t.stable = *stable;
    t.rollout = ctx.store.open_rollout(track);
    return {};
  });
  KANARI_TRY(r);
  return t;
}

RouteDecision decide(const RoutingTable& table, const Router* router, std::string_view key) {
  RouteDecision d;
  d.version = table.stable;
  if (!table.rollout || !router)
    return d;
  d.canary = table.rollout->canary;
  std::uint32_t b = router->bucket(key);
  d.bucket = b;
  if (router->in_canary(b)) {
    if (table.rollout->shadow_step()) {
      d.shadow = true;
    } else {
      d.version = table.rollout->canary;
      d.arm = store::Arm::canary;
    }
  }
  return d;
}

Result<RouteDecision> route_key(Context& ctx, const std::string& track, std::string_view key,
                                const std::optional<std::string>& task) {
  KANARI_TRY(validate_track_name(track));
  RouteDecision d;
  auto body = [&]() -> Result<void> {
    auto stable = ctx.store.stable_of(track);
    if (!stable)
      return not_found_error("track '" + track + "' has no stable version; add one with `kanari version add`");
    RoutingTable t{*stable, ctx.store.open_rollout(track)};
    if (t.rollout) {
      Router router(t.rollout->salt, t.threshold_bp());
      d = decide(t, &router, key);
    } else {
      d = decide(t, nullptr, key);
    }
    if (task)
      ctx.store.put_assignment(track, *task,
                               {d.version, d.arm, t.rollout ? std::optional(t.rollout->id) : std::nullopt},
                               ctx.clock.now_ms());
    return {};
  };
  // Remembering an assignment writes; a plain lookup only reads.
  auto r = task ? ctx.store.write(body) : ctx.store.read(body);
  KANARI_TRY(r);
  return d;
}

} // namespace kanari::rollout
