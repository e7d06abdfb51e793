// Whole-store operations (docs/cli.md `store info`, `store copy`): what the
// store is and where, and a copy of everything in it to another location of
// either backend.
#pragma once

#include "rollout/context.hpp"

namespace kanari::rollout {

struct StoreSummary {
  store::StoreInfo info;
  std::optional<std::string> chain_head; // the newest event's hash
};

StoreSummary store_summary(Context& ctx);

struct CopySummary {
  std::string to;                                         // without a password
  bool created = false;                                   // the destination store did not exist before
  std::vector<std::pair<std::string, std::int64_t>> rows; // per table, in copy order
  std::optional<std::string> chain_head;
};

// Copies every row of every table, keys kept, from ctx.store to `to` (a
// directory or a postgresql:// URI), which must hold no store yet (it is
// created) or an empty one (exit 5 otherwise). The source is read in one
// snapshot and the destination written in one transaction: a failed copy
// writes nothing but the empty store. The copy's chain head is checked
// against the source's.
Result<CopySummary> copy_store(Context& ctx, const std::string& to);

} // namespace kanari::rollout
