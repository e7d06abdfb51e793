// The PostgreSQL implementation of Store, for fleets on many hosts. Its SQL
// lives in this file and in schema/postgresql/; the rules are those of
// sqlite_store.cpp, which explains the ledger's layout.
//
// Transactions. Every write() takes one transaction-scoped advisory lock
// (the store's, keyed by the current schema) before it reads anything, and
// runs at READ COMMITTED, so each statement sees everything committed
// before the lock was granted: writers are serialised as SQLite's BEGIN
// IMMEDIATE serialises them, on every host. That keeps the exactly-once
// transitions, the one event chain and the gate windows (outcome ids are
// handed out in commit order) of the embedded store. A read() is one
// REPEATABLE READ, READ ONLY snapshot. Waiting for the lock is bounded by
// lock_timeout (10 s, as SQLite's wait); a transaction the server aborts
// to keep it serialisable (40001, 40P01) is run again from its start.
#include "store/backends.hpp"
#include "store/hook_text.hpp"
#include "store/metric_values.hpp"
#include "store/window_sums.hpp"
#include "store/migrations.hpp"
#include "store/postgres.hpp"
#include "store/store.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <unordered_map>

namespace kanari::store {

namespace {

using pg::Connection;
using pg::Params;

// pg_advisory_xact_lock(k_lock_class, hashtext(current_schema())): one lock
// per store, whatever else the database holds.
#define KANARI_LOCK "SELECT pg_advisory_xact_lock(1263424049, hashtext(current_schema()))"
constexpr int k_attempts = 5; // of a transaction the server aborted as unserialisable

Arm arm_from(std::string_view s) { return s == "canary" ? Arm::canary : Arm::stable; }

Counted counted_from(std::int64_t v) { return v == 1 ? Counted::late : v == 2 ? Counted::backdated : Counted::yes; }

#define KANARI_ROLLOUT_COLUMNS                                                                                         \
  "id, track, canary, stable, steps, step, state, salt, shadow, policy, policy_sha256, "                               \
  "started_at, step_started_at, ended_at, promote_streak, approved_step, shadow_steps"

RolloutRecord read_rollout(const pg::Result& st, int row) {
  RolloutRecord r;
  r.id = st.get_int(row, 0);
  r.track = st.get_text(row, 1);
  r.canary = st.get_text(row, 2);
  r.stable = st.get_text(row, 3);
  const auto steps = nlohmann::json::parse(st.text(row, 4), nullptr, /*allow_exceptions=*/false);
  if (!steps.is_array())
    throw StoreFailure("rollout " + std::to_string(r.id) + ": its steps column is not a JSON array");
  for (const auto& v : steps) {
    if (!v.is_number_integer())
      throw StoreFailure("rollout " + std::to_string(r.id) + ": its steps column holds a value that is not an integer");
    r.steps_bp.push_back(v.get<std::int64_t>());
  }
  r.step = st.get_int(row, 5);
  r.state = rollout_state_from_string(st.text(row, 6)).value_or(RolloutState::rolled_back);
  r.salt = st.get_text(row, 7);
  r.shadow = st.get_int(row, 8) != 0;
  r.policy = st.get_text(row, 9);
  r.policy_sha256 = st.get_text(row, 10);
  r.started_at = st.get_int(row, 11);
  r.step_started_at = st.get_int(row, 12);
  r.ended_at = st.get_opt_int(row, 13);
  r.promote_streak = st.get_int(row, 14);
  r.approved_step = st.get_opt_int(row, 15);
  r.shadow_steps = st.get_int(row, 16);
  return r;
}

#define KANARI_EVENT_COLUMNS "seq, at, actor, action, track, rollout, version, reason, evidence, prev_hash, hash"

#define KANARI_HOOK_COLUMNS "name, track, url, command, actions, format, secret_env, created_at, created_by"
#define KANARI_DELIVERY_COLUMNS                                                                                        \
  "id, hook, event_seq, state, attempts, created_at, next_attempt_at, last_attempt_at, last_error, done_at"
#define KANARI_ATTEMPT_COLUMNS "id, hook, delivery, event_hash, action, track, at, duration_ms, ok, detail"

HookRecord read_hook(const pg::Result& st, int row) {
  return {st.get_text(row, 0),
          st.get_opt_text(row, 1),
          st.get_opt_text(row, 2),
          st.get_opt_text(row, 3),
          split_actions(st.text(row, 4)),
          st.get_text(row, 5),
          st.get_opt_text(row, 6),
          st.get_int(row, 7),
          st.get_text(row, 8)};
}

DeliveryRecord read_delivery(const pg::Result& st, int row) {
  return {st.get_int(row, 0),      st.get_text(row, 1),
          st.get_int(row, 2),      delivery_state_from_string(st.text(row, 3)).value_or(DeliveryState::failed),
          st.get_int(row, 4),      st.get_int(row, 5),
          st.get_int(row, 6),      st.get_opt_int(row, 7),
          st.get_opt_text(row, 8), st.get_opt_int(row, 9)};
}

HookAttempt read_attempt(const pg::Result& st, int row) {
  return {st.get_int(row, 0),      st.get_text(row, 1), st.get_opt_int(row, 2), st.get_text(row, 3),
          st.get_text(row, 4),     st.get_text(row, 5), st.get_int(row, 6),     st.get_int(row, 7),
          st.get_int(row, 8) != 0, st.get_text(row, 9)};
}

EventRecord read_event(const pg::Result& st, int row) {
  return {st.get_int(row, 0),  st.get_int(row, 1),     st.get_text(row, 2),     st.get_text(row, 3),
          st.get_text(row, 4), st.get_opt_int(row, 5), st.get_opt_text(row, 6), st.get_text(row, 7),
          st.get_text(row, 8), st.get_text(row, 9),    st.get_text(row, 10)};
}

#define KANARI_NEXT_OUTCOME_ID "(SELECT coalesce(max(id), 0) + 1 FROM outcomes)"

// One sample of outcomes, as in sqlite_store.cpp: $1 rollout, $2 arm
// (1 = canary), $3 step or NULL, a top-up of the $6 most recent outcomes of
// version $5 on track $4 recorded outside this rollout, $7 the arm's
// version and $8 the first outcome id the window can hold.
#define KANARI_SAMPLE_CTE                                                                                              \
  "WITH s AS ("                                                                                                        \
  " SELECT pass, latency_ms, cost, tokens, score, error, metrics FROM outcomes"                                        \
  "  WHERE version_no = $7 AND track_no = $4 AND id >= $8"                                                             \
  "    AND rollout_id = $1 AND canary = $2 AND ($3::bigint IS NULL OR step = $3::bigint)"                              \
  "    AND excluded = 0"                                                                                               \
  " UNION ALL"                                                                                                         \
  " SELECT * FROM ("                                                                                                   \
  "  SELECT pass, latency_ms, cost, tokens, score, error, metrics FROM outcomes"                                       \
  "   WHERE $6::bigint > 0 AND version_no = $5 AND track_no = $4"                                                      \
  "     AND (rollout_id IS NULL OR rollout_id <> $1) AND excluded = 0"                                                 \
  "   ORDER BY id DESC LIMIT $6::bigint) t) "

// The metric columns of one outcome from column `from` on: pass,
// latency_ms, cost, tokens, score, error IS NOT NULL, metrics (the text
// lives as long as the result).
OutcomeFields outcome_fields(const pg::Result& r, int row, int from) {
  OutcomeFields f;
  f.pass = r.get_int(row, from) != 0;
  f.latency_ms = r.get_opt_double(row, from + 1);
  f.cost = r.get_opt_double(row, from + 2);
  f.tokens = r.get_opt_int(row, from + 3);
  f.score = r.get_opt_double(row, from + 4);
  f.error = r.get_int(row, from + 5) != 0;
  if (!r.is_null(row, from + 6))
    f.metrics = r.text(row, from + 6);
  return f;
}

#define KANARI_ROLLOUT_OUTCOMES_WHERE " WHERE version_no IN ($2, $3) AND track_no = $4 AND id >= $5 AND rollout_id = $1"

class PostgresStore final : public Store {
public:
  PostgresStore(Connection conn, std::string where) : m_conn(std::move(conn)), m_where(std::move(where)) {}

  Result<void> write(const std::function<Result<void>()>& fn) override {
    for (int attempt = 1;; ++attempt) {
      try {
        // lock_timeout bounds the wait for the store's lock and any row lock.
        m_conn.exec("BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = '10s'; " KANARI_LOCK);
        m_window.begin();
        auto r = fn();
        if (r.ok())
          write_window_delta();
        r = finish(std::move(r));
        if (r.ok())
          count_commit();
        return r;
      } catch (const StoreFailure& e) {
        abandon();
        if (e.kind() == FailureKind::busy && is_lock_timeout(e))
          throw StoreLocked("the store is locked: another process held its lock for 10 s, the longest kanari "
                            "waits; try again when it is done");
        if (e.kind() == FailureKind::serialization && attempt < k_attempts)
          continue;
        throw;
      } catch (...) {
        abandon();
        throw;
      }
    }
  }

  Result<void> read(const std::function<Result<void>()>& fn) override {
    try {
      m_conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      return finish(fn());
    } catch (...) {
      abandon();
      throw;
    }
  }

  bool insert_version(const VersionRecord& v, const std::vector<core::Component>& comps) override {
    auto r = m_conn.query(
        "INSERT INTO versions (id, manifest, model, label, message, author, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        Params().add(v.id).add(v.manifest).add(v.model).add(v.label).add(v.message).add(v.author).add(v.created_at));
    if (r.affected() == 0)
      return false;
    for (const auto& c : comps) {
      m_conn.query("INSERT INTO blobs (sha256, data) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
                   Params().add(c.sha256).add_bytes(c.content));
      m_conn.query("INSERT INTO components (version_id, kind, name, sha256, bytes) VALUES ($1, $2, $3, $4, $5)",
                   Params()
                       .add(v.id)
                       .add(core::to_string(c.kind))
                       .add(c.name)
                       .add(c.sha256)
                       .add(static_cast<std::int64_t>(c.bytes)));
    }
    return true;
  }

  std::optional<VersionRecord> get_version(const std::string& id) override {
    auto st = m_conn.query("SELECT id, manifest, model, label, message, author, created_at FROM versions WHERE id = $1",
                           Params().add(id));
    if (st.rows() == 0)
      return std::nullopt;
    VersionRecord v{st.get_text(0, 0),     st.get_text(0, 1), st.get_text(0, 2), st.get_opt_text(0, 3),
                    st.get_opt_text(0, 4), st.get_text(0, 5), st.get_int(0, 6),  {}};
    auto cs = m_conn.query("SELECT kind, name, sha256, bytes FROM components WHERE version_id = $1 ORDER BY kind, name",
                           Params().add(id));
    for (int i = 0; i < cs.rows(); ++i)
      v.components.push_back({core::component_kind_from_string(cs.text(i, 0)).value_or(core::ComponentKind::file),
                              cs.get_text(i, 1),
                              cs.get_text(i, 2),
                              static_cast<std::uint64_t>(cs.get_int(i, 3)),
                              {}});
    return v;
  }

  std::vector<std::string> version_ids_with_prefix(const std::string& prefix, int limit) override {
    auto st = m_conn.query("SELECT id FROM versions WHERE id >= $1 AND id < $2 ORDER BY id LIMIT $3",
                           Params().add(prefix).add(prefix + "g").add(limit));
    return column(st);
  }

  std::optional<std::string> get_blob(const std::string& sha256) override {
    auto st = m_conn.query("SELECT data FROM blobs WHERE sha256 = $1", Params().add(sha256));
    if (st.rows() == 0)
      return std::nullopt;
    return st.get_bytes(0, 0);
  }

  std::vector<std::string> version_tracks(const std::string& id) override {
    return column(
        m_conn.query("SELECT track FROM track_versions WHERE version_id = $1 ORDER BY track", Params().add(id)));
  }

  void for_each_version_id(const std::function<void(const std::string&)>& fn) override {
    m_conn.for_each("SELECT id FROM versions ORDER BY id", {},
                    [&](const pg::Result& r, int i) { fn(r.get_text(i, 0)); });
  }

  void for_each_blob(const std::function<void(const std::string&, const std::string&)>& fn) override {
    m_conn.for_each("SELECT sha256, data FROM blobs ORDER BY sha256", {},
                    [&](const pg::Result& r, int i) { fn(r.get_text(i, 0), r.get_bytes(i, 1)); });
  }

  bool insert_signature(const SignatureRecord& s) override {
    return m_conn
               .query("INSERT INTO signatures (version_id, key_id, signature, signer, signed_at)"
                      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version_id, key_id) DO NOTHING",
                      Params().add(s.version_id).add(s.key_id).add(s.signature).add(s.signer).add(s.signed_at))
               .affected() > 0;
  }

  std::vector<SignatureRecord> signatures(const std::string& version_id) override {
    auto st = m_conn.query("SELECT key_id, signature, signer, signed_at FROM signatures WHERE version_id = $1"
                           " ORDER BY key_id",
                           Params().add(version_id));
    std::vector<SignatureRecord> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back({version_id, st.get_text(i, 0), st.get_text(i, 1), st.get_text(i, 2), st.get_int(i, 3)});
    return out;
  }

  void ensure_track(const std::string& track, TimeMs now) override {
    m_conn.query("INSERT INTO tracks (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                 Params().add(track).add(now));
  }

  bool add_track_version(const std::string& track, const std::string& version_id, TimeMs now) override {
    ensure_track(track, now);
    return m_conn
               .query("INSERT INTO track_versions (track, version_id, added_at) VALUES ($1, $2, $3)"
                      " ON CONFLICT (track, version_id) DO NOTHING",
                      Params().add(track).add(version_id).add(now))
               .affected() > 0;
  }

  bool track_has_version(const std::string& track, const std::string& version_id) override {
    return m_conn
               .query("SELECT 1 FROM track_versions WHERE track = $1 AND version_id = $2",
                      Params().add(track).add(version_id))
               .rows() > 0;
  }

  std::vector<TrackVersion> track_versions(const std::string& track) override {
    auto st = m_conn.query("SELECT tv.version_id, v.label, v.created_at, tv.added_at FROM track_versions tv"
                           " JOIN versions v ON v.id = tv.version_id WHERE tv.track = $1 ORDER BY tv.seq DESC",
                           Params().add(track));
    std::vector<TrackVersion> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back({st.get_text(i, 0), st.get_opt_text(i, 1), st.get_int(i, 2), st.get_int(i, 3)});
    return out;
  }

  std::optional<std::string> stable_of(const std::string& track) override {
    auto st = m_conn.query("SELECT stable FROM tracks WHERE name = $1", Params().add(track));
    if (st.rows() == 0)
      return std::nullopt;
    return st.get_opt_text(0, 0);
  }

  void set_stable(const std::string& track, const std::string& version_id) override {
    m_conn.query("UPDATE tracks SET stable = $2 WHERE name = $1", Params().add(track).add(version_id));
  }

  std::optional<RolloutRecord> open_rollout(const std::string& track) override {
    return one_rollout("SELECT " KANARI_ROLLOUT_COLUMNS
                       " FROM rollouts WHERE track = $1 AND state IN ('active', 'paused')",
                       Params().add(track));
  }

  std::optional<RolloutRecord> get_rollout(std::int64_t id) override {
    return one_rollout("SELECT " KANARI_ROLLOUT_COLUMNS " FROM rollouts WHERE id = $1", Params().add(id));
  }

  std::optional<RolloutRecord> latest_rollout(const std::string& track) override {
    return one_rollout("SELECT " KANARI_ROLLOUT_COLUMNS " FROM rollouts WHERE track = $1 ORDER BY id DESC LIMIT 1",
                       Params().add(track));
  }

  std::int64_t insert_rollout(const RolloutRecord& r) override {
    m_shadow_history.clear();
    m_window.forget_rollouts();
    auto st = m_conn.query("INSERT INTO rollouts (track, canary, stable, steps, step, state, salt, shadow, policy,"
                           " policy_sha256, started_at, step_started_at, ended_at, promote_streak, approved_step,"
                           " shadow_steps, first_outcome, step_first_outcome, window_sums)"
                           " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
                           " " KANARI_NEXT_OUTCOME_ID ", " KANARI_NEXT_OUTCOME_ID ", 1) RETURNING id",
                           Params()
                               .add(r.track)
                               .add(r.canary)
                               .add(r.stable)
                               .add(nlohmann::json(r.steps_bp).dump())
                               .add(r.step)
                               .add(to_string(r.state))
                               .add(r.salt)
                               .add(r.shadow)
                               .add(r.policy)
                               .add(r.policy_sha256)
                               .add(r.started_at)
                               .add(r.step_started_at)
                               .add(r.ended_at)
                               .add(r.promote_streak)
                               .add(r.approved_step)
                               .add(r.shadow_steps));
    return st.get_int(0, 0);
  }

  void update_rollout(const RolloutRecord& r) override {
    m_window.forget_rollouts(); // a new step opens a new window
    m_conn.query("UPDATE rollouts SET step = $2, state = $3, step_started_at = $4, ended_at = $5,"
                 " promote_streak = $6, approved_step = $7, step_first_outcome = CASE WHEN step = $2"
                 " THEN step_first_outcome ELSE " KANARI_NEXT_OUTCOME_ID " END WHERE id = $1",
                 Params()
                     .add(r.id)
                     .add(r.step)
                     .add(to_string(r.state))
                     .add(r.step_started_at)
                     .add(r.ended_at)
                     .add(r.promote_streak)
                     .add(r.approved_step));
  }

  std::vector<std::string> tracks_with_open_rollouts() override {
    return column(m_conn.query("SELECT track FROM rollouts WHERE state IN ('active', 'paused') ORDER BY track"));
  }

  std::optional<RolloutRecord> last_rollout_with_arm(const std::string& track, const std::string& version_id) override {
    return one_rollout("SELECT " KANARI_ROLLOUT_COLUMNS
                       " FROM rollouts WHERE track = $1 AND (canary = $2 OR stable = $2)"
                       " ORDER BY id DESC LIMIT 1",
                       Params().add(track).add(version_id));
  }

  void for_each_rollout_id(const std::function<void(std::int64_t)>& fn) override {
    m_conn.for_each("SELECT id FROM rollouts ORDER BY id", {},
                    [&](const pg::Result& r, int i) { fn(r.get_int(i, 0)); });
  }

  InsertOutcome insert_outcome(const OutcomeRecord& o, TaskVersions versions) override {
    const std::int64_t track = track_no(o.track);
    const std::int64_t version = version_no(o.version_id);
    const bool shadow = versions == TaskVersions::several;
    if (!shadow && !had_shadow_rollout(track)) {
      if (insert_outcome_row(o, track, version, 0, true) == 1) {
        m_window.add(o);
        return {InsertResult::inserted, std::nullopt};
      }
      if (auto refused = existing_outcome(o, track, version, versions))
        return *refused;
      throw StoreFailure("database: the outcome of task " + o.task +
                         " was refused by the unique index,"
                         " but no outcome of that task is stored");
    }
    if (auto refused = existing_outcome(o, track, version, versions))
      return *refused;
    insert_outcome_row(o, track, version, shadow ? version : 0, false);
    m_window.add(o);
    return {InsertResult::inserted, std::nullopt};
  }

  // A batch goes to the server as one COPY straight into outcomes, as the
  // server's own bulk load would, under a savepoint. A repeat within the
  // batch stays out of it. Should the COPY hit a task the store already
  // holds, the savepoint is rolled back, the store is asked which tasks it
  // holds (one indexed lookup per track) and the COPY sent again without
  // them: every writer holds the store's lock (KANARI_LOCK), so nothing is
  // inserted in between. What stayed out is classified one by one
  // afterwards, as insert_outcome would: the first outcome of a key in the
  // batch is the one stored. Tracks that had a shadow rollout take the
  // one-by-one path, as in insert_outcome.
  std::vector<InsertOutcome> insert_outcomes(const std::vector<PendingOutcome>& batch) override {
    std::vector<InsertOutcome> out(batch.size());
    // Per outcome: copied (1), classified afterwards (2), or one by one (0).
    std::vector<char> how(batch.size(), 0);
    std::unordered_map<std::int64_t, std::unordered_map<std::string_view, size_t>> first; // track -> task -> index
    size_t fast = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& p = batch[i];
      const std::int64_t track = track_no(p.outcome.track);
      if (p.versions != TaskVersions::one || had_shadow_rollout(track))
        continue;
      ++fast;
      how[i] = first[track].emplace(p.outcome.task, i).second ? 1 : 2;
    }
    if (fast < 8) { // not worth a COPY
      for (size_t i = 0; i < batch.size(); ++i)
        out[i] = insert_outcome(batch[i].outcome, batch[i].versions);
      return out;
    }
    auto copy = [&] {
      std::string data;
      for (size_t i = 0; i < batch.size(); ++i)
        if (how[i] == 1)
          copy_row(data, batch[i].outcome);
      if (!data.empty())
        m_conn.copy_in("COPY outcomes (track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, cost,"
                       " tokens, score, error, at, slot, excluded, metrics) FROM STDIN",
                       data);
    };
    m_conn.exec("SAVEPOINT kanari_batch");
    try {
      copy();
    } catch (const StoreFailure& e) {
      if (e.kind() != FailureKind::constraint)
        throw;
      m_conn.exec("ROLLBACK TO SAVEPOINT kanari_batch");
      for (auto& [track, tasks] : first) {
        std::string array = "{";
        for (const auto& [task, index] : tasks) {
          array += array.size() > 1 ? ",\"" : "\"";
          for (char c : task) {
            if (c == '"' || c == '\\')
              array += '\\';
            array += c;
          }
          array += '"';
        }
        array += '}';
        auto stored =
            m_conn.query("SELECT task FROM outcomes WHERE task = ANY ($1::text[]) AND track_no = $2 AND slot = 0",
                         Params().add(array).add(track));
        for (int r = 0; r < stored.rows(); ++r)
          how[tasks.at(stored.text(r, 0))] = 2;
      }
      copy();
    }
    m_conn.exec("RELEASE SAVEPOINT kanari_batch");
    for (size_t i = 0; i < batch.size(); ++i) {
      const auto& p = batch[i];
      if (how[i] == 0) {
        out[i] = insert_outcome(p.outcome, p.versions);
      } else if (how[i] == 1) {
        out[i] = {InsertResult::inserted, std::nullopt};
        m_window.add(p.outcome);
      } else {
        auto refused =
            existing_outcome(p.outcome, track_no(p.outcome.track), version_no(p.outcome.version_id), p.versions);
        if (!refused)
          throw StoreFailure("database: the outcome of task " + p.outcome.task +
                             " was refused by the unique index,"
                             " but no outcome of that task is stored");
        out[i] = *refused;
      }
    }
    return out;
  }

  SampleStats sample_stats(const SampleQuery& q) override {
    SampleStats s;
    const auto where = rollout_outcomes(q.rollout_id);
    if (!where)
      return s;
    if (q.top_up == 0 && where->window_sums) {
      WindowSums sums = window_sums(q, *where);
      if (sums["pass"].n > q.exact_up_to)
        return stats_from_sums(sums, q.metrics);
    }
    const std::int64_t version = q.top_up > 0 ? version_no(q.top_up_version) : 0;
    const std::int64_t first = q.step && *q.step == where->step ? where->step_first : where->first;
    const auto params = Params()
                            .add(q.rollout_id)
                            .add(q.arm == Arm::canary)
                            .add(q.step)
                            .add(where->track)
                            .add(version)
                            .add(q.top_up)
                            .add(q.arm == Arm::canary ? where->canary : where->stable)
                            .add(first);
    {
      auto st = m_conn.query(KANARI_SAMPLE_CTE "SELECT count(*), coalesce(sum(pass), 0), count(error),"
                                               " count(latency_ms), avg(cost), avg(tokens)::float8 FROM s",
                             params);
      s.n = st.get_int(0, 0);
      s.pass = st.get_int(0, 1);
      s.errors = st.get_int(0, 2);
      s.latency_n = st.get_int(0, 3);
      s.cost_mean = st.get_opt_double(0, 4);
      s.tokens_mean = st.get_opt_double(0, 5);
    }
    if (!q.metrics.empty() && s.n > 0) {
      SampleMetrics metrics(q.metrics);
      m_conn.for_each(KANARI_SAMPLE_CTE "SELECT pass, latency_ms, cost, tokens, score, (error IS NOT NULL)::int,"
                                        " metrics FROM s",
                      params, [&](const pg::Result& r, int i) { metrics.add(outcome_fields(r, i, 0)); });
      s.metrics = metrics.finish();
    } else {
      s.metrics.resize(q.metrics.size());
    }
    if (s.latency_n == 0)
      return s;
    // Nearest rank: the value at rank ceil(p * n), 1-based, by selection
    // over one read of the window's latencies (as sqlite_store.cpp does).
    std::vector<double> latencies;
    latencies.reserve(static_cast<size_t>(s.latency_n));
    m_conn.for_each(KANARI_SAMPLE_CTE "SELECT latency_ms FROM s WHERE latency_ms IS NOT NULL", params,
                    [&](const pg::Result& r, int i) { latencies.push_back(r.get_double(i, 0)); });
    s.latency_p50_ms = nearest_rank_percent(latencies, 50);
    s.latency_p95_ms = nearest_rank_percent(latencies, 95);
    return s;
  }

  PairedSample paired_sample(const PairQuery& q) override {
    PairedSample p;
    std::vector<MetricReader> readers(q.metrics.begin(), q.metrics.end());
    p.metrics.resize(readers.size());
    const auto where = rollout_outcomes(q.rollout_id);
    if (!where)
      return p;
    // As in sqlite_store.cpp: the step's counting canary outcomes, each
    // with the counting stable outcome of its task in the rollout.
    m_conn.for_each(
        "SELECT s.pass, s.latency_ms, s.cost, s.tokens, s.score, (s.error IS NOT NULL)::int, s.metrics,"
        "       c.pass, c.latency_ms, c.cost, c.tokens, c.score, (c.error IS NOT NULL)::int, c.metrics"
        "  FROM outcomes c JOIN outcomes s ON s.task = c.task AND s.track_no = c.track_no"
        " WHERE c.version_no = $2 AND c.track_no = $3 AND c.id >= $4 AND c.rollout_id = $1 AND c.canary = 1"
        "   AND c.step = $5 AND c.excluded = 0"
        "   AND s.version_no = $6 AND s.rollout_id = $1 AND s.canary = 0 AND s.excluded = 0",
        Params()
            .add(q.rollout_id)
            .add(where->canary)
            .add(where->track)
            .add(q.step == where->step ? where->step_first : where->first)
            .add(q.step)
            .add(where->stable),
        [&](const pg::Result& r, int i) { add_pair(p, readers, outcome_fields(r, i, 0), outcome_fields(r, i, 7)); });
    return p;
  }

  std::int64_t count_outcomes(const std::string& track) override {
    return m_conn
        .query("SELECT count(*) FROM outcomes WHERE track_no = (SELECT no FROM tracks WHERE name = $1)",
               Params().add(track))
        .get_int(0, 0);
  }

  void put_assignment(const std::string& track, const std::string& task, const Assignment& a, TimeMs now) override {
    m_conn.query(
        "INSERT INTO assignments (track, task, version_id, arm, rollout_id, at) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (track, task) DO UPDATE SET version_id = excluded.version_id, arm = excluded.arm,"
        " rollout_id = excluded.rollout_id, at = excluded.at",
        Params().add(track).add(task).add(a.version_id).add(to_string(a.arm)).add(a.rollout_id).add(now));
  }

  std::optional<Assignment> get_assignment(const std::string& track, const std::string& task) override {
    auto st = m_conn.query("SELECT version_id, arm, rollout_id FROM assignments WHERE track = $1 AND task = $2",
                           Params().add(track).add(task));
    if (st.rows() == 0)
      return std::nullopt;
    return Assignment{st.get_text(0, 0), arm_from(st.text(0, 1)), st.get_opt_int(0, 2)};
  }

// As in sqlite_store.cpp.
#define KANARI_SESSION_SELECT                                                                                          \
  "SELECT s.session, v.id, s.arm, s.rollout_id, s.state, s.pinned_at, s.last_seen_at, s.ttl_seconds, s.expires_at,"    \
  " s.drain_until, s.requests, m.id, s.ended_at"                                                                       \
  " FROM sessions s JOIN versions v ON v.no = s.version_no LEFT JOIN versions m ON m.no = s.moved_from"

  static SessionRecord read_session(const std::string& track, const pg::Result& st, int row) {
    SessionRecord r;
    r.track = track;
    r.session = st.get_text(row, 0);
    r.version_id = st.get_text(row, 1);
    r.arm = arm_from(st.text(row, 2));
    r.rollout_id = st.get_opt_int(row, 3);
    r.state = session_state_from_string(st.text(row, 4)).value_or(SessionState::ended);
    r.pinned_at = st.get_int(row, 5);
    r.last_seen_at = st.get_int(row, 6);
    r.ttl_seconds = st.get_int(row, 7);
    r.expires_at = st.get_int(row, 8);
    r.drain_until = st.get_opt_int(row, 9);
    r.requests = st.get_int(row, 10);
    r.moved_from = st.get_opt_text(row, 11);
    r.ended_at = st.get_opt_int(row, 12);
    return r;
  }

  std::optional<SessionRecord> get_session(const std::string& track, const std::string& session) override {
    auto st = m_conn.query(KANARI_SESSION_SELECT
                           " WHERE s.track_no = (SELECT no FROM tracks WHERE name = $1) AND s.session = $2",
                           Params().add(track).add(session));
    if (st.rows() == 0)
      return std::nullopt;
    return read_session(track, st, 0);
  }

  void put_session(const SessionRecord& r) override {
    m_conn.query(
        "INSERT INTO sessions (track_no, session, version_no, arm, rollout_id, state, pinned_at, last_seen_at,"
        " ttl_seconds, expires_at, drain_until, requests, moved_from, ended_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        " ON CONFLICT (track_no, session) DO UPDATE SET version_no = excluded.version_no, arm = excluded.arm,"
        " rollout_id = excluded.rollout_id, state = excluded.state, pinned_at = excluded.pinned_at,"
        " last_seen_at = excluded.last_seen_at, ttl_seconds = excluded.ttl_seconds, expires_at = excluded.expires_at,"
        " drain_until = excluded.drain_until, requests = excluded.requests, moved_from = excluded.moved_from,"
        " ended_at = excluded.ended_at",
        Params()
            .add(track_no(r.track))
            .add(r.session)
            .add(version_no(r.version_id))
            .add(to_string(r.arm))
            .add(r.rollout_id)
            .add(to_string(r.state))
            .add(r.pinned_at)
            .add(r.last_seen_at)
            .add(r.ttl_seconds)
            .add(r.expires_at)
            .add(r.drain_until)
            .add(r.requests)
            .add(r.moved_from ? std::optional(version_no(*r.moved_from)) : std::nullopt)
            .add(r.ended_at));
  }

  std::int64_t mark_sessions(const std::string& track, const std::string& version_id, SessionState state,
                             std::optional<TimeMs> drain_until, TimeMs now) override {
    return m_conn
        .query(
            "UPDATE sessions SET state = $1, drain_until = $2"
            " WHERE version_no = $3 AND track_no = $4 AND expires_at >= $5 AND state IN ('active', 'draining')",
            Params().add(to_string(state)).add(drain_until).add(version_no(version_id)).add(track_no(track)).add(now))
        .affected();
  }

  std::vector<SessionRecord> live_sessions(const std::string& track, TimeMs now, std::int64_t limit,
                                           const std::vector<std::string>& versions, bool except) override {
    if (versions.size() > 2)
      throw std::logic_error("live_sessions: at most two versions");
    std::vector<SessionRecord> out;
    // No version id is empty: '' matches none.
    m_conn.for_each(KANARI_SESSION_SELECT
                    " WHERE s.track_no = (SELECT no FROM tracks WHERE name = $1) AND s.expires_at >= $2"
                    "   AND s.state <> 'ended' AND ($6 = 0 OR (v.id = $4 OR v.id = $5) = ($7 = 0))"
                    " ORDER BY s.expires_at DESC, s.session LIMIT $3",
                    Params()
                        .add(track)
                        .add(now)
                        .add(limit)
                        .add(versions.size() > 0 ? versions[0] : std::string())
                        .add(versions.size() > 1 ? versions[1] : std::string())
                        .add(!versions.empty())
                        .add(except),
                    [&](const pg::Result& r, int i) { out.push_back(read_session(track, r, i)); });
    return out;
  }

  std::vector<SessionCount> session_counts(const std::string& track, TimeMs now) override {
    std::vector<SessionCount> out;
    m_conn.for_each("SELECT v.id, s.state, max(s.drain_until), count(*)"
                    "  FROM sessions s JOIN versions v ON v.no = s.version_no"
                    " WHERE s.track_no = (SELECT no FROM tracks WHERE name = $1) AND s.expires_at >= $2"
                    "   AND s.state <> 'ended'"
                    " GROUP BY v.id, s.state ORDER BY v.id, s.state",
                    Params().add(track).add(now), [&](const pg::Result& r, int i) {
                      out.push_back({r.get_text(i, 0),
                                     session_state_from_string(r.text(i, 1)).value_or(SessionState::ended),
                                     r.get_opt_int(i, 2), r.get_int(i, 3)});
                    });
    return out;
  }

  void count_session_request(std::int64_t rollout_id, std::int64_t step, std::string_view arm) override {
    m_conn.query("INSERT INTO session_requests (rollout_id, step, arm, requests) VALUES ($1, $2, $3, 1)"
                 " ON CONFLICT (rollout_id, step, arm) DO UPDATE SET requests = session_requests.requests + 1",
                 Params().add(rollout_id).add(step).add(arm));
  }

  std::vector<ArmRequests> session_requests(std::int64_t rollout_id, std::int64_t step) override {
    std::vector<ArmRequests> out;
    m_conn.for_each("SELECT arm, requests FROM session_requests WHERE rollout_id = $1 AND step = $2 ORDER BY arm",
                    Params().add(rollout_id).add(step), [&](const pg::Result& r, int i) {
                      out.push_back({r.get_text(i, 0), r.get_int(i, 1)});
                    });
    return out;
  }

  std::optional<EventRecord> last_event() override {
    auto st = m_conn.query("SELECT " KANARI_EVENT_COLUMNS " FROM events ORDER BY seq DESC LIMIT 1");
    if (st.rows() == 0)
      return std::nullopt;
    return read_event(st, 0);
  }

  std::optional<TimeMs> last_event_time(const std::string& track) override {
    auto st = m_conn.query("SELECT max(at) FROM events WHERE track = $1", Params().add(track));
    return st.rows() == 0 ? std::nullopt : st.get_opt_int(0, 0);
  }

  void insert_event(const EventRecord& e) override {
    m_conn.query("INSERT INTO events (" KANARI_EVENT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                 Params()
                     .add(e.seq)
                     .add(e.at)
                     .add(e.actor)
                     .add(e.action)
                     .add(e.track)
                     .add(e.rollout)
                     .add(e.version)
                     .add(e.reason)
                     .add(e.evidence)
                     .add(e.prev_hash)
                     .add(e.hash));
    // A hint to every handle routing from this store (commit_stamp): sent
    // when the transaction commits, never if it rolls back.
    m_conn.exec("NOTIFY kanari_events");
  }

  // The newest event's seq: every change of a track's routing (a rollout
  // started, advanced, paused, ended; a stable set) appends an event in its
  // transaction. Read at most every k_revision_read, and sooner when a
  // NOTIFY kanari_events has arrived (checked at most every
  // k_notify_check) or this handle has committed: a change by another host
  // is seen within a second, and the calls in between cost a clock read.
  std::optional<CommitStamp> commit_stamp() override {
    using namespace std::chrono_literals;
    static constexpr auto k_notify_check = 20ms, k_revision_read = 500ms;
    if (m_conn.in_transaction())
      return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    const bool ours = commits() != m_revision_commits;
    if (m_revision && !ours && now - m_notify_checked < k_notify_check)
      return m_revision;
    m_notify_checked = now;
    bool read = !m_revision || ours || now - m_revision_read >= k_revision_read;
    if (!m_listen_tried) {
      // A hot standby refuses LISTEN ("cannot execute LISTEN during
      // recovery"): the revision read alone then keeps routing current.
      m_listen_tried = true;
      try {
        m_conn.exec("LISTEN kanari_events");
        m_listening = true;
      } catch (const StoreFailure& e) {
        if (e.kind() == FailureKind::connection_lost)
          throw;
      }
    } else if (m_listening && m_conn.notified()) {
      read = true;
    }
    if (read) {
      const auto seq =
          static_cast<std::uint64_t>(m_conn.query("SELECT coalesce(max(seq), 0) FROM events").get_int(0, 0));
      CommitStamp stamp{};
      stamp[0] = static_cast<std::uint32_t>(seq);
      stamp[1] = static_cast<std::uint32_t>(seq >> 32);
      m_revision = stamp;
      m_revision_read = now;
      m_revision_commits = commits();
    }
    return m_revision;
  }

  std::vector<EventRecord> events(const std::string& track, std::optional<std::int64_t> limit) override {
    auto st = m_conn.query("SELECT " KANARI_EVENT_COLUMNS " FROM events WHERE track = $1 ORDER BY seq DESC LIMIT $2",
                           Params().add(track).add(limit));
    std::vector<EventRecord> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back(read_event(st, i));
    return out;
  }

  void for_each_event(const std::function<void(const EventRecord&)>& fn) override {
    m_conn.for_each("SELECT " KANARI_EVENT_COLUMNS " FROM events ORDER BY seq", {},
                    [&](const pg::Result& r, int i) { fn(read_event(r, i)); });
  }

  std::optional<EventRecord> get_event(std::int64_t seq) override {
    auto st = m_conn.query("SELECT " KANARI_EVENT_COLUMNS " FROM events WHERE seq = $1", Params().add(seq));
    if (st.rows() == 0)
      return std::nullopt;
    return read_event(st, 0);
  }

  bool insert_hook(const HookRecord& h) override {
    return m_conn
               .query("INSERT INTO hooks (" KANARI_HOOK_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                      " ON CONFLICT (name) DO NOTHING",
                      Params()
                          .add(h.name)
                          .add(h.track)
                          .add(h.url)
                          .add(h.command)
                          .add(join_actions(h.actions))
                          .add(h.format)
                          .add(h.secret_env)
                          .add(h.created_at)
                          .add(h.created_by))
               .affected() > 0;
  }

  std::vector<HookRecord> hooks() override {
    auto st = m_conn.query("SELECT " KANARI_HOOK_COLUMNS " FROM hooks ORDER BY name");
    std::vector<HookRecord> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back(read_hook(st, i));
    return out;
  }

  bool remove_hook(const std::string& name) override {
    m_conn.query("DELETE FROM deliveries WHERE hook = $1", Params().add(name));
    return m_conn.query("DELETE FROM hooks WHERE name = $1", Params().add(name)).affected() > 0;
  }

  void insert_delivery(const DeliveryRecord& d) override {
    m_conn.query("INSERT INTO deliveries (hook, event_seq, state, attempts, created_at, next_attempt_at)"
                 " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (hook, event_seq) DO NOTHING",
                 Params()
                     .add(d.hook)
                     .add(d.event_seq)
                     .add(to_string(d.state))
                     .add(d.attempts)
                     .add(d.created_at)
                     .add(d.next_attempt_at));
  }

  std::vector<DeliveryRecord> due_deliveries(TimeMs now, std::int64_t limit) override {
    auto st = m_conn.query("SELECT " KANARI_DELIVERY_COLUMNS " FROM deliveries"
                           " WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY id LIMIT $2",
                           Params().add(now).add(limit));
    std::vector<DeliveryRecord> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back(read_delivery(st, i));
    return out;
  }

  bool update_delivery(const DeliveryRecord& d, std::int64_t expected_attempts) override {
    return m_conn
               .query("UPDATE deliveries SET state = $2, attempts = $3, next_attempt_at = $4, last_attempt_at = $5,"
                      " last_error = $6, done_at = $7 WHERE id = $1 AND state = 'pending' AND attempts = $8",
                      Params()
                          .add(d.id)
                          .add(to_string(d.state))
                          .add(d.attempts)
                          .add(d.next_attempt_at)
                          .add(d.last_attempt_at)
                          .add(d.last_error)
                          .add(d.done_at)
                          .add(expected_attempts))
               .affected() > 0;
  }

  std::vector<DeliveryRecord> undelivered(const std::optional<std::string>& track, std::int64_t limit) override {
    auto st = m_conn.query("SELECT d.id, d.hook, d.event_seq, d.state, d.attempts, d.created_at, d.next_attempt_at,"
                           " d.last_attempt_at, d.last_error, d.done_at FROM deliveries d"
                           " JOIN events e ON e.seq = d.event_seq"
                           " WHERE d.state <> 'delivered' AND ($1::text IS NULL OR e.track = $1)"
                           " ORDER BY d.id DESC LIMIT $2",
                           Params().add(track).add(limit));
    std::vector<DeliveryRecord> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back(read_delivery(st, i));
    return out;
  }

  std::vector<DeliveryCount> delivery_counts(const std::optional<std::string>& track) override {
    auto st = m_conn.query("SELECT d.hook, d.state, count(*) FROM deliveries d JOIN events e ON e.seq = d.event_seq"
                           " WHERE $1::text IS NULL OR e.track = $1 GROUP BY d.hook, d.state ORDER BY d.hook, d.state",
                           Params().add(track));
    std::vector<DeliveryCount> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back({st.get_text(i, 0), delivery_state_from_string(st.text(i, 1)).value_or(DeliveryState::failed),
                     st.get_int(i, 2)});
    return out;
  }

  void insert_hook_attempt(const HookAttempt& a) override {
    m_conn.query("INSERT INTO hook_attempts (hook, delivery, event_hash, action, track, at, duration_ms, ok, detail)"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                 Params()
                     .add(a.hook)
                     .add(a.delivery)
                     .add(a.event_hash)
                     .add(a.action)
                     .add(a.track)
                     .add(a.at)
                     .add(a.duration_ms)
                     .add(a.ok)
                     .add(a.detail));
  }

  std::vector<HookAttempt> hook_attempts(const std::optional<std::string>& hook, std::int64_t limit) override {
    auto st = m_conn.query("SELECT " KANARI_ATTEMPT_COLUMNS " FROM hook_attempts WHERE $1::text IS NULL OR hook = $1"
                           " ORDER BY id DESC LIMIT $2",
                           Params().add(hook).add(limit));
    std::vector<HookAttempt> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back(read_attempt(st, i));
    return out;
  }

  std::vector<std::string> verify() override {
    // The server keeps every declared constraint itself; what kanari keeps
    // alone is (track, task, version) unique for outcomes of shadow
    // rollouts, and the foreign keys the outcomes table holds as numbers.
    std::vector<std::string> out;
    auto r = read([&]() -> Result<void> {
      auto dup = m_conn.query("SELECT a.id, a.task FROM outcomes a WHERE a.slot <> 0 AND EXISTS ("
                              " SELECT 1 FROM outcomes b WHERE b.task = a.task AND b.track_no = a.track_no"
                              " AND b.version_no = a.version_no AND b.id <> a.id) ORDER BY a.id");
      for (int i = 0; i < dup.rows(); ++i)
        out.push_back("outcomes: task " + quote_for_message(dup.get_text(i, 1)) + " (id " +
                      std::to_string(dup.get_int(i, 0)) + ") has two outcomes for one version");
      auto orphans = m_conn.query("SELECT o.id FROM outcomes o WHERE NOT EXISTS (SELECT 1 FROM tracks t WHERE"
                                  " t.no = o.track_no) OR NOT EXISTS (SELECT 1 FROM versions v WHERE v.no ="
                                  " o.version_no) ORDER BY o.id LIMIT 100");
      for (int i = 0; i < orphans.rows(); ++i)
        out.push_back("outcomes: the row with id " + std::to_string(orphans.get_int(i, 0)) +
                      " refers to a track or version that is not in the store");
      auto sums = m_conn.query(k_window_sums_check);
      for (int i = 0; i < sums.rows(); ++i)
        out.push_back(window_sums_problem(sums.get_int(i, 0), sums.get_int(i, 1) != 0, sums.get_int(i, 2),
                                          sums.get_int(i, 3), sums.get_int(i, 4)));
      return {};
    });
    if (!r.ok())
      out.push_back(r.error().message);
    return out;
  }

  StoreInfo info() override {
    StoreInfo i{"postgresql", m_where, schema_version(), "PostgreSQL " + std::to_string(m_conn.server_version()), {}};
    const int v = m_conn.server_version();
    i.server_version = "PostgreSQL " + std::to_string(v / 10000) + "." + std::to_string(v % 10000);
    auto r = read([&]() -> Result<void> {
      for (const auto& t : tables())
        i.counts.emplace_back(t.name,
                              m_conn.query(("SELECT count(*) FROM " + std::string(t.name)).c_str()).get_int(0, 0));
      return {};
    });
    (void)r;
    return i;
  }

  bool is_empty() override {
    for (const auto& t : tables())
      if (m_conn.query(("SELECT EXISTS (SELECT 1 FROM " + std::string(t.name) + ")").c_str()).get_bool(0, 0))
        return false;
    return true;
  }

  void for_each_row(const Table& t, const std::function<void(const Row&)>& fn) override {
    std::string cols;
    for (size_t c = 0; c < t.columns.size(); ++c)
      cols += (c ? ", " : "") + std::string(t.columns[c].name);
    const std::string sql = "SELECT " + cols + " FROM " + t.name + " ORDER BY " + t.key;
    Row row(t.columns.size());
    m_conn.for_each(sql.c_str(), {}, [&](const pg::Result& r, int i) {
      for (size_t c = 0; c < t.columns.size(); ++c) {
        const int col = static_cast<int>(c);
        if (r.is_null(i, col))
          row[c].reset();
        else if (t.columns[c].type == ColumnType::bytes)
          row[c] = r.get_bytes(i, col);
        else if (t.columns[c].type == ColumnType::real)
          row[c] = format_real(r.get_double(i, col));
        else
          row[c] = r.get_text(i, col);
      }
      fn(row);
    });
  }

  void insert_rows(const Table& t, const std::vector<Row>& rows) override {
    forget_numbers();
    std::string cols, params;
    for (size_t c = 0; c < t.columns.size(); ++c) {
      cols += (c ? ", " : "") + std::string(t.columns[c].name);
      params += (c ? ", $" : "$") + std::to_string(c + 1);
    }
    const std::string sql = "INSERT INTO " + std::string(t.name) + " (" + cols + ") VALUES (" + params + ")";
    for (const auto& row : rows) {
      Params p;
      for (size_t c = 0; c < t.columns.size(); ++c) {
        if (!row[c])
          p.add_null();
        else if (t.columns[c].type == ColumnType::bytes)
          p.add_bytes(*row[c]);
        else
          p.add(*row[c]);
      }
      m_conn.query(sql.c_str(), p);
    }
  }

  void finish_copy() override {
    // The identity columns hand out keys after the largest copied one.
    for (const char* t : {"versions:no", "tracks:no", "track_versions:seq", "rollouts:id", "outcomes:id",
                          "deliveries:id", "hook_attempts:id"}) {
      const std::string_view spec(t);
      const std::string table(spec.substr(0, spec.find(':'))), col(spec.substr(spec.find(':') + 1));
      m_conn.query(("SELECT setval(pg_get_serial_sequence('" + table + "', '" + col + "'), coalesce(max(" + col +
                    "), 0) + 1, false) FROM " + table)
                       .c_str());
    }
  }

  std::vector<std::string> track_names() override {
    return column(m_conn.query("SELECT name FROM tracks ORDER BY name"));
  }

  std::vector<ArmTotals> outcome_totals(const std::string& track) override {
    auto st = m_conn.query("SELECT canary, count(*), coalesce(sum(pass), 0), count(error) FROM outcomes"
                           " WHERE track_no = (SELECT no FROM tracks WHERE name = $1) GROUP BY canary ORDER BY canary",
                           Params().add(track));
    std::vector<ArmTotals> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back(
          {st.get_int(i, 0) != 0 ? Arm::canary : Arm::stable, st.get_int(i, 1), st.get_int(i, 2), st.get_int(i, 3)});
    return out;
  }

  OutcomeSpan rollout_outcome_span(std::int64_t rollout_id) override {
    const auto where = rollout_outcomes(rollout_id);
    if (!where)
      return {};
    auto st = m_conn.query("SELECT count(*), min(at), max(at) FROM outcomes" KANARI_ROLLOUT_OUTCOMES_WHERE
                           " AND excluded = 0",
                           where->params(rollout_id));
    if (st.get_int(0, 0) == 0)
      return {};
    return {st.get_int(0, 0), st.get_int(0, 1), st.get_int(0, 2)};
  }

  void for_each_rollout_outcome(std::int64_t rollout_id, const std::vector<std::string>& metrics,
                                const std::function<void(const RolloutOutcome&)>& fn) override {
    const auto where = rollout_outcomes(rollout_id);
    if (!where)
      return;
    const std::vector<MetricReader> readers(metrics.begin(), metrics.end());
    m_conn.for_each("SELECT at, canary, step, excluded, pass, latency_ms, cost, tokens, score,"
                    " (error IS NOT NULL)::int, metrics FROM outcomes" KANARI_ROLLOUT_OUTCOMES_WHERE " ORDER BY at, id",
                    where->params(rollout_id), [&](const pg::Result& r, int i) {
                      const OutcomeFields f = outcome_fields(r, i, 4);
                      fn({r.get_int(i, 0), r.get_int(i, 1) != 0 ? Arm::canary : Arm::stable,
                          r.get_opt_int(i, 2).value_or(0), f.pass, f.error, f.latency_ms, counted_from(r.get_int(i, 3)),
                          read_metrics(readers, f)});
                    });
  }

  std::int64_t schema_version() {
    return m_conn.query("SELECT coalesce(max(version), 0) FROM kanari_schema").get_int(0, 0);
  }

private:
  static bool is_lock_timeout(const StoreFailure& e) {
    return std::string_view(e.what()).find("lock timeout") != std::string_view::npos;
  }

  // Commits when fn succeeded, rolls back otherwise. A COMMIT the server
  // turned into a ROLLBACK (an error inside fn that fn swallowed) is a
  // failure, never a silent loss.
  Result<void> finish(Result<void> r) {
    if (!r.ok()) {
      m_conn.exec("ROLLBACK");
      forget_numbers();
      return r;
    }
    if (auto st = m_conn.query("COMMIT"); st.command() != "COMMIT")
      throw StoreFailure("database: the server rolled the transaction back (" + std::string(st.command()) +
                         ") after an error inside it");
    return r;
  }

  void abandon() noexcept {
    forget_numbers();
    m_shadow_history.clear();
    try {
      if (m_conn.in_transaction())
        m_conn.exec("ROLLBACK");
    } catch (...) { // the connection is gone; the server rolled back
    }
  }

  static std::vector<std::string> column(const pg::Result& st) {
    std::vector<std::string> out;
    for (int i = 0; i < st.rows(); ++i)
      out.push_back(st.get_text(i, 0));
    return out;
  }

  std::optional<RolloutRecord> one_rollout(const char* sql, const Params& p) {
    auto st = m_conn.query(sql, p);
    if (st.rows() == 0)
      return std::nullopt;
    return read_rollout(st, 0);
  }

  struct RolloutOutcomes {
    std::int64_t track, stable, canary, first, step, step_first;
    bool window_sums; // kept since the rollout started (schema/postgresql/0010_window_sums.sql)
    Params params(std::int64_t rollout_id) const {
      return Params().add(rollout_id).add(stable).add(canary).add(track).add(first);
    }
  };
  std::optional<RolloutOutcomes> rollout_outcomes(std::int64_t rollout_id) {
    auto st = m_conn.query("SELECT t.no, s.no, c.no, r.first_outcome, r.step, r.step_first_outcome, r.window_sums"
                           " FROM rollouts r JOIN tracks t ON t.name = r.track JOIN versions s ON s.id = r.stable"
                           " JOIN versions c ON c.id = r.canary WHERE r.id = $1",
                           Params().add(rollout_id));
    if (st.rows() == 0)
      return std::nullopt;
    return RolloutOutcomes{st.get_int(0, 0), st.get_int(0, 1), st.get_int(0, 2),     st.get_int(0, 3),
                           st.get_int(0, 4), st.get_int(0, 5), st.get_int(0, 6) != 0};
  }

  // The window sums of a sample, as in sqlite_store.cpp: one query for the
  // sums and one for the buckets of the percentiles the sample needs.
  WindowSums window_sums(const SampleQuery& q, const RolloutOutcomes& where) {
    const std::int64_t opened = q.step && *q.step == where.step ? where.step_first : -1; // -1: any
    // Names match [a-z][a-z0-9_]*: quoted, so that one named "null" is not
    // NULL, with nothing to escape.
    std::string wanted = "{\"latency_ms\"";
    for (const auto& m : q.metrics)
      if (m.percentiles)
        wanted += ",\"" + m.name + "\"";
    wanted += "}";
    const auto params = Params().add(q.rollout_id).add(q.arm == Arm::canary).add(q.step).add(opened);
#define KANARI_WINDOW_WHERE                                                                                            \
  " WHERE rollout_id = $1 AND canary = $2 AND ($3::bigint IS NULL OR step = $3) AND ($4::bigint < 0 OR opened = $4)"
    WindowSums sums;
    m_conn.for_each("SELECT name, sum(n)::bigint, sum(nonzero)::bigint, CASE WHEN count(value_sum) = count(*) THEN"
                    " sum(value_sum) END, max(value_max) FROM window_sums" KANARI_WINDOW_WHERE " GROUP BY name",
                    params, [&](const pg::Result& r, int i) {
                      auto& m = sums[r.get_text(i, 0)];
                      m.n = r.get_int(i, 1);
                      m.nonzero = r.get_int(i, 2);
                      m.sum = r.get_opt_double(i, 3).value_or(std::nan(""));
                      m.max = r.get_double(i, 4);
                    });
    m_conn.for_each(
        "SELECT name, bucket, sum(count)::bigint FROM window_buckets" KANARI_WINDOW_WHERE
        " AND name = ANY ($5::text[]) GROUP BY name, bucket",
        Params().add(q.rollout_id).add(q.arm == Arm::canary).add(q.step).add(opened).add(wanted),
        [&](const pg::Result& r, int i) { sums[r.get_text(i, 0)].buckets[r.get_int(i, 1)] += r.get_int(i, 2); });
#undef KANARI_WINDOW_WHERE
    return sums;
  }

  // Writes the transaction's WindowDelta before it commits: multi-row
  // upserts of the sums and of the buckets, each at most a few thousand
  // rows, whatever the batch.
  void write_window_delta() {
    if (m_window.delta().empty())
      return;
    std::string sums_sql, buckets_sql;
    Params sums_params, buckets_params;
    int sums_n = 0, buckets_n = 0;
    auto placeholders = [](int& next, int count) {
      std::string out = "(";
      for (int c = 0; c < count; ++c)
        out += (c ? ", $" : "$") + std::to_string(++next);
      return out + ")";
    };
    auto flush_sums = [&] {
      if (sums_n == 0)
        return;
      m_conn.query(("INSERT INTO window_sums (rollout_id, canary, step, opened, name, n, nonzero, value_sum,"
                    " value_max) VALUES " +
                    sums_sql +
                    " ON CONFLICT (rollout_id, canary, step, opened, name) DO UPDATE SET"
                    " n = window_sums.n + excluded.n, nonzero = window_sums.nonzero + excluded.nonzero,"
                    " value_sum = window_sums.value_sum + excluded.value_sum,"
                    " value_max = greatest(window_sums.value_max, excluded.value_max)")
                       .c_str(),
                   sums_params);
      sums_sql.clear();
      sums_params = Params();
      sums_n = 0;
    };
    auto flush_buckets = [&] {
      if (buckets_n == 0)
        return;
      m_conn.query(("INSERT INTO window_buckets (rollout_id, canary, step, opened, name, bucket, count) VALUES " +
                    buckets_sql +
                    " ON CONFLICT (rollout_id, canary, step, opened, name, bucket) DO UPDATE"
                    " SET count = window_buckets.count + excluded.count")
                       .c_str(),
                   buckets_params);
      buckets_sql.clear();
      buckets_params = Params();
      buckets_n = 0;
    };
    for (const auto& e : m_window.delta().entries())
      for (const auto& [name, m] : e.metrics) {
        if (m.n == 0)
          continue;
        sums_sql += sums_n ? ", " : "";
        sums_sql += placeholders(sums_n, 9);
        sums_params.add(e.key.rollout_id)
            .add(e.key.canary)
            .add(e.key.step)
            .add(e.key.opened)
            .add(name)
            .add(m.n)
            .add(m.nonzero)
            .add(std::isnan(m.sum) ? std::nullopt : std::optional(m.sum))
            .add(m.max);
        if (sums_n > 60000) // a statement takes at most 65,535 parameters
          flush_sums();
        for (const auto& [bucket, count] : m.buckets) {
          buckets_sql += buckets_n ? ", " : "";
          buckets_sql += placeholders(buckets_n, 7);
          buckets_params.add(e.key.rollout_id)
              .add(e.key.canary)
              .add(e.key.step)
              .add(e.key.opened)
              .add(name)
              .add(bucket)
              .add(count);
          if (buckets_n > 60000) // a statement takes at most 65,535 parameters
            flush_buckets();
        }
      }
    flush_buckets();
    flush_sums();
    m_window.delta().clear();
  }
  WindowRecorder m_window{[this](std::int64_t rollout_id) -> std::optional<std::int64_t> {
    auto st =
        m_conn.query("SELECT step_first_outcome, window_sums FROM rollouts WHERE id = $1", Params().add(rollout_id));
    if (st.rows() > 0 && st.get_int(0, 1) != 0)
      return st.get_int(0, 0);
    return std::nullopt;
  }};
  // commit_stamp's state.
  std::optional<CommitStamp> m_revision;
  std::chrono::steady_clock::time_point m_revision_read, m_notify_checked;
  std::int64_t m_revision_commits = -1;
  bool m_listen_tried = false, m_listening = false;

  std::optional<InsertOutcome> existing_outcome(const OutcomeRecord& o, std::int64_t track, std::int64_t version,
                                                TaskVersions versions) {
    auto st = m_conn.query(
        "SELECT o.version_no, o.pass, o.latency_ms, o.cost, o.tokens, o.score, o.error,"
        " (o.slot <> 0 AND EXISTS (SELECT 1 FROM rollouts r JOIN versions v ON v.id IN (r.canary, r.stable)"
        "                          WHERE r.id = o.rollout_id AND r.shadow = 1 AND v.no = $3))::int, o.metrics"
        " FROM outcomes o WHERE o.task = $1 AND o.track_no = $2 ORDER BY o.id",
        Params().add(o.task).add(track).add(version));
    std::optional<std::int64_t> other;
    for (int i = 0; i < st.rows(); ++i) {
      if (st.get_int(i, 0) == version) {
        bool same = (st.get_int(i, 1) != 0) == o.pass && st.get_opt_double(i, 2) == o.latency_ms &&
                    st.get_opt_double(i, 3) == o.cost && st.get_opt_int(i, 4) == o.tokens &&
                    st.get_opt_double(i, 5) == o.score && st.get_opt_text(i, 6) == o.error &&
                    st.get_opt_text(i, 8) == encode_metrics(o.metrics);
        return InsertOutcome{same ? InsertResult::duplicate : InsertResult::conflict, std::nullopt};
      }
      if (st.get_int(i, 7) == 0)
        other = st.get_int(i, 0);
    }
    if (other && versions == TaskVersions::one)
      return InsertOutcome{InsertResult::other_version, version_id_of(*other)};
    return std::nullopt;
  }

  std::int64_t insert_outcome_row(const OutcomeRecord& o, std::int64_t track, std::int64_t version, std::int64_t slot,
                                  bool unless_taken) {
#define KANARI_INSERT_OUTCOME                                                                                          \
  "INSERT INTO outcomes (track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, cost, tokens,"        \
  " score, error, at, slot, excluded, metrics)"                                                                        \
  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
    const char* sql =
        unless_taken ? KANARI_INSERT_OUTCOME " ON CONFLICT (task, track_no, slot) DO NOTHING" : KANARI_INSERT_OUTCOME;
#undef KANARI_INSERT_OUTCOME
    return m_conn
        .query(sql, Params()
                        .add(track)
                        .add(o.task)
                        .add(version)
                        .add(o.arm == Arm::canary)
                        .add(o.rollout_id)
                        .add(o.step)
                        .add(o.pass)
                        .add(o.latency_ms)
                        .add(o.cost)
                        .add(o.tokens)
                        .add(o.score)
                        .add(o.error)
                        .add(o.at)
                        .add(slot)
                        .add(static_cast<std::int64_t>(o.counted))
                        .add(encode_metrics(o.metrics)))
        .affected();
  }

  bool had_shadow_rollout(std::int64_t track) {
    if (auto it = m_shadow_history.find(track); it != m_shadow_history.end())
      return it->second;
    auto st = m_conn.query("SELECT EXISTS (SELECT 1 FROM rollouts r JOIN tracks t ON t.name = r.track"
                           " WHERE t.no = $1 AND r.shadow = 1)",
                           Params().add(track));
    return m_shadow_history.emplace(track, st.get_bool(0, 0)).first->second;
  }

  std::int64_t track_no(const std::string& name) {
    if (auto it = m_track_nos.find(name); it != m_track_nos.end())
      return it->second;
    auto st = m_conn.query("SELECT no FROM tracks WHERE name = $1", Params().add(name));
    if (st.rows() == 0)
      throw StoreFailure("database: track '" + name + "' is not in the store");
    return m_track_nos.emplace(name, st.get_int(0, 0)).first->second;
  }

  std::int64_t version_no(const std::string& id) {
    if (auto it = m_version_nos.find(id); it != m_version_nos.end())
      return it->second;
    auto st = m_conn.query("SELECT no FROM versions WHERE id = $1", Params().add(id));
    if (st.rows() == 0)
      throw StoreFailure("database: version " + id + " is not in the store");
    return m_version_nos.emplace(id, st.get_int(0, 0)).first->second;
  }

  std::string version_id_of(std::int64_t no) {
    auto st = m_conn.query("SELECT id FROM versions WHERE no = $1", Params().add(no));
    return st.rows() > 0 ? st.get_text(0, 0) : std::to_string(no);
  }

  void forget_numbers() {
    m_track_nos.clear();
    m_version_nos.clear();
  }

  // COPY's text format: a tab before each field, \N for NULL, and the
  // text's backslash, tab, newline and carriage return escaped.
  static void copy_text(std::string& out, std::string_view s) {
    out += '\t';
    for (char c : s) {
      switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
      }
    }
  }
  // One outcome as a row of COPY's text format, the columns as
  // insert_outcomes names them, slot 0.
  void copy_row(std::string& data, const OutcomeRecord& o) {
    copy_field_first(data, track_no(o.track));
    copy_text(data, o.task);
    copy_field(data, version_no(o.version_id));
    copy_field(data, std::int64_t(o.arm == Arm::canary));
    copy_field(data, o.rollout_id);
    copy_field(data, o.step);
    copy_field(data, std::int64_t(o.pass));
    copy_field(data, o.latency_ms);
    copy_field(data, o.cost);
    copy_field(data, o.tokens);
    copy_field(data, o.score);
    if (o.error)
      copy_text(data, *o.error);
    else
      data += "\t\\N";
    copy_field(data, o.at);
    copy_field(data, std::int64_t(0)); // slot
    copy_field(data, static_cast<std::int64_t>(o.counted));
    if (auto m = encode_metrics(o.metrics))
      copy_text(data, *m);
    else
      data += "\t\\N";
    data += '\n';
  }
  // The first field of a row: no tab before it.
  static void copy_field_first(std::string& out, std::int64_t v) { out += std::to_string(v); }
  static void copy_field(std::string& out, std::int64_t v) {
    out += '\t';
    out += std::to_string(v);
  }
  static void copy_field(std::string& out, const std::optional<std::int64_t>& v) {
    if (v)
      copy_field(out, *v);
    else
      out += "\t\\N";
  }
  static void copy_field(std::string& out, const std::optional<double>& v) {
    out += '\t';
    out += v ? format_real(*v) : "\\N";
  }

  Connection m_conn;
  std::string m_where;
  std::unordered_map<std::int64_t, bool> m_shadow_history;
  std::unordered_map<std::string, std::int64_t> m_track_nos;
  std::unordered_map<std::string, std::int64_t> m_version_nos;
};

// Creates the schema's tables or brings them up to date, under the store's
// lock so that two hosts running `kanari init` at once apply each migration
// once. Returns whether the store was created.
Result<bool> migrate(Connection& conn, const std::string& where, OpenMode mode) {
  const auto& migrations = postgresql_migrations();
  const std::int64_t latest = migrations.empty() ? 0 : migrations.back().number;
  auto present = [&] {
    return conn.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
                      " AND table_name = 'kanari_schema'")
               .get_int(0, 0) > 0;
  };
  if (conn.query("SELECT current_schema() IS NULL").get_bool(0, 0))
    return operational_error(where + " has no current schema (none of its search_path exists); "
                                     "create the schema or set search_path to one that exists");
  std::int64_t version = 0;
  if (present()) {
    version = conn.query("SELECT coalesce(max(version), 0) FROM kanari_schema").get_int(0, 0);
    if (version > latest)
      return operational_error(where + " has schema version " + std::to_string(version) +
                               ", newer than this kanari understands (" + std::to_string(latest) +
                               "); upgrade kanari to use this store");
    if (version == latest)
      return false;
  } else if (mode == OpenMode::existing) {
    return operational_error("no kanari store at " + where +
                             "; run `kanari init` there first (or choose one with --state or KANARI_STATE)");
  }
  conn.exec("BEGIN; SET LOCAL lock_timeout = '10s'; " KANARI_LOCK);
  try {
    const bool created = !present();
    if (created) {
      const auto others = conn.query("SELECT count(*) FROM information_schema.tables WHERE table_schema ="
                                     " current_schema()")
                              .get_int(0, 0);
      if (others > 0) {
        conn.exec("ROLLBACK");
        return operational_error(where + ": the schema " + conn.query("SELECT current_schema()").get_text(0, 0) +
                                 " has tables of its own, not a kanari store; point --state at another database"
                                 " or schema (search_path), or run `kanari init` on an empty one");
      }
      conn.exec("CREATE TABLE kanari_schema (version bigint NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
    }
    // Another host may have migrated while this one waited for the lock.
    version = conn.query("SELECT coalesce(max(version), 0) FROM kanari_schema").get_int(0, 0);
    if (version > latest) {
      conn.exec("ROLLBACK");
      return operational_error(where + " has schema version " + std::to_string(version) +
                               ", newer than this kanari understands (" + std::to_string(latest) +
                               "); upgrade kanari to use this store");
    }
    for (const auto& m : migrations) {
      if (m.number <= version)
        continue;
      conn.exec(m.sql);
      conn.query("INSERT INTO kanari_schema (version) VALUES ($1)", Params().add(m.number));
    }
    conn.exec("COMMIT");
    return created;
  } catch (...) {
    try {
      conn.exec("ROLLBACK");
    } catch (...) {
    }
    throw;
  }
}

} // namespace

Result<std::unique_ptr<Store>> open_postgresql(const std::string& uri, OpenMode mode, bool* created) {
  const std::string where = display_location(uri);
  std::optional<Connection> conn;
  try {
    conn.emplace(uri, where);
  } catch (const StoreFailure& e) {
    return operational_error(e.what());
  }
  auto migrated = migrate(*conn, where, mode);
  KANARI_TRY(migrated);
  if (created)
    *created = *migrated;
  return std::unique_ptr<Store>(std::make_unique<PostgresStore>(std::move(*conn), where));
}

} // namespace kanari::store
