#include "report/report.hpp"

#include "gate/gate.hpp"
#include "gate/stats.hpp"
#include "rollout/evaluate.hpp"
#include "rollout/lifecycle.hpp"
#include "util/time.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace kanari::report {

using nlohmann::json;

TimeMs bucket_width(TimeMs span_ms, int buckets) {
  static constexpr TimeMs k_s = 1000, k_min = 60 * k_s, k_h = 60 * k_min, k_d = 24 * k_h;
  static constexpr TimeMs k_widths[] = {k_s,        5 * k_s,    10 * k_s,   30 * k_s, k_min,   5 * k_min,
                                        10 * k_min, 15 * k_min, 30 * k_min, k_h,      2 * k_h, 3 * k_h,
                                        6 * k_h,    12 * k_h,   k_d,        2 * k_d,  7 * k_d};
  const TimeMs span = std::max<TimeMs>(span_ms, 1);
  const TimeMs n = std::max(buckets, 1);
  for (TimeMs w : k_widths)
    if ((span + w - 1) / w <= n)
      return w;
  const TimeMs w = (span + n - 1) / n;
  return (w + k_s - 1) / k_s * k_s;
}

namespace {

std::vector<StepSpan> step_spans(const store::RolloutRecord& r, const std::vector<store::EventRecord>& events,
                                 TimeMs end) {
  std::vector<StepSpan> spans;
  spans.push_back({0, r.steps_bp.at(0), r.shadow_steps > 0, r.started_at, end});
  for (const auto& e : events) {
    if (e.action != "step_advanced" && e.action != "promoted" && e.action != "rolled_back")
      continue;
    spans.back().to = e.at;
    if (e.action == "step_advanced") {
      auto ev = json::parse(e.evidence, nullptr, false);
      std::int64_t to = ev.is_object() && ev.contains("to_step") && ev["to_step"].is_number_integer()
                            ? ev["to_step"].get<std::int64_t>()
                            : spans.back().step + 1;
      to = std::clamp<std::int64_t>(to, 0, static_cast<std::int64_t>(r.steps_bp.size()) - 1);
      spans.push_back({to, r.steps_bp[static_cast<std::size_t>(to)], to < r.shadow_steps, e.at, end});
    } else {
      break; // the rollout ended: a promoted canary serves everyone as stable, a rolled back one no one
    }
  }
  return spans;
}

std::vector<Marker> markers(const store::RolloutRecord& r, const std::vector<store::EventRecord>& events) {
  std::vector<Marker> out;
  std::int64_t bp = r.steps_bp.at(0);
  bool shadow = r.shadow_steps > 0;
  for (const auto& e : events) {
    Marker m{e.seq, e.at, e.action, std::nullopt, bp, shadow, e.actor, e.reason};
    auto ev = json::parse(e.evidence, nullptr, false);
    if (ev.is_object() && ev.contains("verdict") && ev["verdict"].is_string())
      m.verdict = ev["verdict"].get<std::string>();
    if (e.action == "step_advanced" && ev.is_object() && ev.contains("to_step") && ev["to_step"].is_number_integer()) {
      auto to = std::clamp<std::int64_t>(ev["to_step"].get<std::int64_t>(), 0,
                                         static_cast<std::int64_t>(r.steps_bp.size()) - 1);
      bp = r.steps_bp[static_cast<std::size_t>(to)];
      shadow = to < r.shadow_steps;
    } else if (e.action == "promoted") {
      bp = 10000;
      shadow = false;
    } else if (e.action == "rolled_back") {
      bp = 0;
      shadow = false;
    }
    m.bp_after = bp;
    m.shadow_after = shadow;
    out.push_back(std::move(m));
  }
  return out;
}

// Log-spaced bins between the smallest positive and the largest latency
// (linear when they are equal or nothing is positive), and the counts.
LatencyHistogram histogram(std::vector<double>& canary, std::vector<double>& stable) {
  constexpr int k_bins = 30;
  LatencyHistogram h;
  double lo = INFINITY, hi = 0;
  for (const auto* v : {&canary, &stable})
    for (double x : *v) {
      if (x > 0)
        lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  if (canary.empty() && stable.empty())
    return h;
  h.log_scale = std::isfinite(lo) && hi > lo;
  if (h.log_scale) {
    const double a = std::log10(lo), b = std::log10(hi);
    for (int i = 0; i <= k_bins; ++i)
      h.edges_ms.push_back(std::pow(10.0, a + (b - a) * i / k_bins));
    h.edges_ms.front() = lo;
    h.edges_ms.back() = hi;
  } else {
    const double top = hi > 0 ? hi * 2 : 1.0;
    for (int i = 0; i <= k_bins; ++i)
      h.edges_ms.push_back(top * i / k_bins);
  }
  auto fill = [&](std::vector<double>& values, LatencyArm& arm) {
    arm.n = static_cast<std::int64_t>(values.size());
    arm.counts.assign(k_bins, 0);
    for (double x : values) {
      auto it = std::upper_bound(h.edges_ms.begin(), h.edges_ms.end(), x);
      auto bin = std::clamp<std::ptrdiff_t>(it - h.edges_ms.begin() - 1, 0, k_bins - 1);
      ++arm.counts[static_cast<std::size_t>(bin)];
    }
    arm.p50_ms = gate::nearest_rank(values, 0.50);
    arm.p95_ms = gate::nearest_rank(values, 0.95);
    arm.p99_ms = gate::nearest_rank(values, 0.99);
  };
  fill(canary, h.canary);
  fill(stable, h.stable);
  return h;
}

} // namespace

Result<RolloutReport> gather_report(rollout::Context& ctx, const std::string& track,
                                    std::optional<std::int64_t> rollout_id, int buckets) {
  KANARI_TRY(rollout::validate_track_name(track));
  if (buckets < 1 || buckets > k_max_buckets)
    return usage_error("--buckets must be in [1, " + std::to_string(k_max_buckets) + "], got " +
                       std::to_string(buckets));
  RolloutReport rep;
  rep.track = track;
  rep.generated_at = ctx.clock.now_ms();
  std::vector<double> canary_latency, stable_latency;
  gate::Policy policy;
  // Per gate, per arm (0 canary, 1 stable): a builder per bucket and one overall.
  std::vector<std::array<std::vector<SummaryBuilder>, 2>> per_bucket;
  std::vector<std::array<SummaryBuilder, 2>> overall;
  auto r = ctx.store.read([&]() -> Result<void> {
    per_bucket.clear();
    overall.clear();
    std::optional<store::RolloutRecord> ro;
    if (rollout_id) {
      ro = ctx.store.get_rollout(*rollout_id);
      if (!ro)
        return not_found_error("no rollout " + std::to_string(*rollout_id) +
                               "; `kanari history` lists the track's rollouts");
      if (ro->track != track)
        return not_found_error("rollout " + std::to_string(*rollout_id) + " is on track '" + ro->track + "', not '" +
                               track + "'; add --track " + ro->track);
    } else {
      ro = ctx.store.latest_rollout(track);
      if (!ro)
        return not_found_error("track '" + track + "' has no rollouts yet; start one with `kanari canary start`");
    }
    rep.rollout = *ro;
    const TimeMs end = ro->ended_at.value_or(rep.generated_at);
    const auto span = ctx.store.rollout_outcome_span(ro->id);
    rep.from = ro->started_at;
    rep.to = std::max(end, rep.from + 1000);
    if (span.n > 0) {
      rep.from = std::min(rep.from, span.first);
      rep.to = std::max(rep.to, span.last + 1);
    }
    rep.bucket_ms = bucket_width(rep.to - rep.from, buckets);
    const auto nb = static_cast<std::size_t>((rep.to - rep.from + rep.bucket_ms - 1) / rep.bucket_ms);
    for (std::size_t i = 0; i < nb; ++i) {
      const TimeMs s = rep.from + static_cast<TimeMs>(i) * rep.bucket_ms;
      rep.buckets.push_back({s, s + rep.bucket_ms, {}, {}});
    }
    rep.to = rep.buckets.back().end;
    policy = rollout::rollout_policy(*ro);
    std::vector<std::string> sources;
    for (const auto& g : policy.metrics) {
      sources.push_back(g.source);
      per_bucket.push_back({std::vector<SummaryBuilder>(nb, SummaryBuilder(g.percentile())),
                            std::vector<SummaryBuilder>(nb, SummaryBuilder(g.percentile()))});
      overall.push_back({SummaryBuilder(g.percentile()), SummaryBuilder(g.percentile())});
    }
    ctx.store.for_each_rollout_outcome(ro->id, sources, [&](const store::RolloutOutcome& o) {
      const bool canary_arm = o.arm == store::Arm::canary;
      if (o.counted != store::Counted::yes) {
        ArmCount& c = o.counted == store::Counted::late ? (canary_arm ? rep.late_canary : rep.late_stable)
                                                        : (canary_arm ? rep.backdated_canary : rep.backdated_stable);
        ++c.n;
        c.pass += o.pass ? 1 : 0;
        c.errors += o.error ? 1 : 0;
        return;
      }
      auto i = static_cast<std::size_t>(
          std::clamp<TimeMs>((o.at - rep.from) / rep.bucket_ms, 0, static_cast<TimeMs>(nb) - 1));
      const bool canary = o.arm == store::Arm::canary;
      for (ArmCount* c :
           {canary ? &rep.buckets[i].canary : &rep.buckets[i].stable, canary ? &rep.canary : &rep.stable}) {
        ++c->n;
        c->pass += o.pass ? 1 : 0;
        c->errors += o.error ? 1 : 0;
      }
      if (o.latency_ms)
        (o.arm == store::Arm::canary ? canary_latency : stable_latency).push_back(*o.latency_ms);
      for (std::size_t g = 0; g < o.metrics.size() && g < overall.size(); ++g)
        if (o.metrics[g]) {
          per_bucket[g][canary ? 0 : 1][i].add(*o.metrics[g]);
          overall[g][canary ? 0 : 1].add(*o.metrics[g]);
        }
    });
    for (auto& e : ctx.store.events(track, std::nullopt))
      if (e.rollout && *e.rollout == ro->id)
        rep.events.push_back(std::move(e));
    std::reverse(rep.events.begin(), rep.events.end()); // oldest first
    rep.steps = step_spans(*ro, rep.events, end);
    rep.sessions = rollout::session_summary(ctx, track, ctx.store.stable_of(track), ctx.store.open_rollout(track));
    for (auto& step : rep.steps)
      for (const auto& a : ctx.store.session_requests(ro->id, step.step))
        (a.arm == "canary"   ? step.session_canary
         : a.arm == "stable" ? step.session_stable
                             : step.session_previous) = a.requests;
    rep.markers = markers(*ro, rep.events);
    return {};
  });
  KANARI_TRY(r);
  rep.latency = histogram(canary_latency, stable_latency);
  for (std::size_t g = 0; g < policy.metrics.size(); ++g) {
    const auto& gate = policy.metrics[g];
    MetricSeries m{gate.metric,
                   std::string(gate::to_string(gate.aggregate)),
                   std::string(gate::to_string(gate.direction)),
                   {},
                   {}};
    for (int arm = 0; arm < 2; ++arm) {
      MetricArm& a = arm == 0 ? m.canary : m.stable;
      for (auto& b : per_bucket[g][static_cast<std::size_t>(arm)]) {
        const auto sum = b.finish();
        a.buckets.push_back(gate::aggregate_value(sum, gate.aggregate));
        a.bucket_n.push_back(sum.n);
      }
      const auto sum = overall[g][static_cast<std::size_t>(arm)].finish();
      a.value = gate::aggregate_value(sum, gate.aggregate);
      a.n = sum.n;
    }
    rep.metrics.push_back(std::move(m));
  }
  return rep;
}

namespace {

json opt(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json arm_bucket_json(const ArmCount& c) {
  auto ci = gate::wilson_interval(c.pass, c.n);
  return {{"n", c.n},
          {"pass", c.pass},
          {"pass_rate", c.n ? json(static_cast<double>(c.pass) / static_cast<double>(c.n)) : json(nullptr)},
          {"wilson95", c.n ? json::array({ci.lo, ci.hi}) : json(nullptr)}};
}

json count_json(const ArmCount& c) { return {{"n", c.n}, {"pass", c.pass}, {"errors", c.errors}}; }

json arm_summary_json(const ArmCount& s, const LatencyArm& l) {
  auto j = arm_bucket_json(s);
  j["errors"] = s.errors;
  j["latency_n"] = l.n;
  j["latency_p50_ms"] = opt(l.p50_ms);
  j["latency_p95_ms"] = opt(l.p95_ms);
  j["latency_p99_ms"] = opt(l.p99_ms);
  j["latency_histogram"] = l.counts;
  return j;
}

} // namespace

namespace {

// The share of a step's session requests each arm served, in percent
// (null before the first), beside the step's configured percentage.
json served_percentage(const StepSpan& s) {
  const std::int64_t n = s.session_stable + s.session_canary + s.session_previous;
  auto share = [&](std::int64_t k) {
    return n == 0 ? json(nullptr) : json(std::round(1e6 * static_cast<double>(k) / static_cast<double>(n)) / 1e4);
  };
  return {{"stable", share(s.session_stable)},
          {"canary", share(s.session_canary)},
          {"previous", share(s.session_previous)}};
}

} // namespace

json report_json(const RolloutReport& r) {
  const auto& ro = r.rollout;
  json steps = json::array();
  for (auto bp : ro.steps_bp)
    steps.push_back(rollout::percentage_json(bp));
  json buckets = json::array();
  for (const auto& b : r.buckets)
    buckets.push_back({{"start", format_rfc3339(b.start)},
                       {"end", format_rfc3339(b.end)},
                       {"canary", arm_bucket_json(b.canary)},
                       {"stable", arm_bucket_json(b.stable)}});
  json spans = json::array();
  for (const auto& s : r.steps)
    spans.push_back({{"step", s.step},
                     {"percentage", rollout::percentage_json(s.bp)},
                     {"shadow", s.shadow},
                     {"from", format_rfc3339(s.from)},
                     {"to", format_rfc3339(s.to)},
                     {"session_requests",
                      {{"stable", s.session_stable}, {"canary", s.session_canary}, {"previous", s.session_previous}}},
                     {"served_percentage", served_percentage(s)}});
  json metrics = json::array();
  for (const auto& m : r.metrics) {
    auto arm = [](const MetricArm& a) {
      json per_bucket = json::array();
      for (std::size_t i = 0; i < a.buckets.size(); ++i)
        per_bucket.push_back({{"value", opt(a.buckets[i])}, {"n", a.bucket_n[i]}});
      return json{{"value", opt(a.value)}, {"n", a.n}, {"buckets", per_bucket}};
    };
    metrics.push_back({{"metric", m.metric},
                       {"aggregate", m.aggregate},
                       {"direction", m.direction},
                       {"canary", arm(m.canary)},
                       {"stable", arm(m.stable)}});
  }
  json marks = json::array();
  for (const auto& m : r.markers)
    marks.push_back({{"seq", m.seq},
                     {"at", format_rfc3339(m.at)},
                     {"action", m.action},
                     {"verdict", m.verdict ? json(*m.verdict) : json(nullptr)},
                     {"percentage_after", rollout::percentage_json(m.bp_after)},
                     {"shadow_after", m.shadow_after},
                     {"actor", m.actor},
                     {"reason", m.reason}});
  return {{"track", r.track},
          {"rollout", ro.id},
          {"state", store::to_string(ro.state)},
          {"stable", ro.stable},
          {"canary", ro.canary},
          {"steps", steps},
          {"shadow", ro.shadow},
          {"shadow_steps", ro.shadow_steps},
          {"policy_sha256", ro.policy_sha256},
          {"started_at", format_rfc3339(ro.started_at)},
          {"ended_at", ro.ended_at ? json(format_rfc3339(*ro.ended_at)) : json(nullptr)},
          {"generated_at", format_rfc3339(r.generated_at)},
          {"from", format_rfc3339(r.from)},
          {"to", format_rfc3339(r.to)},
          {"bucket_seconds", static_cast<double>(r.bucket_ms) / 1000.0},
          {"buckets", buckets},
          {"arms",
           {{"canary", arm_summary_json(r.canary, r.latency.canary)},
            {"stable", arm_summary_json(r.stable, r.latency.stable)}}},
          {"late", {{"canary", count_json(r.late_canary)}, {"stable", count_json(r.late_stable)}}},
          {"backdated", {{"canary", count_json(r.backdated_canary)}, {"stable", count_json(r.backdated_stable)}}},
          {"latency_bins_ms", r.latency.edges_ms},
          {"latency_log_scale", r.latency.log_scale},
          {"metrics", metrics},
          {"timeline", spans},
          {"sessions",
           {{"pinned",
             {{"stable", r.sessions.pinned_stable},
              {"canary", r.sessions.pinned_canary},
              {"previous", r.sessions.pinned_previous}}},
            {"draining", r.sessions.draining},
            {"drain_until", r.sessions.drain_until ? json(format_rfc3339(*r.sessions.drain_until)) : json(nullptr)}}},
          {"markers", marks}};
}

} // namespace kanari::report
