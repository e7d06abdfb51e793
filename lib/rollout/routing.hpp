// Sticky per-user routing (docs/routing.md, normative):
//
//   h = SHA-256(UTF-8(salt + ":" + key))
//   bucket = uint64_big_endian(h[0..8]) mod 10000
//   canary iff bucket < percentage * 100   (basis points)
//
// A key's bucket depends only on the rollout's salt, so raising the
// percentage only adds buckets to the canary: nobody who was on the canary
// goes back to stable, and a new rollout (new salt) draws new users. In a
// shadow step the keys below the threshold are served stable and flagged
// `shadow` (mirrored to the canary) instead.
// docs/routing.md has the vectors and a reference implementation.
#pragma once

#include "crypto/sha256.hpp"
#include "rollout/context.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kanari::rollout {

inline constexpr std::uint32_t k_buckets = 10000;

std::uint32_t routing_bucket(std::string_view salt, std::string_view key);

// Routes many keys of one rollout without per-key allocation: the salt's
// hash state is computed once. One Router per thread.
class Router {
public:
  Router(std::string_view salt, std::int64_t threshold_bp);
  std::uint32_t bucket(std::string_view key) const {
    return static_cast<std::uint32_t>(m_hash.first_u64(key) % k_buckets);
  }
  bool in_canary(std::uint32_t bucket) const { return bucket < m_threshold_bp; }

private:
  crypto::PrefixedSha256 m_hash;
  std::int64_t m_threshold_bp;
};

struct RouteDecision {
  std::string version;
  store::Arm arm = store::Arm::stable; // the version that serves the key
  std::optional<std::uint32_t> bucket; // none when no rollout is open
  bool shadow = false;                 // a shadow step mirrors this key to the canary
  std::optional<std::string> canary;   // the canary version, when one is open
};

// Everything needed to route keys on a track now, loaded once.
struct RoutingTable {
  std::string stable;
  std::optional<store::RolloutRecord> rollout;
  std::int64_t threshold_bp() const;
};

Result<RoutingTable> load_routing_table(Context& ctx, const std::string& track);
RouteDecision decide(const RoutingTable& table, const Router* router, std::string_view key);

// route --key K [--task ID]: with a task, the assignment is remembered so
// that `record --task ID` needs no version.
Result<RouteDecision> route_key(Context& ctx, const std::string& track, std::string_view key,
                                const std::optional<std::string>& task);

} // namespace kanari::rollout
