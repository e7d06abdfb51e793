// How the hook tables spell their values (schema/*/0007_hooks.sql), shared
// by both backends.
#pragma once

#include "store/types.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kanari::store {

// hooks.actions: the actions, comma-separated.
std::string join_actions(const std::vector<std::string>& actions);
std::vector<std::string> split_actions(std::string_view text);

} // namespace kanari::store
