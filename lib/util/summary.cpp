#include "util/summary.hpp"

#include <algorithm>
#include <cmath>

namespace kanari {

std::optional<double> ValueSummary::mean() const {
  if (n == 0)
    return std::nullopt;
  return sum / static_cast<double>(n);
}

std::optional<double> ValueSummary::rate() const {
  if (n == 0)
    return std::nullopt;
  return static_cast<double>(nonzero) / static_cast<double>(n);
}

void SummaryBuilder::add(double v) {
  if (m_s.n == 0 || v > m_s.max)
    m_s.max = v;
  ++m_s.n;
  m_s.nonzero += v != 0 ? 1 : 0;
  // Neumaier's compensated sum: a mean over millions of values keeps the
  // precision of one addition. Values near the largest double can push the
  // sum past it: it then stays infinite (the mean too, which any bound
  // compares), and the compensation, which would turn it into NaN, stops.
  const double t = m_s.sum + v;
  if (std::isfinite(t))
    m_compensation += std::fabs(m_s.sum) >= std::fabs(v) ? (m_s.sum - t) + v : (v - t) + m_s.sum;
  else if (std::isfinite(m_s.sum))
    m_compensation = 0;
  m_s.sum = std::isfinite(m_s.sum) ? t : m_s.sum;
  if (m_percentiles)
    m_values.push_back(v);
}

ValueSummary SummaryBuilder::finish() {
  ValueSummary s = m_s;
  if (std::isfinite(s.sum))
    s.sum += m_compensation;
  if (m_percentiles && !m_values.empty()) {
    s.p50 = nearest_rank_percent(m_values, 50);
    s.p90 = nearest_rank_percent(m_values, 90);
    s.p95 = nearest_rank_percent(m_values, 95);
    s.p99 = nearest_rank_percent(m_values, 99);
  }
  return s;
}

std::optional<double> nearest_rank_percent(std::vector<double>& values, int pct) {
  if (values.empty() || pct < 1 || pct > 100)
    return std::nullopt;
  const auto n = static_cast<std::int64_t>(values.size());
  const auto rank = (pct * n + 99) / 100; // ceil(pct * n / 100), at least 1
  auto nth = values.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(values.begin(), nth, values.end());
  return *nth;
}

} // namespace kanari
