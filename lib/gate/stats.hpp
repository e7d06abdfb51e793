// The statistics behind the gate: exact threshold comparison of two pass
// rates, the asymptotic confidence sequence of the sequential method, the
// Wilson score interval and nearest-rank percentiles. Pure functions; the
// essay on what they compute and where it comes from opens stats.cpp.
#pragma once

#include "gate/policy.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace kanari::gate {

// Counts above this are rejected by evaluate(): 2^40 keeps every
// cross-multiplication of the threshold rule (count * count * 10^6) inside a
// signed 128-bit integer.
inline constexpr std::int64_t k_max_count = std::int64_t{1} << 40;

struct Counts {
  std::int64_t pass = 0;
  std::int64_t n = 0;
};

enum class PassRateCall { promote, hold, rollback };

// docs/gates.md steps 3-5, exactly, in integers. Requires 0 <= pass <= n <=
// k_max_count and n >= 1 on both arms.
//   absolute: ROLLBACK iff (s - c) > max_regression
//   relative: ROLLBACK iff s > 0 and (s - c) / s > max_regression
//   PROMOTE iff c >= s; otherwise HOLD.
PassRateCall threshold_call(Counts canary, Counts stable, std::int64_t max_regression_ppm, Regression regression);

// --- sequential method (asymptotic confidence sequence) ---------------------

// Waudby-Smith et al. (2023) mixing parameter that makes the boundary
// tightest at `planned_samples` total observations.
double cs_rho(double alpha, double planned_samples);

// Half-width of the two-sided (1 - alpha) asymptotic confidence sequence
// for a mean after `total` observations of per-observation variance
// `per_obs_variance`.
double cs_halfwidth(double per_obs_variance, double total, double rho, double alpha);

struct SequentialBounds {
  double diff = 0;     // c - s, raw pass rates
  double variance = 0; // variance of the estimator of c - s (smoothed rates)
  double rho = 0;
  double halfwidth = 0;
  double lower = 0; // diff - halfwidth
  double upper = 0; // diff + halfwidth
};

// The always-valid bounds on c - s after the given counts (n >= 1 on both).
SequentialBounds sequential_bounds(Counts canary, Counts stable, double alpha, std::int64_t planned_samples);

// ROLLBACK iff upper < 0; else PROMOTE iff lower > -margin; else HOLD.
PassRateCall sequential_call(const SequentialBounds& b, double margin);

// The smallest number of further canary tasks after which sequential_call
// would no longer say HOLD, if the observed rates (smoothed, as in the
// variance) and the baseline/canary count ratio stayed as they are; nullopt
// when no number up to k_max_count would do (no effect and no margin).
std::optional<std::int64_t> sequential_more_canary_tasks(Counts canary, Counts stable, double alpha,
                                                         std::int64_t planned_samples, double margin);

// --- descriptive statistics --------------------------------------------------

struct Interval {
  double lo, hi;
};

// Wilson score interval for pass/n (95 % with the default z); n == 0 gives
// [0, 1]. Requires 0 <= pass <= n.
Interval wilson_interval(std::int64_t pass, std::int64_t n, double z = 1.959963984540054);

// Nearest-rank percentile: the value at 1-based rank ceil(p * n) of the
// sorted values (rank at least 1), p in [0, 1]. Reorders `values`. nullopt
// for no values or p outside [0, 1]. Values must not be NaN.
std::optional<double> nearest_rank(std::vector<double>& values, double p);

} // namespace kanari::gate
