#include "rollout/evaluate.hpp"

#include "rollout/lifecycle.hpp"

namespace kanari::rollout {

using nlohmann::json;

bool in_shadow_step(const store::RolloutRecord& r) { return r.shadow_step(); }

gate::Policy rollout_policy(const store::RolloutRecord& r) {
  const json stored = json::parse(r.policy, nullptr, /*allow_exceptions=*/false);
  if (stored.is_discarded())
    throw store::StoreFailure("rollout " + std::to_string(r.id) + " has a stored policy that is not JSON");
  auto p = gate::parse_policy(stored);
  if (!p.ok())
    throw store::StoreFailure("rollout " + std::to_string(r.id) +
                              " has a policy this kanari cannot read: " + p.error().message);
  return *p;
}

Samples load_samples(Context& ctx, const store::RolloutRecord& r, const gate::Policy& policy) {
  Samples s;
  store::SampleQuery q;
  q.rollout_id = r.id;
  q.arm = store::Arm::canary;
  q.step = r.step;
  q.track = r.track;
  q.top_up_version = r.stable;
  for (const auto& g : policy.metrics)
    q.metrics.push_back({g.source, g.percentile()});
  s.canary = ctx.store.sample_stats(q);
  q.arm = store::Arm::stable;
  q.step.reset();
  s.baseline = ctx.store.sample_stats(q);
  const std::int64_t want = policy.effective_min_stable_samples();
  if (s.baseline.n < want) {
    q.top_up = want - s.baseline.n;
    s.baseline = ctx.store.sample_stats(q);
    s.baseline_top_up = s.baseline.n - (want - q.top_up);
  }
  if (in_shadow_step(r)) {
    store::PairQuery pq{r.id, r.step, {}};
    for (const auto& g : policy.metrics)
      if (g.paired)
        pq.metrics.push_back(g.source);
    s.paired = ctx.store.paired_sample(pq);
  }
  return s;
}

namespace {

gate::ArmSample arm_sample(const store::SampleStats& s) {
  return {s.n, s.pass, s.errors, s.latency_p95_ms, s.cost_mean, s.tokens_mean, s.metrics};
}

gate::PairedInput paired_input(const store::PairedSample& p, const gate::Policy& policy) {
  // The store read the paired gates' metrics only, in the policy's order.
  gate::PairedInput in{p.pairs, p.both_pass, p.stable_only, p.canary_only, p.both_fail, {}};
  size_t next = 0;
  for (const auto& g : policy.metrics)
    in.metrics.push_back(g.paired && next < p.metrics.size() ? p.metrics[next++]
                                                             : std::vector<std::pair<double, double>>{});
  return in;
}

} // namespace

Result<Evaluation> evaluate_track(Context& ctx, const std::string& track, Apply apply) {
  KANARI_TRY(validate_track_name(track));
  Evaluation ev;
  auto body = [&]() -> Result<void> {
    ev = {}; // a transaction run again starts afresh
    ev.track = track;
    auto open = ctx.store.open_rollout(track);
    if (!open) {
      ev.gate = gate::evaluate(gate::Policy{}, gate::GateInput{});
      return {};
    }
    store::RolloutRecord r = std::move(*open);
    const gate::Policy policy = rollout_policy(r);
    ev.samples = load_samples(ctx, r, policy);
    gate::GateInput in;
    in.has_rollout = true;
    in.paused = r.state == store::RolloutState::paused;
    in.canary = arm_sample(ev.samples.canary);
    in.baseline = arm_sample(ev.samples.baseline);
    in.step_elapsed_seconds = std::max<TimeMs>(0, ctx.clock.now_ms() - r.step_started_at) / 1000;
    in.final_step = r.step + 1 >= static_cast<std::int64_t>(r.steps_bp.size());
    in.approved = r.approved_step && *r.approved_step == r.step;
    in.promote_streak = r.promote_streak;
    if (ev.samples.paired)
      in.paired = paired_input(*ev.samples.paired, policy);
    ev.gate = gate::evaluate(policy, in);
    ev.gate.evidence["policy_sha256"] = r.policy_sha256;
    ev.gate.evidence["rollout"] = r.id;
    ev.gate.evidence["step"] = r.step;
    ev.gate.evidence["baseline_top_up"] = ev.samples.baseline_top_up;
    // Past 100,000 outcomes a window is read from its sums, and its
    // percentiles from buckets within 0.5 % (docs/gates.md, "Large windows").
    auto how = [](const store::SampleStats& s) { return s.percentiles_from_buckets ? "buckets" : "exact"; };
    ev.gate.evidence["percentiles"] = {{"canary", how(ev.samples.canary)}, {"stable", how(ev.samples.baseline)}};

    if (apply == Apply::yes) {
      std::string reason;
      for (const auto& s : ev.gate.reasons)
        reason += (reason.empty() ? "" : "; ") + s;
      reason = "gate " + std::string(gate::to_string(ev.gate.verdict)) + ": " + reason;
      const json evidence = {{"gate", ev.gate.evidence}, {"verdict", gate::to_string(ev.gate.verdict)}};
      ev.reason = reason;
      if (ev.gate.verdict == gate::Verdict::rollback) {
        apply_rollback(ctx, r, reason, evidence);
        ev.applied = true;
        ev.action = "rolled_back";
      } else if (ev.gate.verdict == gate::Verdict::promote && ev.gate.apply_promote) {
        KANARI_TRY(apply_promote(ctx, r, /*full=*/false, reason, evidence)); // refused: nothing written
        ev.applied = true;
        ev.action = r.state == store::RolloutState::promoted ? "promoted" : "advanced";
      } else {
        // The anti-flapping streak counts applied evaluations that said
        // PROMOTE in a row; any other verdict resets it.
        std::int64_t streak = ev.gate.verdict == gate::Verdict::promote ? r.promote_streak + 1 : 0;
        if (streak != r.promote_streak) {
          r.promote_streak = streak;
          ctx.store.update_rollout(r);
        }
      }
    }
    ev.rollout = r;
    return {};
  };
  auto r = apply == Apply::yes ? ctx.store.write(body) : ctx.store.read(body);
  KANARI_TRY(r);
  return ev;
}

Result<std::size_t> evaluate_all(Context& ctx, Apply apply,
                                 const std::function<void(const std::string&, const Result<Evaluation>&)>& each) {
  std::vector<std::string> tracks;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    tracks = ctx.store.tracks_with_open_rollouts();
    return {};
  }));
  for (const auto& track : tracks) {
    Result<Evaluation> ev = Error{ErrorCode::operational, ""};
    try {
      ev = evaluate_track(ctx, track, apply);
    } catch (const store::StoreFailure& e) {
      ev = operational_error(std::string(e.what()) +
                             "; check the store's disk and permissions, and run `kanari doctor`");
    } catch (const std::exception& e) {
      // A damaged row (a step outside its steps, say).
      ev = operational_error(std::string("cannot evaluate: ") + e.what() + "; run `kanari doctor`");
    }
    each(track, ev);
  }
  return tracks.size();
}

namespace {

json arm_json(const store::SampleStats& s) {
  return {{"n", s.n},
          {"pass", s.pass},
          {"pass_rate", s.n ? json(static_cast<double>(s.pass) / static_cast<double>(s.n)) : json(nullptr)}};
}

} // namespace

json gated_metrics_json(const gate::Policy& policy, const Samples& samples) {
  json out = json::array();
  for (size_t i = 0; i < policy.metrics.size(); ++i) {
    const auto& g = policy.metrics[i];
    auto arm = [&](const store::SampleStats& s) -> json {
      if (i >= s.metrics.size())
        return {{"n", 0}, {"value", nullptr}};
      const auto v = gate::aggregate_value(s.metrics[i], g.aggregate);
      return {{"n", s.metrics[i].n}, {"value", v ? json(*v) : json(nullptr)}};
    };
    out.push_back({{"metric", g.metric},
                   {"aggregate", gate::to_string(g.aggregate)},
                   {"direction", gate::to_string(g.direction)},
                   {"paired", g.paired},
                   {"canary", arm(samples.canary)},
                   {"stable", arm(samples.baseline)}});
  }
  return out;
}

json paired_json(const Samples& samples) {
  if (!samples.paired)
    return nullptr;
  const auto& p = *samples.paired;
  return {{"pairs", p.pairs},
          {"both_pass", p.both_pass},
          {"stable_only", p.stable_only},
          {"canary_only", p.canary_only},
          {"both_fail", p.both_fail}};
}

json verdict_json(const Evaluation& ev) {
  const auto& r = ev.rollout;
  return {{"track", ev.track},
          {"verdict", gate::to_string(ev.gate.verdict)},
          {"applied", ev.applied},
          {"action", ev.action},
          {"canary", arm_json(ev.samples.canary)},
          {"stable", arm_json(ev.samples.baseline)},
          {"reasons", ev.gate.reasons},
          {"more_canary_tasks", ev.gate.more_canary_tasks ? json(*ev.gate.more_canary_tasks) : json(nullptr)},
          {"rollout", r ? json(r->id) : json(nullptr)},
          {"state", r ? json(store::to_string(r->state)) : json("idle")},
          {"step", r ? json(r->step) : json(nullptr)},
          {"percentage", r && r->state != store::RolloutState::rolled_back
                             ? percentage_json(r->steps_bp.at(static_cast<size_t>(r->step)))
                             : json(0)},
          {"evidence", ev.gate.evidence}};
}

Result<Status> track_status(Context& ctx, const std::string& track) {
  KANARI_TRY(validate_track_name(track));
  Status st;
  st.track = track;
  auto r = ctx.store.read([&]() -> Result<void> {
    st.stable = ctx.store.stable_of(track);
    st.rollout = ctx.store.open_rollout(track);
    if (st.rollout) {
      st.policy = rollout_policy(*st.rollout);
      st.samples = load_samples(ctx, *st.rollout, st.policy);
    } else if ((st.last = ctx.store.latest_rollout(track))) {
      for (auto& e : ctx.store.events(track, 50))
        if (e.rollout == st.last->id && (e.action == "promoted" || e.action == "rolled_back")) {
          st.last_end = std::move(e);
          break;
        }
    }
    st.deliveries = delivery_summary(ctx, track);
    st.sessions = session_summary(ctx, track, st.stable, st.rollout);
    return {};
  });
  KANARI_TRY(r);
  return st;
}

} // namespace kanari::rollout
