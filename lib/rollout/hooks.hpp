// Notification hooks (docs/hooks.md): their configuration, and the
// transactional outbox. append_event() enqueues a delivery for every hook
// an event matches, in the transaction that appends the event, so a crash
// can delay a notification but never lose it. Delivering is lib/notify's.
#pragma once

#include "rollout/context.hpp"

#include <string_view>
#include <vector>

namespace kanari::rollout {

// Every action an event can have, sorted (docs/cli.md, "Events").
const std::vector<std::string_view>& event_actions();
// What a hook is sent when --on is not given.
inline const std::vector<std::string> k_default_hook_actions = {"promoted", "rolled_back"};

struct HookInput {
  std::string name;
  std::optional<std::string> track; // unset: every track
  std::optional<std::string> url;   // exactly one of url and command
  std::optional<std::string> command;
  std::vector<std::string> actions; // empty: k_default_hook_actions
  std::string format = "json";
  std::optional<std::string> secret_env;
  std::string event_track = "default"; // the hook_added event's track when `track` is unset
};

// `hook add`: validates, stores, and appends a hook_added event. Exit 5
// when a hook of that name exists.
Result<store::HookRecord> add_hook(Context& ctx, HookInput in);
Result<std::vector<store::HookRecord>> list_hooks(Context& ctx);
// `hook remove`: the hook, its deliveries and a hook_removed event (on the
// hook's track, or `event_track` for a hook of every track). Exit 4 when
// there is no such hook.
Result<void> remove_hook(Context& ctx, const std::string& name, const std::string& event_track);
// A hook by name, in the caller's transaction.
std::optional<store::HookRecord> find_hook(Context& ctx, const std::string& name);

// `hook log`: the attempts, newest first; one hook's when `hook` is set.
Result<std::vector<store::HookAttempt>> hook_log(Context& ctx, const std::optional<std::string>& hook,
                                                 std::int64_t limit);

bool hook_matches(const store::HookRecord& h, const store::EventRecord& e);
// Inside the transaction that appends `e`.
void enqueue_deliveries(Context& ctx, const store::EventRecord& e);

// Pending and failed deliveries (`canary status`, `metrics`).
struct DeliveryProblem {
  store::DeliveryRecord delivery;
  std::string action;
  std::string track;
};
struct DeliverySummary {
  std::vector<store::DeliveryCount> counts; // per hook and state
  std::vector<DeliveryProblem> recent;      // the newest pending and failed, at most 5
  std::int64_t pending = 0, failed = 0;
};
// Of the track's events, or every track's when unset; call inside a
// transaction.
DeliverySummary delivery_summary(Context& ctx, const std::optional<std::string>& track);

} // namespace kanari::rollout
