// What every operation of the library is handed (mold's `Context& ctx`):
// the store, the clock and who is acting. The library reads nothing else
// from its surroundings.
#pragma once

#include "store/store.hpp"
#include "util/clock.hpp"

#include <string>

namespace kanari::rollout {

struct Context {
  store::Store& store;
  const Clock& clock;
  std::string actor;
};

// The records the operations take and return are the store's plain structs
// (store/types.hpp). Code outside lib/ names them through rollout::, and
// reaches the store only through the operations (docs/architecture.md,
// "Layers").
using store::Arm;
using store::DeliveryRecord;
using store::DeliveryState;
using store::EventRecord;
using store::HookAttempt;
using store::HookRecord;
using store::RolloutRecord;
using store::RolloutState;
using store::SampleStats;
using store::to_string;

// docs/cli.md: track names are [A-Za-z0-9._-]{1,64}.
Result<void> validate_track_name(std::string_view track);
// docs/cli.md: task ids are 1 to 256 bytes of UTF-8.
Result<void> validate_task_id(std::string_view task);

} // namespace kanari::rollout
