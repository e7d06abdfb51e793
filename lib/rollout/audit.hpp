// The audit log: every state change appends an event, and each event's hash
// covers the previous one (SPEC §7):
//
//   hash = SHA-256(prev_hash + canonical_json(event))
//
// where prev_hash is the previous event's hash in lowercase hex (64 zeros
// for the first event) and the event JSON is
//   {"action","actor","at","evidence","reason","rollout","seq","track","version"}
// with `at` in RFC 3339 and `evidence` the evidence object itself. Changing,
// removing or reordering any event breaks every later hash, which
// `audit verify` detects. It cannot see events removed from the end of the
// chain (docs/architecture.md, "What the audit chain proves").
#pragma once

#include "rollout/context.hpp"

#include <nlohmann/json.hpp>

namespace kanari::rollout {

inline constexpr const char* k_genesis_hash =
    "0000000000000000000000000000000000000000000000000000000000000000";

struct EventDraft {
  std::string action; // stable_set, started, step_advanced, promoted, rolled_back, paused, resumed, approved
  std::string track;
  std::optional<std::int64_t> rollout;
  std::optional<std::string> version;
  std::string reason;
  nlohmann::json evidence = nlohmann::json::object();
};

// Appends inside the caller's write transaction.
store::EventRecord append_event(Context& ctx, const EventDraft& draft);

nlohmann::json event_json(const store::EventRecord& e); // the hashed form plus prev_hash/hash
std::string event_hash(const std::string& prev_hash, const store::EventRecord& e);

struct ChainReport {
  std::int64_t events = 0;
  std::vector<std::string> problems; // each names the first bad seq
};
ChainReport verify_chain(Context& ctx);

} // namespace kanari::rollout
