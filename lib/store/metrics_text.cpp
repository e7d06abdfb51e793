#include "store/metrics_text.hpp"

#include "store/failure.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>

namespace kanari::store {

std::optional<std::string> encode_metrics(const Metrics& m) {
  if (m.empty())
    return std::nullopt;
  // The names are sorted and unique (Metrics' invariant), so writing them in
  // order is the canonical form; nlohmann prints a double in the shortest
  // text that reads back to it.
  std::string out = "{";
  for (const auto& x : m) {
    if (out.size() > 1)
      out += ',';
    out += nlohmann::json(x.name).dump();
    out += ':';
    out += nlohmann::json(x.value == 0 ? 0.0 : x.value).dump(); // -0 is 0, as the other fields compare
  }
  out += '}';
  return out;
}

Metrics decode_metrics(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object())
    throw StoreFailure("an outcome's metrics column is not a JSON object");
  Metrics m;
  m.reserve(j.size());
  for (const auto& [name, value] : j.items()) {
    if (!value.is_number() || !std::isfinite(value.get<double>()))
      throw StoreFailure("an outcome's metric " + name + " is not a finite number");
    m.push_back({name, value.get<double>()});
  }
  return m; // nlohmann's objects iterate in key order
}

std::optional<double> metric_in(const Metrics& m, std::string_view name) {
  auto it = std::lower_bound(m.begin(), m.end(), name, [](const Metric& x, std::string_view n) { return x.name < n; });
  if (it == m.end() || it->name != name)
    return std::nullopt;
  return it->value;
}

} // namespace kanari::store
