// evaluate(): the order in which the gate's conditions are checked (docs/gates.md,
// "Order of evaluation" and "Decisions") and the reasons and evidence that
// explain the verdict.
//
// There is one decision path. The reasons, evidence and estimate are built
// only when a Report is passed (Detail::full); the simulator passes none
// (Detail::verdict_only) and so runs the same comparisons without
// allocating.
#include "gate/gate.hpp"

#include "gate/paired.hpp"
#include "gate/stats.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
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

const char* call_name(PassRateCall c) {
  return c == PassRateCall::rollback ? "rollback" : c == PassRateCall::promote ? "promote" : "hold";
}

// A gate's result in the evidence: a pass-rate HOLD waits for more data.
const char* call_result(PassRateCall c) {
  return c == PassRateCall::rollback ? "fail" : c == PassRateCall::promote ? "pass" : "inconclusive";
}

struct Report {
  std::vector<std::string> reasons;
  json gates = json::array();
  json sequential;
  json paired;
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
                     {"call", call_name(call)},
                     {"result", call_result(call)}});
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
  r.sequential = {{"diff", b.diff},   {"variance", b.variance}, {"rho", b.rho},    {"halfwidth", b.halfwidth},
                  {"lower", b.lower}, {"upper", b.upper},       {"margin", margin}};
  r.gates.push_back({{"gate", "pass_rate_sequential"},
                     {"value", b.lower},
                     {"upper", b.upper},
                     {"threshold", -margin},
                     {"call", call_name(call)},
                     {"result", call_result(call)}});
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
  bool rollback = false;     // a failed gate with on_fail "rollback"
  bool hold = false;         // a failed gate with on_fail "hold"
  bool inconclusive = false; // a gate short of values
  bool marginal = false;     // a gate between its bound and its target
};

// One arm's value of a gate: how many values it rests on, and the aggregate.
struct ArmValue {
  std::int64_t n = 0;
  std::optional<double> value;
};

// Gate i's value over an arm: from the arm's summaries, or, when the caller
// gave none, from the release-1 fields for the release-1 names.
ArmValue arm_value(const MetricGate& g, std::size_t i, const ArmSample& a) {
  if (i < a.metrics.size())
    return {a.metrics[i].n, aggregate_value(a.metrics[i], g.aggregate)};
  if (!a.metrics.empty())
    return {};
  auto field = [&](const std::optional<double>& v) { return v ? ArmValue{a.n, v} : ArmValue{}; };
  if (g.metric == "latency_p95_ms")
    return field(a.latency_p95_ms);
  if (g.metric == "cost_mean")
    return field(a.cost_mean);
  if (g.metric == "tokens_mean")
    return field(a.tokens_mean);
  if (g.metric == "error_rate" && a.n > 0)
    return {a.n, static_cast<double>(a.errors) / static_cast<double>(a.n)};
  return {};
}

std::string gate_name(const MetricGate& g) {
  return is_legacy_metric_gate(g.metric) ? g.metric : g.metric + " " + std::string(to_string(g.aggregate));
}

std::string value_text(const MetricGate& g, double v) {
  if (g.aggregate == Aggregate::rate)
    return fixed(100.0 * v, 1) + " %";
  if (g.source == "latency_ms")
    return general(v) + " ms";
  return general(v);
}

const char* result_name(bool fail, bool marginal) { return fail ? "fail" : marginal ? "marginal" : "pass"; }

// Evaluates gate i: its bounds on the canary, its comparison with the
// baseline and, in a shadow step with "paired": true, the Wilcoxon test on
// the pairs' differences.
void metric_gate(const Policy& p, const MetricGate& g, std::size_t i, const GateInput& in, MetricTally& tally,
                 Report* r) {
  const bool paired = g.paired && in.paired;
  ArmValue c, b;
  std::vector<double> differences;
  if (paired) {
    SummaryBuilder cs(g.percentile()), bs(g.percentile());
    if (i < in.paired->metrics.size())
      for (const auto& [stable, canary] : in.paired->metrics[i]) {
        bs.add(stable);
        cs.add(canary);
        // Two values near the largest double differ by more than it; the
        // signed-rank test needs only the differences' order.
        differences.push_back(
            std::clamp(canary - stable, -std::numeric_limits<double>::max(), std::numeric_limits<double>::max()));
      }
    const auto cv = cs.finish(), bv = bs.finish();
    c = {cv.n, aggregate_value(cv, g.aggregate)};
    b = {bv.n, aggregate_value(bv, g.aggregate)};
  } else {
    c = arm_value(g, i, in.canary);
    b = arm_value(g, i, in.baseline);
  }
  const bool lower = g.direction == Direction::lower_is_better;
  const bool needs_baseline = g.max_ratio || g.max_regression || paired;
  json entry;
  if (r)
    entry = {{"gate", "metric"},
             {"metric", g.metric},
             {"aggregate", to_string(g.aggregate)},
             {"direction", to_string(g.direction)},
             {"paired", paired},
             {"canary", c.value ? json(*c.value) : json(nullptr)},
             {"baseline", b.value ? json(*b.value) : json(nullptr)},
             {"canary_n", c.n},
             {"baseline_n", b.n},
             {"min_samples", g.min_samples},
             {"on_fail", to_string(g.on_fail)}};

  const bool canary_short = c.n < g.min_samples || !c.value;
  const bool baseline_short = needs_baseline && (b.n < g.min_samples || !b.value);
  if (canary_short || baseline_short) {
    tally.inconclusive = true;
    if (r) {
      std::string text = gate_name(g) + ": inconclusive, ";
      if (canary_short)
        text += std::string(paired ? "the pairs have " : "canary has ") + std::to_string(c.n) + " of the " +
                std::to_string(g.min_samples) + " values this gate needs";
      else
        text += "stable has " + std::to_string(b.n) + " of the " + std::to_string(g.min_samples) +
                " values this gate needs";
      r->reasons.push_back(text + "; holding");
      entry["bounds"] = json::object();
      entry["result"] = "inconclusive";
      r->gates.push_back(std::move(entry));
    }
    return;
  }
  const double cv = *c.value;
  const double bv = b.value.value_or(0.0);
  // A ratio compares quantities that cannot go below 0 (counts, costs,
  // times): with a negative value it would call a better canary worse.
  if (g.max_ratio && (cv < 0 || bv < 0)) {
    tally.inconclusive = true;
    if (r) {
      r->reasons.push_back(gate_name(g) + ": inconclusive, max_ratio compares values >= 0 and got canary " +
                           value_text(g, cv) + ", stable " + value_text(g, bv) + "; holding");
      entry["bounds"] = json::object();
      entry["result"] = "inconclusive";
      r->gates.push_back(std::move(entry));
    }
    return;
  }
  bool fail = false, marginal = false;
  std::vector<std::string> details;
  json bounds = json::object();
  auto bound = [&](const char* name, double limit, bool failed, std::string text) {
    fail = fail || failed;
    if (!r)
      return;
    bounds[name] = {{"limit", limit}, {"result", failed ? "fail" : "pass"}};
    details.push_back(std::move(text));
  };
  if (g.max)
    bound("max", *g.max, cv > *g.max, (cv > *g.max ? "above max " : "within max ") + value_text(g, *g.max));
  if (g.min)
    bound("min", *g.min, cv < *g.min, (cv < *g.min ? "below min " : "within min ") + value_text(g, *g.min));
  if (g.max_regression) {
    // How much worse the canary is, in the metric's direction, relative to
    // the baseline's magnitude; with a baseline of 0 any worsening fails.
    const double worse = lower ? cv - bv : bv - cv;
    const bool failed = worse > *g.max_regression * std::fabs(bv);
    std::string text;
    if (r) {
      if (bv != 0) {
        auto [a, lim] = distinct(worse / std::fabs(bv), *g.max_regression, 100.0, failed);
        text = "regression " + a + " % " + (failed ? "> " : "<= ") + lim + " % allowed";
      } else {
        text = failed ? "stable is 0, so any worsening is an unbounded regression" : "no regression from 0";
      }
    }
    bound("max_regression", *g.max_regression, failed, std::move(text));
  }
  if (g.max_ratio) {
    const bool failed = lower ? cv > *g.max_ratio * bv : bv > *g.max_ratio * cv;
    std::string text;
    if (r) {
      const double ratio = lower ? (bv != 0 ? cv / bv : 0) : (cv != 0 ? bv / cv : 0);
      text = (lower ? bv != 0 : cv != 0)
                 ? "ratio " + general(ratio) + (failed ? " > " : " <= ") + general(*g.max_ratio) + " allowed"
                 : std::string(failed ? "ratio unbounded" : "ratio within bound");
    }
    bound("max_ratio", *g.max_ratio, failed, std::move(text));
  }
  if (paired) {
    const auto w = wilcoxon_signed_rank(differences, lower ? Alternative::greater : Alternative::less);
    const bool failed = w.n > 0 && w.p < p.paired_alpha;
    fail = fail || failed;
    if (r) {
      bounds["wilcoxon"] = {{"p", w.p},
                            {"alpha", p.paired_alpha},
                            {"n", w.n},
                            {"zeros", w.zeros},
                            {"w_plus", w.w_plus},
                            {"exact", w.exact},
                            {"alternative", lower ? "greater" : "less"},
                            {"result", failed ? "fail" : "pass"}};
      details.push_back("Wilcoxon signed-rank on " + std::to_string(w.n) +
                        " non-zero differences: p = " + general(w.p) + (failed ? " < " : " >= ") +
                        general(p.paired_alpha) + (failed ? ", canary worse" : ""));
    }
  }
  if (g.target && !fail) {
    marginal = lower ? cv > *g.target : cv < *g.target;
    if (r) {
      bounds["target"] = {{"limit", *g.target}, {"result", marginal ? "marginal" : "pass"}};
      details.push_back((marginal ? "short of target " : "meets target ") + value_text(g, *g.target));
    }
  }
  if (fail)
    (g.on_fail == OnFail::rollback ? tally.rollback : tally.hold) = true;
  else if (marginal)
    tally.marginal = true;
  if (!r)
    return;
  std::string text =
      gate_name(g) + ": " + (paired ? "over " + std::to_string(c.n) + " pairs, " : "") + "canary " + value_text(g, cv);
  if (needs_baseline)
    text += " vs stable " + value_text(g, bv);
  for (std::size_t k = 0; k < details.size(); ++k)
    text += (k ? ", " : ": ") + details[k];
  if (fail)
    text += std::string(" (fail: ") + (g.on_fail == OnFail::rollback ? "rollback" : "hold") + ")";
  else if (marginal)
    text += " (marginal: a person decides)";
  r->reasons.push_back(std::move(text));
  entry["bounds"] = std::move(bounds);
  entry["result"] = result_name(fail, marginal);
  r->gates.push_back(std::move(entry));
}

void metric_gates(const Policy& p, const GateInput& in, MetricTally& tally, Report* r) {
  for (std::size_t i = 0; i < p.metrics.size(); ++i)
    metric_gate(p, p.metrics[i], i, in, tally, r);
}

// The canary's pass rate against the policy's absolute floor, exactly:
// pass / n < ppm / 10^6.
bool below_floor(const Policy& p, Counts c, Report* r) {
  if (!p.min_pass_rate_ppm)
    return false;
  const bool below = c.pass * 1'000'000 < *p.min_pass_rate_ppm * c.n;
  if (r) {
    const double floor = static_cast<double>(*p.min_pass_rate_ppm) / 1e6;
    r->reasons.push_back("min_pass_rate: canary " + ratio_text(c.pass, c.n) + (below ? " < " : " >= ") + "floor " +
                         fixed(100.0 * floor, 1) + " %" + (below ? " (fail: rollback)" : ""));
    r->gates.push_back(
        {{"gate", "min_pass_rate"}, {"value", rate(c)}, {"threshold", floor}, {"result", below ? "fail" : "pass"}});
  }
  return below;
}

// The exact McNemar test on a shadow step's pairs: ROLLBACK when the
// one-sided p-value that the canary is worse is below paired_alpha.
bool mcnemar_worse(const Policy& p, const PairedInput& pi, Report* r) {
  const double pv = mcnemar_exact_p(pi.stable_only, pi.canary_only);
  const bool worse = pv < p.paired_alpha;
  if (r) {
    r->reasons.push_back("paired: " + std::to_string(pi.pairs) + " pairs, " + std::to_string(pi.stable_only) +
                         " passed on stable only, " + std::to_string(pi.canary_only) +
                         " on the canary only: exact McNemar p = " + general(pv) + (worse ? " < " : " >= ") +
                         general(p.paired_alpha) + (worse ? ", canary worse (fail: rollback)" : ""));
    r->paired = {{"pairs", pi.pairs},
                 {"both_pass", pi.both_pass},
                 {"stable_only", pi.stable_only},
                 {"canary_only", pi.canary_only},
                 {"both_fail", pi.both_fail},
                 {"mcnemar_p", pv},
                 {"paired_alpha", p.paired_alpha},
                 {"result", worse ? "fail" : "pass"}};
    r->gates.push_back(
        {{"gate", "mcnemar"}, {"value", pv}, {"threshold", p.paired_alpha}, {"result", worse ? "fail" : "pass"}});
  }
  return worse;
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
  for (const ArmSample* a : {&in.canary, &in.baseline})
    for (const auto& m : a->metrics)
      if (m.n < 0 || m.nonzero < 0 || m.nonzero > m.n || std::isnan(m.sum) || !std::isfinite(m.max))
        throw std::invalid_argument("gate input: invalid metric summary");
  if (in.paired) {
    const auto& pi = *in.paired;
    for (auto x : {pi.pairs, pi.both_pass, pi.stable_only, pi.canary_only, pi.both_fail})
      if (x < 0 || x > k_max_count)
        throw std::invalid_argument("gate input: invalid pair counts");
    if (pi.both_pass + pi.stable_only + pi.canary_only + pi.both_fail != pi.pairs)
      throw std::invalid_argument("gate input: pair counts do not add up to pairs");
    for (const auto& v : pi.metrics)
      for (const auto& [a, b] : v)
        if (!std::isfinite(a) || !std::isfinite(b))
          throw std::invalid_argument("gate input: a paired metric value is not finite");
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

  // In a shadow step both arms are the pairs: min_samples counts pairs.
  const PairedInput* pairs = in.paired ? &*in.paired : nullptr;
  const std::int64_t min_stable = std::max<std::int64_t>(1, p.effective_min_stable_samples());
  const bool canary_short = (pairs ? pairs->pairs : in.canary.n) < p.min_samples;
  const bool stable_short = !pairs && in.baseline.n < min_stable;
  if (canary_short || stable_short) {
    if (r) {
      if (canary_short && pairs) {
        r->reasons.push_back("insufficient data: " + std::to_string(pairs->pairs) + "/" +
                             std::to_string(p.min_samples) + " pairs (tasks with an outcome from both versions)");
        r->more_canary_tasks = p.min_samples - pairs->pairs;
      } else if (canary_short) {
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

  const Counts c =
      pairs ? Counts{pairs->both_pass + pairs->canary_only, pairs->pairs} : Counts{in.canary.pass, in.canary.n};
  const Counts s =
      pairs ? Counts{pairs->both_pass + pairs->stable_only, pairs->pairs} : Counts{in.baseline.pass, in.baseline.n};
  const PassRateCall call = pass_rate_gate(p, c, s, r);
  const bool worse_paired = pairs && mcnemar_worse(p, *pairs, r);
  const bool floor = below_floor(p, c, r);
  MetricTally tally;
  metric_gates(p, in, tally, r);

  if (call == PassRateCall::rollback || worse_paired || floor || tally.rollback)
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
  Verdict v;
  if (tally.inconclusive && deadline && p.on_timeout == OnTimeout::promote) {
    // A gate never promotes on values it has not measured.
    add(r, [&] { return deadline_text(p, in) + ", but a metric gate is inconclusive: holding"; });
    v = Verdict::hold;
  } else if (call == PassRateCall::hold || tally.inconclusive) {
    v = deadline ? on_deadline(p, in, r) : Verdict::hold;
  } else {
    v = promote_path(p, in, r);
  }
  // A marginal gate leaves the decision to a person (`canary approve`),
  // whichever path promotes.
  if (v == Verdict::promote && tally.marginal && !in.approved) {
    add(r, [] { return std::string("a gate is marginal: waiting for `kanari canary approve`"); });
    return Verdict::awaiting_approval;
  }
  return v;
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
  json j = {
      {"min_samples", p.min_samples},
      {"min_stable_samples", p.effective_min_stable_samples()},
      {"max_regression", static_cast<double>(p.max_regression_ppm) / 1e6},
      {"max_regression_ppm", p.max_regression_ppm},
      {"regression", to_string(p.regression)},
      {"min_step_seconds", p.min_step_seconds},
      {"max_step_seconds", p.max_step_seconds ? json(*p.max_step_seconds) : json(nullptr)},
      {"on_timeout", to_string(p.on_timeout)},
      {"consecutive", p.consecutive},
      {"require_approval", to_string(p.require_approval)},
      {"min_pass_rate", p.min_pass_rate_ppm ? json(static_cast<double>(*p.min_pass_rate_ppm) / 1e6) : json(nullptr)},
      {"paired_alpha", p.paired_alpha}};
  if (p.method == Method::sequential) {
    j["alpha"] = p.alpha;
    j["planned_samples"] = p.planned_samples;
  }
  return j;
}

} // namespace

std::optional<double> aggregate_value(const ValueSummary& s, Aggregate a) {
  if (s.n == 0)
    return std::nullopt;
  switch (a) {
  case Aggregate::mean: return s.mean();
  case Aggregate::rate: return s.rate();
  case Aggregate::p50: return s.p50;
  case Aggregate::p90: return s.p90;
  case Aggregate::p95: return s.p95;
  case Aggregate::p99: return s.p99;
  case Aggregate::max: return s.max;
  }
  return std::nullopt;
}

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
    if (!report.paired.is_null())
      result.evidence["paired"] = std::move(report.paired);
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
