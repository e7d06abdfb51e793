#include "store/tables.hpp"

namespace kanari::store {

const std::vector<Table>& tables() {
  using T = ColumnType;
  static const std::vector<Table> k_tables = {
      {"blobs", {{"sha256", T::text}, {"data", T::bytes}}, "sha256"},
      {"versions",
       {{"no", T::integer}, {"id", T::text}, {"manifest", T::text}, {"model", T::text}, {"label", T::text},
        {"message", T::text}, {"author", T::text}, {"created_at", T::integer}},
       "no"},
      {"components",
       {{"version_id", T::text}, {"kind", T::text}, {"name", T::text}, {"sha256", T::text}, {"bytes", T::integer}},
       "version_id, kind, name"},
      {"signatures",
       {{"version_id", T::text}, {"key_id", T::text}, {"signature", T::text}, {"signer", T::text},
        {"signed_at", T::integer}},
       "version_id, key_id"},
      {"tracks", {{"no", T::integer}, {"name", T::text}, {"stable", T::text}, {"created_at", T::integer}}, "no"},
      {"track_versions",
       {{"seq", T::integer}, {"track", T::text}, {"version_id", T::text}, {"added_at", T::integer}},
       "seq"},
      {"rollouts",
       {{"id", T::integer}, {"track", T::text}, {"canary", T::text}, {"stable", T::text}, {"steps", T::text},
        {"step", T::integer}, {"state", T::text}, {"salt", T::text}, {"shadow", T::integer}, {"policy", T::text},
        {"policy_sha256", T::text}, {"started_at", T::integer}, {"step_started_at", T::integer},
        {"ended_at", T::integer}, {"promote_streak", T::integer}, {"approved_step", T::integer},
        {"first_outcome", T::integer}, {"step_first_outcome", T::integer}},
       "id"},
      {"outcomes",
       {{"id", T::integer}, {"track_no", T::integer}, {"task", T::text}, {"version_no", T::integer},
        {"canary", T::integer}, {"rollout_id", T::integer}, {"step", T::integer}, {"pass", T::integer},
        {"latency_ms", T::real}, {"cost", T::real}, {"tokens", T::integer}, {"score", T::real}, {"error", T::text},
        {"at", T::integer}, {"slot", T::integer}, {"excluded", T::integer}},
       "id"},
      {"assignments",
       {{"track", T::text}, {"task", T::text}, {"version_id", T::text}, {"arm", T::text}, {"rollout_id", T::integer},
        {"at", T::integer}},
       "track, task"},
      {"events",
       {{"seq", T::integer}, {"at", T::integer}, {"actor", T::text}, {"action", T::text}, {"track", T::text},
        {"rollout", T::integer}, {"version", T::text}, {"reason", T::text}, {"evidence", T::text},
        {"prev_hash", T::text}, {"hash", T::text}},
       "seq"},
  };
  return k_tables;
}

} // namespace kanari::store
