// The stored form of an outcome's metrics (schema/*/0005_outcome_metrics.sql):
// one canonical JSON object per outcome, the same bytes for the same
// metrics, so a retry compares equal as text on every backend.
#pragma once

#include "store/types.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kanari::store {

// {"a":1.5,"b":7.0} with the keys in order and each number printed so that
// it reads back to the same double; nullopt for no metrics (stored NULL).
std::optional<std::string> encode_metrics(const Metrics& m);

// The metrics of a stored object; a malformed one (edited by hand) throws
// StoreFailure.
Metrics decode_metrics(std::string_view text);

// The value of one metric in a stored object, if it has it.
std::optional<double> metric_in(const Metrics& m, std::string_view name);

} // namespace kanari::store
