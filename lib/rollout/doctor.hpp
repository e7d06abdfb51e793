// kanari doctor: everything the store can check about itself.
//
//   - the backend's own checks (SQLite's integrity_check and foreign_key_check);
//   - every blob re-hashed against its address;
//   - every version id recomputed, both from the stored manifest text and
//     from its component rows and model config, and every component's blob
//     present with the recorded size;
//   - every component name checked against the rules of `version add`;
//   - every stored signature verified against the key it names;
//   - the event hash chain (audit.hpp), each event's evidence exactly the
//     canonical JSON that was hashed;
//   - every rollout row rebuilt from its events and compared column by
//     column, its stored policy read as this build reads it and re-hashed;
//     every track's stable against the events that set it.
//
// Each mismatch is one problem naming the thing that is wrong.
#pragma once

#include "rollout/context.hpp"

#include <string>
#include <vector>

namespace kanari::rollout {

struct DoctorReport {
  std::int64_t blobs = 0;
  std::int64_t versions = 0;
  std::int64_t signatures = 0;
  std::int64_t events = 0;
  std::int64_t rollouts = 0;
  std::vector<std::string> problems; // empty when healthy
};

DoctorReport doctor(Context& ctx);

} // namespace kanari::rollout
