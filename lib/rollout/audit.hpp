// The audit log: every state change appends an event, and each event's hash
// covers the previous one (docs/architecture.md):
//
//   hash = SHA-256(prev_hash + canonical_json(event))
//
// where prev_hash is the previous event's hash in lowercase hex (64 zeros
// for the first event) and the event JSON is
//   {"action","actor","at","evidence","reason","rollout","seq","track","version"}
// with `at` in RFC 3339 and `evidence` the evidence object itself, whose
// stored text must be exactly its canonical JSON. Changing, removing or
// reordering any event breaks every later hash, which `audit verify` detects.
// Events removed from the end of the chain are seen only against an anchor,
// a hash saved outside the store (docs/security.md).
#pragma once

#include "rollout/context.hpp"

#include <nlohmann/json.hpp>

namespace kanari::rollout {

inline constexpr const char* k_genesis_hash = "0000000000000000000000000000000000000000000000000000000000000000";

struct EventDraft {
  std::string action; // stable_set, started, step_advanced, promoted, rolled_back, paused, resumed, approved
  std::string track;
  std::optional<std::int64_t> rollout;
  std::optional<std::string> version;
  std::string reason;
  nlohmann::json evidence = nlohmann::json::object();
};

// The time a transition of `track` stores: the clock, but never earlier than
// the track's newest event, so a host with a slow clock cannot make a step
// look older than it is (and fire max_step_seconds early), nor date an
// event before the one it follows. Call inside the write transaction.
TimeMs transition_time(Context& ctx, const std::string& track);

// Appends inside the caller's write transaction, at `at` when the caller
// already took transition_time() for the rows it changed (so the event and
// the rows carry one time), else at transition_time().
store::EventRecord append_event(Context& ctx, const EventDraft& draft, std::optional<TimeMs> at = std::nullopt);

nlohmann::json event_json(const store::EventRecord& e); // the hashed form plus prev_hash/hash
std::string event_hash(const std::string& prev_hash, const store::EventRecord& e);

struct ChainReport {
  std::int64_t events = 0;
  std::string head;                  // the newest event's hash (k_genesis_hash when empty)
  std::vector<std::string> problems; // each names the first bad seq
};
// Verifies the whole chain. Each of `anchors` (event hashes saved earlier,
// outside the store) must still be in it: that is what detects events cut
// from the end, or a chain rewritten with recomputed hashes. Call inside a
// read or write transaction.
ChainReport verify_chain(Context& ctx, const std::vector<std::string>& anchors = {});
// `audit verify`: verify_chain in a read transaction of its own.
Result<ChainReport> check_audit_chain(Context& ctx, const std::vector<std::string>& anchors);

// `history`: the track's events, newest first, at most `limit` of them.
Result<std::vector<store::EventRecord>> track_history(Context& ctx, const std::string& track,
                                                      std::optional<std::int64_t> limit);

} // namespace kanari::rollout
