// The pure gate on any metric (docs/gates.md, "Metric gates"): each bound in
// both directions, target (marginal), per-gate min_samples (inconclusive),
// min_pass_rate, and the paired analysis of a shadow step (McNemar on the
// pass rates, Wilcoxon for gates with "paired": true).
#include "gate/gate.hpp"
#include "gate/paired.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>

using namespace kanari;
using namespace kanari::gate;
using nlohmann::json;

namespace {

ValueSummary summary(const std::vector<double>& values) {
  SummaryBuilder b(true);
  for (double v : values)
    b.add(v);
  return b.finish();
}

MetricGate gate_on(const std::string& metric) {
  auto p = parse_policy({{"metrics", {{{"metric", metric}, {"paired", true}}}}});
  REQUIRE(p.ok());
  MetricGate g = p->metrics.at(0);
  g.paired = false;
  return g;
}

// A rollout whose pass rates tie (10/10 each), so the metric gate decides.
GateInput input(std::vector<double> canary, std::vector<double> stable) {
  GateInput in;
  in.has_rollout = true;
  in.canary = {10, 10, 0, {}, {}, {}, {summary(canary)}};
  in.baseline = {10, 10, 0, {}, {}, {}, {summary(stable)}};
  return in;
}

ArmSample arm(std::int64_t n, std::int64_t pass) {
  ArmSample a;
  a.n = n;
  a.pass = pass;
  return a;
}

Policy with(MetricGate g) {
  Policy p;
  p.metrics = {std::move(g)};
  return p;
}

json gate_entry(const GateResult& r) {
  for (const auto& g : r.evidence["gates"])
    if (g["gate"] == "metric")
      return g;
  FAIL("no metric gate in the evidence");
  return nullptr;
}

} // namespace

TEST_CASE("metric gates: absolute bounds and direction") {
  auto g = gate_on("latency_ms");
  g.aggregate = Aggregate::p90;
  g.max = 100;
  // p90 of 1..10 is 9 (rank ceil(0.9 * 10)).
  std::vector<double> ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  auto r = evaluate(with(g), input(ten, ten));
  CHECK(r.verdict == Verdict::promote);
  CHECK(gate_entry(r)["canary"] == 9.0);
  g.max = 8.5;
  r = evaluate(with(g), input(ten, ten));
  CHECK(r.verdict == Verdict::rollback);
  CHECK(gate_entry(r)["result"] == "fail");
  g.on_fail = OnFail::hold;
  CHECK(evaluate(with(g), input(ten, ten)).verdict == Verdict::hold);

  auto s = gate_on("score");
  CHECK(s.direction == Direction::higher_is_better); // the default for score and pass
  s.min = 5.5;                                       // mean 5.5 is not below 5.5
  CHECK(evaluate(with(s), input(ten, ten)).verdict == Verdict::promote);
  s.min = 5.6;
  CHECK(evaluate(with(s), input(ten, ten)).verdict == Verdict::rollback);
}

TEST_CASE("metric gates: max_regression and max_ratio compare in the metric's direction") {
  auto lower = gate_on("cost");
  lower.max_regression = 0.25; // canary mean may be 25 % above stable's
  CHECK(evaluate(with(lower), input({12.5}, {10})).verdict == Verdict::promote);
  CHECK(evaluate(with(lower), input({12.6}, {10})).verdict == Verdict::rollback);
  CHECK(evaluate(with(lower), input({1}, {10})).verdict == Verdict::promote);

  auto higher = lower;
  higher.direction = Direction::higher_is_better; // now lower values are worse
  CHECK(evaluate(with(higher), input({7.5}, {10})).verdict == Verdict::promote);
  CHECK(evaluate(with(higher), input({7.4}, {10})).verdict == Verdict::rollback);
  CHECK(evaluate(with(higher), input({100}, {10})).verdict == Verdict::promote);

  auto ratio = gate_on("tool_calls");
  ratio.max_ratio = 2.0;
  CHECK(evaluate(with(ratio), input({6}, {3})).verdict == Verdict::promote);
  CHECK(evaluate(with(ratio), input({6.1}, {3})).verdict == Verdict::rollback);
  ratio.direction = Direction::higher_is_better;
  CHECK(evaluate(with(ratio), input({1.5}, {3})).verdict == Verdict::promote);
  CHECK(evaluate(with(ratio), input({1.4}, {3})).verdict == Verdict::rollback);

  // A baseline of 0: any worsening is an unbounded regression.
  CHECK(evaluate(with(lower), input({0}, {0})).verdict == Verdict::promote);
  CHECK(evaluate(with(lower), input({0.001}, {0})).verdict == Verdict::rollback);
}

TEST_CASE("metric gates: rate is the share of non-zero values") {
  auto g = gate_on("escalated");
  g.aggregate = Aggregate::rate;
  g.max = 0.25;
  auto r = evaluate(with(g), input({0, 1, 0, 0}, {0, 0, 0, 0}));
  CHECK(gate_entry(r)["canary"] == 0.25);
  CHECK(r.verdict == Verdict::promote);
  CHECK(evaluate(with(g), input({0, 1, 2, 0}, {0})).verdict == Verdict::rollback);
}

TEST_CASE("metric gates: target makes a marginal value wait for approval") {
  auto g = gate_on("score");
  g.min = 75;
  g.target = 95;
  Policy p = with(g);
  CHECK(evaluate(p, input({96}, {90})).verdict == Verdict::promote);
  auto in = input({80}, {90});
  auto r = evaluate(p, in);
  CHECK(r.verdict == Verdict::awaiting_approval);
  CHECK(gate_entry(r)["result"] == "marginal");
  in.approved = true;
  CHECK(evaluate(p, in).verdict == Verdict::promote);
  CHECK(evaluate(p, input({74}, {90})).verdict == Verdict::rollback);

  // lower_is_better: values between target and max are marginal.
  auto l = gate_on("latency_ms");
  l.aggregate = Aggregate::p50;
  l.max = 2000;
  l.target = 1000;
  CHECK(evaluate(with(l), input({900}, {900})).verdict == Verdict::promote);
  CHECK(evaluate(with(l), input({1500}, {900})).verdict == Verdict::awaiting_approval);
  CHECK(evaluate(with(l), input({2500}, {900})).verdict == Verdict::rollback);

  // A pass-rate HOLD comes before a person.
  auto held = input({80}, {90});
  held.canary.pass = 9;
  CHECK(evaluate(p, held).verdict == Verdict::hold);
}

TEST_CASE("metric gates: fewer values than min_samples are inconclusive (HOLD)") {
  auto g = gate_on("score");
  g.min = 75;
  g.min_samples = 3;
  auto r = evaluate(with(g), input({90, 90}, {}));
  CHECK(r.verdict == Verdict::hold);
  CHECK(gate_entry(r)["result"] == "inconclusive");
  CHECK(evaluate(with(g), input({90, 90, 90}, {})).verdict == Verdict::promote);
  // A relative bound needs min_samples stable values too.
  g.max_regression = 0.1;
  CHECK(evaluate(with(g), input({90, 90, 90}, {90, 90})).verdict == Verdict::hold);
  CHECK(evaluate(with(g), input({90, 90, 90}, {90, 90, 90})).verdict == Verdict::promote);
  // Short of values the gate has not measured: even values below its
  // bound hold rather than roll back.
  g.max_regression.reset();
  CHECK(evaluate(with(g), input({10, 10}, {})).verdict == Verdict::hold);
}

TEST_CASE("metric gates: min_pass_rate is an exact floor") {
  Policy p;
  p.max_regression_ppm = 1'000'000;
  p.min_pass_rate_ppm = 700'000;
  GateInput in;
  in.has_rollout = true;
  in.baseline = arm(10, 10);
  in.canary = arm(10, 7);
  CHECK(evaluate(p, in).verdict == Verdict::hold); // 0.7 is not below 0.7
  in.canary = arm(10, 6);
  CHECK(evaluate(p, in).verdict == Verdict::rollback);
  in.canary = arm(1'000'000, 699'999);
  in.baseline = arm(1'000'000, 699'999);
  CHECK(evaluate(p, in).verdict == Verdict::rollback);
  in.canary = arm(1'000'000, 700'000);
  CHECK(evaluate(p, in).verdict == Verdict::promote);
}

TEST_CASE("paired: the pass-rate gate compares the pairs and McNemar rolls back") {
  Policy p;
  p.min_samples = 10;
  GateInput in;
  in.has_rollout = true;
  // Unpaired arms are ignored in a shadow step: the pairs decide.
  in.canary = arm(1000, 1000);
  in.baseline = arm(1000, 0);
  in.paired = PairedInput{40, 30, 8, 1, 1, {}};
  auto r = evaluate(p, in);
  // c = 31/40, s = 38/40: 17.5 points worse, and McNemar p(X >= 8 | 9) = 10/512.
  CHECK(r.verdict == Verdict::rollback);
  const auto& e = r.evidence["paired"];
  CHECK(e["pairs"] == 40);
  CHECK(e["both_pass"] == 30);
  CHECK(e["stable_only"] == 8);
  CHECK(e["canary_only"] == 1);
  CHECK(e["both_fail"] == 1);
  CHECK(e["mcnemar_p"].get<double>() == doctest::Approx(10.0 / 512.0));
  CHECK(e["result"] == "fail");

  // Within the 10 points, the exact test alone rolls back.
  p.max_regression_ppm = 200'000;
  CHECK(evaluate(p, in).verdict == Verdict::rollback);
  p.paired_alpha = 0.01;
  CHECK(evaluate(p, in).verdict == Verdict::hold);

  // Fewer pairs than min_samples: insufficient data, whatever the arms hold.
  in.paired = PairedInput{9, 9, 0, 0, 0, {}};
  CHECK(evaluate(p, in).verdict == Verdict::insufficient_data);
  in.paired = PairedInput{12, 10, 0, 2, 0, {}};
  CHECK(evaluate(p, in).verdict == Verdict::promote);

  in.paired = PairedInput{12, 10, 0, 2, 1, {}}; // does not add up
  CHECK_THROWS_AS((void)evaluate(p, in), std::invalid_argument);
}

TEST_CASE("paired: a metric gate with paired true uses the Wilcoxon signed-rank test") {
  auto g = gate_on("latency_ms");
  g.paired = true;
  Policy p = with(g);
  p.min_samples = 5;
  GateInput in;
  in.has_rollout = true;
  in.canary = arm(8, 8);
  in.baseline = arm(8, 8);
  std::vector<std::pair<double, double>> pairs;
  for (int i = 0; i < 8; ++i)
    pairs.emplace_back(100.0 + 10 * i, 100.0 + 10 * i + 5 + i); // the canary is slower on every task
  in.paired = PairedInput{8, 8, 0, 0, 0, {pairs}};
  auto r = evaluate(p, in);
  const auto e = gate_entry(r);
  CHECK(e["paired"] == true);
  const auto w = wilcoxon_signed_rank({5, 6, 7, 8, 9, 10, 11, 12}, Alternative::greater);
  CHECK(e["bounds"]["wilcoxon"]["p"].get<double>() == doctest::Approx(w.p));
  CHECK(w.p == doctest::Approx(1.0 / 256.0)); // all eight positive: one arrangement of 2^8
  CHECK(e["result"] == "fail");
  CHECK(r.verdict == Verdict::rollback);

  // Faster on every task: the one-sided test does not call it worse.
  for (auto& [s, c] : pairs)
    std::swap(s, c);
  in.paired->metrics = {pairs};
  CHECK(evaluate(p, in).verdict == Verdict::promote);

  // Outside a shadow step "paired" compares the arms as usual.
  in.paired.reset();
  in.canary.metrics = {summary({1, 2, 3})};
  in.baseline.metrics = {summary({1, 2, 3})};
  CHECK(evaluate(p, in).verdict == Verdict::promote);
}

TEST_CASE("metric gates: the deadline promotes neither past a marginal gate nor an inconclusive one") {
  auto g = gate_on("score");
  g.min = 75;
  g.target = 95;
  Policy p = with(g);
  p.max_step_seconds = 60;
  p.on_timeout = OnTimeout::promote;
  auto in = input({80}, {90});
  in.canary.pass = 9; // a pass-rate HOLD, so the deadline decides
  in.step_elapsed_seconds = 61;
  CHECK(evaluate(p, in).verdict == Verdict::awaiting_approval);
  in.approved = true;
  CHECK(evaluate(p, in).verdict == Verdict::promote);
  g.min_samples = 5; // one value: inconclusive
  p = with(g);
  p.max_step_seconds = 60;
  p.on_timeout = OnTimeout::promote;
  auto r = evaluate(p, in);
  CHECK(r.verdict == Verdict::hold);
  CHECK(std::any_of(r.reasons.begin(), r.reasons.end(),
                    [](const std::string& s) { return s.find("inconclusive: holding") != std::string::npos; }));
  p.on_timeout = OnTimeout::rollback;
  CHECK(evaluate(p, in).verdict == Verdict::rollback);
}

TEST_CASE("metric gates: max_ratio on negative values is inconclusive, not inverted") {
  auto g = gate_on("score");
  g.max_ratio = 1.2;
  // -9 is better than -10 for a higher_is_better score; a ratio would say worse.
  auto r = evaluate(with(g), input({-9}, {-10}));
  CHECK(r.verdict == Verdict::hold);
  CHECK(gate_entry(r)["result"] == "inconclusive");
}

TEST_CASE("metric gates: values near the largest double give an infinite mean, not an error") {
  auto g = gate_on("tool_calls");
  g.max = 10;
  const double big = std::numeric_limits<double>::max();
  auto r = evaluate(with(g), input({big, big}, {1}));
  CHECK(r.verdict == Verdict::rollback);
  CHECK(std::isinf(gate_entry(r)["canary"].get<double>()));
  g.paired = true;
  Policy p = with(g);
  p.min_samples = 1;
  GateInput in;
  in.has_rollout = true;
  in.canary = arm(1, 1);
  in.baseline = arm(1, 1);
  in.paired = PairedInput{1, 1, 0, 0, 0, {{{-big, big}}}};
  CHECK_NOTHROW((void)evaluate(p, in)); // the difference overflows; the test ranks it
}
