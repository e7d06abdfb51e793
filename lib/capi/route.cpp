// kanari_route, kanari_route_many, kanari_route_session and
// kanari_session_end: routing through the C API.
//
// A single route reflects the rollout as committed, even one changed a
// moment ago by another process: the track's routing table (its stable and
// open rollout) is read again whenever the store's commit stamp has moved
// since it was last read (Store::commit_stamp: on SQLite any commit, on
// PostgreSQL a new event, seen within a second; on a backend without
// stamps, on every call). What is cached is the Router: the SHA-256
// state of "salt:" is computed once per rollout and step, so per key only
// the key itself is hashed. kanari_set_route_cache_ms() lets a caller that
// can tolerate a bounded delay skip the read as well; kanari_route_many()
// reads once for a whole batch.
#include "capi/handle.hpp"

#include "rollout/sessions.hpp"
#include "util/strings.hpp"

#include <cstring>

namespace kanari::capi {

namespace {

Result<void> validate_key(const char* key) {
  if (!key || !*key)
    return usage_error("a routing key must not be empty");
  if (!is_valid_utf8(key))
    return usage_error("routing key " + quote_for_message(key) + " is not valid UTF-8");
  return {};
}

void copy_id(char (&dst)[KANARI_ID_SIZE], const std::string& id) {
  const size_t n = id.size() < KANARI_ID_SIZE - 1 ? id.size() : KANARI_ID_SIZE - 1;
  std::memcpy(dst, id.data(), n);
  dst[n] = '\0';
}

void fill(kanari_route_decision& out, const rollout::RouteDecision& d) {
  copy_id(out.version, d.version);
  out.arm = d.arm == store::Arm::canary ? KANARI_ARM_CANARY : KANARI_ARM_STABLE;
  out.bucket = d.bucket ? static_cast<std::int32_t>(*d.bucket) : -1;
  out.shadow = d.shadow ? 1 : 0;
  copy_id(out.canary, d.canary.value_or(""));
}

// The track's routing table as committed now, and a Router for its rollout.
// Without a route cache the table is read again only when the store's
// commit stamp has changed since it was read: a few nanoseconds per call on
// SQLite, where any commit by any process changes the stamp; a backend
// without stamps is read on every call. With a route cache the table is
// reused within the cache time.
Result<kanari_store::Track*> routing_for(kanari_store& h, const std::string& track) {
  auto it = h.tracks.find(track);
  const TimeMs now = h.route_cache_ms > 0 ? h.clock.now_ms() : 0;
  std::optional<store::CommitStamp> stamp;
  if (h.route_cache_ms > 0) {
    if (it != h.tracks.end() && now - it->second.loaded_at < h.route_cache_ms)
      return &it->second;
  } else {
    stamp = h.store->commit_stamp();
    if (stamp && it != h.tracks.end() && it->second.stamp == stamp)
      return &it->second;
  }
  auto table = rollout::load_routing_table(*h.ctx, track);
  if (!table.ok()) {
    if (it != h.tracks.end())
      h.tracks.erase(it);
    return table.error();
  }
  if (it == h.tracks.end())
    it = h.tracks.emplace(track, kanari_store::Track{}).first;
  auto& t = it->second;
  t.table = std::move(*table);
  t.loaded_at = now;
  t.stamp = stamp;
  if (!t.table.rollout) {
    t.router.reset();
  } else if (!t.router || t.router_salt != t.table.rollout->salt || t.router_bp != t.table.threshold_bp()) {
    t.router.emplace(t.table.rollout->salt, t.table.threshold_bp());
    t.router_salt = t.table.rollout->salt;
    t.router_bp = t.table.threshold_bp();
  }
  return &t;
}

} // namespace

} // namespace kanari::capi

using namespace kanari;

extern "C" {

KANARI_API kanari_status kanari_route(kanari_store* store, const char* track, const char* key, const char* task,
                                      kanari_route_decision* out) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_route: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (!out)
      return usage_error("kanari_route: out must not be NULL");
    auto t = capi::track_arg(track);
    KANARI_TRY(t);
    KANARI_TRY(capi::validate_key(key));
    if (task) {
      // Remembering the assignment writes, in the same transaction as the
      // decision: exactly what `route --key K --task ID` does.
      std::string task_id = task;
      KANARI_TRY(rollout::validate_task_id(task_id));
      auto d = rollout::route_key(*store->ctx, *t, key, task_id);
      KANARI_TRY(d);
      capi::fill(*out, *d);
      return KANARI_OK;
    }
    auto r = capi::routing_for(*store, *t);
    KANARI_TRY(r);
    auto* tr = *r;
    capi::fill(*out, rollout::decide(tr->table, tr->router ? &*tr->router : nullptr, key));
    return KANARI_OK;
  });
}

KANARI_API kanari_status kanari_route_many(kanari_store* store, const char* track, const char* const* keys, size_t n,
                                           kanari_route_decision* out) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_route_many: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (n > 0 && (!keys || !out))
      return usage_error("kanari_route_many: keys and out must not be NULL");
    auto t = capi::track_arg(track);
    KANARI_TRY(t);
    for (size_t i = 0; i < n; ++i)
      if (auto v = capi::validate_key(keys[i]); !v.ok())
        return usage_error("key " + std::to_string(i) + ": " + v.error().message);
    auto r = capi::routing_for(*store, *t);
    KANARI_TRY(r);
    auto* tr = *r;
    const rollout::Router* router = tr->router ? &*tr->router : nullptr;
    for (size_t i = 0; i < n; ++i)
      capi::fill(out[i], rollout::decide(tr->table, router, keys[i]));
    return KANARI_OK;
  });
}

KANARI_API kanari_status kanari_route_session(kanari_store* store, const char* track, const char* session,
                                              const char* task, kanari_session_route* out) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_route_session: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (!out)
      return usage_error("kanari_route_session: out must not be NULL");
    if (!session)
      return usage_error("kanari_route_session: session must not be NULL");
    auto t = capi::track_arg(track);
    KANARI_TRY(t);
    auto r = rollout::route_session(*store->ctx, *t, session, task ? std::optional<std::string>(task) : std::nullopt);
    KANARI_TRY(r);
    *out = kanari_session_route{};
    capi::fill(out->decision, r->decision);
    if (r->arm == rollout::SessionArm::previous)
      out->decision.arm = KANARI_ARM_PREVIOUS;
    out->pinned = r->pinned ? 1 : 0;
    out->moved = r->moved ? 1 : 0;
    capi::copy_id(out->moved_from, r->pin.moved_from.value_or(""));
    out->draining = r->pin.state == rollout::SessionState::draining ? 1 : 0;
    out->requests = r->pin.requests;
    out->expires_at_ms = r->pin.expires_at;
    out->drain_until_ms = out->draining ? r->pin.drain_until.value_or(0) : 0;
    return KANARI_OK;
  });
}

KANARI_API kanari_status kanari_session_end(kanari_store* store, const char* track, const char* session) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_session_end: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (!session)
      return usage_error("kanari_session_end: session must not be NULL");
    auto t = capi::track_arg(track);
    KANARI_TRY(t);
    auto r = rollout::end_session(*store->ctx, *t, session);
    KANARI_TRY(r);
    return KANARI_OK;
  });
}

} // extern "C"
