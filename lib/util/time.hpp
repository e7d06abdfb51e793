#pragma once

#include "util/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kanari {

// RFC 3339 in UTC with millisecond precision: 2026-11-22T10:00:00.000Z.
std::string format_rfc3339(TimeMs t);

// Accepts RFC 3339 date-times with `Z` or a numeric offset and optional
// fractional seconds (truncated to milliseconds).
std::optional<TimeMs> parse_rfc3339(std::string_view s);

} // namespace kanari
