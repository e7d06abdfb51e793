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
  // The bound of one attempt, and of all of one hook's attempts in a run:
  // 10 s and 60 s for `hook deliver` and `hook test`; 5 s and 5 s right
  // after a command's commit, which waits for its hooks at most that long.
  std::chrono::milliseconds attempt_timeout{10'000};
  std::chrono::milliseconds hook_budget{60'000};
};

inline constexpr std::chrono::milliseconds k_attempt_timeout{10'000};
inline constexpr std::chrono::milliseconds k_deliver_budget{60'000};
inline constexpr std::chrono::milliseconds k_after_commit_timeout{5'000};
// A claim outlives its run's budget by this much before another process
// may presume it dead (hosts' clocks differ a little).
inline constexpr TimeMs k_claim_margin_ms = 30'000;
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
  // The receiver is down (no answer, 5xx, 408, 429, a missing secret), so
  // the hook's later deliveries wait for the retry too. A refusal of this
  // one event (another 4xx, a command's non-zero exit) holds up no other.
  bool receiver_down = false;
};
// libcurl's global set-up, once, on the calling thread (before any
// delivering thread starts; deliver_due and test_hook call it).
void init_transports();
// One attempt, bounded by `timeout`; never throws.
AttemptResult attempt(const store::HookRecord& h, const store::EventRecord& e, const Settings& s,
                      std::chrono::milliseconds timeout);

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
