#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kanari {

std::vector<std::string> split(std::string_view s, char sep);
bool is_valid_utf8(std::string_view s);
bool is_lower_hex(std::string_view s);
// Renders a value for an error message: quoted, control and non-UTF-8 bytes
// escaped, cut to `max` bytes so a binary or megabyte argument stays readable.
std::string quote_for_message(std::string_view s, size_t max = 80);

} // namespace kanari
