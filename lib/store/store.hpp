// The store interface (docs/architecture.md), whatever the backend: SQLite
// (sqlite_store.cpp), embedded, for one host; PostgreSQL (postgres_store.cpp)
// for fleets spread over many hosts. No SQL dialect or backend type appears
// here. Callers group operations into transactions with write() and read();
// every state check and its change happen inside one write(), which is what
// makes transitions exactly-once under concurrent processes, on one host or
// many.
//
// Anticipated failures return Result; a database failure (I/O, corruption,
// a lock held past the wait bound, a server gone away) throws StoreFailure,
// whose kind() tells which.
#pragma once

#include "store/failure.hpp"
#include "store/report_types.hpp"
#include "store/tables.hpp"
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
  // success, rolls back otherwise (or when fn throws). A backend may run fn
  // more than once (PostgreSQL retries a transaction the server aborted to
  // keep it serialisable), so fn must be re-runnable: it may not consume a
  // stream or accumulate into state outside the transaction.
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
  // Stores a batch (`record --jsonl`, kanari_record_batch) exactly as
  // insert_outcome would one by one, in order; a backend may send it in
  // fewer round trips. One result per outcome.
  virtual std::vector<InsertOutcome> insert_outcomes(const std::vector<PendingOutcome>& batch) {
    std::vector<InsertOutcome> out;
    out.reserve(batch.size());
    for (const auto& p : batch)
      out.push_back(insert_outcome(p.outcome, p.versions));
    return out;
  }
  virtual SampleStats sample_stats(const SampleQuery& q) = 0;
  // The pairs of a shadow step (docs/gates.md, "Paired analysis").
  virtual PairedSample paired_sample(const PairQuery& q) = 0;
  virtual std::int64_t count_outcomes(const std::string& track) = 0;
  virtual void put_assignment(const std::string& track, const std::string& task, const Assignment& a, TimeMs now) = 0;
  virtual std::optional<Assignment> get_assignment(const std::string& track, const std::string& task) = 0;

  // Sessions (docs/routing.md, "Sessions"): one row per (track, session),
  // written whole by put_session (insert or replace).
  virtual std::optional<SessionRecord> get_session(const std::string& track, const std::string& session) = 0;
  virtual void put_session(const SessionRecord& s) = 0;
  // Sets `state` (and drain_until) on the track's live pins to `version_id`
  // (active or draining, expires_at >= now); returns how many.
  virtual std::int64_t mark_sessions(const std::string& track, const std::string& version_id, SessionState state,
                                     std::optional<TimeMs> drain_until, TimeMs now) = 0;
  // The track's live pins (not ended, expires_at >= now), the latest to
  // expire first, at most `limit`: all of them, those pinned to one of
  // `versions`, or (with `except`) those pinned to none of them.
  virtual std::vector<SessionRecord> live_sessions(const std::string& track, TimeMs now, std::int64_t limit,
                                                   const std::vector<std::string>& versions = {},
                                                   bool except = false) = 0;
  virtual std::vector<SessionCount> session_counts(const std::string& track, TimeMs now) = 0;
  // Adds one to the requests served on `arm` in the rollout's step.
  virtual void count_session_request(std::int64_t rollout_id, std::int64_t step, std::string_view arm) = 0;
  virtual std::vector<ArmRequests> session_requests(std::int64_t rollout_id, std::int64_t step) = 0; // by arm

  // Events: append-only, one hash chain over the store.
  virtual std::optional<EventRecord> last_event() = 0;
  // The time of the track's newest event (a transition never stores an
  // earlier one).
  virtual std::optional<TimeMs> last_event_time(const std::string& track) = 0;
  virtual void insert_event(const EventRecord& e) = 0;
  virtual std::vector<EventRecord> events(const std::string& track, std::optional<std::int64_t> limit) = 0;
  virtual void for_each_event(const std::function<void(const EventRecord&)>& fn) = 0;

  // The event with sequence number `seq`.
  virtual std::optional<EventRecord> get_event(std::int64_t seq) = 0;

  // Hooks and their outbox (docs/hooks.md).
  // insert_hook returns false when a hook of that name exists.
  virtual bool insert_hook(const HookRecord& h) = 0;
  virtual std::vector<HookRecord> hooks() = 0; // by name
  // Removes the hook and its deliveries (its attempts stay in the log);
  // false when there is no such hook.
  virtual bool remove_hook(const std::string& name) = 0;
  // Enqueues a delivery unless the hook has one for the event already.
  virtual void insert_delivery(const DeliveryRecord& d) = 0;
  // Pending deliveries whose next attempt is due at `now`, oldest first.
  virtual std::vector<DeliveryRecord> due_deliveries(TimeMs now, std::int64_t limit) = 0;
  // Stores every field but id, hook, event_seq and created_at, if the row
  // is still pending with `expected_attempts` attempts, i.e. no other
  // process has claimed it since; returns whether it did.
  virtual bool update_delivery(const DeliveryRecord& d, std::int64_t expected_attempts) = 0;
  // Pending and failed deliveries of the track's events (every track's
  // when unset), newest first.
  virtual std::vector<DeliveryRecord> undelivered(const std::optional<std::string>& track, std::int64_t limit) = 0;
  // Deliveries per hook and state, of the track's events (every track's
  // when unset), by hook then state.
  virtual std::vector<DeliveryCount> delivery_counts(const std::optional<std::string>& track) = 0;
  virtual void insert_hook_attempt(const HookAttempt& a) = 0;
  // The log, newest first; one hook's when `hook` is set.
  virtual std::vector<HookAttempt> hook_attempts(const std::optional<std::string>& hook, std::int64_t limit) = 0;

  // Maintenance.
  // The backend's own checks of its storage (SQLite's integrity and
  // foreign-key checks; PostgreSQL's constraints hold by themselves), and
  // the uniqueness of (track, task, version) that the ledger keeps itself;
  // empty when healthy. Runs in a transaction of its own.
  virtual std::vector<std::string> verify() = 0;
  // What `kanari store info` prints.
  virtual StoreInfo info() = 0;
  // Whether the store holds nothing but its schema (`store copy` refuses a
  // destination with data).
  virtual bool is_empty() = 0;

  // Copying (`kanari store copy`): every row of a table, in the columns and
  // order of k_tables (store/tables.hpp), and the same rows written back
  // with their keys kept. insert_rows runs inside write(); finish_copy,
  // called once after the last insert_rows in the same transaction, lets
  // the backend move its key counters past the copied keys.
  virtual void for_each_row(const Table& table, const std::function<void(const Row&)>& fn) = 0;
  virtual void insert_rows(const Table& table, const std::vector<Row>& rows) = 0;
  virtual void finish_copy() = 0;

  // Reports and metrics.
  // (`kanari report`, `kanari metrics`: read-only, run inside read().)
  virtual std::vector<std::string> track_names() = 0; // sorted
  // Per arm, every outcome recorded on the track (arms without outcomes are left out).
  virtual std::vector<ArmTotals> outcome_totals(const std::string& track) = 0;
  // The outcomes of the rollout, both arms, oldest first: those recorded
  // while it was open and its late ones (RolloutOutcome::counted tells).
  virtual OutcomeSpan rollout_outcome_span(std::int64_t rollout_id) = 0;
  // `metrics` names the metrics (built-in or recorded) whose values each
  // RolloutOutcome carries.
  virtual void for_each_rollout_outcome(std::int64_t rollout_id, const std::vector<std::string>& metrics,
                                        const std::function<void(const RolloutOutcome&)>& fn) = 0;

  // A fingerprint of the store's newest commit, read without a
  // transaction in a few nanoseconds. On SQLite two equal stamps mean that
  // nothing committed in between, so what was read after the first is
  // still current. On PostgreSQL the stamp is the newest event, checked at
  // most every 0.5 s (sooner on a notification): a change of routing, which
  // always appends an event, moves it within a second. nullopt when the
  // backend has nothing that cheap (an SQLite store opened read-only);
  // callers then read the store. The C API routes always-current at hashing
  // speed with it (docs/library.md, "Speed").
  virtual std::optional<CommitStamp> commit_stamp() { return std::nullopt; }

  // How many write transactions this handle has committed: the command
  // line delivers pending notifications after a command that wrote
  // (docs/hooks.md).
  std::int64_t commits() const { return m_commits; }

protected:
  void count_commit() { ++m_commits; }

private:
  std::int64_t m_commits = 0;
};

enum class OpenMode {
  existing, // a missing store is an error telling the user to run `kanari init`
  create,   // creates the store, or opens it when it exists
};

// Opens the store at `location`, whichever backend it names
// (docs/operations.md): a `postgresql://` or `postgres://` URI is a
// PostgreSQL database (libpq's syntax; its PG* environment variables fill
// what the URI leaves out); anything else is a directory holding the SQLite
// file kanari.db. Pending migrations are applied; a store from a newer
// kanari is refused. With OpenMode::create, `created` (when given) tells
// whether the store was created.
Result<std::unique_ptr<Store>> open(const std::string& location, OpenMode mode, bool* created = nullptr);

// Whether `location` names a PostgreSQL database rather than a directory.
bool is_postgresql_location(std::string_view location);

// `location` as it may be shown: a password in a URI is replaced by "***".
std::string display_location(const std::string& location);

// For a process that owns the process-wide state of the store libraries
// (the `kanari` executable), before any store is opened: turns off SQLite's
// global memory statistics, which take a mutex on every allocation (about
// 6 % of a bulk import). A library must not call it; later calls change
// nothing.
void configure_for_executable();

inline constexpr const char* k_db_file = "kanari.db";

} // namespace kanari::store
