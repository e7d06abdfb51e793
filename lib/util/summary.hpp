// The aggregates of one metric over a sample of outcomes (docs/gates.md,
// "Aggregates"): count, mean, rate of non-zero values, max and the
// nearest-rank percentiles. Shared by the store backends, which collect the
// values, and the gate, which compares them.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace kanari {

struct ValueSummary {
  std::int64_t n = 0;       // values (outcomes lacking the metric are left out)
  std::int64_t nonzero = 0; // values != 0
  double sum = 0;           // compensated (Neumaier) sum; +-inf once it passes the largest double
  double max = 0;           // meaningful when n > 0
  // Nearest rank, the value at rank ceil(p * n): only when asked for.
  std::optional<double> p50, p90, p95, p99;

  std::optional<double> mean() const;
  std::optional<double> rate() const; // nonzero / n
  bool operator==(const ValueSummary&) const = default;
};

// Collects values one at a time; finish() computes the summary (and the
// percentiles, when `percentiles`, from the values it kept).
class SummaryBuilder {
public:
  explicit SummaryBuilder(bool percentiles = false) : m_percentiles(percentiles) {}
  void add(double v);
  ValueSummary finish();

private:
  bool m_percentiles;
  ValueSummary m_s;
  double m_compensation = 0;
  std::vector<double> m_values;
};

// The nearest-rank `pct` percentile (the value at rank ceil(pct * n / 100))
// of `values`, which it reorders; nullopt when empty. pct in [1, 100].
std::optional<double> nearest_rank_percent(std::vector<double>& values, int pct);

} // namespace kanari
