// simulate(): determinism, operating characteristics that a user relies on,
// validation, and the paired mode. The docs/gates.md tables are checked by
// test_simulate_tables.cpp.
#include "gate/simulate.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

using namespace kanari::gate;

namespace {

SimulationResult run(const Policy& p, SimulationConfig cfg) {
  auto r = simulate(p, cfg);
  REQUIRE(r.ok());
  return *r;
}

SimulationConfig config(double stable, double canary, std::int64_t trials = 2000) {
  SimulationConfig cfg{stable, canary};
  cfg.trials = trials;
  return cfg;
}

} // namespace

TEST_CASE("simulate: deterministic for a seed, different across seeds") {
  const Policy p;
  auto cfg = config(0.9, 0.85);
  const auto a = run(p, cfg);
  const auto b = run(p, cfg);
  CHECK(a.promote == b.promote);
  CHECK(a.rollback == b.rollback);
  CHECK(a.gate_evaluations == b.gate_evaluations);
  CHECK(a.mean_tasks_to_verdict == b.mean_tasks_to_verdict);
  cfg.seed = 2;
  const auto c = run(p, cfg);
  CHECK((c.promote != a.promote || c.gate_evaluations != a.gate_evaluations));
}

TEST_CASE("simulate: counts add up") {
  for (Method m : {Method::threshold, Method::sequential}) {
    Policy p;
    p.method = m;
    auto cfg = config(0.9, 0.8, 500);
    cfg.max_canary_tasks = 200;
    const auto r = run(p, cfg);
    CHECK(r.trials == 500);
    CHECK(r.promote + r.rollback + r.undecided == r.trials);
    CHECK(r.p_promote + r.p_rollback + r.p_undecided == doctest::Approx(1.0));
    CHECK(r.gate_evaluations >= r.trials);
  }
}

TEST_CASE("simulate: the threshold rule on equal rates mostly promotes") {
  const auto r = run(Policy{}, config(0.9, 0.9));
  CHECK(r.p_promote > 0.6);
  CHECK(r.p_rollback < 0.4);
  CHECK(r.mean_tasks_to_verdict >= 10.0); // nothing is decided before min_samples
}

TEST_CASE("simulate: a much worse canary is rolled back nearly always") {
  for (Method m : {Method::threshold, Method::sequential}) {
    Policy p;
    p.method = m;
    const auto r = run(p, config(0.9, 0.5));
    INFO(static_cast<int>(m));
    CHECK(r.p_rollback > 0.97);
  }
}

TEST_CASE("simulate: certain outcomes") {
  SUBCASE("both always pass: promoted at the first evaluation") {
    const auto r = run(Policy{}, config(1.0, 1.0, 100));
    CHECK(r.promote == 100);
    CHECK(r.mean_tasks_to_verdict == 10.0);
    CHECK(r.gate_evaluations == 1000); // nine INSUFFICIENT_DATA evaluations first
  }
  SUBCASE("canary always fails: rolled back at the first evaluation") {
    const auto r = run(Policy{}, config(1.0, 0.0, 100));
    CHECK(r.rollback == 100);
    CHECK(r.mean_tasks_to_verdict == 10.0);
  }
  SUBCASE("eval_every 10 first evaluates at the 10th task, consecutive 3 at the 30th") {
    Policy p;
    p.consecutive = 3;
    auto cfg = config(1.0, 1.0, 10);
    cfg.eval_every = 10;
    const auto r = run(p, cfg);
    CHECK(r.promote == 10);
    CHECK(r.mean_tasks_to_verdict == 30.0);
    CHECK(r.gate_evaluations == 30);
  }
  SUBCASE("never decided: NaN mean, all undecided") {
    Policy p;
    p.min_samples = 1000;
    auto cfg = config(0.9, 0.9, 10);
    cfg.max_canary_tasks = 50;
    const auto r = run(p, cfg);
    CHECK(r.undecided == 10);
    CHECK(std::isnan(r.mean_tasks_to_verdict));
  }
}

TEST_CASE("simulate: the sequential method rolls back less on equal rates than threshold") {
  Policy seq;
  seq.method = Method::sequential;
  const auto t = run(Policy{}, config(0.9, 0.9));
  const auto s = run(seq, config(0.9, 0.9));
  CHECK(s.p_rollback < t.p_rollback);
  CHECK(s.p_rollback < 0.05);
}

TEST_CASE("simulate: validates its configuration") {
  const Policy p;
  auto bad = [&](SimulationConfig cfg) {
    auto r = simulate(p, cfg);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == kanari::ErrorCode::usage);
    return r.error().message;
  };
  CHECK(bad(config(1.5, 0.9)).find("stable rate") != std::string::npos);
  CHECK(bad(config(0.9, -0.1)).find("canary rate") != std::string::npos);
  CHECK(bad(config(0.9, std::nan(""))).find("canary rate") != std::string::npos);
  CHECK(bad(config(0.9, 0.9, 0)).find("trials") != std::string::npos);
  auto cfg = config(0.9, 0.9);
  cfg.eval_every = 0;
  CHECK(bad(cfg).find("eval every") != std::string::npos);
  cfg = config(0.9, 0.9);
  cfg.max_canary_tasks = 0;
  CHECK(bad(cfg).find("max canary tasks") != std::string::npos);
  cfg = config(0.9, 0.9);
  cfg.stable_per_canary = -1;
  CHECK(bad(cfg).find("stable tasks per canary task") != std::string::npos);
}

TEST_CASE("simulate: paired counts add up and are deterministic") {
  Policy p;
  auto cfg = config(0.9, 0.85, 500);
  cfg.paired = true;
  const auto a = run(p, cfg);
  const auto b = run(p, cfg);
  CHECK(a.promote + a.rollback + a.undecided == 500);
  CHECK(a.promote == b.promote);
  CHECK(a.gate_evaluations == b.gate_evaluations);
  cfg.paired = false;
  const auto c = run(p, cfg);
  CHECK((c.promote != a.promote || c.gate_evaluations != a.gate_evaluations));
}

TEST_CASE("simulate: paired outcomes that always agree never disagree") {
  // Correlation 1 and equal rates: every pair agrees, so there is no
  // discordant pair for McNemar and the pair rates are equal: PROMOTE at
  // the first evaluation, every time.
  auto cfg = config(0.9, 0.9, 1000);
  cfg.paired = true;
  cfg.pair_correlation = 1.0;
  const auto r = run(Policy{}, cfg);
  CHECK(r.promote == 1000);
  CHECK(r.mean_tasks_to_verdict == 10.0);
}

TEST_CASE("simulate: at the same false-rollback rate the paired test needs fewer tasks") {
  // docs/gates.md, "Paired versus unpaired": McNemar at paired_alpha 0.002
  // rolls back a canary as good as stable no more often than the unpaired
  // sequential method does, and catches a 10-point regression sooner.
  Policy unpaired;
  unpaired.method = Method::sequential;
  Policy paired = unpaired;
  paired.paired_alpha = 0.002;
  auto pairs = [](SimulationConfig cfg) {
    cfg.paired = true;
    return cfg;
  };
  const auto same_u = run(unpaired, config(0.9, 0.9));
  const auto same_p = run(paired, pairs(config(0.9, 0.9)));
  CHECK(same_p.p_rollback <= same_u.p_rollback + 0.005);
  const auto worse_u = run(unpaired, config(0.9, 0.8));
  const auto worse_p = run(paired, pairs(config(0.9, 0.8)));
  CHECK(worse_p.p_rollback >= worse_u.p_rollback);
  CHECK(worse_p.mean_tasks_to_verdict < 0.85 * worse_u.mean_tasks_to_verdict);
}

TEST_CASE("simulate: validates the pair correlation") {
  auto cfg = config(0.9, 0.9);
  cfg.paired = true;
  cfg.pair_correlation = 1.5;
  auto r = simulate(Policy{}, cfg);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("pair correlation") != std::string::npos);
}
