#include "store/hook_text.hpp"

#include "util/strings.hpp"

namespace kanari::store {

std::string_view to_string(DeliveryState s) {
  switch (s) {
  case DeliveryState::pending: return "pending";
  case DeliveryState::delivered: return "delivered";
  case DeliveryState::failed: return "failed";
  }
  return "?";
}

std::optional<DeliveryState> delivery_state_from_string(std::string_view s) {
  if (s == "pending")
    return DeliveryState::pending;
  if (s == "delivered")
    return DeliveryState::delivered;
  if (s == "failed")
    return DeliveryState::failed;
  return std::nullopt;
}

std::string join_actions(const std::vector<std::string>& actions) {
  std::string out;
  for (const auto& a : actions)
    out += (out.empty() ? "" : ",") + a;
  return out;
}

std::vector<std::string> split_actions(std::string_view text) {
  std::vector<std::string> out;
  for (auto& a : split(text, ','))
    if (!a.empty())
      out.push_back(std::move(a));
  return out;
}

} // namespace kanari::store
