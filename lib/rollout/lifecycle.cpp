#include "rollout/lifecycle.hpp"

#include "core/canonical_json.hpp"
#include "crypto/sha256.hpp"
#include "rollout/audit.hpp"
#include "rollout/sessions.hpp"
#include "rollout/signatures.hpp"
#include "util/time.hpp"

namespace kanari::rollout {

using nlohmann::json;

json percentage_json(std::int64_t bp) {
  if (bp % 100 == 0)
    return bp / 100;
  return static_cast<double>(bp) / 100.0;
}

std::string step_spelling(const store::RolloutRecord& r, std::int64_t step) {
  const std::string number = percentage_json(r.steps_bp.at(static_cast<size_t>(step))).dump();
  return step < r.shadow_steps ? std::string(gate::k_shadow_step_prefix) + number : number;
}

std::string step_phrase(const store::RolloutRecord& r) {
  return std::string(r.shadow_step() ? "shadow step " : "step ") + std::to_string(r.step + 1) + "/" +
         std::to_string(r.steps_bp.size()) + " at " +
         percentage_json(r.steps_bp.at(static_cast<size_t>(r.step))).dump() + " %" +
         (r.shadow_step() ? " mirrored" : "");
}

namespace {

json steps_json(const std::vector<std::int64_t>& steps_bp) {
  json arr = json::array();
  for (auto s : steps_bp)
    arr.push_back(percentage_json(s));
  return arr;
}

json rollout_evidence(const store::RolloutRecord& r) {
  return {{"rollout", r.id},
          {"canary", r.canary},
          {"stable", r.stable},
          {"step", r.step},
          {"percentage", percentage_json(r.steps_bp.at(static_cast<size_t>(r.step)))},
          {"steps", steps_json(r.steps_bp)}};
}

json merge(json base, const json& extra) {
  if (extra.is_object())
    for (auto& [k, v] : extra.items())
      base[k] = v;
  return base;
}

// Loads the open rollout and checks the caller's expectations.
Result<store::RolloutRecord> load_open(Context& ctx, const std::string& track, const Expect& expect, const char* verb) {
  auto r = ctx.store.open_rollout(track);
  if (!r)
    return conflict_error(std::string("cannot ") + verb + ": track '" + track +
                          "' has no active rollout; start one with `kanari canary start`");
  if (expect.rollout && *expect.rollout != r->id)
    return conflict_error(std::string("cannot ") + verb + ": the rollout changed while this command ran (now rollout " +
                          std::to_string(r->id) + "); check `kanari canary status` and retry");
  if (expect.step && *expect.step != r->step)
    return conflict_error(std::string("cannot ") + verb + ": the rollout is at step " + std::to_string(r->step) +
                          ", not step " + std::to_string(*expect.step) +
                          " (another process moved it); check `kanari canary status` and retry");
  return *r;
}

} // namespace

Result<void> validate_steps(const std::vector<std::int64_t>& steps_bp, std::int64_t shadow_steps) {
  if (steps_bp.empty())
    return usage_error("give at least one step: --percentage P or --steps P1,P2,...");
  if (shadow_steps < 0 || shadow_steps > static_cast<std::int64_t>(steps_bp.size()))
    return usage_error("a rollout of " + std::to_string(steps_bp.size()) + " steps cannot have " +
                       std::to_string(shadow_steps) + " shadow steps");
  for (size_t i = 0; i < steps_bp.size(); ++i) {
    if (steps_bp[i] <= 0 || steps_bp[i] > 10000)
      return usage_error("step percentages must be in (0, 100], got " + percentage_json(steps_bp[i]).dump());
    // The first live step starts the ascent again.
    const bool first_live = static_cast<std::int64_t>(i) == shadow_steps;
    if (i > 0 && !first_live && steps_bp[i] <= steps_bp[i - 1])
      return usage_error(std::string(static_cast<std::int64_t>(i) < shadow_steps ? "shadow steps" : "steps") +
                         " must be strictly ascending, got " + percentage_json(steps_bp[i - 1]).dump() + " then " +
                         percentage_json(steps_bp[i]).dump());
  }
  return {};
}

Result<Expect> current_expectation(Context& ctx, const std::string& track) {
  KANARI_TRY(validate_track_name(track));
  Expect expect;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    expect = {};
    if (auto open = ctx.store.open_rollout(track)) {
      expect.rollout = open->id;
      expect.step = open->step;
    }
    return {};
  }));
  return expect;
}

Result<store::RolloutRecord> start_rollout(Context& ctx, const StartInput& in) {
  KANARI_TRY(validate_track_name(in.track));
  KANARI_TRY(validate_steps(in.steps_bp, in.shadow_steps));
  store::RolloutRecord r;
  auto result = ctx.store.write([&]() -> Result<void> {
    r = {}; // a transaction run again starts afresh
    if (!ctx.store.track_has_version(in.track, in.version))
      return not_found_error("version " + in.version.substr(0, 12) + " is not on track '" + in.track +
                             "'; add it there with `kanari --track " + in.track + " version add ...`");
    auto stable = ctx.store.stable_of(in.track);
    if (!stable)
      return conflict_error("track '" + in.track + "' has no stable version to compare against");
    if (*stable == in.version)
      return conflict_error("version " + in.version.substr(0, 12) + " is already the stable of track '" + in.track +
                            "'; nothing to roll out");
    if (auto open = ctx.store.open_rollout(in.track))
      return conflict_error("track '" + in.track + "' already has " +
                            (open->state == store::RolloutState::active ? "an active" : "a paused") + " rollout (" +
                            open->canary.substr(0, 12) + "); promote or roll it back first, or use another --track");
    json signed_by = nullptr;
    if (!in.policy.require_signature.empty()) {
      auto key = require_trusted_signature(ctx, in.version, in.policy.require_signature);
      KANARI_TRY(key);
      signed_by = *key;
    }
    const TimeMs now = transition_time(ctx, in.track);
    json policy = gate::policy_to_json(in.policy);
    r.track = in.track;
    r.canary = in.version;
    r.stable = *stable;
    r.steps_bp = in.steps_bp;
    r.step = 0;
    r.state = store::RolloutState::active;
    r.salt = crypto::random_hex(16);
    r.shadow_steps = in.shadow_steps;
    r.shadow = r.shadow_steps > 0;
    r.policy = core::canonical_json(policy);
    r.policy_sha256 = crypto::sha256_hex(r.policy);
    r.started_at = now;
    r.step_started_at = now;
    r.id = ctx.store.insert_rollout(r);
    append_event(ctx,
                 {"started", in.track, r.id, r.canary, in.reason.empty() ? "canary started" : in.reason,
                  merge(rollout_evidence(r), {{"salt", r.salt},
                                              {"shadow", r.shadow},
                                              {"shadow_steps", r.shadow_steps},
                                              {"policy", policy},
                                              {"policy_sha256", r.policy_sha256},
                                              {"signed_by", signed_by}})},
                 now);
    return {};
  });
  KANARI_TRY(result);
  return r;
}

Result<gate::Policy> read_stored_policy(const store::RolloutRecord& r) {
  if (const auto h = crypto::sha256_hex(r.policy); h != r.policy_sha256)
    return negative_error("its stored policy hashes to " + h + ", not to its policy_sha256 " + r.policy_sha256);
  auto parsed = core::parse_json(r.policy, "it");
  if (!parsed.ok())
    return negative_error("its stored policy cannot be read by this kanari: " + parsed.error().message);
  auto policy = gate::parse_policy(*parsed);
  if (!policy.ok())
    return negative_error("its stored policy cannot be read by this kanari: " + policy.error().message);
  return policy;
}

namespace {

// docs/security.md: require_signature holds at every promotion step, checked
// cryptographically against the canary the row names now.
Result<void> check_promotion(Context& ctx, const store::RolloutRecord& r) {
  const std::string what = "cannot promote rollout " + std::to_string(r.id) + ": ";
  auto policy = read_stored_policy(r);
  if (!policy.ok())
    return negative_error(what + policy.error().message + " (the store was altered); run `kanari doctor`");
  if (policy->require_signature.empty())
    return {};
  auto key = require_trusted_signature(ctx, r.canary, policy->require_signature);
  if (!key.ok())
    return negative_error(what + key.error().message +
                          "; `canary start` found a trusted signature, so the store was altered since: run "
                          "`kanari doctor`");
  return {};
}

} // namespace

Result<void> apply_promote(Context& ctx, store::RolloutRecord& r, bool full, const std::string& reason,
                           const json& evidence) {
  KANARI_TRY(check_promotion(ctx, r));
  const TimeMs now = transition_time(ctx, r.track);
  const bool last = r.step + 1 >= static_cast<std::int64_t>(r.steps_bp.size());
  json from = rollout_evidence(r);
  if (full || last) {
    r.state = store::RolloutState::promoted;
    r.ended_at = now;
    ctx.store.set_stable(r.track, r.canary);
    ctx.store.update_rollout(r);
    append_event(ctx,
                 {"promoted", r.track, r.id, r.canary, reason.empty() ? "canary promoted to stable" : reason,
                  merge(merge(from, evidence), {{"new_stable", r.canary}, {"previous_stable", r.stable}})},
                 now);
    return {};
  }
  r.step += 1;
  r.step_started_at = now;
  r.promote_streak = 0;
  // A paused rollout stays paused: a person promoting one step by hand has
  // not asked cron to take over again (`canary resume` does that).
  ctx.store.update_rollout(r);
  append_event(
      ctx,
      {"step_advanced", r.track, r.id, r.canary, reason.empty() ? "advanced to step " + std::to_string(r.step) : reason,
       merge(merge(from, evidence), {{"to_step", r.step},
                                     {"to_percentage", percentage_json(r.steps_bp[static_cast<size_t>(r.step)])},
                                     {"to_shadow", r.shadow_step()}})},
      now);
  return {};
}

// The pins to a version taken out (by a rollback or an undo) are cut or
// drain as the rollout's policy says (the default, cut, when its stored
// policy cannot be read); the event's evidence says how many.
json release_pins(Context& ctx, const store::RolloutRecord& r, const std::string& version, TimeMs now) {
  auto policy = read_stored_policy(r);
  const gate::Policy p = policy.ok() ? *policy : gate::Policy{};
  const std::int64_t n = release_sessions(ctx, r.track, version, p, now);
  if (n == 0)
    return json::object();
  json s = {{"pinned", n}, {"on_rollback", gate::to_string(p.on_rollback)}};
  if (p.on_rollback == gate::OnRollback::drain)
    s["drain_until"] = format_rfc3339(now + p.drain_seconds * 1000);
  return {{"sessions", s}};
}

void apply_rollback(Context& ctx, store::RolloutRecord& r, const std::string& reason, const json& evidence) {
  r.state = store::RolloutState::rolled_back;
  r.ended_at = transition_time(ctx, r.track);
  ctx.store.update_rollout(r);
  append_event(ctx,
               {"rolled_back", r.track, r.id, r.canary, reason.empty() ? "canary rolled back" : reason,
                merge(merge(rollout_evidence(r), release_pins(ctx, r, r.canary, *r.ended_at)), evidence)},
               r.ended_at);
}

Result<store::RolloutRecord> promote(Context& ctx, const TransitionInput& in, bool full) {
  store::RolloutRecord r;
  auto result = ctx.store.write([&]() -> Result<void> {
    auto open = load_open(ctx, in.track, in.expect, "promote");
    KANARI_TRY(open);
    r = std::move(*open);
    return apply_promote(ctx, r, full, in.reason, in.evidence);
  });
  KANARI_TRY(result);
  return r;
}

Result<store::RolloutRecord> rollback(Context& ctx, const TransitionInput& in) {
  store::RolloutRecord r;
  auto result = ctx.store.write([&]() -> Result<void> {
    auto open = load_open(ctx, in.track, in.expect, "roll back");
    KANARI_TRY(open);
    r = std::move(*open);
    apply_rollback(ctx, r, in.reason, in.evidence);
    return {};
  });
  KANARI_TRY(result);
  return r;
}

Result<store::RolloutRecord> undo_promotion(Context& ctx, const TransitionInput& in) {
  KANARI_TRY(validate_track_name(in.track));
  store::RolloutRecord r;
  auto result = ctx.store.write([&]() -> Result<void> {
    if (auto open = ctx.store.open_rollout(in.track))
      return conflict_error("cannot undo: rollout " + std::to_string(open->id) +
                            " is open; `kanari canary rollback` takes a canary out");
    auto latest = ctx.store.latest_rollout(in.track);
    if (!latest)
      return not_found_error("cannot undo: track '" + in.track + "' has never had a rollout");
    r = std::move(*latest);
    if (in.expect.rollout && *in.expect.rollout != r.id)
      return conflict_error("cannot undo: the track's latest rollout is " + std::to_string(r.id) + ", not " +
                            std::to_string(*in.expect.rollout));
    if (r.state != store::RolloutState::promoted)
      return conflict_error("cannot undo: the track's latest rollout (" + std::to_string(r.id) + ") was " +
                            std::string(store::to_string(r.state)) + ", not promoted; nothing to take back");
    if (ctx.store.stable_of(in.track) != r.canary)
      return conflict_error("cannot undo: the stable has changed since rollout " + std::to_string(r.id) +
                            " was promoted; start a rollout of the version you want instead");
    ctx.store.set_stable(in.track, r.stable);
    const TimeMs now = transition_time(ctx, in.track);
    append_event(ctx,
                 {"stable_set", in.track, std::nullopt, r.stable,
                  in.reason.empty() ? "undo of rollout " + std::to_string(r.id) + "'s promotion" : in.reason,
                  merge(merge(json{{"undo_of", r.id}, {"version", r.stable}, {"previous_stable", r.canary}},
                              release_pins(ctx, r, r.canary, now)),
                        in.evidence)},
                 now);
    return {};
  });
  KANARI_TRY(result);
  return r;
}

namespace {

Result<store::RolloutRecord> simple_transition(Context& ctx, const TransitionInput& in, const char* verb,
                                               std::optional<store::RolloutState> required,
                                               const std::function<void(store::RolloutRecord&)>& change,
                                               const char* action, const char* default_reason) {
  store::RolloutRecord r;
  auto result = ctx.store.write([&]() -> Result<void> {
    auto open = load_open(ctx, in.track, in.expect, verb);
    KANARI_TRY(open);
    r = std::move(*open);
    if (required && r.state != *required)
      return conflict_error(std::string("cannot ") + verb + ": the rollout is " +
                            std::string(store::to_string(r.state)) + ", not " +
                            std::string(store::to_string(*required)));
    change(r);
    ctx.store.update_rollout(r);
    append_event(ctx, {action, r.track, r.id, r.canary, in.reason.empty() ? default_reason : in.reason,
                       merge(rollout_evidence(r), in.evidence)});
    return {};
  });
  KANARI_TRY(result);
  return r;
}

} // namespace

Result<store::RolloutRecord> pause(Context& ctx, const TransitionInput& in) {
  return simple_transition(
      ctx, in, "pause", store::RolloutState::active,
      [](store::RolloutRecord& r) { r.state = store::RolloutState::paused; }, "paused", "rollout paused");
}

Result<store::RolloutRecord> resume(Context& ctx, const TransitionInput& in) {
  return simple_transition(
      ctx, in, "resume", store::RolloutState::paused,
      [](store::RolloutRecord& r) { r.state = store::RolloutState::active; }, "resumed", "rollout resumed");
}

Result<store::RolloutRecord> approve(Context& ctx, const TransitionInput& in) {
  return simple_transition(
      ctx, in, "approve", std::nullopt, [](store::RolloutRecord& r) { r.approved_step = r.step; }, "approved",
      "step approved");
}

} // namespace kanari::rollout
