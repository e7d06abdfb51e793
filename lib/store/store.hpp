// The store interface (docs/architecture.md). SQLite is the embedded implementation
// (sqlite_store.cpp); a PostgreSQL one for fleets spread over many hosts can
// implement the same interface. Callers group operations into transactions
// with write() and read(); every state check and its change happen inside
// one write(), which is what makes transitions exactly-once under
// concurrent processes.
//
// Anticipated failures return Result; a database failure (I/O, corruption,
// a lock held past the busy timeout) throws StoreFailure.
#pragma once

#include "store/failure.hpp"
#include "store/report_types.hpp"
#include "store/types.hpp"
#include "util/result.hpp"

#include <functional>
#include <memory>
#include <stdexcept>

namespace kanari::store {

class Store {
public:
  virtual ~Store() = default;

  // Runs fn in one serialised write transaction; commits when fn returns
  // success, rolls back otherwise (or when fn throws).
  virtual Result<void> write(const std::function<Result<void>()>& fn) = 0;
  // Runs fn against one consistent snapshot.
  virtual Result<void> read(const std::function<Result<void>()>& fn) = 0;

  // Versions and blobs.
  virtual bool insert_version(const VersionRecord& v, const std::vector<core::Component>& with_content) = 0;
  virtual std::optional<VersionRecord> get_version(const std::string& id) = 0;
  virtual std::vector<std::string> version_ids_with_prefix(const std::string& prefix, int limit) = 0;
  virtual std::optional<std::string> get_blob(const std::string& sha256) = 0;
  virtual std::vector<std::string> version_tracks(const std::string& id) = 0;
  virtual void for_each_version_id(const std::function<void(const std::string&)>& fn) = 0;
  virtual void for_each_blob(const std::function<void(const std::string& sha, const std::string& data)>& fn) = 0;

  // Signatures. insert_signature returns false when the key has signed the
  // version already (the row is left as it was).
  virtual bool insert_signature(const SignatureRecord& s) = 0;
  virtual std::vector<SignatureRecord> signatures(const std::string& version_id) = 0; // by key id

  // Tracks.
  virtual void ensure_track(const std::string& track, TimeMs now) = 0;
  virtual bool add_track_version(const std::string& track, const std::string& version_id, TimeMs now) = 0;
  virtual bool track_has_version(const std::string& track, const std::string& version_id) = 0;
  virtual std::vector<TrackVersion> track_versions(const std::string& track) = 0; // newest first
  virtual std::optional<std::string> stable_of(const std::string& track) = 0;
  virtual void set_stable(const std::string& track, const std::string& version_id) = 0;

  // Rollouts.
  virtual std::optional<RolloutRecord> open_rollout(const std::string& track) = 0;
  virtual std::optional<RolloutRecord> get_rollout(std::int64_t id) = 0;
  virtual std::optional<RolloutRecord> latest_rollout(const std::string& track) = 0;
  virtual std::int64_t insert_rollout(const RolloutRecord& r) = 0;
  virtual void update_rollout(const RolloutRecord& r) = 0;
  virtual std::vector<std::string> tracks_with_open_rollouts() = 0;
  // The newest rollout of the track in which the version was the canary or
  // the stable: where a late outcome of that version belongs.
  virtual std::optional<RolloutRecord> last_rollout_with_arm(const std::string& track,
                                                             const std::string& version_id) = 0;
  // Every rollout id, ascending (for `kanari doctor`).
  virtual void for_each_rollout_id(const std::function<void(std::int64_t)>& fn) = 0;

  // Outcomes and assignments.
  // Stores an outcome unless (track, task, version) has one already
  // (duplicate or conflict) or, with TaskVersions::one, the task has one for
  // another version.
  virtual InsertOutcome insert_outcome(const OutcomeRecord& o, TaskVersions versions) = 0;
  virtual SampleStats sample_stats(const SampleQuery& q) = 0;
  virtual std::int64_t count_outcomes(const std::string& track) = 0;
  virtual void put_assignment(const std::string& track, const std::string& task, const Assignment& a, TimeMs now) = 0;
  virtual std::optional<Assignment> get_assignment(const std::string& track, const std::string& task) = 0;

  // Events: append-only, one hash chain over the store.
  virtual std::optional<EventRecord> last_event() = 0;
  // The time of the track's newest event (a transition never stores an
  // earlier one).
  virtual std::optional<TimeMs> last_event_time(const std::string& track) = 0;
  virtual void insert_event(const EventRecord& e) = 0;
  virtual std::vector<EventRecord> events(const std::string& track, std::optional<std::int64_t> limit) = 0;
  virtual void for_each_event(const std::function<void(const EventRecord&)>& fn) = 0;

  // Maintenance.
  // SQLite's integrity and foreign-key checks, and the uniqueness of
  // (track, task, version) that the ledger keeps itself; empty when healthy.
  virtual std::vector<std::string> integrity_check() = 0;

  // Reports and metrics.
  // (`kanari report`, `kanari metrics`: read-only, run inside read().)
  virtual std::vector<std::string> track_names() = 0; // sorted
  // Per arm, every outcome recorded on the track (arms without outcomes are left out).
  virtual std::vector<ArmTotals> outcome_totals(const std::string& track) = 0;
  // The outcomes of the rollout, both arms, oldest first: those recorded
  // while it was open and its late ones (RolloutOutcome::counted tells).
  virtual OutcomeSpan rollout_outcome_span(std::int64_t rollout_id) = 0;
  virtual void for_each_rollout_outcome(std::int64_t rollout_id,
                                        const std::function<void(const RolloutOutcome&)>& fn) = 0;
};

// Opens the SQLite store under `dir` (the file `dir`/kanari.db), applying any
// pending migrations. A missing store is an operational error telling the
// user to run `kanari init`; a store from a newer kanari is refused.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& dir);
// Creates the store (the directory readable by its owner only) or opens it
// if it exists. `created` tells which.
Result<std::unique_ptr<Store>> init_sqlite_store(const std::string& dir, bool& created);

// For a process that owns SQLite (the `kanari` executable), before any store
// is opened: turns off SQLite's global memory statistics, which take a mutex
// on every allocation (about 6 % of a bulk import). A library must not call
// it, since the setting is process-wide; later calls change nothing.
void use_sqlite_without_memory_statistics();

inline constexpr int k_application_id = 0x4B4E5231; // "KNR1"
inline constexpr const char* k_db_file = "kanari.db";

} // namespace kanari::store
