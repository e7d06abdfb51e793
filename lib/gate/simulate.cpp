#include "gate/simulate.hpp"

#include "gate/gate.hpp"

#include <cmath>
#include <limits>
#include <string>

namespace kanari::gate {

namespace {

// xoshiro256** 1.0 (Blackman and Vigna, https://prng.di.unimi.it/), seeded
// through splitmix64 as its authors recommend. Small, fast, and the same
// sequence on every platform for a seed.
class Rng {
public:
  explicit Rng(std::uint64_t seed) {
    for (auto& word : m_s)
      word = splitmix64(seed);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(m_s[1] * 5, 7) * 9;
    const std::uint64_t t = m_s[1] << 17;
    m_s[2] ^= m_s[0];
    m_s[3] ^= m_s[1];
    m_s[1] ^= m_s[2];
    m_s[0] ^= m_s[3];
    m_s[2] ^= t;
    m_s[3] = rotl(m_s[3], 45);
    return result;
  }

  // true with probability p: a uniform 53-bit fraction in [0, 1) below p.
  bool bernoulli(double p) { return uniform() < p; }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::uint64_t m_s[4];
};

constexpr std::int64_t k_max_trials = 10'000'000;
constexpr std::int64_t k_max_tasks = 10'000'000;

Result<void> check_rate(double v, const char* name) {
  if (!(v >= 0.0 && v <= 1.0))
    return usage_error(std::string(name) + " must be a probability in [0, 1], got " + std::to_string(v));
  return {};
}

Result<void> check_range(std::int64_t v, std::int64_t lo, std::int64_t hi, const char* name) {
  if (v < lo || v > hi)
    return usage_error(std::string(name) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                       "], got " + std::to_string(v));
  return {};
}

} // namespace

Result<SimulationResult> simulate(const Policy& policy, const SimulationConfig& cfg,
                                  const std::function<void(std::int64_t)>& progress) {
  KANARI_TRY(check_rate(cfg.stable_rate, "stable rate"));
  KANARI_TRY(check_rate(cfg.canary_rate, "canary rate"));
  KANARI_TRY(check_range(cfg.trials, 1, k_max_trials, "trials"));
  KANARI_TRY(check_range(cfg.max_canary_tasks, 1, k_max_tasks, "max canary tasks"));
  KANARI_TRY(check_range(cfg.eval_every, 1, cfg.max_canary_tasks, "eval every"));
  if (!(cfg.stable_per_canary >= 0.0 && cfg.stable_per_canary <= 1000.0))
    return usage_error("stable tasks per canary task must be in [0, 1000], got " +
                       std::to_string(cfg.stable_per_canary));
  if (!(cfg.pair_correlation >= 0.0 && cfg.pair_correlation <= 1.0))
    return usage_error("pair correlation must be in [0, 1], got " + std::to_string(cfg.pair_correlation));

  // One step with no timing or approval constraints.
  Policy p = policy;
  p.min_step_seconds = 0;
  p.max_step_seconds.reset();
  p.require_approval = Approval::none;
  // Synthetic traffic has pass rates only: metric gates, which would be
  // inconclusive on it and hold every trial, are not simulated.
  p.metrics.clear();

  Rng rng(cfg.seed);
  SimulationResult out{cfg.trials, 0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0};
  double decided_tasks = 0.0;
  const std::int64_t seed_stable = p.effective_min_stable_samples();

  for (std::int64_t trial = 0; trial < cfg.trials; ++trial) {
    GateInput in;
    in.has_rollout = true;
    in.approved = true;
    if (cfg.paired)
      in.paired = PairedInput{};
    for (std::int64_t i = 0; i < (cfg.paired ? 0 : seed_stable); ++i) {
      ++in.baseline.n;
      in.baseline.pass += rng.bernoulli(cfg.stable_rate) ? 1 : 0;
    }
    double stable_due = 0.0;
    bool decided = false;
    for (std::int64_t task = 1; task <= cfg.max_canary_tasks && !decided; ++task) {
      if (cfg.paired) {
        // One task on both versions: the same draw with probability
        // pair_correlation, independent draws otherwise.
        const double u = rng.uniform();
        const double v = rng.bernoulli(cfg.pair_correlation) ? u : rng.uniform();
        const bool stable_pass = u < cfg.stable_rate, canary_pass = v < cfg.canary_rate;
        auto& pi = *in.paired;
        ++pi.pairs;
        ++(stable_pass ? (canary_pass ? pi.both_pass : pi.stable_only) : (canary_pass ? pi.canary_only : pi.both_fail));
        ++in.canary.n;
        ++in.baseline.n;
        in.canary.pass += canary_pass ? 1 : 0;
        in.baseline.pass += stable_pass ? 1 : 0;
      } else {
        ++in.canary.n;
        in.canary.pass += rng.bernoulli(cfg.canary_rate) ? 1 : 0;
        stable_due += cfg.stable_per_canary;
        while (stable_due >= 1.0) {
          stable_due -= 1.0;
          ++in.baseline.n;
          in.baseline.pass += rng.bernoulli(cfg.stable_rate) ? 1 : 0;
        }
      }
      if (task % cfg.eval_every != 0)
        continue;
      ++out.gate_evaluations;
      const GateResult r = evaluate(p, in, Detail::verdict_only);
      if (r.verdict == Verdict::rollback) {
        ++out.rollback;
        decided = true;
      } else if (r.apply_promote) {
        ++out.promote;
        decided = true;
      } else {
        in.promote_streak = r.verdict == Verdict::promote ? in.promote_streak + 1 : 0;
      }
      if (decided)
        decided_tasks += static_cast<double>(task);
    }
    if (!decided)
      ++out.undecided;
    if (progress)
      progress(trial + 1);
  }

  const double trials = static_cast<double>(cfg.trials);
  out.p_promote = static_cast<double>(out.promote) / trials;
  out.p_rollback = static_cast<double>(out.rollback) / trials;
  out.p_undecided = static_cast<double>(out.undecided) / trials;
  const std::int64_t n_decided = out.promote + out.rollback;
  out.mean_tasks_to_verdict =
      n_decided > 0 ? decided_tasks / static_cast<double>(n_decided) : std::numeric_limits<double>::quiet_NaN();
  return out;
}

} // namespace kanari::gate
