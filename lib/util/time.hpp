#pragma once

#include "util/clock.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace kanari {

// RFC 3339 in UTC with millisecond precision: 2026-11-22T10:00:00.000Z.
std::string format_rfc3339(TimeMs t);

// 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: RFC 3339 years
// have four digits.
inline constexpr TimeMs k_min_rfc3339_ms = -62'167'219'200'000;
inline constexpr TimeMs k_max_rfc3339_ms = 253'402'300'799'999;

// Accepts RFC 3339 date-times with `Z` or a numeric offset and optional
// fractional seconds (truncated to milliseconds). A time whose offset moves
// it outside the years 0000-9999 in UTC is refused, so that
// parse_rfc3339(format_rfc3339(t)) == t for every t it returns.
std::optional<TimeMs> parse_rfc3339(std::string_view s);

} // namespace kanari
