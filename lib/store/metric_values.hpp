// The value of a metric in one stored outcome, whichever backend read it:
// the built-in fields ("pass", "latency_ms", "cost", "tokens", "score",
// "error") and the outcome's own metrics (docs/gates.md, "Metrics"). Shared
// by the backends' sample and pair reads so both aggregate alike.
#pragma once

#include "store/metrics_text.hpp"
#include "store/types.hpp"
#include "util/summary.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace kanari::store {

// The columns of one outcome that metrics are read from.
struct OutcomeFields {
  bool pass = false;
  std::optional<double> latency_ms, cost;
  std::optional<std::int64_t> tokens;
  std::optional<double> score;
  bool error = false;
  std::optional<std::string_view> metrics; // the stored JSON object, if any
};

// Which metric a name means, resolved once per sample.
class MetricReader {
public:
  explicit MetricReader(std::string_view name);
  // The value in `f` (decoding its metrics at most once per outcome through
  // `decoded`); nullopt when the outcome lacks it.
  std::optional<double> value(const OutcomeFields& f, std::optional<Metrics>& decoded) const;

private:
  enum class Field { pass, latency_ms, cost, tokens, score, error, recorded } m_field;
  std::string m_name;
};

// Summaries of the requested metrics over a sample, one outcome at a time.
class SampleMetrics {
public:
  explicit SampleMetrics(const std::vector<MetricRequest>& requests);
  bool empty() const { return m_readers.empty(); }
  void add(const OutcomeFields& f);
  std::vector<ValueSummary> finish();

private:
  std::vector<MetricReader> m_readers;
  std::vector<SummaryBuilder> m_builders;
};

// The values of `readers`' metrics in one outcome.
std::vector<std::optional<double>> read_metrics(const std::vector<MetricReader>& readers, const OutcomeFields& f);

// Adds one pair (stable outcome, canary outcome) to a PairedSample whose
// metrics vector has one entry per reader.
void add_pair(PairedSample& p, const std::vector<MetricReader>& readers, const OutcomeFields& stable,
              const OutcomeFields& canary);

} // namespace kanari::store
