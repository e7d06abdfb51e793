#pragma once

#include <string>
#include <string_view>

namespace kanari {

// A unified diff (as `diff -u`, 3 lines of context) between two texts, with
// `--- a_name` / `+++ b_name` headers. Lines are split on '\n'; a missing
// final newline is marked as diff does. Empty when the texts are equal.
std::string unified_diff(std::string_view a, std::string_view b, std::string_view a_name, std::string_view b_name,
                         int context = 3);

} // namespace kanari
