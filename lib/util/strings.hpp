#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kanari {

std::vector<std::string> split(std::string_view s, char sep);
bool is_valid_utf8(std::string_view s);
bool is_lower_hex(std::string_view s);
// A public-key id as kanari spells it: "ed25519:" and 64 lowercase hex
// digits (the raw 32-byte Ed25519 public key; docs/security.md).
inline constexpr std::string_view k_ed25519_key_prefix = "ed25519:";
bool is_ed25519_key_id(std::string_view s);
// Renders a value for an error message: quoted, control and non-UTF-8 bytes
// escaped, cut to `max` bytes so a binary or megabyte argument stays readable.
// A metric name (docs/gates.md, "Metrics"): [a-z][a-z0-9_]{0,63}.
bool is_metric_name(std::string_view s);

std::string quote_for_message(std::string_view s, size_t max = 80);
// `s` with every byte that is not part of a well-formed UTF-8 sequence
// replaced by `\xNN`, so a message quoting bad input stays valid UTF-8.
std::string escape_invalid_utf8(std::string_view s);

} // namespace kanari
