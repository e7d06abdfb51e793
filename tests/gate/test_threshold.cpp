// The default rule (SPEC §6.2) at every boundary, through evaluate().
#include "gate/gate.hpp"
#include "gate/stats.hpp"

#include <doctest/doctest.h>

#include <fstream>

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

Verdict verdict(const Policy& p, std::int64_t cp, std::int64_t cn, std::int64_t sp, std::int64_t sn) {
  return evaluate(p, counts(cp, cn, sp, sn)).verdict;
}

Policy relative() {
  Policy p;
  p.regression = Regression::relative;
  return p;
}

} // namespace

TEST_CASE("threshold: absolute regression boundaries are exact") {
  const Policy p; // defaults: min 10, max_regression 0.10 absolute
  SUBCASE("7/10 vs 8/10 is exactly 10 points: HOLD, not ROLLBACK") { CHECK(verdict(p, 7, 10, 8, 10) == Verdict::hold); }
  SUBCASE("6/10 vs 7/10 is exactly 10 points: HOLD") { CHECK(verdict(p, 6, 10, 7, 10) == Verdict::hold); }
  SUBCASE("69/100 vs 80/100 is 11 points: ROLLBACK") { CHECK(verdict(p, 69, 100, 80, 100) == Verdict::rollback); }
  SUBCASE("70/100 vs 80/100 is exactly 10 points: HOLD") { CHECK(verdict(p, 70, 100, 80, 100) == Verdict::hold); }
  SUBCASE("7/10 vs 9/10 is 20 points: ROLLBACK") { CHECK(verdict(p, 7, 10, 9, 10) == Verdict::rollback); }
  SUBCASE("equal rates promote") {
    CHECK(verdict(p, 9, 10, 9, 10) == Verdict::promote);
    CHECK(verdict(p, 90, 100, 9, 10) == Verdict::promote);
  }
  SUBCASE("canary one pass short of stable holds") { CHECK(verdict(p, 89, 100, 90, 100) == Verdict::hold); }
  SUBCASE("zero rates on both arms promote") { CHECK(verdict(p, 0, 10, 0, 10) == Verdict::promote); }
  SUBCASE("max_regression 0: any regression rolls back") {
    Policy zero;
    zero.max_regression_ppm = 0;
    CHECK(verdict(zero, 89, 100, 90, 100) == Verdict::rollback);
    CHECK(verdict(zero, 90, 100, 90, 100) == Verdict::promote);
  }
  SUBCASE("max_regression 1: never rolls back on pass rate") {
    Policy one;
    one.max_regression_ppm = 1'000'000;
    CHECK(verdict(one, 0, 10, 10, 10) == Verdict::hold);
  }
  SUBCASE("0.07 is exactly 7 points") {
    Policy p7;
    p7.max_regression_ppm = 70000;
    CHECK(verdict(p7, 83, 100, 90, 100) == Verdict::hold);
    CHECK(verdict(p7, 82, 100, 90, 100) == Verdict::rollback);
  }
}

TEST_CASE("threshold: relative regression boundaries are exact") {
  const Policy p = relative();
  SUBCASE("exactly 10 % relative worse holds, one fail more rolls back") {
    CHECK(verdict(p, 72, 100, 80, 100) == Verdict::hold); // (0.8-0.72)/0.8 = 0.10
    CHECK(verdict(p, 71, 100, 80, 100) == Verdict::rollback);
  }
  SUBCASE("9/10 vs 10/10 is exactly 10 % relative") {
    CHECK(verdict(p, 9, 10, 10, 10) == Verdict::hold);
    CHECK(verdict(p, 8, 10, 10, 10) == Verdict::rollback);
  }
  SUBCASE("stable 0: never a rollback, canary cannot be worse") {
    CHECK(verdict(p, 0, 10, 0, 10) == Verdict::promote);
    CHECK(verdict(p, 3, 10, 0, 10) == Verdict::promote);
  }
  SUBCASE("relative and absolute differ where they should") {
    // 45/100 vs 50/100: 5 points (absolute HOLD) but 10 % relative (HOLD);
    // 44/100: 6 points absolute HOLD, 12 % relative ROLLBACK.
    CHECK(verdict(Policy{}, 44, 100, 50, 100) == Verdict::hold);
    CHECK(verdict(p, 44, 100, 50, 100) == Verdict::rollback);
  }
}

TEST_CASE("threshold: minimum samples") {
  Policy p;
  SUBCASE("min_samples - 1 canary tasks is INSUFFICIENT_DATA with the shortfall") {
    auto r = evaluate(p, counts(9, 9, 9, 10));
    CHECK(r.verdict == Verdict::insufficient_data);
    REQUIRE(r.more_canary_tasks);
    CHECK(*r.more_canary_tasks == 1);
    REQUIRE(!r.reasons.empty());
    CHECK(r.reasons[0] == "insufficient data: canary 9/10 tasks");
  }
  SUBCASE("7 of 10 canary tasks reports 7/10 and 3 more") {
    auto r = evaluate(p, counts(7, 7, 9, 10));
    CHECK(r.verdict == Verdict::insufficient_data);
    CHECK(r.reasons[0] == "insufficient data: canary 7/10 tasks");
    CHECK(r.more_canary_tasks == 3);
  }
  SUBCASE("baseline below min_stable_samples") {
    auto r = evaluate(p, counts(10, 10, 9, 9));
    CHECK(r.verdict == Verdict::insufficient_data);
    CHECK(r.reasons[0] == "insufficient data: stable 9/10 tasks");
    CHECK_FALSE(r.more_canary_tasks);
  }
  SUBCASE("no baseline at all") { CHECK(verdict(p, 10, 10, 0, 0) == Verdict::insufficient_data); }
  SUBCASE("min_stable_samples 0 (only constructible in code) still needs one stable outcome") {
    p.min_stable_samples = 0;
    CHECK(verdict(p, 10, 10, 0, 0) == Verdict::insufficient_data);
    CHECK(verdict(p, 10, 10, 1, 1) == Verdict::promote);
  }
  SUBCASE("min_stable_samples differs from min_samples") {
    p.min_stable_samples = 50;
    CHECK(verdict(p, 10, 10, 49, 49) == Verdict::insufficient_data);
    CHECK(verdict(p, 10, 10, 50, 50) == Verdict::promote);
  }
  SUBCASE("exactly min_samples decides") { CHECK(verdict(p, 10, 10, 10, 10) == Verdict::promote); }
}

TEST_CASE("threshold: huge counts do not overflow") {
  const std::int64_t big = k_max_count;
  const Policy p;
  // s = 1; c just above 0.9 holds, one pass fewer puts c below 0.9.
  CHECK(threshold_call({big - big / 10, big}, {big, big}, 100000, Regression::absolute) == PassRateCall::hold);
  CHECK(threshold_call({big - big / 10 - 1, big}, {big, big}, 100000, Regression::absolute) == PassRateCall::rollback);
  CHECK(threshold_call({big - 1, big}, {big, big}, 0, Regression::absolute) == PassRateCall::rollback);
  CHECK(threshold_call({big, big}, {big - 1, big}, 0, Regression::absolute) == PassRateCall::promote);
  CHECK(verdict(p, big, big, big - 1, big) == Verdict::promote);
  CHECK_THROWS_AS(evaluate(p, counts(1, big + 1, 1, 10)), std::invalid_argument);
}

TEST_CASE("threshold: invalid counts are a caller bug") {
  const Policy p;
  CHECK_THROWS_AS(evaluate(p, counts(11, 10, 5, 10)), std::invalid_argument);
  CHECK_THROWS_AS(evaluate(p, counts(-1, 10, 5, 10)), std::invalid_argument);
  CHECK_THROWS_AS(evaluate(p, counts(5, 10, 5, -10)), std::invalid_argument);
}

TEST_CASE("threshold: matches exact rational arithmetic on the committed vectors") {
  std::ifstream f(std::string(KANARI_TEST_DATA) + "/stats_vectors.json");
  REQUIRE(f.good());
  const auto doc = nlohmann::json::parse(f);
  const auto& rows = doc.at("threshold");
  REQUIRE(rows.size() > 1000);
  int checked = 0;
  for (const auto& row : rows) {
    const Counts c{row[0].get<std::int64_t>(), row[1].get<std::int64_t>()};
    const Counts s{row[2].get<std::int64_t>(), row[3].get<std::int64_t>()};
    const auto ppm = row[4].get<std::int64_t>();
    const auto reg = row[5] == "relative" ? Regression::relative : Regression::absolute;
    const auto call = threshold_call(c, s, ppm, reg);
    const std::string got = call == PassRateCall::promote ? "promote"
                            : call == PassRateCall::hold  ? "hold"
                                                          : "rollback";
    INFO(row.dump());
    CHECK(got == row[6].get<std::string>());
    ++checked;
  }
  CHECK(checked == static_cast<int>(rows.size()));
}

TEST_CASE("threshold: reasons carry the numbers and the threshold") {
  const Policy p;
  SUBCASE("rollback") {
    auto r = evaluate(p, counts(7, 10, 9, 10));
    REQUIRE(r.verdict == Verdict::rollback);
    CHECK(r.reasons.at(0) == "pass rate: canary 7/10 = 70.0 % vs stable 9/10 = 90.0 %: 20.0 points worse > 10.0 "
                             "allowed");
  }
  SUBCASE("hold at exactly the threshold") {
    auto r = evaluate(p, counts(7, 10, 8, 10));
    REQUIRE(r.verdict == Verdict::hold);
    CHECK(r.reasons.at(0) == "pass rate: canary 7/10 = 70.0 % vs stable 8/10 = 80.0 %: 10.0 "
                             "points worse, within the 10.0 allowed, but below stable; holding");
    CHECK_FALSE(r.more_canary_tasks);
  }
  SUBCASE("a strict excess that rounds to the threshold shows more decimals") {
    // 8999/10000 vs 10/10 is 10.01 points: "10.0 > 10.0" would read wrong.
    auto r = evaluate(p, counts(8999, 10000, 10, 10));
    REQUIRE(r.verdict == Verdict::rollback);
    CHECK(r.reasons.at(0).find("10.01 points worse > 10.00 allowed") != std::string::npos);
  }
  SUBCASE("relative") {
    auto r = evaluate(relative(), counts(68, 100, 80, 100));
    REQUIRE(r.verdict == Verdict::rollback);
    CHECK(r.reasons.at(0).find("15.0 % worse relative to stable > 10.0 % allowed") != std::string::npos);
  }
  SUBCASE("promote") {
    auto r = evaluate(p, counts(9, 10, 9, 10));
    REQUIRE(r.verdict == Verdict::promote);
    CHECK(r.reasons.at(0) == "pass rate: canary 9/10 = 90.0 % vs stable 9/10 = 90.0 %: canary is not worse than "
                             "stable");
  }
}
