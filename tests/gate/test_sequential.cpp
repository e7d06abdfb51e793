// The sequential method against the independent Python implementation in
// tests/data/gen_sequential_vectors.py (committed output, no Python at test
// time).
#include "gate/gate.hpp"
#include "gate/stats.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>

using namespace kanari::gate;
using nlohmann::json;

namespace {

json load_vectors() {
  std::ifstream f(std::string(KANARI_TEST_DATA) + "/sequential_vectors.json");
  REQUIRE(f.good());
  return json::parse(f);
}

bool close(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

Policy sequential_policy(const json& c) {
  Policy p;
  p.method = Method::sequential;
  p.min_samples = 1;
  p.min_stable_samples = 1;
  p.alpha = c.at("alpha").get<double>();
  p.max_regression_ppm = c.at("max_regression_ppm").get<std::int64_t>();
  p.regression = c.at("regression") == "relative" ? Regression::relative : Regression::absolute;
  p.planned_samples = c.at("planned_samples").get<std::int64_t>();
  return p;
}

GateInput input(const json& c) {
  GateInput in;
  in.has_rollout = true;
  in.canary.pass = c.at("canary_pass").get<std::int64_t>();
  in.canary.n = c.at("canary_n").get<std::int64_t>();
  in.baseline.pass = c.at("stable_pass").get<std::int64_t>();
  in.baseline.n = c.at("stable_n").get<std::int64_t>();
  return in;
}

} // namespace

TEST_CASE("sequential: bounds, verdicts and estimates match the reference vectors") {
  const json doc = load_vectors();
  const auto& cases = doc.at("cases");
  REQUIRE(cases.size() >= 20);
  int verdicts[3] = {0, 0, 0};
  for (const auto& c : cases) {
    INFO(c.at("name").get<std::string>());
    const Policy p = sequential_policy(c);
    const auto r = evaluate(p, input(c));
    const auto& seq = r.evidence.at("sequential");
    CHECK(close(seq.at("rho").get<double>(), c.at("rho").get<double>()));
    CHECK(close(seq.at("diff").get<double>(), c.at("diff").get<double>()));
    CHECK(close(seq.at("variance").get<double>(), c.at("variance").get<double>()));
    CHECK(close(seq.at("halfwidth").get<double>(), c.at("halfwidth").get<double>()));
    CHECK(close(seq.at("lower").get<double>(), c.at("lower").get<double>()));
    CHECK(close(seq.at("upper").get<double>(), c.at("upper").get<double>()));
    CHECK(close(seq.at("margin").get<double>(), c.at("margin").get<double>()));
    CHECK(to_string(r.verdict) == c.at("verdict").get<std::string>());
    if (r.verdict == Verdict::promote)
      ++verdicts[0];
    else if (r.verdict == Verdict::hold)
      ++verdicts[1];
    else if (r.verdict == Verdict::rollback)
      ++verdicts[2];
    if (c.at("more_canary_tasks").is_null()) {
      CHECK_FALSE(r.more_canary_tasks);
    } else {
      REQUIRE(r.more_canary_tasks);
      CHECK(*r.more_canary_tasks == c.at("more_canary_tasks").get<std::int64_t>());
    }
    CHECK(r.evidence.at("method") == "sequential");
    CHECK(r.evidence.at("params").at("alpha").get<double>() == p.alpha);
  }
  // The vectors exercise every outcome.
  CHECK(verdicts[0] > 0);
  CHECK(verdicts[1] > 0);
  CHECK(verdicts[2] > 0);
}

TEST_CASE("sequential: the estimate is where the verdict actually changes") {
  // Project the observed rates forward by hand: after more_canary_tasks more
  // tasks (same rates, same ratio) the call must no longer be HOLD, one
  // task fewer it must still be.
  const Counts c{170, 200}, s{180, 200};
  const double alpha = 0.05, margin = 0.1;
  const auto more = sequential_more_canary_tasks(c, s, alpha, 200, margin);
  REQUIRE(more);
  auto call_at = [&](std::int64_t m) {
    // exact multiples keep the rates: scale both arms by m / 200
    const double k = static_cast<double>(m) / 200.0;
    const double cn = 200 * k, sn = 200 * k;
    const double pc = 171.0 / 202.0, ps = 181.0 / 202.0; // smoothed, as projected
    const double var = pc * (1 - pc) / cn + ps * (1 - ps) / sn;
    const double total = cn + sn;
    const double h = cs_halfwidth(var * total, total, cs_rho(alpha, 200), alpha);
    SequentialBounds b;
    b.lower = -0.05 - h;
    b.upper = -0.05 + h;
    return sequential_call(b, margin);
  };
  CHECK(call_at(200 + *more) != PassRateCall::hold);
  CHECK(call_at(200 + *more - 1) == PassRateCall::hold);
}

TEST_CASE("sequential: min_samples still applies") {
  Policy p;
  p.method = Method::sequential;
  GateInput in;
  in.has_rollout = true;
  in.canary.n = in.canary.pass = 5;
  in.baseline.n = in.baseline.pass = 100;
  CHECK(evaluate(p, in).verdict == Verdict::insufficient_data);
}

TEST_CASE("sequential: a clear regression rolls back, a clear tie promotes") {
  Policy p;
  p.method = Method::sequential;
  GateInput in;
  in.has_rollout = true;
  in.canary.n = 500;
  in.canary.pass = 300;
  in.baseline.n = 500;
  in.baseline.pass = 450;
  auto r = evaluate(p, in);
  CHECK(r.verdict == Verdict::rollback);
  CHECK(r.reasons.at(0).find("upper bound below 0") != std::string::npos);
  in.canary.n = in.baseline.n = 5000;
  in.canary.pass = in.baseline.pass = 4500;
  r = evaluate(p, in);
  CHECK(r.verdict == Verdict::promote);
  CHECK(r.reasons.at(0).find("non-inferior") != std::string::npos);
  // and the threshold rule on the same data would promote too
  CHECK(evaluate(Policy{}, in).verdict == Verdict::promote);
}

TEST_CASE("sequential: the half-width shrinks as data accumulates") {
  const double rho = cs_rho(0.05, 200);
  double previous = cs_halfwidth(0.25, 1, rho, 0.05);
  for (double t = 2; t < 1e9; t *= 1.7) {
    const double h = cs_halfwidth(0.25, t, rho, 0.05);
    CHECK(h < previous);
    previous = h;
  }
}
