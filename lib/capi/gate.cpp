// kanari_evaluate (a track's gate against the store, as `canary evaluate`)
// and kanari_gate (the pure gate on counts a runtime keeps itself).
#include "capi/handle.hpp"
#include "core/canonical_json.hpp"

#include "gate/gate.hpp"
#include "rollout/evaluate.hpp"
#include "rollout/lifecycle.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <utility>

namespace kanari::capi {

namespace {

using nlohmann::json;

int verdict_code(gate::Verdict v) {
  switch (v) {
  case gate::Verdict::promote: return KANARI_VERDICT_PROMOTE;
  case gate::Verdict::hold: return KANARI_VERDICT_HOLD;
  case gate::Verdict::rollback: return KANARI_VERDICT_ROLLBACK;
  case gate::Verdict::insufficient_data: return KANARI_VERDICT_INSUFFICIENT_DATA;
  case gate::Verdict::awaiting_approval: return KANARI_VERDICT_AWAITING_APPROVAL;
  case gate::Verdict::no_canary: return KANARI_VERDICT_NO_CANARY;
  }
  return KANARI_VERDICT_HOLD;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string number_text(double v) {
  if (std::isnan(v))
    return "NaN";
  if (std::isinf(v))
    return v > 0 ? "Infinity" : "-Infinity";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// A metric the gate compares with a bound: a NaN compares false with
// everything, so "NaN <= max" would pass a max gate; a latency, cost or token
// count below zero does not exist. Both are the caller's bug, refused here.
Result<double> metric(double v, const char* arm, const char* field) {
  if (!std::isfinite(v) || v < 0)
    return usage_error(std::string("invalid gate input: ") + arm + "." + field + " must be a finite number >= 0, got " +
                       number_text(v));
  return v;
}

Result<gate::ArmSample> arm_sample(const kanari_arm_counts& c, const char* name) {
  if (c.has & ~(KANARI_HAS_LATENCY_P95 | KANARI_HAS_COST_MEAN | KANARI_HAS_TOKENS_MEAN))
    return usage_error(std::string("unknown bits in ") + name + ".has: " + std::to_string(c.has));
  const std::string arm = std::string("invalid gate input: ") + name;
  for (auto [value, field] : {std::pair{c.n, "n"}, std::pair{c.pass, "pass"}, std::pair{c.errors, "errors"}})
    if (value < 0)
      return usage_error(arm + "." + field + " must be >= 0, got " + std::to_string(value));
  if (c.pass > c.n)
    return usage_error(arm + ".pass (" + std::to_string(c.pass) + ") must not exceed " + name + ".n (" +
                       std::to_string(c.n) + ")");
  if (c.errors > c.n)
    return usage_error(arm + ".errors (" + std::to_string(c.errors) + ") must not exceed " + name + ".n (" +
                       std::to_string(c.n) + ")");
  gate::ArmSample s;
  s.n = c.n;
  s.pass = c.pass;
  s.errors = c.errors;
  if (c.has & KANARI_HAS_LATENCY_P95) {
    auto v = metric(c.latency_p95_ms, name, "latency_p95_ms");
    KANARI_TRY(v);
    s.latency_p95_ms = *v;
  }
  if (c.has & KANARI_HAS_COST_MEAN) {
    auto v = metric(c.cost_mean, name, "cost_mean");
    KANARI_TRY(v);
    s.cost_mean = *v;
  }
  if (c.has & KANARI_HAS_TOKENS_MEAN) {
    auto v = metric(c.tokens_mean, name, "tokens_mean");
    KANARI_TRY(v);
    s.tokens_mean = *v;
  }
  return s;
}

} // namespace

} // namespace kanari::capi

using namespace kanari;

extern "C" {

KANARI_API kanari_status kanari_evaluate(kanari_store* store, const char* track, unsigned flags, int* verdict,
                                         char** json_out) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_evaluate: store must not be NULL");
  if (json_out)
    *json_out = nullptr;
  return capi::guarded(store, [&]() -> Result<int> {
    if (flags & ~KANARI_EVALUATE_APPLY)
      return usage_error("kanari_evaluate: unknown flags " + std::to_string(flags));
    auto t = capi::track_arg(track);
    KANARI_TRY(t);
    const auto apply = (flags & KANARI_EVALUATE_APPLY) ? rollout::Apply::yes : rollout::Apply::no;
    auto ev = rollout::evaluate_track(*store->ctx, *t, apply);
    if (apply == rollout::Apply::yes)
      store->tracks.erase(*t); // the rollout may have changed: route from the store again
    KANARI_TRY(ev);
    if (json_out)
      capi::return_string(capi::dump(rollout::verdict_json(*ev)), json_out);
    if (verdict)
      *verdict = capi::verdict_code(ev->gate.verdict);
    return ev->gate.verdict == gate::Verdict::rollback ? KANARI_NEGATIVE : KANARI_OK;
  });
}

KANARI_API kanari_status kanari_gate(const char* policy_json, const kanari_gate_input* input, int* verdict,
                                     char** json_out) {
  if (json_out)
    *json_out = nullptr;
  return capi::guarded(nullptr, [&]() -> Result<int> {
    if (!input)
      return usage_error("kanari_gate: input must not be NULL");
    gate::Policy policy;
    if (policy_json && *policy_json) {
      // The CLI's strict parser: no duplicate keys, and a depth limit, so a
      // deeply nested policy cannot overflow the host process's stack.
      auto j = core::parse_json(policy_json, "the policy");
      KANARI_TRY(j);
      auto p = gate::parse_policy(*j);
      KANARI_TRY(p);
      policy = std::move(*p);
    }
    gate::GateInput in;
    in.has_rollout = true;
    auto c = capi::arm_sample(input->canary, "canary");
    KANARI_TRY(c);
    auto s = capi::arm_sample(input->stable, "stable");
    KANARI_TRY(s);
    in.canary = *c;
    in.baseline = *s;
    in.step_elapsed_seconds = input->step_elapsed_seconds;
    in.paused = input->paused != 0;
    in.final_step = input->final_step != 0;
    in.approved = input->approved != 0;
    in.promote_streak = input->promote_streak;
    if (in.step_elapsed_seconds < 0)
      return usage_error("invalid gate input: step_elapsed_seconds must be >= 0, got " +
                         std::to_string(in.step_elapsed_seconds));
    if (in.promote_streak < 0)
      return usage_error("invalid gate input: promote_streak must be >= 0, got " + std::to_string(in.promote_streak));
    gate::GateResult r;
    try {
      r = gate::evaluate(policy, in, json_out ? gate::Detail::full : gate::Detail::verdict_only);
    } catch (const std::invalid_argument& e) {
      // Impossible counts (negative, pass > n) are the caller's input here.
      return usage_error(std::string("invalid gate input: ") + e.what());
    }
    if (json_out) {
      nlohmann::json j = {
          {"verdict", gate::to_string(r.verdict)},
          {"apply_promote", r.apply_promote},
          {"reasons", r.reasons},
          {"evidence", r.evidence},
          {"more_canary_tasks", r.more_canary_tasks ? nlohmann::json(*r.more_canary_tasks) : nlohmann::json(nullptr)}};
      capi::return_string(capi::dump(j), json_out);
    }
    if (verdict)
      *verdict = capi::verdict_code(r.verdict);
    return r.verdict == gate::Verdict::rollback ? KANARI_NEGATIVE : KANARI_OK;
  });
}

} // extern "C"
