#include "store/metric_values.hpp"

namespace kanari::store {

MetricReader::MetricReader(std::string_view name) : m_field(Field::recorded), m_name(name) {
  static constexpr std::pair<std::string_view, Field> k_builtin[] = {
      {"pass", Field::pass},     {"latency_ms", Field::latency_ms}, {"cost", Field::cost},
      {"tokens", Field::tokens}, {"score", Field::score},           {"error", Field::error}};
  for (const auto& [n, f] : k_builtin)
    if (n == name)
      m_field = f;
}

std::optional<double> MetricReader::value(const OutcomeFields& f, std::optional<Metrics>& decoded) const {
  switch (m_field) {
  case Field::pass: return f.pass ? 1.0 : 0.0;
  case Field::latency_ms: return f.latency_ms;
  case Field::cost: return f.cost;
  case Field::tokens: return f.tokens ? std::optional<double>(static_cast<double>(*f.tokens)) : std::nullopt;
  case Field::score: return f.score;
  case Field::error: return f.error ? 1.0 : 0.0;
  case Field::recorded: break;
  }
  if (!f.metrics)
    return std::nullopt;
  if (!decoded)
    decoded = decode_metrics(*f.metrics);
  return metric_in(*decoded, m_name);
}

SampleMetrics::SampleMetrics(const std::vector<MetricRequest>& requests) {
  for (const auto& r : requests) {
    m_readers.emplace_back(r.name);
    m_builders.emplace_back(r.percentiles);
  }
}

void SampleMetrics::add(const OutcomeFields& f) {
  std::optional<Metrics> decoded;
  for (size_t i = 0; i < m_readers.size(); ++i)
    if (auto v = m_readers[i].value(f, decoded))
      m_builders[i].add(*v);
}

std::vector<ValueSummary> SampleMetrics::finish() {
  std::vector<ValueSummary> out;
  out.reserve(m_builders.size());
  for (auto& b : m_builders)
    out.push_back(b.finish());
  return out;
}

std::vector<std::optional<double>> read_metrics(const std::vector<MetricReader>& readers, const OutcomeFields& f) {
  std::vector<std::optional<double>> out;
  out.reserve(readers.size());
  std::optional<Metrics> decoded;
  for (const auto& r : readers)
    out.push_back(r.value(f, decoded));
  return out;
}

void add_pair(PairedSample& p, const std::vector<MetricReader>& readers, const OutcomeFields& stable,
              const OutcomeFields& canary) {
  ++p.pairs;
  if (stable.pass && canary.pass)
    ++p.both_pass;
  else if (stable.pass)
    ++p.stable_only;
  else if (canary.pass)
    ++p.canary_only;
  else
    ++p.both_fail;
  std::optional<Metrics> ds, dc;
  for (size_t i = 0; i < readers.size(); ++i) {
    auto s = readers[i].value(stable, ds);
    auto c = readers[i].value(canary, dc);
    if (s && c)
      p.metrics[i].emplace_back(*s, *c);
  }
}

} // namespace kanari::store
