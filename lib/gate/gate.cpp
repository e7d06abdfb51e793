// evaluate(): the order in which the gate's conditions are checked (docs/gates.md,
// "Order of evaluation" and "Decisions") and the reasons and evidence that
// explain the verdict.
//
// There is one decision path. The reasons, evidence and estimate are built
// only when a Report is passed (Detail::full); the simulator passes none
// (Detail::verdict_only) and so runs the same comparisons without
// allocating.
#include "gate/gate.hpp"

#include "gate/stats.hpp"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace kanari::gate {

using nlohmann::json;

namespace {

// --- formatting (only reached with a Report) --------------------------------

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string general(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// a and b, scaled, with one decimal; when `strict` (the text will say a > b)
// and one decimal would print "10.0 > 10.0", with as many more as it takes
// (up to 6).
std::pair<std::string, std::string> distinct(double a, double b, double scale, bool strict) {
  std::pair<std::string, std::string> out;
  for (int d = 1; d <= 6; ++d) {
    out = {fixed(a * scale, d), fixed(b * scale, d)};
    if (!strict || out.first != out.second)
      break;
  }
  return out;
}

std::string ratio_text(std::int64_t pass, std::int64_t n) {
  return std::to_string(pass) + "/" + std::to_string(n) + " = " +
         fixed(100.0 * static_cast<double>(pass) / static_cast<double>(n), 1) + " %";
}

std::string versus(Counts c, Counts s) {
  return "canary " + ratio_text(c.pass, c.n) + " vs stable " + ratio_text(s.pass, s.n);
}

double rate(Counts c) { return static_cast<double>(c.pass) / static_cast<double>(c.n); }

struct Report {
  std::vector<std::string> reasons;
  json gates = json::array();
  json sequential;
  std::optional<std::int64_t> more_canary_tasks;
};

// --- the pass-rate gate -------------------------------------------------------

void report_threshold(const Policy& p, Counts c, Counts s, PassRateCall call, Report& r) {
  const double allowed = static_cast<double>(p.max_regression_ppm) / 1e6;
  const double sr = rate(s), cr = rate(c);
  const bool relative = p.regression == Regression::relative;
  json value = nullptr;
  std::string what;
  if (!relative) {
    value = sr - cr;
    auto [worse, limit] = distinct(sr - cr, allowed, 100.0, call == PassRateCall::rollback);
    what = worse + " points worse";
    if (call == PassRateCall::rollback)
      what += " > " + limit + " allowed";
    else if (call == PassRateCall::hold)
      what += ", within the " + limit + " allowed, but below stable";
  } else if (sr > 0) {
    value = (sr - cr) / sr;
    auto [worse, limit] = distinct((sr - cr) / sr, allowed, 100.0, call == PassRateCall::rollback);
    what = worse + " % worse relative to stable";
    if (call == PassRateCall::rollback)
      what += " > " + limit + " % allowed";
    else if (call == PassRateCall::hold)
      what += ", within the " + limit + " % allowed, but below stable";
  }
  std::string text = "pass rate: " + versus(c, s);
  if (call == PassRateCall::promote)
    text += relative && sr == 0 ? ": stable passes nothing, so the canary cannot be worse"
                                : ": canary is not worse than stable";
  else
    text += ": " + what;
  if (call == PassRateCall::hold)
    text += "; holding";
  r.reasons.push_back(std::move(text));
  r.gates.push_back({{"gate", "pass_rate"},
                     {"regression", to_string(p.regression)},
                     {"value", value},
                     {"threshold", allowed},
                     {"result", call == PassRateCall::rollback  ? "rollback"
                                : call == PassRateCall::promote ? "promote"
                                                                : "hold"}});
}

void report_sequential(const Policy& p, Counts c, Counts s, const SequentialBounds& b, double margin, PassRateCall call,
                       Report& r) {
  const std::string level = general(100.0 * (1.0 - p.alpha)) + " %";
  std::string text = "sequential pass rate: " + versus(c, s) + ": difference " + fixed(100.0 * b.diff, 1) +
                     " points, " + level + " always-valid bounds [" + fixed(100.0 * b.lower, 1) + ", " +
                     fixed(100.0 * b.upper, 1) + "] points";
  if (call == PassRateCall::rollback) {
    text += ": upper bound below 0, canary is worse than stable";
  } else if (call == PassRateCall::promote) {
    auto [lower, limit] = distinct(b.lower, -margin, 100.0, true);
    text += ": lower bound " + lower + " > " + limit + " allowed, canary is non-inferior";
  } else {
    auto [lower, limit] = distinct(b.lower, -margin, 100.0, false);
    text += ": lower bound " + lower + " <= " + limit + " allowed and upper bound >= 0; holding";
    r.more_canary_tasks = sequential_more_canary_tasks(c, s, p.alpha, p.planned_samples, margin);
    if (r.more_canary_tasks)
      text += " (about " + std::to_string(*r.more_canary_tasks) + " more canary tasks at the current effect)";
    else
      text += " (no number of further tasks decides at the current effect)";
  }
  r.reasons.push_back(std::move(text));
  const char* result = call == PassRateCall::rollback ? "rollback" : call == PassRateCall::promote ? "promote" : "hold";
  r.sequential = {{"diff", b.diff},   {"variance", b.variance}, {"rho", b.rho},    {"halfwidth", b.halfwidth},
                  {"lower", b.lower}, {"upper", b.upper},       {"margin", margin}};
  r.gates.push_back({{"gate", "pass_rate_sequential"},
                     {"value", b.lower},
                     {"upper", b.upper},
                     {"threshold", -margin},
                     {"result", result}});
}

PassRateCall pass_rate_gate(const Policy& p, Counts c, Counts s, Report* r) {
  if (p.method == Method::threshold) {
    const auto call = threshold_call(c, s, p.max_regression_ppm, p.regression);
    if (r)
      report_threshold(p, c, s, call, *r);
    return call;
  }
  double margin = static_cast<double>(p.max_regression_ppm) / 1e6;
  if (p.regression == Regression::relative)
    margin *= rate(s);
  const auto b = sequential_bounds(c, s, p.alpha, p.planned_samples);
  const auto call = sequential_call(b, margin);
  if (r)
    report_sequential(p, c, s, b, margin, call, *r);
  return call;
}

// --- metric gates ---------------------------------------------------------------

struct MetricTally {
  bool rollback = false;
  bool hold = false;
};

std::optional<double> metric_value(std::string_view metric, const ArmSample& a) {
  if (metric == "latency_p95_ms")
    return a.latency_p95_ms;
  if (metric == "cost_mean")
    return a.cost_mean;
  if (metric == "tokens_mean")
    return a.tokens_mean;
  if (metric == "error_rate" && a.n > 0)
    return static_cast<double>(a.errors) / static_cast<double>(a.n);
  return std::nullopt;
}

std::string metric_text(std::string_view metric, double v) {
  if (metric == "error_rate")
    return fixed(100.0 * v, 1) + " %";
  if (metric == "latency_p95_ms")
    return general(v) + " ms";
  return general(v);
}

enum class Bound { max, max_regression, max_ratio };

void check_bound(const MetricGate& g, Bound bound, double limit, std::optional<double> cv, std::optional<double> bv,
                 MetricTally& tally, Report* r) {
  const bool needs_baseline = bound != Bound::max;
  const char* bound_name = bound == Bound::max              ? "max"
                           : bound == Bound::max_regression ? "max_regression"
                                                            : "max_ratio";
  if (!cv || (needs_baseline && !bv)) {
    if (r) {
      const std::string missing = !cv && needs_baseline && !bv ? "canary and stable have"
                                  : !cv                        ? "canary has"
                                                               : "stable has";
      r->reasons.push_back(g.metric + " " + bound_name + " gate skipped: " + missing + " no " + g.metric + " data");
      r->gates.push_back(
          {{"gate", g.metric + "." + bound_name}, {"value", nullptr}, {"threshold", limit}, {"result", "skipped"}});
    }
    return;
  }
  bool violation = false;
  switch (bound) {
  case Bound::max: violation = *cv > limit; break;
  case Bound::max_regression: violation = *cv - *bv > limit * *bv; break;
  case Bound::max_ratio: violation = *cv > limit * *bv; break;
  }
  if (violation)
    (g.on_fail == OnFail::rollback ? tally.rollback : tally.hold) = true;
  if (!r)
    return;
  json value = *cv;
  std::string text = g.metric + ": canary " + metric_text(g.metric, *cv);
  if (bound == Bound::max) {
    text += violation ? " > max " : " <= max ";
    text += metric_text(g.metric, limit);
  } else {
    text += " vs stable " + metric_text(g.metric, *bv) + ": ";
    if (*bv > 0) {
      const double x = bound == Bound::max_regression ? (*cv - *bv) / *bv : *cv / *bv;
      value = x;
      if (bound == Bound::max_regression) {
        auto [a, b] = distinct(x, limit, 100.0, violation);
        text += a + " % worse, " + (violation ? "more than " : "within ") + b + " % allowed";
      } else {
        text += "ratio " + general(x) + (violation ? " > " : " <= ") + general(limit) + " allowed";
      }
    } else {
      value = nullptr;
      text += violation ? "stable is 0, so any canary value is an unbounded regression" : "both are 0";
    }
  }
  if (violation)
    text += std::string(" (violation: ") + (g.on_fail == OnFail::rollback ? "rollback" : "hold") + ")";
  r->reasons.push_back(std::move(text));
  r->gates.push_back({{"gate", g.metric + "." + bound_name},
                      {"value", value},
                      {"threshold", limit},
                      {"on_fail", to_string(g.on_fail)},
                      {"result", violation ? "violation" : "pass"}});
}

void metric_gates(const Policy& p, const GateInput& in, MetricTally& tally, Report* r) {
  for (const auto& g : p.metrics) {
    const auto cv = metric_value(g.metric, in.canary);
    const auto bv = metric_value(g.metric, in.baseline);
    if (g.max)
      check_bound(g, Bound::max, *g.max, cv, bv, tally, r);
    if (g.max_regression)
      check_bound(g, Bound::max_regression, *g.max_regression, cv, bv, tally, r);
    if (g.max_ratio)
      check_bound(g, Bound::max_ratio, *g.max_ratio, cv, bv, tally, r);
  }
}

// --- the verdict ------------------------------------------------------------------

void check_input(const GateInput& in) {
  for (const ArmSample* a : {&in.canary, &in.baseline}) {
    const char* arm = a == &in.canary ? "canary" : "baseline";
    if (a->n < 0 || a->pass < 0 || a->errors < 0 || a->pass > a->n || a->errors > a->n || a->n > k_max_count)
      throw std::invalid_argument(std::string("gate input: invalid ") + arm + " counts n=" + std::to_string(a->n) +
                                  " pass=" + std::to_string(a->pass) + " errors=" + std::to_string(a->errors));
    // A NaN compares false with every bound (so it would pass a `max` gate),
    // and no latency, cost or token count is negative.
    for (const auto& [value, name] : {std::pair{&a->latency_p95_ms, "latency_p95_ms"},
                                      std::pair{&a->cost_mean, "cost_mean"}, std::pair{&a->tokens_mean, "tokens_mean"}})
      if (*value && (!std::isfinite(**value) || **value < 0))
        throw std::invalid_argument(std::string("gate input: ") + arm + " " + name + " must be a finite number >= 0");
  }
  if (in.promote_streak < 0 || in.step_elapsed_seconds < 0)
    throw std::invalid_argument("gate input: negative promote_streak or step_elapsed_seconds");
}

// Adds a reason; `make` runs only with a Report, so verdict_only builds no
// strings.
template <typename F> void add(Report* r, F&& make) {
  if (r)
    r->reasons.push_back(make());
}

std::string deadline_text(const Policy& p, const GateInput& in) {
  return "step deadline passed: " + std::to_string(in.step_elapsed_seconds) + " s >= max_step_seconds " +
         std::to_string(*p.max_step_seconds) + "; on_timeout \"" + std::string(to_string(p.on_timeout)) + "\"";
}

// A pass-rate PROMOTE (or an on_timeout promote) still has to clear the
// pause, the minimum step time and approval.
Verdict promote_path(const Policy& p, const GateInput& in, Report* r) {
  if (in.paused) {
    add(r, [] { return std::string("rollout is paused: not promoting"); });
    return Verdict::hold;
  }
  if (in.step_elapsed_seconds < p.min_step_seconds) {
    add(r, [&] {
      return "step has run " + std::to_string(in.step_elapsed_seconds) + " s of min_step_seconds " +
             std::to_string(p.min_step_seconds);
    });
    return Verdict::hold;
  }
  const bool needs_approval =
      p.require_approval == Approval::every || (p.require_approval == Approval::final_step && in.final_step);
  if (needs_approval && !in.approved) {
    add(r, [&] {
      return "promotion requires approval (require_approval \"" + std::string(to_string(p.require_approval)) +
             "\") and none was granted";
    });
    return Verdict::awaiting_approval;
  }
  return Verdict::promote;
}

Verdict on_deadline(const Policy& p, const GateInput& in, Report* r) {
  add(r, [&] { return deadline_text(p, in); });
  switch (p.on_timeout) {
  case OnTimeout::rollback: return Verdict::rollback;
  case OnTimeout::promote: return promote_path(p, in, r);
  case OnTimeout::hold: break;
  }
  return Verdict::hold;
}

Verdict decide(const Policy& p, const GateInput& in, Report* r) {
  if (!in.has_rollout) {
    add(r, [] { return std::string("no active rollout on this track"); });
    return Verdict::no_canary;
  }
  check_input(in);
  // A paused rollout is held by a person: its deadline does not act.
  const bool deadline = !in.paused && p.max_step_seconds && in.step_elapsed_seconds >= *p.max_step_seconds;

  const std::int64_t min_stable = std::max<std::int64_t>(1, p.effective_min_stable_samples());
  const bool canary_short = in.canary.n < p.min_samples;
  const bool stable_short = in.baseline.n < min_stable;
  if (canary_short || stable_short) {
    if (r) {
      if (canary_short) {
        r->reasons.push_back("insufficient data: canary " + std::to_string(in.canary.n) + "/" +
                             std::to_string(p.min_samples) + " tasks");
        r->more_canary_tasks = p.min_samples - in.canary.n;
      }
      if (stable_short)
        r->reasons.push_back("insufficient data: stable " + std::to_string(in.baseline.n) + "/" +
                             std::to_string(min_stable) + " tasks");
    }
    return deadline ? on_deadline(p, in, r) : Verdict::insufficient_data;
  }

  const Counts c{in.canary.pass, in.canary.n}, s{in.baseline.pass, in.baseline.n};
  const PassRateCall call = pass_rate_gate(p, c, s, r);
  MetricTally tally;
  metric_gates(p, in, tally, r);

  if (call == PassRateCall::rollback || tally.rollback)
    return Verdict::rollback;
  if (tally.hold) {
    if (!deadline)
      return Verdict::hold;
    // on_timeout "promote" never overrides a violated gate.
    if (p.on_timeout == OnTimeout::rollback)
      return on_deadline(p, in, r);
    add(r, [&] { return deadline_text(p, in) + ", but a metric gate is violated: holding"; });
    return Verdict::hold;
  }
  if (call == PassRateCall::hold)
    return deadline ? on_deadline(p, in, r) : Verdict::hold;
  return promote_path(p, in, r);
}

json arm_json(const ArmSample& a) {
  auto opt = [](std::optional<double> v) { return v ? json(*v) : json(nullptr); };
  json j = {{"n", a.n},
            {"pass", a.pass},
            {"errors", a.errors},
            {"latency_p95_ms", opt(a.latency_p95_ms)},
            {"cost_mean", opt(a.cost_mean)},
            {"tokens_mean", opt(a.tokens_mean)}};
  if (a.n > 0) {
    const double n = static_cast<double>(a.n);
    const auto w = wilson_interval(a.pass, a.n);
    j["pass_rate"] = static_cast<double>(a.pass) / n;
    j["pass_rate_wilson95"] = {w.lo, w.hi};
    j["error_rate"] = static_cast<double>(a.errors) / n;
  } else {
    j["pass_rate"] = nullptr;
    j["pass_rate_wilson95"] = nullptr;
    j["error_rate"] = nullptr;
  }
  return j;
}

json params_json(const Policy& p) {
  json j = {{"min_samples", p.min_samples},
            {"min_stable_samples", p.effective_min_stable_samples()},
            {"max_regression", static_cast<double>(p.max_regression_ppm) / 1e6},
            {"max_regression_ppm", p.max_regression_ppm},
            {"regression", to_string(p.regression)},
            {"min_step_seconds", p.min_step_seconds},
            {"max_step_seconds", p.max_step_seconds ? json(*p.max_step_seconds) : json(nullptr)},
            {"on_timeout", to_string(p.on_timeout)},
            {"consecutive", p.consecutive},
            {"require_approval", to_string(p.require_approval)}};
  if (p.method == Method::sequential) {
    j["alpha"] = p.alpha;
    j["planned_samples"] = p.planned_samples;
  }
  return j;
}

} // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
  case Verdict::promote: return "PROMOTE";
  case Verdict::hold: return "HOLD";
  case Verdict::rollback: return "ROLLBACK";
  case Verdict::insufficient_data: return "INSUFFICIENT_DATA";
  case Verdict::awaiting_approval: return "AWAITING_APPROVAL";
  case Verdict::no_canary: return "NO_CANARY";
  }
  return "?";
}

GateResult evaluate(const Policy& policy, const GateInput& in) { return evaluate(policy, in, Detail::full); }

GateResult evaluate(const Policy& policy, const GateInput& in, Detail detail) {
  GateResult result;
  if (detail == Detail::verdict_only) {
    result.verdict = decide(policy, in, nullptr);
  } else {
    Report report;
    result.verdict = decide(policy, in, &report);
    result.reasons = std::move(report.reasons);
    if (result.verdict == Verdict::hold || result.verdict == Verdict::insufficient_data)
      result.more_canary_tasks = report.more_canary_tasks;
    result.evidence = {{"method", to_string(policy.method)},
                       {"params", params_json(policy)},
                       {"canary", arm_json(in.canary)},
                       {"baseline", arm_json(in.baseline)},
                       {"step_state",
                        {{"elapsed_seconds", in.step_elapsed_seconds},
                         {"final_step", in.final_step},
                         {"approved", in.approved},
                         {"paused", in.paused},
                         {"promote_streak", in.promote_streak}}},
                       {"gates", std::move(report.gates)}};
    if (!report.sequential.is_null())
      result.evidence["sequential"] = std::move(report.sequential);
  }
  result.apply_promote = result.verdict == Verdict::promote && in.promote_streak >= policy.consecutive - 1;
  if (detail == Detail::full) {
    if (result.verdict == Verdict::promote && !result.apply_promote)
      result.reasons.push_back("PROMOTE " + std::to_string(in.promote_streak + 1) + " of " +
                               std::to_string(policy.consecutive) + " consecutive required: not applied yet");
    result.evidence["verdict"] = to_string(result.verdict);
    result.evidence["apply_promote"] = result.apply_promote;
  }
  return result;
}

} // namespace kanari::gate
