// The statistics of the paired analysis, and where they come from.
//
// In a shadow step both versions answer the same tasks, so the two samples
// are not independent: a hard task tends to fail on both. Comparing the two
// pass rates as if they were independent would waste that pairing; the tests
// below use only what differs within a pair, which removes the variation
// between tasks.
//
// 1. McNemar's test (Q. McNemar, "Note on the sampling error of the
//    difference between correlated proportions or percentages",
//    Psychometrika 12, 1947), exact form. Of the four kinds of pair (both
//    pass, stable only, canary only, both fail) only the discordant ones
//    carry information on the difference of the pass rates: c - s =
//    (canary_only - stable_only) / pairs. Given m = stable_only +
//    canary_only discordant pairs, under "the versions are equally good"
//    each discordant pair is stable_only with probability 1/2, so
//    stable_only ~ Binomial(m, 1/2). The one-sided p-value of "the canary is
//    worse" is the upper tail P(X >= stable_only), the conditional exact
//    test of Fagerland, Lydersen and Laake ("The McNemar test for binary
//    matched-pairs data", BMC Medical Research Methodology 13:91, 2013). It
//    equals scipy.stats.binomtest(stable_only, m, 0.5, 'greater') and the
//    regularized incomplete beta I_{1/2}(stable_only, m - stable_only + 1).
//
//    Computing it. Counts go up to 2^40, so a sum over all m + 1 terms is
//    out, and so is the textbook route through lgamma: lgamma(2^40) is about
//    3e13, whose last bit is worth 4e-3, so exp of a difference of such
//    numbers is only good to a few per cent. Instead:
//    - Each term ln P(X = j) comes from C. Loader's saddle-point form
//      ("Fast and accurate computation of binomial probabilities", 2000;
//      the algorithm behind R's dbinom):
//          ln P(X = j) = stirlerr(m) - stirlerr(j) - stirlerr(m - j)
//                        - bd0(j, m/2) - bd0(m - j, m/2)
//                        + 1/2 ln( m / (2 pi j (m - j)) )
//      where stirlerr(n) = ln n! - ln( sqrt(2 pi n) (n/e)^n ) (Stirling's
//      series, exact factorials up to 15) and bd0(x, np) = x ln(x/np) + np
//      - x, summed as a series when x is near np so that nothing large
//      cancels. Every piece is small when the term matters, so the
//      logarithm has an absolute error near 1e-14 for any m.
//    - The tail is summed from its largest term outwards, with the ratio
//      t_{j+1} / t_j = (m - j)/(j + 1), relative to the first term (so
//      nothing underflows however small the p-value: it is exp(ln t_k +
//      ln sum) at the end, which rounds to a subnormal or 0 only where the
//      double itself must). Every 1024 terms the running term is recomputed
//      from Loader's form and the partial sum is added to the total with
//      Neumaier's compensated summation, so rounding cannot accumulate over
//      millions of terms. The sum stops once the rest, bounded by a
//      geometric series since the ratios fall, is below 2^-55 of it.
//    - Only tails that start above the mean m/2 are summed, since their
//      terms fall from the first; for stable_only <= m/2 the p-value is
//      1 - P(X >= m - stable_only + 1) by the symmetry of Binomial(m, 1/2),
//      which is at least 1/2 and so loses nothing to the subtraction.
//    The work is the number of terms that matter: a handful in the far
//    tail, at most about 9 standard deviations (9 sqrt(m)/2, some 7 million
//    additions at m = 2^41) near the mean.
//
// 2. The Wilcoxon signed-rank test (F. Wilcoxon, "Individual comparisons by
//    ranking methods", Biometrics Bulletin 1, 1945) on the per-task
//    differences d = canary - stable of a metric. Zero differences are
//    dropped (Wilcoxon's own treatment; Pratt's 1959 alternative keeps them
//    in the ranking). The remaining n are ranked by |d|, tied magnitudes
//    sharing the average of their ranks, and W+ is the sum of the ranks of
//    the positive d. Under "the differences are symmetric about 0" every
//    sign is a fair coin, independently, so W+ is the sum of a uniformly
//    random subset of the ranks.
//    - Exact (n <= 50, no ties): the number of subsets of {1..n} with each
//      sum, by dynamic programming (the coefficients of prod (1 + x^r));
//      the total is 2^n <= 2^50, so the counts and the tail are exact
//      integers and the p-value, tail / 2^n, is exact in a double. Dropping
//      zeros first is exact too (the test is conditional on their number),
//      so 55 differences of which 5 are zero get the exact test.
//    - Approximate (n > 50, or ties, where the ranks are no longer 1..n):
//      W+ is close to normal with mean n(n+1)/4 and variance
//          ( n(n+1)(2n+1) - 1/2 sum_t (t^3 - t) ) / 24
//      over the groups of t tied magnitudes (the usual tie correction, e.g.
//      E. L. Lehmann, "Nonparametrics", 1975, ch. 3), z = (W+ - mean) / sd
//      without a continuity correction, and the p-value a normal tail.
//    greater: P(W+ >= observed), the differences tend to be positive; less:
//    P(W+ <= observed). These are scipy.stats.wilcoxon's zero_method="wilcox"
//    with method "exact", or "approx" with correction=False, applied to the
//    non-zero differences.
#include "gate/paired.hpp"

#include "gate/stats.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace kanari::gate {

namespace {

// ln n! - ln( sqrt(2 pi n) (n/e)^n ) for an integer n >= 1 (Loader 2000).
double stirlerr(double n) {
  const double half_ln_2pi = 0.5 * std::log(2.0 * std::numbers::pi);
  if (n <= 15.0) {
    double factorial = 1.0; // exact: 15! < 2^53
    for (double i = 2.0; i <= n; i += 1.0)
      factorial *= i;
    return std::log(factorial) - (n + 0.5) * std::log(n) + n - half_ln_2pi;
  }
  constexpr double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260, s3 = 1.0 / 1680, s4 = 1.0 / 1188;
  const double nn = n * n;
  if (n > 500.0)
    return (s0 - s1 / nn) / n;
  if (n > 80.0)
    return (s0 - (s1 - s2 / nn) / nn) / n;
  if (n > 35.0)
    return (s0 - (s1 - (s2 - s3 / nn) / nn) / nn) / n;
  return (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n;
}

// x ln(x / np) + np - x, the deviance term, without cancellation when x is
// near np (Loader 2000). x > 0, np > 0.
double bd0(double x, double np) {
  if (std::fabs(x - np) < 0.1 * (x + np)) {
    double v = (x - np) / (x + np);
    double s = (x - np) * v;
    double ej = 2.0 * x * v;
    v *= v;
    for (int j = 1; j < 1000; ++j) { // |v| < 0.1: each term 100 times smaller
      ej *= v;
      const double next = s + ej / (2 * j + 1);
      if (next == s)
        return s;
      s = next;
    }
    return s;
  }
  return x * std::log(x / np) + np - x;
}

// ln P(X = k) for X ~ Binomial(n, 1/2), 0 <= k <= n, n >= 1.
double log_pmf_half(std::int64_t k, std::int64_t n) {
  const double nd = static_cast<double>(n);
  if (k == 0 || k == n)
    return -nd * std::numbers::ln2;
  const double kd = static_cast<double>(k), md = static_cast<double>(n - k), half = nd / 2.0;
  return stirlerr(nd) - stirlerr(kd) - stirlerr(md) - bd0(kd, half) - bd0(md, half) +
         0.5 * (std::log(nd / (kd * md)) - std::log(2.0 * std::numbers::pi));
}

// ln P(X >= k) for X ~ Binomial(n, 1/2) and n/2 < k <= n, where the terms
// fall from the first: t_{j+1} = t_j (n - j)/(j + 1).
double log_upper_tail_half(std::int64_t k, std::int64_t n) {
  constexpr std::int64_t k_block = 1024;
  const double tolerance = std::ldexp(1.0, -55);
  const double first = log_pmf_half(k, n);
  // The sum of t_j / t_k, in blocks: each block starts from Loader's form and
  // runs the ratios for at most k_block terms; the block sums are added with
  // Neumaier's compensation, so millions of terms cost no accuracy.
  double sum = 0.0, compensation = 0.0;
  for (std::int64_t start = k;; start += k_block) {
    double term = start == k ? 1.0 : std::exp(log_pmf_half(start, n) - first);
    double block = 0.0;
    bool done = false;
    for (std::int64_t j = start; j < start + k_block; ++j) {
      block += term;
      if (j == n) {
        done = true;
        break;
      }
      const double ratio = static_cast<double>(n - j) / static_cast<double>(j + 1);
      // The rest is below term * (ratio + ratio^2 + ...) = term * ratio / (1 - ratio).
      if (term * ratio < tolerance * (sum + block) * (1.0 - ratio)) {
        done = true;
        break;
      }
      term *= ratio;
    }
    const double total = sum + block;
    compensation += std::fabs(sum) >= std::fabs(block) ? (sum - total) + block : (block - total) + sum;
    sum = total;
    if (done)
      break;
  }
  return first + std::log(sum + compensation);
}

} // namespace

double mcnemar_exact_p(std::int64_t stable_only, std::int64_t canary_only) {
  if (stable_only < 0 || canary_only < 0 || stable_only > k_max_count || canary_only > k_max_count)
    throw std::invalid_argument("mcnemar_exact_p: discordant counts must be between 0 and 2^40");
  const std::int64_t n = stable_only + canary_only, k = stable_only;
  if (k == 0) // includes n == 0: no evidence either way
    return 1.0;
  if (2 * k > n)
    return std::exp(log_upper_tail_half(k, n));
  // P(X >= k) = 1 - P(X <= k - 1) = 1 - P(X >= n - k + 1), and n - k + 1 > n/2.
  return 1.0 - std::exp(log_upper_tail_half(n - k + 1, n));
}

WilcoxonResult wilcoxon_signed_rank(std::vector<double> differences, Alternative alt) {
  for (const double d : differences)
    if (!std::isfinite(d))
      throw std::invalid_argument("wilcoxon_signed_rank: differences must be finite numbers");
  WilcoxonResult r;
  // d == 0.0 holds for -0.0 too.
  const auto kept_end = std::remove(differences.begin(), differences.end(), 0.0);
  r.zeros = differences.end() - kept_end;
  differences.erase(kept_end, differences.end());
  r.n = static_cast<std::int64_t>(differences.size());
  if (r.n == 0) { // W+ is 0 with certainty
    r.exact = true;
    return r;
  }

  std::sort(differences.begin(), differences.end(), [](double a, double b) { return std::fabs(a) < std::fabs(b); });
  double tie_sum = 0.0; // sum over tie groups of t^3 - t
  for (std::size_t i = 0; i < differences.size();) {
    std::size_t j = i + 1;
    while (j < differences.size() && std::fabs(differences[j]) == std::fabs(differences[i]))
      ++j;
    // positions i..j-1 hold ranks i+1..j; each gets their average
    const double rank = static_cast<double>(i + 1 + j) / 2.0;
    for (std::size_t m = i; m < j; ++m)
      if (differences[m] > 0.0)
        r.w_plus += rank;
    const double t = static_cast<double>(j - i);
    tie_sum += t * (t * t - 1.0);
    i = j;
  }

  if (r.n <= 50 && tie_sum == 0.0) {
    r.exact = true;
    // count[s]: subsets of {1..n} whose sum is s.
    const std::int64_t top = r.n * (r.n + 1) / 2;
    std::vector<std::uint64_t> count(static_cast<std::size_t>(top) + 1, 0);
    count[0] = 1;
    for (std::int64_t rank = 1; rank <= r.n; ++rank)
      for (std::int64_t s = rank * (rank + 1) / 2; s >= rank; --s)
        count[static_cast<std::size_t>(s)] += count[static_cast<std::size_t>(s - rank)];
    const auto w = static_cast<std::size_t>(r.w_plus); // an integer without ties
    std::uint64_t tail = 0;
    if (alt == Alternative::greater) {
      for (std::size_t s = w; s < count.size(); ++s)
        tail += count[s];
    } else {
      for (std::size_t s = 0; s <= w; ++s)
        tail += count[s];
    }
    r.p = std::ldexp(static_cast<double>(tail), -static_cast<int>(r.n)); // tail <= 2^50: exact
    return r;
  }

  const double n = static_cast<double>(r.n);
  const double mean = n * (n + 1.0) / 4.0;
  const double sd = std::sqrt((n * (n + 1.0) * (2.0 * n + 1.0) - 0.5 * tie_sum) / 24.0);
  r.z = (r.w_plus - mean) / sd;
  // Normal tails through erfc, accurate far out where 1 - Phi(z) would round to 0.
  const double z = alt == Alternative::greater ? r.z : -r.z;
  r.p = 0.5 * std::erfc(z / std::numbers::sqrt2);
  return r;
}

} // namespace kanari::gate
