// evaluate(): the order of conditions, metric gates, timeouts, approval,
// pause, anti-flapping and the evidence document.
#include "gate/gate.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

using namespace kanari::gate;

namespace {

GateInput counts(std::int64_t cp, std::int64_t cn, std::int64_t sp, std::int64_t sn) {
  GateInput in;
  in.has_rollout = true;
  in.canary.pass = cp;
  in.canary.n = cn;
  in.baseline.pass = sp;
  in.baseline.n = sn;
  return in;
}

GateInput promoting() { return counts(10, 10, 9, 10); }
GateInput holding() { return counts(8, 10, 9, 10); }
GateInput failing() { return counts(5, 10, 9, 10); }

bool has_reason(const GateResult& r, std::string_view needle) {
  return std::any_of(r.reasons.begin(), r.reasons.end(),
                     [&](const std::string& s) { return s.find(needle) != std::string::npos; });
}

// A release-1 gate as a policy file gives it (source field and aggregate
// filled in), with no bound yet.
MetricGate gate(const std::string& metric) {
  auto p = parse_policy({{"metrics", {{{"metric", metric}, {"max", 0}}}}});
  REQUIRE(p.ok());
  MetricGate g = p->metrics.at(0);
  g.max.reset();
  return g;
}

} // namespace

TEST_CASE("gate: verdict names") {
  CHECK(to_string(Verdict::promote) == "PROMOTE");
  CHECK(to_string(Verdict::hold) == "HOLD");
  CHECK(to_string(Verdict::rollback) == "ROLLBACK");
  CHECK(to_string(Verdict::insufficient_data) == "INSUFFICIENT_DATA");
  CHECK(to_string(Verdict::awaiting_approval) == "AWAITING_APPROVAL");
  CHECK(to_string(Verdict::no_canary) == "NO_CANARY");
}

TEST_CASE("gate: no rollout is NO_CANARY with a reason") {
  GateInput in = promoting();
  in.has_rollout = false;
  auto r = evaluate(Policy{}, in);
  CHECK(r.verdict == Verdict::no_canary);
  CHECK_FALSE(r.apply_promote);
  CHECK(r.reasons == std::vector<std::string>{"no active rollout on this track"});
}

TEST_CASE("gate: every verdict has at least one reason") {
  Policy p;
  p.require_approval = Approval::every;
  for (const GateInput& in : {promoting(), holding(), failing(), counts(1, 1, 1, 1)}) {
    auto r = evaluate(p, in);
    CHECK_FALSE(r.reasons.empty());
  }
}

TEST_CASE("gate: paused never promotes but still rolls back") {
  GateInput in = promoting();
  in.paused = true;
  auto r = evaluate(Policy{}, in);
  CHECK(r.verdict == Verdict::hold);
  CHECK_FALSE(r.apply_promote);
  CHECK(has_reason(r, "rollout is paused"));
  GateInput bad = failing();
  bad.paused = true;
  CHECK(evaluate(Policy{}, bad).verdict == Verdict::rollback);
}

TEST_CASE("gate: min_step_seconds delays PROMOTE only") {
  Policy p;
  p.min_step_seconds = 600;
  GateInput in = promoting();
  in.step_elapsed_seconds = 599;
  auto r = evaluate(p, in);
  CHECK(r.verdict == Verdict::hold);
  CHECK(has_reason(r, "step has run 599 s of min_step_seconds 600"));
  in.step_elapsed_seconds = 600;
  CHECK(evaluate(p, in).verdict == Verdict::promote);
  GateInput bad = failing();
  bad.step_elapsed_seconds = 1;
  CHECK(evaluate(p, bad).verdict == Verdict::rollback);
}

TEST_CASE("gate: approval") {
  Policy p;
  GateInput in = promoting();
  SUBCASE("every step needs it") {
    p.require_approval = Approval::every;
    auto r = evaluate(p, in);
    CHECK(r.verdict == Verdict::awaiting_approval);
    CHECK_FALSE(r.apply_promote);
    CHECK(has_reason(r, "requires approval"));
    in.approved = true;
    CHECK(evaluate(p, in).verdict == Verdict::promote);
  }
  SUBCASE("final: only the step that makes the canary stable") {
    p.require_approval = Approval::final_step;
    CHECK(evaluate(p, in).verdict == Verdict::promote);
    in.final_step = true;
    CHECK(evaluate(p, in).verdict == Verdict::awaiting_approval);
    in.approved = true;
    CHECK(evaluate(p, in).verdict == Verdict::promote);
  }
  SUBCASE("approval does not stop a rollback") {
    p.require_approval = Approval::every;
    CHECK(evaluate(p, failing()).verdict == Verdict::rollback);
  }
}

TEST_CASE("gate: consecutive PROMOTEs before applying") {
  Policy p;
  p.consecutive = 3;
  GateInput in = promoting();
  in.promote_streak = 0;
  auto r = evaluate(p, in);
  CHECK(r.verdict == Verdict::promote);
  CHECK_FALSE(r.apply_promote);
  CHECK(has_reason(r, "PROMOTE 1 of 3 consecutive required: not applied yet"));
  in.promote_streak = 1;
  CHECK_FALSE(evaluate(p, in).apply_promote);
  in.promote_streak = 2;
  r = evaluate(p, in);
  CHECK(r.apply_promote);
  CHECK_FALSE(has_reason(r, "consecutive"));
  CHECK(evaluate(Policy{}, promoting()).apply_promote); // default 1
}

TEST_CASE("gate: step deadline") {
  Policy p;
  p.max_step_seconds = 3600;
  GateInput in = holding();
  in.step_elapsed_seconds = 3599;
  SUBCASE("before the deadline nothing changes") {
    p.on_timeout = OnTimeout::rollback;
    CHECK(evaluate(p, in).verdict == Verdict::hold);
  }
  in.step_elapsed_seconds = 3600;
  SUBCASE("hold") {
    auto r = evaluate(p, in);
    CHECK(r.verdict == Verdict::hold);
    CHECK(has_reason(r, "step deadline passed: 3600 s >= max_step_seconds 3600; on_timeout "
                        "\"hold\""));
  }
  SUBCASE("rollback") {
    p.on_timeout = OnTimeout::rollback;
    CHECK(evaluate(p, in).verdict == Verdict::rollback);
  }
  SUBCASE("promote, still subject to approval") {
    p.on_timeout = OnTimeout::promote;
    auto r = evaluate(p, in);
    CHECK(r.verdict == Verdict::promote);
    CHECK(r.apply_promote);
    p.require_approval = Approval::every;
    CHECK(evaluate(p, in).verdict == Verdict::awaiting_approval);
  }
  SUBCASE("insufficient data at the deadline") {
    GateInput few = counts(3, 3, 9, 10);
    few.step_elapsed_seconds = 4000;
    CHECK(evaluate(p, few).verdict == Verdict::hold);
    p.on_timeout = OnTimeout::rollback;
    CHECK(evaluate(p, few).verdict == Verdict::rollback);
    p.on_timeout = OnTimeout::promote;
    CHECK(evaluate(p, few).verdict == Verdict::promote);
  }
  SUBCASE("a paused rollout does not time out") {
    p.on_timeout = OnTimeout::rollback;
    in.paused = true;
    CHECK(evaluate(p, in).verdict == Verdict::hold);
  }
  SUBCASE("on_timeout promote never overrides a violated hold gate") {
    p.on_timeout = OnTimeout::promote;
    auto g = gate("latency_p95_ms");
    g.max = 100;
    g.on_fail = OnFail::hold;
    p.metrics.push_back(g);
    GateInput slow = promoting();
    slow.step_elapsed_seconds = 4000;
    slow.canary.latency_p95_ms = 150;
    auto r = evaluate(p, slow);
    CHECK(r.verdict == Verdict::hold);
    CHECK(has_reason(r, "a metric gate is violated"));
    p.on_timeout = OnTimeout::rollback;
    CHECK(evaluate(p, slow).verdict == Verdict::rollback);
  }
}

TEST_CASE("gate: metric gates") {
  Policy p;
  GateInput in = promoting();
  SUBCASE("a NaN, infinite or negative metric is a caller bug, not a pass") {
    auto g = gate("latency_p95_ms");
    g.max = 100;
    p.metrics.push_back(g);
    for (double v : {std::nan(""), -1.0, HUGE_VAL}) {
      CAPTURE(v);
      GateInput bad = in;
      bad.canary.latency_p95_ms = v;
      CHECK_THROWS_AS(evaluate(p, bad), std::invalid_argument);
      bad = in;
      bad.baseline.cost_mean = v;
      CHECK_THROWS_AS(evaluate(p, bad), std::invalid_argument);
      bad = in;
      bad.canary.tokens_mean = v;
      CHECK_THROWS_AS(evaluate(p, bad), std::invalid_argument);
    }
  }
  SUBCASE("latency max: strict ceiling") {
    auto g = gate("latency_p95_ms");
    g.max = 2000;
    p.metrics.push_back(g);
    in.canary.latency_p95_ms = 2000;
    CHECK(evaluate(p, in).verdict == Verdict::promote);
    in.canary.latency_p95_ms = 2000.5;
    auto r = evaluate(p, in);
    CHECK(r.verdict == Verdict::rollback);
    CHECK(has_reason(r, "latency_p95_ms: canary 2000.5 ms: above max 2000 ms (fail: rollback)"));
  }
  SUBCASE("cost max_regression") {
    auto g = gate("cost_mean");
    g.max_regression = 0.25;
    p.metrics.push_back(g);
    in.baseline.cost_mean = 0.04;
    in.canary.cost_mean = 0.049;
    CHECK(evaluate(p, in).verdict == Verdict::promote);
    in.canary.cost_mean = 0.051;
    auto r = evaluate(p, in);
    CHECK(r.verdict == Verdict::rollback);
    CHECK(has_reason(r, "cost_mean: canary 0.051 vs stable 0.04: regression 27.5 % > 25.0 % allowed (fail: rollback)"));
  }
  SUBCASE("tokens max_regression with a zero baseline") {
    auto g = gate("tokens_mean");
    g.max_regression = 0.5;
    p.metrics.push_back(g);
    in.baseline.tokens_mean = 0;
    in.canary.tokens_mean = 0;
    CHECK(evaluate(p, in).verdict == Verdict::promote);
    in.canary.tokens_mean = 1;
    CHECK(evaluate(p, in).verdict == Verdict::rollback);
  }
  SUBCASE("error_rate max_ratio, on_fail hold") {
    auto g = gate("error_rate");
    g.max_ratio = 2.0;
    g.on_fail = OnFail::hold;
    p.metrics.push_back(g);
    in.baseline.errors = 1;
    in.canary.errors = 2; // 20 % vs 10 %: ratio exactly 2
    CHECK(evaluate(p, in).verdict == Verdict::promote);
    in.canary.errors = 3;
    auto r = evaluate(p, in);
    CHECK(r.verdict == Verdict::hold);
    CHECK(has_reason(r, "error_rate: canary 30.0 % vs stable 10.0 %: ratio 3 > 2 allowed (fail: hold)"));
  }
  SUBCASE("error_rate with a stable rate of 0: any canary error is a violation") {
    auto g = gate("error_rate");
    g.max_ratio = 2.0;
    p.metrics.push_back(g);
    CHECK(evaluate(p, in).verdict == Verdict::promote);
    in.canary.errors = 1;
    CHECK(evaluate(p, in).verdict == Verdict::rollback);
  }
  SUBCASE("error_rate max") {
    auto g = gate("error_rate");
    g.max = 0.1;
    p.metrics.push_back(g);
    in.canary.errors = 1;
    CHECK(evaluate(p, in).verdict == Verdict::promote);
    in.canary.errors = 2;
    CHECK(evaluate(p, in).verdict == Verdict::rollback);
  }
  SUBCASE("missing data makes the gate inconclusive: HOLD, with a reason and evidence") {
    // Release 1 skipped the gate and promoted a canary whose latency
    // regression nobody had measured.
    auto g = gate("latency_p95_ms");
    g.max_regression = 0.1;
    p.metrics.push_back(g);
    in.canary.latency_p95_ms = 5000;
    auto r = evaluate(p, in);
    CHECK(r.verdict == Verdict::hold);
    CHECK(has_reason(r, "latency_p95_ms: inconclusive, stable has 0 of the 1 values this gate needs; holding"));
    const auto& gates = r.evidence.at("gates");
    REQUIRE(gates.size() == 2);
    CHECK(gates[1].at("result") == "inconclusive");
    in.baseline.latency_p95_ms = 4900;
    CHECK(evaluate(p, in).verdict == Verdict::promote);
  }
  SUBCASE("a rollback violation wins over a hold violation and all reasons are listed") {
    auto lat = gate("latency_p95_ms");
    lat.max = 100;
    lat.on_fail = OnFail::hold;
    auto err = gate("error_rate");
    err.max = 0.0;
    p.metrics = {lat, err};
    in.canary.latency_p95_ms = 200;
    in.canary.errors = 1;
    auto r = evaluate(p, in);
    CHECK(r.verdict == Verdict::rollback);
    CHECK(has_reason(r, "latency_p95_ms: canary 200 ms: above max 100 ms (fail: hold)"));
    CHECK(has_reason(r, "error_rate: canary 10.0 %: above max 0.0 % (fail: rollback)"));
  }
  SUBCASE("a hold violation stops a PROMOTE") {
    auto lat = gate("latency_p95_ms");
    lat.max = 100;
    lat.on_fail = OnFail::hold;
    p.metrics = {lat};
    in.canary.latency_p95_ms = 200;
    CHECK(evaluate(p, in).verdict == Verdict::hold);
  }
}

TEST_CASE("gate: evidence holds inputs, method, parameters and per-gate results") {
  Policy p;
  auto g = gate("latency_p95_ms");
  g.max = 2000;
  p.metrics.push_back(g);
  GateInput in = counts(7, 10, 9, 10);
  in.canary.latency_p95_ms = 1500;
  auto r = evaluate(p, in);
  const auto& e = r.evidence;
  CHECK(e.at("method") == "threshold");
  CHECK(e.at("verdict") == "ROLLBACK");
  CHECK(e.at("params").at("max_regression_ppm") == 100000);
  CHECK(e.at("params").at("min_stable_samples") == 10);
  CHECK(e.at("canary").at("n") == 10);
  CHECK(e.at("canary").at("pass") == 7);
  CHECK(e.at("canary").at("pass_rate").get<double>() == doctest::Approx(0.7));
  CHECK(e.at("canary").at("latency_p95_ms") == 1500.0);
  CHECK(e.at("baseline").at("latency_p95_ms").is_null());
  CHECK(e.at("baseline").at("pass") == 9);
  CHECK(e.at("step_state").at("paused") == false);
  CHECK(e.at("step_state").at("elapsed_seconds") == 0);
  const auto& gates = e.at("gates");
  REQUIRE(gates.size() == 2);
  CHECK(gates[0].at("gate") == "pass_rate");
  CHECK(gates[0].at("call") == "rollback");
  CHECK(gates[0].at("result") == "fail");
  CHECK(gates[0].at("value").get<double>() == doctest::Approx(0.2));
  CHECK(gates[1].at("gate") == "metric");
  CHECK(gates[1].at("metric") == "latency_p95_ms");
  CHECK(gates[1].at("aggregate") == "p95");
  CHECK(gates[1].at("canary") == 1500.0);
  CHECK(gates[1].at("bounds").at("max").at("limit") == 2000.0);
  CHECK(gates[1].at("bounds").at("max").at("result") == "pass");
  CHECK(gates[1].at("result") == "pass");
  CHECK_FALSE(e.contains("sequential"));
}

TEST_CASE("gate: verdict_only takes the same decisions without reasons or evidence") {
  Policy p;
  p.consecutive = 2;
  auto lat = gate("latency_p95_ms");
  lat.max = 100;
  lat.on_fail = OnFail::hold;
  p.metrics = {lat};
  for (const GateInput& base : {promoting(), holding(), failing(), counts(4, 4, 9, 10)}) {
    for (int variant = 0; variant < 4; ++variant) {
      GateInput in = base;
      in.paused = variant == 1;
      in.promote_streak = variant == 2 ? 1 : 0;
      if (variant == 3)
        in.canary.latency_p95_ms = 500;
      const auto full = evaluate(p, in, Detail::full);
      const auto fast = evaluate(p, in, Detail::verdict_only);
      CHECK(full.verdict == fast.verdict);
      CHECK(full.apply_promote == fast.apply_promote);
      CHECK(fast.reasons.empty());
      CHECK(fast.evidence.is_null());
      CHECK_FALSE(full.reasons.empty());
    }
  }
}
