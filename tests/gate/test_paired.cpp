// The paired tests (McNemar's exact test, the Wilcoxon signed-rank test)
// against scipy, through tests/data/gen_paired_vectors.py (committed output,
// no Python at test time), and by hand.
#include "gate/paired.hpp"
#include "gate/stats.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>

using namespace kanari::gate;
using nlohmann::json;

namespace {

json load_vectors() {
  std::ifstream f(std::string(KANARI_TEST_DATA) + "/paired_vectors.json");
  REQUIRE(f.good());
  return json::parse(f);
}

// Relative 1e-9 wherever the reference is a normal double, however small
// (p-values down to 1e-300 are compared as closely as p-values near 1/2: an
// absolute tolerance would accept 0 for any tiny p). Below DBL_MIN a double
// has fewer significant bits the smaller it is, down to one at 2^-1074, and
// scipy prints such results to a few digits; there both must be below
// DBL_MIN and within 16 steps of 2^-1074 of each other, 0 included.
bool close_p(double got, double want) {
  if (want < DBL_MIN)
    return got < DBL_MIN && std::fabs(got - want) <= 16 * std::numeric_limits<double>::denorm_min();
  return std::fabs(got - want) <= 1e-9 * want;
}

bool close(double a, double b) {
  return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::max(std::fabs(a), std::fabs(b)));
}

const double k_smallest_normal = DBL_MIN;

} // namespace

TEST_CASE("paired: McNemar p-values match the 50-digit reference vectors") {
  const json doc = load_vectors();
  const auto& cases = doc.at("mcnemar");
  REQUIRE(cases.size() >= 100);
  int tiny = 0, subnormal = 0, zero = 0, near_one = 0, huge = 0;
  for (const auto& c : cases) {
    INFO(c.dump());
    const auto stable_only = c.at("stable_only").get<std::int64_t>();
    const auto canary_only = c.at("canary_only").get<std::int64_t>();
    const double want = c.at("p").get<double>();
    const double got = mcnemar_exact_p(stable_only, canary_only);
    CHECK(close_p(got, want));
    tiny += want >= k_smallest_normal && want < 1e-280;
    subnormal += want > 0 && want < k_smallest_normal;
    zero += want == 0;
    near_one += want > 0.999 && want < 1;
    huge += stable_only + canary_only > std::int64_t{1} << 39;
  }
  // The vectors reach every corner the comparison is meant to cover.
  CHECK(tiny >= 3);
  CHECK(subnormal >= 3);
  CHECK(zero >= 3);
  CHECK(near_one >= 5);
  CHECK(huge >= 10);
}

TEST_CASE("paired: Wilcoxon signed-rank results match scipy.stats.wilcoxon") {
  const json doc = load_vectors();
  const auto& cases = doc.at("wilcoxon");
  REQUIRE(cases.size() >= 40);
  int exact = 0, approx = 0;
  for (const auto& c : cases) {
    INFO(c.at("name").get<std::string>());
    const auto alt = c.at("alternative") == "greater" ? Alternative::greater : Alternative::less;
    const auto r = wilcoxon_signed_rank(c.at("differences").get<std::vector<double>>(), alt);
    CHECK(r.n == c.at("n").get<std::int64_t>());
    CHECK(r.zeros == c.at("zeros").get<std::int64_t>());
    CHECK(r.w_plus == c.at("w_plus").get<double>()); // sums of half-integers: exact
    CHECK(r.exact == c.at("exact").get<bool>());
    CHECK(close(r.z, c.at("z").get<double>()));
    CHECK(close_p(r.p, c.at("p").get<double>()));
    (r.exact ? exact : approx) += 1;
  }
  CHECK(exact >= 10);
  CHECK(approx >= 10);
}

TEST_CASE("paired: McNemar rejects counts outside 0..2^40") {
  CHECK_THROWS_AS(mcnemar_exact_p(-1, 0), std::invalid_argument);
  CHECK_THROWS_AS(mcnemar_exact_p(0, -1), std::invalid_argument);
  CHECK_THROWS_AS(mcnemar_exact_p(k_max_count + 1, 0), std::invalid_argument);
  CHECK_THROWS_AS(mcnemar_exact_p(0, k_max_count + 1), std::invalid_argument);
  CHECK_THROWS_AS(mcnemar_exact_p(std::numeric_limits<std::int64_t>::min(), 5), std::invalid_argument);
  CHECK_NOTHROW(mcnemar_exact_p(k_max_count, k_max_count));
}

TEST_CASE("paired: McNemar by hand") {
  SUBCASE("no discordant pairs is no evidence") { CHECK(mcnemar_exact_p(0, 0) == 1.0); }
  SUBCASE("only canary_only pairs: the canary cannot be worse") { CHECK(mcnemar_exact_p(0, 9) == 1.0); }
  SUBCASE("three stable_only, none the other way: 1/8") {
    CHECK(mcnemar_exact_p(3, 0) == doctest::Approx(0.125).epsilon(1e-14));
  }
  SUBCASE("one each: P(X >= 1) for Binomial(2, 1/2) = 3/4") {
    CHECK(mcnemar_exact_p(1, 1) == doctest::Approx(0.75).epsilon(1e-14));
  }
  SUBCASE("7 vs 3: (C(10,7) + C(10,8) + C(10,9) + C(10,10)) / 2^10 = 176/1024") {
    CHECK(mcnemar_exact_p(7, 3) == doctest::Approx(176.0 / 1024).epsilon(1e-14));
  }
  SUBCASE("3 vs 7: 1 - (1 + 10 + 45) / 2^10") {
    CHECK(mcnemar_exact_p(3, 7) == doctest::Approx(1.0 - 56.0 / 1024).epsilon(1e-14));
  }
  SUBCASE("all stable_only: 2^-n, down to the smallest subnormal and then 0") {
    CHECK(mcnemar_exact_p(40, 0) == doctest::Approx(std::ldexp(1.0, -40)).epsilon(1e-13));
    CHECK(mcnemar_exact_p(1000, 0) == doctest::Approx(std::ldexp(1.0, -1000)).epsilon(1e-12));
    CHECK(mcnemar_exact_p(1074, 0) == std::numeric_limits<double>::denorm_min());
    CHECK(mcnemar_exact_p(1100, 0) == 0.0);
    CHECK(mcnemar_exact_p(k_max_count, 0) == 0.0);
  }
}

TEST_CASE("paired: McNemar p-values fall as stable_only grows and the two tails add up to 1") {
  // P(X >= k) + P(X >= n - k + 1) = 1 for Binomial(n, 1/2): the two branches
  // of the computation (direct tail, complement) must agree.
  for (const std::int64_t n : {std::int64_t{1}, std::int64_t{2}, std::int64_t{31}, std::int64_t{1000},
                               std::int64_t{1'000'001}, k_max_count + 5}) {
    INFO("n = " << n);
    const double sd = std::sqrt(static_cast<double>(n)) / 2;
    double previous = 2.0;
    for (double z = -12; z <= 12; z += 0.5) {
      const auto k = std::clamp<std::int64_t>(std::llround(static_cast<double>(n) / 2 + z * sd), 1, n);
      const double p = mcnemar_exact_p(k, n - k);
      CHECK(p <= previous);
      CHECK(p >= 0.0);
      CHECK(p <= 1.0);
      previous = p;
      if (n - k + 1 <= k_max_count && k - 1 <= k_max_count) {
        const double other = mcnemar_exact_p(n - k + 1, k - 1);
        CHECK(std::fabs(p + other - 1.0) <= 1e-12);
      }
    }
  }
}

TEST_CASE("paired: Wilcoxon rejects NaN and infinite differences") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  CHECK_THROWS_AS(wilcoxon_signed_rank({1.0, nan, 2.0}, Alternative::greater), std::invalid_argument);
  CHECK_THROWS_AS(wilcoxon_signed_rank({inf}, Alternative::less), std::invalid_argument);
  CHECK_THROWS_AS(wilcoxon_signed_rank({0.0, -inf}, Alternative::greater), std::invalid_argument);
}

TEST_CASE("paired: Wilcoxon with no non-zero differences") {
  for (const auto& d : {std::vector<double>{}, std::vector<double>{0.0, -0.0, 0.0}}) {
    for (const auto alt : {Alternative::greater, Alternative::less}) {
      const auto r = wilcoxon_signed_rank(d, alt);
      CHECK(r.n == 0);
      CHECK(r.zeros == static_cast<std::int64_t>(d.size()));
      CHECK(r.w_plus == 0.0);
      CHECK(r.exact);
      CHECK(r.z == 0.0);
      CHECK(r.p == 1.0);
    }
  }
}

TEST_CASE("paired: Wilcoxon by hand") {
  SUBCASE("1, 2, 3: W+ = 6, the largest of 8 equally likely sums") {
    const auto r = wilcoxon_signed_rank({1.0, 2.0, 3.0}, Alternative::greater);
    CHECK(r.n == 3);
    CHECK(r.w_plus == 6.0);
    CHECK(r.exact);
    CHECK(r.z == 0.0);
    CHECK(r.p == 0.125);
    CHECK(wilcoxon_signed_rank({1.0, 2.0, 3.0}, Alternative::less).p == 1.0);
  }
  SUBCASE("0, 1, -2, 3: zero dropped, W+ = 1 + 3 = 4") {
    // subset sums of {1, 2, 3}: 0 1 2 3 3 4 5 6
    const auto greater = wilcoxon_signed_rank({0.0, 1.0, -2.0, 3.0}, Alternative::greater);
    CHECK(greater.n == 3);
    CHECK(greater.zeros == 1);
    CHECK(greater.w_plus == 4.0);
    CHECK(greater.p == 3.0 / 8);
    CHECK(wilcoxon_signed_rank({0.0, 1.0, -2.0, 3.0}, Alternative::less).p == 6.0 / 8);
  }
  SUBCASE("n = 1") {
    CHECK(wilcoxon_signed_rank({-4.0}, Alternative::less).p == 0.5);
    CHECK(wilcoxon_signed_rank({-4.0}, Alternative::greater).p == 1.0);
  }
  SUBCASE("1, 1, -1: tied ranks 2, 2, 2, normal approximation") {
    // W+ = 4, mean 3, variance (3*4*7 - (27 - 3)/2) / 24 = 3
    const auto r = wilcoxon_signed_rank({1.0, 1.0, -1.0}, Alternative::greater);
    CHECK_FALSE(r.exact);
    CHECK(r.w_plus == 4.0);
    CHECK(r.z == doctest::Approx(1.0 / std::sqrt(3.0)).epsilon(1e-14));
    CHECK(r.p == doctest::Approx(0.5 * std::erfc(1.0 / std::sqrt(6.0))).epsilon(1e-14));
    CHECK(r.p == doctest::Approx(0.2818514).epsilon(1e-6)); // 1 - Phi(0.57735)
  }
  SUBCASE("all 50 positive: exact, 2^-50") {
    std::vector<double> d;
    for (int i = 1; i <= 50; ++i)
      d.push_back(i * 0.5);
    const auto r = wilcoxon_signed_rank(d, Alternative::greater);
    CHECK(r.exact);
    CHECK(r.w_plus == 1275.0);
    CHECK(r.p == std::ldexp(1.0, -50));
  }
}

TEST_CASE("paired: Wilcoxon drops zeros before choosing exact or approximate") {
  std::vector<double> d;
  for (int i = 1; i <= 50; ++i)
    d.push_back(i % 3 == 0 ? -i : i);
  for (int i = 0; i < 5; ++i)
    d.push_back(0.0);
  auto r = wilcoxon_signed_rank(d, Alternative::greater);
  CHECK(r.n == 50);
  CHECK(r.zeros == 5);
  CHECK(r.exact);
  d.push_back(51.0);
  r = wilcoxon_signed_rank(d, Alternative::greater);
  CHECK(r.n == 51);
  CHECK_FALSE(r.exact);
  CHECK(r.z != 0.0);
}

TEST_CASE("paired: Wilcoxon does not depend on the order of the differences") {
  std::vector<double> d = {0.3, -1.2, 2.5, 0.0, -0.7, 1.1, 1.1, 4.0, -3.3, 0.9, 2.2, -0.1};
  const auto first = wilcoxon_signed_rank(d, Alternative::greater);
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) {
    std::shuffle(d.begin(), d.end(), rng);
    const auto r = wilcoxon_signed_rank(d, Alternative::greater);
    CHECK(r.w_plus == first.w_plus);
    CHECK(r.z == first.z);
    CHECK(r.p == first.p);
  }
}
