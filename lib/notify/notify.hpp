// Delivering notifications (docs/hooks.md). The outbox (rollout/hooks.hpp)
// holds a pending delivery for every event that matched a hook; this module
// attempts them: each hook in a thread of its own, its deliveries in order,
// over HTTP (libcurl) or as a command (/bin/sh -c). The store is touched
// only from the calling thread, in two short transactions: one claims what
// is due, one records what the attempts did. A process killed in between
// leaves its claims to expire, and the next command attempts them again
// (at least once; the event's hash is the idempotency key).
#pragma once

#include "rollout/context.hpp"

#include <chrono>
#include <functional>

namespace kanari::notify {

struct Settings {
  // Where a hook's secret is read from, at delivery time.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  std::string store;          // the store's location as shown (no password)
  std::string kanari_version; // what the body's "kanari_version" says
  // The bound of one attempt: k_attempt_timeout for `hook deliver` and
  // `hook test`, k_after_commit_timeout right after a command's commit.
  std::chrono::milliseconds attempt_timeout{10'000};
};

inline constexpr std::chrono::milliseconds k_attempt_timeout{10'000};
inline constexpr std::chrono::milliseconds k_after_commit_timeout{5'000};
inline constexpr TimeMs k_give_up_ms = 24LL * 3600 * 1000; // after the event, a delivery is failed
inline constexpr std::int64_t k_claim_limit = 200;         // deliveries claimed by one run

// How long after its n-th failed attempt a delivery is tried again:
// 30 s, doubling, at most an hour.
TimeMs retry_delay_ms(std::int64_t attempts);

// What a hook is sent for an event: the event as `history --json` prints
// it plus "store" and "kanari_version", or with format slack a Slack
// incoming-webhook message.
std::string request_body(const store::HookRecord& h, const store::EventRecord& e, const Settings& s);
// The Kanari-Signature header's value: "sha256=" + hex HMAC-SHA256.
std::string signature(std::string_view secret, std::string_view body);

struct AttemptResult {
  bool ok = false;
  std::string detail; // "HTTP 200", "HTTP 500: ...", "timed out after 5 s", "exit 3: ..."
  std::int64_t duration_ms = 0;
};
// One attempt, bounded by s.attempt_timeout; never throws.
AttemptResult attempt(const store::HookRecord& h, const store::EventRecord& e, const Settings& s);

struct Attempted {
  store::DeliveryRecord delivery; // as stored after the attempt
  store::EventRecord event;
  AttemptResult result;
};

// Claims the deliveries due now, attempts them and records every attempt.
// Nothing is claimed (and nothing written) when nothing is due.
Result<std::vector<Attempted>> deliver_due(rollout::Context& ctx, const Settings& s);

// `hook test`: a synthetic event of action "test" on `track`, sent to the
// hook now (whatever its --on says), and logged.
Result<Attempted> test_hook(rollout::Context& ctx, const std::string& name, const std::string& track,
                            const Settings& s);

} // namespace kanari::notify
