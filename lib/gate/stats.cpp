// The statistics of the gate, and where they come from.
//
// 1. The threshold rule (docs/gates.md, Bernstein's): with c = cp/cn the canary
//    pass rate and s = sp/sn stable's, roll back when s - c (absolute) or
//    (s - c)/s (relative) is greater than max_regression, promote when
//    c >= s. Nothing here is estimated, so the only thing that can go wrong
//    is arithmetic: 0.8 - 0.7 is 0.10000000000000009 in doubles, which would
//    roll back the 7/10 vs 8/10 case the spec says must hold. So every
//    comparison is cross-multiplied in 128-bit integers with max_regression
//    held in parts per million:
//        absolute:  (sp*cn - cp*sn) * 10^6 > ppm * sn * cn
//        relative:  (sp*cn - cp*sn) * 10^6 > ppm * sp * cn   (sp > 0)
//        promote:    cp*sn >= sp*cn
//    With counts below 2^40 each side stays below 2^100.
//
// 2. The sequential method (docs/gates.md). A fixed-sample test read at every
//    cron run "peeks": its false-alarm rate grows with the number of looks.
//    A confidence sequence is a sequence of intervals C_t that contain the
//    true value at every t simultaneously with probability 1 - alpha, so it
//    may be read after every task. We use the asymptotic confidence sequence
//    of Waudby-Smith, Arbour, Sinha, Kennedy and Ramdas, "Time-uniform
//    central limit theory and asymptotic confidence sequences" (Annals of
//    Statistics, 2024; arXiv:2103.06476), the construction GrowthBook ships
//    as "sequential testing" (gbstats, sequential_interval_halfwidth). It is
//    Robbins' normal-mixture boundary applied, through a strong Gaussian
//    approximation, to the sample mean:
//        C_t = mu_t +- sigma_t * sqrt( 2(t rho^2 + 1) / (t^2 rho^2)
//                                       * ln( sqrt(t rho^2 + 1) / alpha ) )
//    with rho^2 = ( -2 ln alpha + ln(-2 ln alpha + 1) ) / t* chosen so that
//    the boundary is tightest at t* observations (the paper's closed-form
//    approximation, GrowthBook's "tuning parameter"; here planned_samples).
//    For two arms we follow GrowthBook: mu_t = c - s, t = cn + sn, and
//    sigma_t^2 = t * (vc/cn + vs/sn), where the per-arm variances use
//    add-one-smoothed rates p~ = (pass + 1)/(n + 2) (Agresti and Caffo,
//    "Simple and effective confidence intervals for proportions and
//    differences of proportions", The American Statistician 54, 2000), so an
//    arm with 10/10 passes does not claim zero variance. The smoothing is
//    asymptotically negligible, so the guarantee is unchanged.
//    The bounds are the two sides of the two-sided (1 - alpha) sequence, so
//    each one-sided statement holds with probability at least 1 - alpha
//    (conservatively: the two-sided boundary spends alpha on both sides).
//    The guarantee is asymptotic: at ten tasks it is an approximation, which
//    is why min_samples still applies and why docs/gates.md carries the
//    simulated operating characteristics.
//
// 3. Wilson score interval (E. B. Wilson, "Probable inference, the law of
//    succession, and statistical inference", JASA 22, 1927), for displaying
//    a pass rate with its uncertainty: the set of p whose score test
//    |phat - p| <= z sqrt(p(1-p)/n) accepts, which unlike phat +- z se stays
//    inside [0, 1] and is sane at 0/n and n/n.
//
// 4. Nearest-rank percentile (docs/gates.md): the value at rank ceil(p n) of the
//    sorted sample, one of the values actually observed.
#include "gate/stats.hpp"

#include <algorithm>
#include <cmath>

namespace kanari::gate {

namespace {
__extension__ typedef __int128 Int128;
} // namespace

PassRateCall threshold_call(Counts canary, Counts stable, std::int64_t max_regression_ppm, Regression regression) {
  const Int128 cp = canary.pass, cn = canary.n, sp = stable.pass, sn = stable.n;
  const Int128 worse = sp * cn - cp * sn; // sign of s - c, scaled by sn * cn
  const Int128 ppm = max_regression_ppm;
  constexpr Int128 k_million = 1'000'000;
  if (regression == Regression::absolute) {
    if (worse * k_million > ppm * sn * cn)
      return PassRateCall::rollback;
  } else if (sp > 0 && worse * k_million > ppm * sp * cn) {
    return PassRateCall::rollback;
  }
  return worse <= 0 ? PassRateCall::promote : PassRateCall::hold;
}

double cs_rho(double alpha, double planned_samples) {
  const double l = -2.0 * std::log(alpha);
  return std::sqrt((l + std::log(l + 1.0)) / planned_samples);
}

double cs_halfwidth(double per_obs_variance, double total, double rho, double alpha) {
  const double tr2 = total * rho * rho;
  return std::sqrt(per_obs_variance) *
         std::sqrt(2.0 * (tr2 + 1.0) / (total * tr2) * std::log(std::sqrt(tr2 + 1.0) / alpha));
}

namespace {

// Add-one smoothed Bernoulli variance p~(1 - p~), p~ = (pass + 1)/(n + 2).
double smoothed_variance(Counts c) {
  const double p = (static_cast<double>(c.pass) + 1.0) / (static_cast<double>(c.n) + 2.0);
  return p * (1.0 - p);
}

double rate(Counts c) { return static_cast<double>(c.pass) / static_cast<double>(c.n); }

} // namespace

SequentialBounds sequential_bounds(Counts canary, Counts stable, double alpha, std::int64_t planned_samples) {
  SequentialBounds b;
  const double cn = static_cast<double>(canary.n), sn = static_cast<double>(stable.n);
  const double total = cn + sn;
  b.diff = rate(canary) - rate(stable);
  b.variance = smoothed_variance(canary) / cn + smoothed_variance(stable) / sn;
  b.rho = cs_rho(alpha, static_cast<double>(planned_samples));
  b.halfwidth = cs_halfwidth(b.variance * total, total, b.rho, alpha);
  b.lower = b.diff - b.halfwidth;
  b.upper = b.diff + b.halfwidth;
  return b;
}

PassRateCall sequential_call(const SequentialBounds& b, double margin) {
  if (b.upper < 0)
    return PassRateCall::rollback;
  if (b.lower > -margin)
    return PassRateCall::promote;
  return PassRateCall::hold;
}

std::optional<std::int64_t> sequential_more_canary_tasks(Counts canary, Counts stable, double alpha,
                                                         std::int64_t planned_samples, double margin) {
  const double diff = rate(canary) - rate(stable);
  const double vc = smoothed_variance(canary), vs = smoothed_variance(stable);
  const double ratio = static_cast<double>(stable.n) / static_cast<double>(canary.n);
  const double rho = cs_rho(alpha, static_cast<double>(planned_samples));
  // Decided after m canary tasks in total? The half-width falls
  // monotonically in m for alpha <= 0.5 (docs/gates.md), so the first such m
  // can be found by bisection.
  auto decided = [&](std::int64_t m) {
    const double mc = static_cast<double>(m), ms = ratio * mc;
    const double total = mc + ms;
    const double variance = vc / mc + vs / ms;
    const double h = cs_halfwidth(variance * total, total, rho, alpha);
    return diff + h < 0 || diff - h > -margin;
  };
  std::int64_t lo = canary.n; // not decided (or we report 0 below)
  if (decided(lo))
    return 0;
  std::int64_t hi = std::max<std::int64_t>(lo * 2, lo + 1);
  while (!decided(hi)) {
    if (hi >= k_max_count)
      return std::nullopt;
    lo = hi;
    hi = std::min(hi * 2, k_max_count);
  }
  while (hi - lo > 1) { // invariant: !decided(lo), decided(hi)
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (decided(mid))
      hi = mid;
    else
      lo = mid;
  }
  return hi - canary.n;
}

Interval wilson_interval(std::int64_t pass, std::int64_t n, double z) {
  if (n <= 0)
    return {0.0, 1.0};
  const double nn = static_cast<double>(n);
  const double p = static_cast<double>(pass) / nn;
  const double z2 = z * z;
  const double denom = 1.0 + z2 / nn;
  const double center = (p + z2 / (2.0 * nn)) / denom;
  const double half = z / denom * std::sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn));
  // The endpoints at 0/n and n/n are exactly 0 and 1 (rounding would leave
  // 2e-19 and 0.9999999999999999).
  return {pass == 0 ? 0.0 : std::max(0.0, center - half), pass == n ? 1.0 : std::min(1.0, center + half)};
}

std::optional<double> nearest_rank(std::vector<double>& values, double p) {
  if (values.empty() || !(p >= 0.0 && p <= 1.0))
    return std::nullopt;
  const auto n = static_cast<std::int64_t>(values.size());
  // ceil(p * n), robust to p * n landing a rounding error above an integer
  // (0.95 is not exactly representable; 0.95 * 20 must give rank 19).
  const double x = p * static_cast<double>(n);
  const double nearest = std::round(x);
  double rank = std::fabs(x - nearest) <= 1e-9 * std::max(1.0, x) ? nearest : std::ceil(x);
  rank = std::clamp(rank, 1.0, static_cast<double>(n));
  const auto k = static_cast<std::size_t>(rank) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

} // namespace kanari::gate
