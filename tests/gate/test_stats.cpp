// Wilson intervals (against scipy, committed in tests/data/stats_vectors.json)
// and nearest-rank percentiles.
#include "gate/stats.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace kanari::gate;

TEST_CASE("stats: Wilson 95 % interval matches scipy.stats.binomtest") {
  std::ifstream f(std::string(KANARI_TEST_DATA) + "/stats_vectors.json");
  REQUIRE(f.good());
  const auto doc = nlohmann::json::parse(f);
  const auto& rows = doc.at("wilson");
  REQUIRE(rows.size() >= 10);
  for (const auto& row : rows) {
    INFO(row.dump());
    const auto w = wilson_interval(row.at("pass").get<std::int64_t>(), row.at("n").get<std::int64_t>());
    CHECK(w.lo == doctest::Approx(row.at("lo").get<double>()).epsilon(1e-12));
    CHECK(w.hi == doctest::Approx(row.at("hi").get<double>()).epsilon(1e-12));
  }
}

TEST_CASE("stats: Wilson interval edge cases") {
  SUBCASE("no data is the whole unit interval") {
    const auto w = wilson_interval(0, 0);
    CHECK(w.lo == 0.0);
    CHECK(w.hi == 1.0);
  }
  SUBCASE("7/10 by hand") {
    // center (0.7 + z^2/20)/(1 + z^2/10), z = 1.959963984540054
    const auto w = wilson_interval(7, 10);
    CHECK(w.lo == doctest::Approx(0.3967781).epsilon(1e-6));
    CHECK(w.hi == doctest::Approx(0.8922087).epsilon(1e-6));
  }
  SUBCASE("stays inside [0, 1] and contains the estimate") {
    for (std::int64_t n : {1, 2, 10, 1000}) {
      for (std::int64_t k = 0; k <= n; k += std::max<std::int64_t>(1, n / 7)) {
        const auto w = wilson_interval(k, n);
        const double p = static_cast<double>(k) / static_cast<double>(n);
        CHECK(w.lo >= 0.0);
        CHECK(w.hi <= 1.0);
        CHECK(w.lo <= p);
        CHECK(w.hi >= p);
      }
    }
  }
  SUBCASE("a wider z gives a wider interval") {
    const auto a = wilson_interval(7, 10);
    const auto b = wilson_interval(7, 10, 2.5758293035489004);
    CHECK(b.lo < a.lo);
    CHECK(b.hi > a.hi);
  }
}

TEST_CASE("stats: nearest-rank percentile") {
  auto seq = [](int n) {
    std::vector<double> v;
    for (int i = n; i >= 1; --i) // reversed: the function must sort
      v.push_back(static_cast<double>(i));
    return v;
  };
  SUBCASE("empty has no percentile") {
    std::vector<double> v;
    CHECK_FALSE(nearest_rank(v, 0.95));
  }
  SUBCASE("p outside [0, 1] or NaN") {
    auto v = seq(5);
    CHECK_FALSE(nearest_rank(v, 1.5));
    CHECK_FALSE(nearest_rank(v, -0.1));
    CHECK_FALSE(nearest_rank(v, std::nan("")));
  }
  SUBCASE("p95 of 1..20 is rank 19 (0.95 * 20 is not exactly 19 in doubles)") {
    auto v = seq(20);
    CHECK(nearest_rank(v, 0.95) == 19.0);
  }
  SUBCASE("p95 of 1..100 is 95, of 1..10 is 10, of 1..19 is 19") {
    auto a = seq(100);
    CHECK(nearest_rank(a, 0.95) == 95.0);
    auto b = seq(10);
    CHECK(nearest_rank(b, 0.95) == 10.0); // ceil(9.5) = 10
    auto c = seq(19);
    CHECK(nearest_rank(c, 0.95) == 19.0); // ceil(18.05) = 19
  }
  SUBCASE("p50 of 1..4 is 2, p0 is the minimum, p100 the maximum") {
    auto v = seq(4);
    CHECK(nearest_rank(v, 0.5) == 2.0);
    CHECK(nearest_rank(v, 0.0) == 1.0);
    CHECK(nearest_rank(v, 1.0) == 4.0);
  }
  SUBCASE("one value") {
    std::vector<double> v{42.5};
    CHECK(nearest_rank(v, 0.95) == 42.5);
  }
  SUBCASE("duplicates") {
    std::vector<double> v{3, 1, 3, 3, 2};
    CHECK(nearest_rank(v, 0.95) == 3.0);
    CHECK(nearest_rank(v, 0.2) == 1.0);
    CHECK(nearest_rank(v, 0.4) == 2.0);
  }
}
