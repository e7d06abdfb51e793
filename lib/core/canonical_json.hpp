// Canonical JSON per RFC 8785 (JCS), the form every hash in kanari is taken
// over (docs/hashing.md).
//
// - Object keys are sorted by their UTF-16 code units (RFC 8785 §3.2.3);
//   nlohmann::json keeps them in UTF-8 byte order, which differs only for
//   keys mixing BMP characters above U+D7FF with astral ones.
// - No insignificant whitespace.
// - Strings: `"` `\` and the controls U+0000..U+001F are escaped (\b \t \n
//   \f \r, else \u00xx in lowercase hex); everything else is literal UTF-8.
// - Floating-point numbers are printed as ECMAScript's Number.prototype.
//   toString does: the shortest digits that round-trip, in plain notation for
//   exponents 1e-6 <= |x| < 1e21, else `1e+21` style; -0 prints as 0.
// - Integers that arrived as JSON integers (within int64/uint64) print
//   exactly. RFC 8785 would print integers above 2^53 through double; kanari
//   keeps them exact, which equals Python's json.dumps and loses nothing.
//   See docs/hashing.md.
#pragma once

#include "util/result.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace kanari::core {

std::string canonical_json(const nlohmann::json& value);

// Parses JSON text strictly: valid UTF-8, no duplicate object keys, no
// NaN/Infinity, one document, arrays and objects nested at most
// k_max_json_depth deep (serialising recurses once per level). `what` names
// the input in error messages.
Result<nlohmann::json> parse_json(std::string_view text, std::string_view what);
inline constexpr int k_max_json_depth = 512;

// ECMAScript number formatting of a finite double (exposed for tests).
std::string format_double(double d);

} // namespace kanari::core
