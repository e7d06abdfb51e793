#include "store/window_sums.hpp"

#include <algorithm>
#include <cmath>

namespace kanari::store {

namespace {

// gamma = (1 + a) / (1 - a): a bucket (gamma^(i-1), gamma^i] stands for
// 2 gamma^i / (gamma + 1), within a of every value in it.
const double k_gamma = (1 + k_bucket_relative_error) / (1 - k_bucket_relative_error);
const double k_log_gamma = std::log(k_gamma);
// Keeps every bucket index of a finite double (|i| < 75,000) above 0.
constexpr std::int64_t k_offset = 100'000;

std::int64_t magnitude_bucket(double m) { return static_cast<std::int64_t>(std::ceil(std::log(m) / k_log_gamma)); }

} // namespace

std::int64_t value_bucket(double v) {
  if (v == 0 || !std::isfinite(v))
    return 0;
  const std::int64_t k = magnitude_bucket(std::fabs(v)) + k_offset;
  return v > 0 ? k : -k;
}

double bucket_value(std::int64_t bucket) {
  if (bucket == 0)
    return 0;
  const double m = 2 * std::exp(static_cast<double>(std::abs(bucket) - k_offset) * k_log_gamma) / (k_gamma + 1);
  return bucket > 0 ? m : -m;
}

void MetricSums::add(double v) {
  if (n == 0 || v > max)
    max = v;
  ++n;
  nonzero += v != 0 ? 1 : 0;
  sum += v;
  ++buckets[value_bucket(v)];
}

std::optional<double> MetricSums::percentile(int pct) const {
  if (n == 0 || pct < 1 || pct > 100)
    return std::nullopt;
  const std::int64_t rank = (pct * n + 99) / 100; // nearest rank, as nearest_rank_percent
  std::vector<std::pair<std::int64_t, std::int64_t>> sorted(buckets.begin(), buckets.end());
  std::sort(sorted.begin(), sorted.end());
  std::int64_t seen = 0;
  for (const auto& [bucket, count] : sorted) {
    seen += count;
    if (seen >= rank)
      return std::min(bucket_value(bucket), max); // the largest value is known exactly
  }
  return max;
}

ValueSummary MetricSums::summary(bool percentiles) const {
  ValueSummary s;
  s.n = n;
  s.nonzero = nonzero;
  s.sum = sum;
  s.max = max;
  if (percentiles && n > 0) {
    s.p50 = percentile(50);
    s.p90 = percentile(90);
    s.p95 = percentile(95);
    s.p99 = percentile(99);
  }
  return s;
}

void WindowDelta::add(const WindowKey& key, const OutcomeRecord& o) {
  auto entry = std::find_if(m_entries.begin(), m_entries.end(), [&](const Entry& e) { return e.key == key; });
  if (entry == m_entries.end()) {
    entry = m_entries.insert(m_entries.end(), Entry{key, {}});
    for (const char* name : k_window_builtins)
      entry->metrics.emplace_back(name, MetricSums{});
  }
  auto& m = entry->metrics;
  m[0].second.add(o.pass ? 1 : 0);
  m[1].second.add(o.error ? 1 : 0);
  if (o.latency_ms)
    m[2].second.add(*o.latency_ms);
  if (o.cost)
    m[3].second.add(*o.cost);
  if (o.tokens)
    m[4].second.add(static_cast<double>(*o.tokens));
  if (o.score)
    m[5].second.add(*o.score);
  for (const auto& metric : o.metrics) {
    auto it = std::find_if(m.begin() + std::size(k_window_builtins), m.end(),
                           [&](const auto& p) { return p.first == metric.name; });
    if (it == m.end())
      it = m.insert(m.end(), {metric.name, MetricSums{}});
    it->second.add(metric.value);
  }
}

SampleStats stats_from_sums(const WindowSums& sums, const std::vector<MetricRequest>& metrics) {
  static const MetricSums none;
  auto of = [&](std::string_view name) -> const MetricSums& {
    auto it = sums.find(name);
    return it == sums.end() ? none : it->second;
  };
  SampleStats s;
  const auto& pass = of("pass");
  s.n = pass.n;
  s.pass = pass.nonzero;
  s.errors = of("error").nonzero;
  const auto& latency = of("latency_ms");
  s.latency_n = latency.n;
  s.latency_p50_ms = latency.percentile(50);
  s.latency_p95_ms = latency.percentile(95);
  s.cost_mean = of("cost").summary(false).mean();
  s.tokens_mean = of("tokens").summary(false).mean();
  for (const auto& m : metrics)
    s.metrics.push_back(of(m.name).summary(m.percentiles));
  s.percentiles_from_buckets = true;
  return s;
}

std::string window_sums_problem(std::int64_t rollout_id, bool canary, std::int64_t step, std::int64_t counted,
                                std::int64_t summed) {
  return "window sums: rollout " + std::to_string(rollout_id) + ", " + (canary ? "canary" : "stable") + " arm, step " +
         std::to_string(step) + ": " + std::to_string(counted) + " counted outcomes, but the sums hold " +
         std::to_string(summed);
}

void WindowRecorder::add(const OutcomeRecord& o) {
  if (o.counted != Counted::yes || !o.rollout_id || !o.step)
    return;
  auto it = m_opened.find(*o.rollout_id);
  if (it == m_opened.end())
    it = m_opened.emplace(*o.rollout_id, m_read_opened(*o.rollout_id)).first;
  if (it->second)
    m_delta.add({*o.rollout_id, o.arm == Arm::canary, *o.step, *it->second}, o);
}

} // namespace kanari::store
