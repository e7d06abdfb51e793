#include "rollout/audit.hpp"

#include "core/canonical_json.hpp"
#include "crypto/sha256.hpp"
#include "rollout/hooks.hpp"
#include "util/time.hpp"

namespace kanari::rollout {

using nlohmann::json;

namespace {

json hashed_form(const store::EventRecord& e) {
  // Strictly: text that is not one JSON value with unique keys hashes as the
  // string it is, so a damaged or forged row still hashes deterministically
  // and cannot borrow the hash of the object it imitates.
  auto parsed = core::parse_json(e.evidence, "evidence");
  json evidence = parsed.ok() ? std::move(*parsed) : json(e.evidence);
  return {{"seq", e.seq},
          {"at", format_rfc3339(e.at)},
          {"actor", e.actor},
          {"action", e.action},
          {"track", e.track},
          {"rollout", e.rollout ? json(*e.rollout) : json(nullptr)},
          {"version", e.version ? json(*e.version) : json(nullptr)},
          {"reason", e.reason},
          {"evidence", evidence}};
}

// Why the event's stored evidence is not exactly the canonical JSON of its
// strict parse (no duplicate keys), or nullopt when it is. kanari stores
// nothing else, and only then does the hash cover what every reader sees: a
// lenient parser and SQLite's JSON functions disagree on which of two equal
// keys counts.
std::optional<std::string> evidence_problem(const store::EventRecord& e) {
  auto parsed = core::parse_json(e.evidence, "it");
  if (!parsed.ok())
    return parsed.error().message;
  if (core::canonical_json(*parsed) != e.evidence)
    return std::string("it is not in canonical form (key order, spacing or number spelling differ)");
  return std::nullopt;
}

} // namespace

std::string event_hash(const std::string& prev_hash, const store::EventRecord& e) {
  return crypto::sha256_hex(prev_hash + core::canonical_json(hashed_form(e)));
}

json event_json(const store::EventRecord& e) {
  json j = hashed_form(e);
  j["prev_hash"] = e.prev_hash;
  j["hash"] = e.hash;
  return j;
}

TimeMs transition_time(Context& ctx, const std::string& track) {
  const TimeMs now = ctx.clock.now_ms();
  const auto last = ctx.store.last_event_time(track);
  return last ? std::max(now, *last) : now;
}

store::EventRecord append_event(Context& ctx, const EventDraft& d, std::optional<TimeMs> at) {
  auto last = ctx.store.last_event();
  store::EventRecord e;
  e.seq = last ? last->seq + 1 : 1;
  e.at = at ? *at : transition_time(ctx, d.track);
  e.actor = ctx.actor;
  e.action = d.action;
  e.track = d.track;
  e.rollout = d.rollout;
  e.version = d.version;
  e.reason = d.reason;
  e.evidence = core::canonical_json(d.evidence);
  e.prev_hash = last ? last->hash : k_genesis_hash;
  e.hash = event_hash(e.prev_hash, e);
  ctx.store.insert_event(e);
  enqueue_deliveries(ctx, e); // the outbox: in this transaction, or not at all
  return e;
}

ChainReport verify_chain(Context& ctx, const std::vector<std::string>& anchors) {
  ChainReport report;
  std::string prev = k_genesis_hash;
  std::int64_t expected_seq = 1;
  std::vector<bool> found(anchors.size(), false);
  ctx.store.for_each_event([&](const store::EventRecord& e) {
    ++report.events;
    for (size_t i = 0; i < anchors.size(); ++i)
      found[i] = found[i] || anchors[i] == e.hash;
    if (!report.problems.empty())
      return; // the first break is what matters; later hashes all follow from it
    if (e.seq != expected_seq) {
      report.problems.push_back("event " + std::to_string(expected_seq) +
                                (e.seq > expected_seq ? " is missing (removed)" : " is out of order") +
                                "; the next stored event is " + std::to_string(e.seq));
    } else if (e.prev_hash != prev) {
      report.problems.push_back("event " + std::to_string(e.seq) +
                                " does not follow its predecessor: prev_hash does not match (an event before it was "
                                "changed, removed or reordered)");
    } else if (auto bad = evidence_problem(e)) {
      report.problems.push_back("event " + std::to_string(e.seq) + " (" + e.action +
                                "): its stored evidence is not the canonical JSON that was hashed (the row was "
                                "edited): " +
                                *bad);
    } else if (event_hash(e.prev_hash, e) != e.hash) {
      report.problems.push_back("event " + std::to_string(e.seq) + " (" + e.action +
                                ") was changed: its content no longer matches its hash");
    }
    prev = e.hash;
    expected_seq = e.seq + 1;
  });
  report.head = prev;
  for (size_t i = 0; i < anchors.size(); ++i)
    if (!found[i])
      report.problems.push_back("no event has the hash " + anchors[i] +
                                ": events after it were cut off, or the chain was rewritten");
  return report;
}

Result<ChainReport> check_audit_chain(Context& ctx, const std::vector<std::string>& anchors) {
  ChainReport report;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    report = verify_chain(ctx, anchors);
    return {};
  }));
  return report;
}

Result<std::vector<store::EventRecord>> track_history(Context& ctx, const std::string& track,
                                                      std::optional<std::int64_t> limit) {
  KANARI_TRY(validate_track_name(track));
  std::vector<store::EventRecord> events;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    events = ctx.store.events(track, limit);
    return {};
  }));
  return events;
}

} // namespace kanari::rollout
