// The tests of the paired analysis: in a shadow step both versions run on the
// same tasks, so each task is a pair. McNemar's exact test compares the pass
// rates through the discordant pairs; the Wilcoxon signed-rank test compares
// a metric through the per-task differences. Pure functions; the essay on
// what they compute and where it comes from opens paired.cpp.
#pragma once

#include <cstdint>
#include <vector>

namespace kanari::gate {

// McNemar's exact test, one-sided: the p-value of "the canary is worse",
// i.e. P(X >= stable_only) for X ~ Binomial(stable_only + canary_only, 1/2)
// (discordant pairs only). 1.0 when there are no discordant pairs.
// Requires 0 <= counts <= k_max_count (stats.hpp: 2^40); throws
// std::invalid_argument otherwise. Below the smallest double the p-value
// rounds to a subnormal or to 0.
double mcnemar_exact_p(std::int64_t stable_only, std::int64_t canary_only);

enum class Alternative { greater, less }; // greater: the differences tend to be positive

struct WilcoxonResult {
  std::int64_t n = 0;     // non-zero differences used
  std::int64_t zeros = 0; // zero differences dropped (Wilcoxon's original treatment)
  double w_plus = 0;      // sum of the ranks of the positive differences (average ranks for ties)
  bool exact = false;     // exact null distribution (n <= 50, no ties) or the normal approximation
  double z = 0;           // normal approximation only (tie-corrected variance, no continuity correction); 0 when exact
  double p = 1.0;         // one-sided p-value for `alt`; 1.0 when n == 0
};

// Wilcoxon signed-rank test on paired differences: zeros dropped first, then
// exact when n <= 50 and no tied |d|, else normal approximation with the
// tie correction of the variance and no continuity correction. With n == 0
// (no differences, or only zeros) the result is exact with W+ = 0 and p = 1.
// Values must be finite (std::invalid_argument otherwise). Takes the vector
// by value (it sorts).
WilcoxonResult wilcoxon_signed_rank(std::vector<double> differences, Alternative alt);

} // namespace kanari::gate
