// The SQLite implementation of Store. All of kanari's SQL lives in this file
// and in schema/.
#include "store/backends.hpp"
#include "store/hook_text.hpp"
#include "store/metric_values.hpp"
#include "store/window_sums.hpp"
#include "store/migrations.hpp"
#include "store/sqlite.hpp"
#include "store/sqlite_files.hpp"
#include "store/store.hpp"
#include "util/files.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <limits>
#include <unordered_map>
#include <vector>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace kanari::store {

std::string_view to_string(RolloutState s) {
  switch (s) {
  case RolloutState::active: return "active";
  case RolloutState::paused: return "paused";
  case RolloutState::promoted: return "promoted";
  case RolloutState::rolled_back: return "rolled_back";
  }
  return "?";
}

std::optional<RolloutState> rollout_state_from_string(std::string_view s) {
  if (s == "active")
    return RolloutState::active;
  if (s == "paused")
    return RolloutState::paused;
  if (s == "promoted")
    return RolloutState::promoted;
  if (s == "rolled_back")
    return RolloutState::rolled_back;
  return std::nullopt;
}

std::string_view to_string(Arm a) { return a == Arm::canary ? "canary" : "stable"; }

std::string_view to_string(SessionState s) {
  switch (s) {
  case SessionState::active: return "active";
  case SessionState::draining: return "draining";
  case SessionState::cut: return "cut";
  case SessionState::ended: return "ended";
  }
  return "active";
}

std::optional<SessionState> session_state_from_string(std::string_view s) {
  for (auto state : {SessionState::active, SessionState::draining, SessionState::cut, SessionState::ended})
    if (to_string(state) == s)
      return state;
  return std::nullopt;
}

namespace {

constexpr int k_application_id = 0x4B4E5231; // "KNR1", in the file's header

Arm arm_from(std::string_view s) { return s == "canary" ? Arm::canary : Arm::stable; }

// outcomes.excluded (schema/sqlite/0004_outcome_windows.sql) is Counted's value.
static_assert(static_cast<int>(Counted::yes) == 0 && static_cast<int>(Counted::late) == 1 &&
              static_cast<int>(Counted::backdated) == 2);
Counted counted_from(std::int64_t v) { return v == 1 ? Counted::late : v == 2 ? Counted::backdated : Counted::yes; }

const char* const k_rollout_columns =
    "id, track, canary, stable, steps, step, state, salt, shadow, policy, policy_sha256, "
    "started_at, step_started_at, ended_at, promote_streak, approved_step, shadow_steps";

RolloutRecord read_rollout(const Statement& st) {
  RolloutRecord r;
  r.id = st.get_int(0);
  r.track = st.get_text(1);
  r.canary = st.get_text(2);
  r.stable = st.get_text(3);
  // The steps column is kanari's own JSON; one edited into something else
  // is a damaged row, reported like any other database failure.
  const auto steps = nlohmann::json::parse(st.get_text_view(4), nullptr, /*allow_exceptions=*/false);
  if (!steps.is_array())
    throw StoreFailure("rollout " + std::to_string(r.id) + ": its steps column is not a JSON array");
  for (const auto& v : steps) {
    if (!v.is_number_integer())
      throw StoreFailure("rollout " + std::to_string(r.id) + ": its steps column holds a value that is not an integer");
    r.steps_bp.push_back(v.get<std::int64_t>());
  }
  r.step = st.get_int(5);
  r.state = rollout_state_from_string(st.get_text_view(6)).value_or(RolloutState::rolled_back);
  r.salt = st.get_text(7);
  r.shadow = st.get_int(8) != 0;
  r.policy = st.get_text(9);
  r.policy_sha256 = st.get_text(10);
  r.started_at = st.get_int(11);
  r.step_started_at = st.get_int(12);
  r.ended_at = st.get_opt_int(13);
  r.promote_streak = st.get_int(14);
  r.approved_step = st.get_opt_int(15);
  r.shadow_steps = st.get_int(16);
  return r;
}

std::string steps_json(const std::vector<std::int64_t>& steps) { return nlohmann::json(steps).dump(); }

// The metric columns of one outcome from `from` on: pass, latency_ms, cost,
// tokens, score, error IS NOT NULL, metrics. The metrics text stays valid
// until the statement steps again.
OutcomeFields outcome_fields(const Statement& st, int from) {
  OutcomeFields f;
  f.pass = st.get_int(from) != 0;
  f.latency_ms = st.get_opt_double(from + 1);
  f.cost = st.get_opt_double(from + 2);
  f.tokens = st.get_opt_int(from + 3);
  f.score = st.get_opt_double(from + 4);
  f.error = st.get_int(from + 5) != 0;
  if (!st.is_null(from + 6))
    f.metrics = st.get_text_view(from + 6);
  return f;
}

EventRecord read_event(const Statement& st) {
  EventRecord e;
  e.seq = st.get_int(0);
  e.at = st.get_int(1);
  e.actor = st.get_text(2);
  e.action = st.get_text(3);
  e.track = st.get_text(4);
  e.rollout = st.get_opt_int(5);
  e.version = st.get_opt_text(6);
  e.reason = st.get_text(7);
  e.evidence = st.get_text(8);
  e.prev_hash = st.get_text(9);
  e.hash = st.get_text(10);
  return e;
}

// The id the next outcome will get: outcomes are never deleted, so ids only
// grow, and a window that opens now holds only outcomes from this id on.
#define KANARI_NEXT_OUTCOME_ID "(SELECT coalesce(max(id), 0) + 1 FROM outcomes)"

#define KANARI_EVENT_COLUMNS "seq, at, actor, action, track, rollout, version, reason, evidence, prev_hash, hash"

// One sample of outcomes (docs/gates.md): ?1 rollout, ?2 arm (1 = canary), ?3
// step or NULL, plus a top-up of the ?6 most recent outcomes of version ?5
// on track ?4 recorded outside this rollout. ?7 is the arm's version and ?8
// the first outcome id the window can hold (schema/sqlite/0003_ledger_by_task.sql):
// the window is a range of outcomes_by_version, whatever the history.
#define KANARI_SAMPLE_CTE                                                                                              \
  "WITH s AS ("                                                                                                        \
  " SELECT pass, latency_ms, cost, tokens, score, error, metrics FROM outcomes"                                        \
  "  WHERE version_no = ?7 AND track_no = ?4 AND id >= ?8"                                                             \
  "    AND rollout_id = ?1 AND canary = ?2 AND (?3 IS NULL OR step = ?3)"                                              \
  "    AND excluded = 0"                                                                                               \
  " UNION ALL"                                                                                                         \
  " SELECT pass, latency_ms, cost, tokens, score, error, metrics FROM ("                                               \
  "  SELECT pass, latency_ms, cost, tokens, score, error, metrics FROM outcomes"                                       \
  "   WHERE ?6 > 0 AND version_no = ?5 AND track_no = ?4"                                                              \
  "     AND (rollout_id IS NULL OR rollout_id <> ?1) AND excluded = 0"                                                 \
  "   ORDER BY id DESC LIMIT ?6)) "

#define KANARI_HOOK_COLUMNS "name, track, url, command, actions, format, secret_env, created_at, created_by"
#define KANARI_DELIVERY_COLUMNS                                                                                        \
  "id, hook, event_seq, state, attempts, created_at, next_attempt_at, last_attempt_at, last_error, done_at"
#define KANARI_ATTEMPT_COLUMNS "id, hook, delivery, event_hash, action, track, at, duration_ms, ok, detail"

HookRecord read_hook(const Statement& st) {
  return {
      st.get_text(0), st.get_opt_text(1), st.get_opt_text(2), st.get_opt_text(3), split_actions(st.get_text_view(4)),
      st.get_text(5), st.get_opt_text(6), st.get_int(7),      st.get_text(8)};
}

DeliveryRecord read_delivery(const Statement& st) {
  return {st.get_int(0),      st.get_text(1),
          st.get_int(2),      delivery_state_from_string(st.get_text_view(3)).value_or(DeliveryState::failed),
          st.get_int(4),      st.get_int(5),
          st.get_int(6),      st.get_opt_int(7),
          st.get_opt_text(8), st.get_opt_int(9)};
}

HookAttempt read_attempt(const Statement& st) {
  return {st.get_int(0),  st.get_text(1), st.get_opt_int(2), st.get_text(3),     st.get_text(4),
          st.get_text(5), st.get_int(6),  st.get_int(7),     st.get_int(8) != 0, st.get_text(9)};
}

std::int64_t pragma_int(Database& db, const char* sql);

class SqliteStore final : public Store {
public:
  SqliteStore(Database db, std::filesystem::path path, Access access)
      : m_db(std::move(db)), m_path(std::move(path)), m_access(access) {}

  Result<void> write(const std::function<Result<void>()>& fn) override {
    return in_transaction(Transaction::Kind::write, fn);
  }
  Result<void> read(const std::function<Result<void>()>& fn) override {
    return in_transaction(Transaction::Kind::read, fn);
  }

  // Only a read-write connection shares the -shm every writer updates; a
  // read-only one may read a private copy refreshed only when a transaction
  // starts.
  std::optional<CommitStamp> commit_stamp() override {
    CommitStamp stamp;
    if (m_access != Access::read_write || !m_db.wal_index_header(stamp))
      return std::nullopt;
    return stamp;
  }

  bool insert_version(const VersionRecord& v, const std::vector<core::Component>& comps) override {
    m_db.prepare("INSERT INTO versions (id, manifest, model, label, message, author, created_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING")
        .bind(1, v.id)
        .bind(2, v.manifest)
        .bind(3, v.model)
        .bind(4, v.label)
        .bind(5, v.message)
        .bind(6, v.author)
        .bind(7, v.created_at)
        .run();
    if (m_db.changes() == 0)
      return false;
    for (const auto& c : comps) {
      m_db.prepare("INSERT INTO blobs (sha256, data) VALUES (?1, ?2) ON CONFLICT (sha256) DO NOTHING")
          .bind(1, c.sha256)
          .bind_blob(2, c.content)
          .run();
      m_db.prepare("INSERT INTO components (version_id, kind, name, sha256, bytes) VALUES (?1, ?2, ?3, ?4, ?5)")
          .bind(1, v.id)
          .bind(2, core::to_string(c.kind))
          .bind(3, c.name)
          .bind(4, c.sha256)
          .bind(5, static_cast<std::int64_t>(c.bytes))
          .run();
    }
    return true;
  }

  std::optional<VersionRecord> get_version(const std::string& id) override {
    auto st =
        m_db.prepare("SELECT id, manifest, model, label, message, author, created_at FROM versions WHERE id = ?1");
    st.bind(1, id);
    if (!st.step())
      return std::nullopt;
    VersionRecord v{st.get_text(0),     st.get_text(1), st.get_text(2), st.get_opt_text(3),
                    st.get_opt_text(4), st.get_text(5), st.get_int(6),  {}};
    auto cs =
        m_db.prepare("SELECT kind, name, sha256, bytes FROM components WHERE version_id = ?1 ORDER BY kind, name");
    cs.bind(1, id);
    while (cs.step())
      v.components.push_back({core::component_kind_from_string(cs.get_text_view(0)).value_or(core::ComponentKind::file),
                              cs.get_text(1),
                              cs.get_text(2),
                              static_cast<std::uint64_t>(cs.get_int(3)),
                              {}});
    return v;
  }

  std::vector<std::string> version_ids_with_prefix(const std::string& prefix, int limit) override {
    // Ids are lowercase hex, so [prefix, prefix + 'g') is exactly the range
    // of ids that start with prefix, and the primary key answers it.
    auto st = m_db.prepare("SELECT id FROM versions WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT ?3");
    st.bind(1, prefix).bind(2, prefix + "g").bind(3, limit);
    std::vector<std::string> out;
    while (st.step())
      out.push_back(st.get_text(0));
    return out;
  }

  std::optional<std::string> get_blob(const std::string& sha256) override {
    auto st = m_db.prepare("SELECT data FROM blobs WHERE sha256 = ?1");
    st.bind(1, sha256);
    if (!st.step())
      return std::nullopt;
    return st.get_blob(0);
  }

  std::vector<std::string> version_tracks(const std::string& id) override {
    auto st = m_db.prepare("SELECT track FROM track_versions WHERE version_id = ?1 ORDER BY track");
    st.bind(1, id);
    std::vector<std::string> out;
    while (st.step())
      out.push_back(st.get_text(0));
    return out;
  }

  void for_each_version_id(const std::function<void(const std::string&)>& fn) override {
    auto st = m_db.prepare("SELECT id FROM versions ORDER BY id");
    while (st.step())
      fn(st.get_text(0));
  }

  void for_each_blob(const std::function<void(const std::string&, const std::string&)>& fn) override {
    auto st = m_db.prepare("SELECT sha256, data FROM blobs ORDER BY sha256");
    while (st.step())
      fn(st.get_text(0), st.get_blob(1));
  }

  bool insert_signature(const SignatureRecord& s) override {
    m_db.prepare("INSERT INTO signatures (version_id, key_id, signature, signer, signed_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (version_id, key_id) DO NOTHING")
        .bind(1, s.version_id)
        .bind(2, s.key_id)
        .bind(3, s.signature)
        .bind(4, s.signer)
        .bind(5, s.signed_at)
        .run();
    return m_db.changes() > 0;
  }

  std::vector<SignatureRecord> signatures(const std::string& version_id) override {
    auto st = m_db.prepare("SELECT key_id, signature, signer, signed_at FROM signatures WHERE version_id = ?1"
                           " ORDER BY key_id");
    st.bind(1, version_id);
    std::vector<SignatureRecord> out;
    while (st.step())
      out.push_back({version_id, st.get_text(0), st.get_text(1), st.get_text(2), st.get_int(3)});
    return out;
  }

  void ensure_track(const std::string& track, TimeMs now) override {
    m_db.prepare("INSERT INTO tracks (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")
        .bind(1, track)
        .bind(2, now)
        .run();
  }

  bool add_track_version(const std::string& track, const std::string& version_id, TimeMs now) override {
    ensure_track(track, now);
    m_db.prepare("INSERT INTO track_versions (track, version_id, added_at) VALUES (?1, ?2, ?3)"
                 " ON CONFLICT (track, version_id) DO NOTHING")
        .bind(1, track)
        .bind(2, version_id)
        .bind(3, now)
        .run();
    return m_db.changes() > 0;
  }

  bool track_has_version(const std::string& track, const std::string& version_id) override {
    auto st = m_db.prepare("SELECT 1 FROM track_versions WHERE track = ?1 AND version_id = ?2");
    st.bind(1, track).bind(2, version_id);
    return st.step();
  }

  std::vector<TrackVersion> track_versions(const std::string& track) override {
    auto st = m_db.prepare("SELECT tv.version_id, v.label, v.created_at, tv.added_at FROM track_versions tv"
                           " JOIN versions v ON v.id = tv.version_id WHERE tv.track = ?1 ORDER BY tv.seq DESC");
    st.bind(1, track);
    std::vector<TrackVersion> out;
    while (st.step())
      out.push_back({st.get_text(0), st.get_opt_text(1), st.get_int(2), st.get_int(3)});
    return out;
  }

  std::optional<std::string> stable_of(const std::string& track) override {
    auto st = m_db.prepare("SELECT stable FROM tracks WHERE name = ?1");
    st.bind(1, track);
    if (!st.step())
      return std::nullopt;
    return st.get_opt_text(0);
  }

  void set_stable(const std::string& track, const std::string& version_id) override {
    m_db.prepare("UPDATE tracks SET stable = ?2 WHERE name = ?1").bind(1, track).bind(2, version_id).run();
  }

  std::optional<RolloutRecord> open_rollout(const std::string& track) override {
    static const std::string sql = std::string("SELECT ") + k_rollout_columns +
                                   " FROM rollouts WHERE track = ?1 AND state IN ('active', 'paused')";
    auto st = m_db.prepare(sql.c_str());
    st.bind(1, track);
    if (!st.step())
      return std::nullopt;
    return read_rollout(st);
  }

  std::optional<RolloutRecord> get_rollout(std::int64_t id) override {
    static const std::string sql = std::string("SELECT ") + k_rollout_columns + " FROM rollouts WHERE id = ?1";
    auto st = m_db.prepare(sql.c_str());
    st.bind(1, id);
    if (!st.step())
      return std::nullopt;
    return read_rollout(st);
  }

  std::optional<RolloutRecord> latest_rollout(const std::string& track) override {
    static const std::string sql =
        std::string("SELECT ") + k_rollout_columns + " FROM rollouts WHERE track = ?1 ORDER BY id DESC LIMIT 1";
    auto st = m_db.prepare(sql.c_str());
    st.bind(1, track);
    if (!st.step())
      return std::nullopt;
    return read_rollout(st);
  }

  std::int64_t insert_rollout(const RolloutRecord& r) override {
    m_shadow_history.clear();
    m_window.forget_rollouts();
    m_db.prepare("INSERT INTO rollouts (track, canary, stable, steps, step, state, salt, shadow, policy,"
                 " policy_sha256, started_at, step_started_at, ended_at, promote_streak, approved_step,"
                 " shadow_steps, first_outcome, step_first_outcome, window_sums)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
                 " " KANARI_NEXT_OUTCOME_ID ", " KANARI_NEXT_OUTCOME_ID ", 1)")
        .bind(1, r.track)
        .bind(2, r.canary)
        .bind(3, r.stable)
        .bind(4, steps_json(r.steps_bp))
        .bind(5, r.step)
        .bind(6, to_string(r.state))
        .bind(7, r.salt)
        .bind(8, r.shadow)
        .bind(9, r.policy)
        .bind(10, r.policy_sha256)
        .bind(11, r.started_at)
        .bind(12, r.step_started_at)
        .bind(13, r.ended_at)
        .bind(14, r.promote_streak)
        .bind(15, r.approved_step)
        .bind(16, r.shadow_steps)
        .run();
    return m_db.last_insert_rowid();
  }

  void update_rollout(const RolloutRecord& r) override {
    m_window.forget_rollouts(); // a new step opens a new window
    m_db.prepare("UPDATE rollouts SET step = ?2, state = ?3, step_started_at = ?4, ended_at = ?5,"
                 " promote_streak = ?6, approved_step = ?7, step_first_outcome = CASE WHEN step = ?2"
                 " THEN step_first_outcome ELSE " KANARI_NEXT_OUTCOME_ID " END WHERE id = ?1")
        .bind(1, r.id)
        .bind(2, r.step)
        .bind(3, to_string(r.state))
        .bind(4, r.step_started_at)
        .bind(5, r.ended_at)
        .bind(6, r.promote_streak)
        .bind(7, r.approved_step)
        .run();
  }

  std::optional<RolloutRecord> last_rollout_with_arm(const std::string& track, const std::string& version_id) override {
    static const std::string sql = std::string("SELECT ") + k_rollout_columns +
                                   " FROM rollouts WHERE track = ?1 AND (canary = ?2 OR stable = ?2)"
                                   " ORDER BY id DESC LIMIT 1";
    auto st = m_db.prepare(sql.c_str());
    st.bind(1, track).bind(2, version_id);
    if (!st.step())
      return std::nullopt;
    return read_rollout(st);
  }

  void for_each_rollout_id(const std::function<void(std::int64_t)>& fn) override {
    auto st = m_db.prepare("SELECT id FROM rollouts ORDER BY id");
    while (st.step())
      fn(st.get_int(0));
  }

  std::vector<std::string> tracks_with_open_rollouts() override {
    auto st = m_db.prepare("SELECT track FROM rollouts WHERE state IN ('active', 'paused') ORDER BY track");
    std::vector<std::string> out;
    while (st.step())
      out.push_back(st.get_text(0));
    return out;
  }

  // Schema 3 (schema/sqlite/0003_ledger_by_task.sql) keys outcomes by (task, track,
  // slot). On a track that never had a shadow rollout every slot is 0, so
  // the unique index refuses a second outcome of a task for any version and
  // one INSERT ... ON CONFLICT DO NOTHING is the whole check; the lookup runs
  // only when it refused. Elsewhere the lookup comes first, as in schema 1.
  InsertOutcome insert_outcome(const OutcomeRecord& o, TaskVersions versions) override {
    const std::int64_t track = track_no(o.track);
    const std::int64_t version = version_no(o.version_id);
    const bool shadow = versions == TaskVersions::several;
    if (!shadow && !had_shadow_rollout(track)) {
      insert_outcome_row(o, track, version, 0, true);
      if (m_db.changes() == 1) {
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

  // A batch goes to the store k_rows_per_insert outcomes to a statement
  // wherever insert_outcome would take its one-statement path (no shadow
  // slot): a statement's fixed cost, opening the table and its two indexes
  // and halting, was an eighth of the instructions of `record --jsonl`. When
  // the unique index refused some of a statement's rows, the rows it
  // stored are the last changes() ids (an INTEGER PRIMARY KEY takes the
  // largest plus one), in the batch's order; the others are looked up as
  // insert_outcome would look them up. Past the largest id (2^63 - 1)
  // SQLite picks ids at random, so a store that holds it, which only a
  // hand-edited one can, takes every outcome alone.
  std::vector<InsertOutcome> insert_outcomes(const std::vector<PendingOutcome>& batch) override {
    std::vector<InsertOutcome> out(batch.size());
    // plain[i]: how many outcomes from i on may share a statement.
    std::vector<std::uint32_t> plain(batch.size() + 1, 0);
    const bool ids_in_order = [&] {
      auto st = m_db.prepare("SELECT max(id) FROM outcomes");
      const auto largest = st.step() ? st.get_opt_int(0) : std::nullopt;
      return !largest || *largest <= std::numeric_limits<std::int64_t>::max() - static_cast<std::int64_t>(batch.size());
    }();
    if (ids_in_order)
      for (size_t i = batch.size(); i-- > 0;) {
        const auto& p = batch[i];
        if (p.versions == TaskVersions::one && !had_shadow_rollout(track_no(p.outcome.track)))
          plain[i] = plain[i + 1] + 1;
      }
    for (size_t i = 0; i < batch.size();) {
      if (plain[i] >= k_rows_per_insert) {
        insert_run(batch, i, out);
        i += k_rows_per_insert;
      } else {
        out[i] = insert_outcome(batch[i].outcome, batch[i].versions);
        ++i;
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
    // The current step's window opened at step_first; any other window, at
    // the rollout's start (the step filter does the rest).
    const std::int64_t first = q.step && *q.step == where->step ? where->step_first : where->first;
    auto bind = [&](Statement& st) {
      st.bind(1, q.rollout_id)
          .bind(2, q.arm == Arm::canary)
          .bind(3, q.step)
          .bind(4, where->track)
          .bind(5, version)
          .bind(6, q.top_up)
          .bind(7, q.arm == Arm::canary ? where->canary : where->stable)
          .bind(8, first);
    };
    {
      auto st =
          m_db.prepare(KANARI_SAMPLE_CTE "SELECT count(*), total(pass), count(error), count(latency_ms), avg(cost),"
                                         " avg(tokens) FROM s");
      bind(st);
      if (st.step()) {
        s.n = st.get_int(0);
        s.pass = static_cast<std::int64_t>(st.get_double(1));
        s.errors = st.get_int(2);
        s.latency_n = st.get_int(3);
        s.cost_mean = st.get_opt_double(4);
        s.tokens_mean = st.get_opt_double(5);
      }
    }
    if (!q.metrics.empty() && s.n > 0) {
      SampleMetrics metrics(q.metrics);
      auto st = m_db.prepare(KANARI_SAMPLE_CTE "SELECT pass, latency_ms, cost, tokens, score, error IS NOT NULL,"
                                               " metrics FROM s");
      bind(st);
      while (st.step())
        metrics.add(outcome_fields(st, 0));
      s.metrics = metrics.finish();
    } else {
      s.metrics.resize(q.metrics.size());
    }
    if (s.latency_n == 0)
      return s;
    // Nearest rank: the value at rank ceil(p * n), 1-based. One read of the
    // latencies and a selection, rather than SQLite sorting the window once
    // per percentile (and spilling to temporary files past a few MB).
    std::vector<double> latencies;
    latencies.reserve(static_cast<size_t>(s.latency_n));
    {
      auto st = m_db.prepare(KANARI_SAMPLE_CTE "SELECT latency_ms FROM s WHERE latency_ms IS NOT NULL");
      bind(st);
      while (st.step())
        latencies.push_back(st.get_double(0));
    }
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
    // The canary outcomes of the step that count, each joined with the
    // counting stable outcome of its task in the rollout: one descent of
    // the (task, track, slot) index per canary outcome.
    auto st = m_db.prepare(
        "SELECT s.pass, s.latency_ms, s.cost, s.tokens, s.score, s.error IS NOT NULL, s.metrics,"
        "       c.pass, c.latency_ms, c.cost, c.tokens, c.score, c.error IS NOT NULL, c.metrics"
        "  FROM outcomes c JOIN outcomes s ON s.task = c.task AND s.track_no = c.track_no"
        " WHERE c.version_no = ?2 AND c.track_no = ?3 AND c.id >= ?4 AND c.rollout_id = ?1 AND c.canary = 1"
        "   AND c.step = ?5 AND c.excluded = 0"
        "   AND s.version_no = ?6 AND s.rollout_id = ?1 AND s.canary = 0 AND s.excluded = 0");
    st.bind(1, q.rollout_id)
        .bind(2, where->canary)
        .bind(3, where->track)
        .bind(4, q.step == where->step ? where->step_first : where->first)
        .bind(5, q.step)
        .bind(6, where->stable);
    while (st.step())
      add_pair(p, readers, outcome_fields(st, 0), outcome_fields(st, 7));
    return p;
  }

  std::int64_t count_outcomes(const std::string& track) override {
    auto st = m_db.prepare("SELECT count(*) FROM outcomes WHERE track_no = (SELECT no FROM tracks WHERE name = ?1)");
    st.bind(1, track);
    return st.step() ? st.get_int(0) : 0;
  }

  void put_assignment(const std::string& track, const std::string& task, const Assignment& a, TimeMs now) override {
    m_db.prepare(
            "INSERT INTO assignments (track, task, version_id, arm, rollout_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            " ON CONFLICT (track, task) DO UPDATE SET version_id = excluded.version_id, arm = excluded.arm,"
            " rollout_id = excluded.rollout_id, at = excluded.at")
        .bind(1, track)
        .bind(2, task)
        .bind(3, a.version_id)
        .bind(4, to_string(a.arm))
        .bind(5, a.rollout_id)
        .bind(6, now)
        .run();
  }

  std::optional<Assignment> get_assignment(const std::string& track, const std::string& task) override {
    auto st = m_db.prepare("SELECT version_id, arm, rollout_id FROM assignments WHERE track = ?1 AND task = ?2");
    st.bind(1, track).bind(2, task);
    if (!st.step())
      return std::nullopt;
    return Assignment{st.get_text(0), arm_from(st.get_text_view(1)), st.get_opt_int(2)};
  }

// The columns read_session reads, from sessions s joined with versions v
// (the pinned version) and m (the one a cut moved it from).
#define KANARI_SESSION_SELECT                                                                                          \
  "SELECT s.session, v.id, s.arm, s.rollout_id, s.state, s.pinned_at, s.last_seen_at, s.ttl_seconds, s.expires_at,"    \
  " s.drain_until, s.requests, m.id, s.ended_at"                                                                       \
  " FROM sessions s JOIN versions v ON v.no = s.version_no LEFT JOIN versions m ON m.no = s.moved_from"

  SessionRecord read_session(const std::string& track, Statement& st) {
    SessionRecord r;
    r.track = track;
    r.session = st.get_text(0);
    r.version_id = st.get_text(1);
    r.arm = arm_from(st.get_text_view(2));
    r.rollout_id = st.get_opt_int(3);
    r.state = session_state_from_string(st.get_text_view(4)).value_or(SessionState::ended);
    r.pinned_at = st.get_int(5);
    r.last_seen_at = st.get_int(6);
    r.ttl_seconds = st.get_int(7);
    r.expires_at = st.get_int(8);
    r.drain_until = st.get_opt_int(9);
    r.requests = st.get_int(10);
    r.moved_from = st.get_opt_text(11);
    r.ended_at = st.get_opt_int(12);
    return r;
  }

  std::optional<SessionRecord> get_session(const std::string& track, const std::string& session) override {
    auto st = m_db.prepare(KANARI_SESSION_SELECT
                           " WHERE s.track_no = (SELECT no FROM tracks WHERE name = ?1) AND s.session = ?2");
    st.bind(1, track).bind(2, session);
    if (!st.step())
      return std::nullopt;
    return read_session(track, st);
  }

  void put_session(const SessionRecord& r) override {
    m_db.prepare("INSERT OR REPLACE INTO sessions (track_no, session, version_no, arm, rollout_id, state, pinned_at,"
                 " last_seen_at, ttl_seconds, expires_at, drain_until, requests, moved_from, ended_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")
        .bind(1, track_no(r.track))
        .bind(2, r.session)
        .bind(3, version_no(r.version_id))
        .bind(4, to_string(r.arm))
        .bind(5, r.rollout_id)
        .bind(6, to_string(r.state))
        .bind(7, r.pinned_at)
        .bind(8, r.last_seen_at)
        .bind(9, r.ttl_seconds)
        .bind(10, r.expires_at)
        .bind(11, r.drain_until)
        .bind(12, r.requests)
        .bind(13, r.moved_from ? std::optional(version_no(*r.moved_from)) : std::nullopt)
        .bind(14, r.ended_at)
        .run();
  }

  std::int64_t mark_sessions(const std::string& track, const std::string& version_id, SessionState state,
                             std::optional<TimeMs> drain_until, TimeMs now) override {
    auto st = m_db.prepare("UPDATE sessions SET state = ?1, drain_until = ?2"
                           " WHERE version_no = ?3 AND track_no = ?4 AND expires_at >= ?5"
                           "   AND state IN ('active', 'draining')");
    st.bind(1, to_string(state))
        .bind(2, drain_until)
        .bind(3, version_no(version_id))
        .bind(4, track_no(track))
        .bind(5, now);
    st.run();
    return m_db.changes();
  }

  std::vector<SessionRecord> live_sessions(const std::string& track, TimeMs now, std::int64_t limit,
                                           const std::vector<std::string>& versions, bool except) override {
    if (versions.size() > 2)
      throw std::logic_error("live_sessions: at most two versions");
    auto st = m_db.prepare(KANARI_SESSION_SELECT
                           " WHERE s.track_no = (SELECT no FROM tracks WHERE name = ?1) AND s.expires_at >= ?2"
                           "   AND s.state <> 'ended' AND (?6 = 0 OR (v.id = ?4 OR v.id = ?5) = (?7 = 0))"
                           " ORDER BY s.expires_at DESC, s.session LIMIT ?3");
    // No version id is empty: '' matches none.
    st.bind(1, track).bind(2, now).bind(3, limit);
    st.bind(4, versions.size() > 0 ? versions[0] : std::string()).bind(5, versions.size() > 1 ? versions[1] : "");
    st.bind(6, !versions.empty()).bind(7, except);
    std::vector<SessionRecord> out;
    while (st.step())
      out.push_back(read_session(track, st));
    return out;
  }

  std::vector<SessionCount> session_counts(const std::string& track, TimeMs now) override {
    std::vector<SessionCount> out;
    auto st = m_db.prepare("SELECT v.id, s.state, max(s.drain_until), count(*)"
                           "  FROM sessions s JOIN versions v ON v.no = s.version_no"
                           " WHERE s.track_no = (SELECT no FROM tracks WHERE name = ?1) AND s.expires_at >= ?2"
                           "   AND s.state <> 'ended'"
                           " GROUP BY v.id, s.state ORDER BY v.id, s.state");
    st.bind(1, track).bind(2, now);
    while (st.step())
      out.push_back({st.get_text(0), session_state_from_string(st.get_text_view(1)).value_or(SessionState::ended),
                     st.get_opt_int(2), st.get_int(3)});
    return out;
  }

  void count_session_request(std::int64_t rollout_id, std::int64_t step, std::string_view arm) override {
    m_db.prepare("INSERT INTO session_requests (rollout_id, step, arm, requests) VALUES (?1, ?2, ?3, 1)"
                 " ON CONFLICT (rollout_id, step, arm) DO UPDATE SET requests = requests + 1")
        .bind(1, rollout_id)
        .bind(2, step)
        .bind(3, arm)
        .run();
  }

  std::vector<ArmRequests> session_requests(std::int64_t rollout_id, std::int64_t step) override {
    std::vector<ArmRequests> out;
    auto st =
        m_db.prepare("SELECT arm, requests FROM session_requests WHERE rollout_id = ?1 AND step = ?2 ORDER BY arm");
    st.bind(1, rollout_id).bind(2, step);
    while (st.step())
      out.push_back({st.get_text(0), st.get_int(1)});
    return out;
  }

  std::optional<EventRecord> last_event() override {
    auto st = m_db.prepare("SELECT " KANARI_EVENT_COLUMNS " FROM events ORDER BY seq DESC LIMIT 1");
    if (!st.step())
      return std::nullopt;
    return read_event(st);
  }

  std::optional<TimeMs> last_event_time(const std::string& track) override {
    auto st = m_db.prepare("SELECT max(at) FROM events WHERE track = ?1");
    st.bind(1, track);
    if (!st.step())
      return std::nullopt;
    return st.get_opt_int(0);
  }

  void insert_event(const EventRecord& e) override {
    m_db.prepare("INSERT INTO events (" KANARI_EVENT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
        .bind(1, e.seq)
        .bind(2, e.at)
        .bind(3, e.actor)
        .bind(4, e.action)
        .bind(5, e.track)
        .bind(6, e.rollout)
        .bind(7, e.version)
        .bind(8, e.reason)
        .bind(9, e.evidence)
        .bind(10, e.prev_hash)
        .bind(11, e.hash)
        .run();
  }

  std::vector<EventRecord> events(const std::string& track, std::optional<std::int64_t> limit) override {
    auto st = m_db.prepare("SELECT " KANARI_EVENT_COLUMNS " FROM events WHERE track = ?1 ORDER BY seq DESC LIMIT ?2");
    st.bind(1, track).bind(2, limit.value_or(-1));
    std::vector<EventRecord> out;
    while (st.step())
      out.push_back(read_event(st));
    return out;
  }

  void for_each_event(const std::function<void(const EventRecord&)>& fn) override {
    auto st = m_db.prepare("SELECT " KANARI_EVENT_COLUMNS " FROM events ORDER BY seq");
    while (st.step())
      fn(read_event(st));
  }

  std::optional<EventRecord> get_event(std::int64_t seq) override {
    auto st = m_db.prepare("SELECT " KANARI_EVENT_COLUMNS " FROM events WHERE seq = ?1");
    st.bind(1, seq);
    if (!st.step())
      return std::nullopt;
    return read_event(st);
  }

  bool insert_hook(const HookRecord& h) override {
    m_db.prepare("INSERT INTO hooks (" KANARI_HOOK_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                 " ON CONFLICT (name) DO NOTHING")
        .bind(1, h.name)
        .bind(2, h.track)
        .bind(3, h.url)
        .bind(4, h.command)
        .bind(5, join_actions(h.actions))
        .bind(6, h.format)
        .bind(7, h.secret_env)
        .bind(8, h.created_at)
        .bind(9, h.created_by)
        .run();
    return m_db.changes() > 0;
  }

  std::vector<HookRecord> hooks() override {
    auto st = m_db.prepare("SELECT " KANARI_HOOK_COLUMNS " FROM hooks ORDER BY name");
    std::vector<HookRecord> out;
    while (st.step())
      out.push_back(read_hook(st));
    return out;
  }

  bool remove_hook(const std::string& name) override {
    m_db.prepare("DELETE FROM deliveries WHERE hook = ?1").bind(1, name).run();
    m_db.prepare("DELETE FROM hooks WHERE name = ?1").bind(1, name).run();
    return m_db.changes() > 0;
  }

  void insert_delivery(const DeliveryRecord& d) override {
    m_db.prepare("INSERT INTO deliveries (hook, event_seq, state, attempts, created_at, next_attempt_at)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (hook, event_seq) DO NOTHING")
        .bind(1, d.hook)
        .bind(2, d.event_seq)
        .bind(3, to_string(d.state))
        .bind(4, d.attempts)
        .bind(5, d.created_at)
        .bind(6, d.next_attempt_at)
        .run();
  }

  std::vector<DeliveryRecord> due_deliveries(TimeMs now, std::int64_t limit) override {
    auto st = m_db.prepare("SELECT " KANARI_DELIVERY_COLUMNS " FROM deliveries"
                           " WHERE state = 'pending' AND next_attempt_at <= ?1 ORDER BY id LIMIT ?2");
    st.bind(1, now).bind(2, limit);
    std::vector<DeliveryRecord> out;
    while (st.step())
      out.push_back(read_delivery(st));
    return out;
  }

  bool update_delivery(const DeliveryRecord& d, std::int64_t expected_attempts) override {
    m_db.prepare("UPDATE deliveries SET state = ?2, attempts = ?3, next_attempt_at = ?4, last_attempt_at = ?5,"
                 " last_error = ?6, done_at = ?7 WHERE id = ?1 AND state = 'pending' AND attempts = ?8")
        .bind(1, d.id)
        .bind(2, to_string(d.state))
        .bind(3, d.attempts)
        .bind(4, d.next_attempt_at)
        .bind(5, d.last_attempt_at)
        .bind(6, d.last_error)
        .bind(7, d.done_at)
        .bind(8, expected_attempts)
        .run();
    return m_db.changes() > 0;
  }

  std::vector<DeliveryRecord> undelivered(const std::optional<std::string>& track, std::int64_t limit) override {
    auto st = m_db.prepare("SELECT d.id, d.hook, d.event_seq, d.state, d.attempts, d.created_at, d.next_attempt_at,"
                           " d.last_attempt_at, d.last_error, d.done_at FROM deliveries d"
                           " JOIN events e ON e.seq = d.event_seq"
                           " WHERE d.state <> 'delivered' AND (?1 IS NULL OR e.track = ?1)"
                           " ORDER BY d.id DESC LIMIT ?2");
    st.bind(1, track).bind(2, limit);
    std::vector<DeliveryRecord> out;
    while (st.step())
      out.push_back(read_delivery(st));
    return out;
  }

  std::vector<DeliveryCount> delivery_counts(const std::optional<std::string>& track) override {
    auto st = m_db.prepare("SELECT d.hook, d.state, count(*) FROM deliveries d JOIN events e ON e.seq = d.event_seq"
                           " WHERE ?1 IS NULL OR e.track = ?1 GROUP BY d.hook, d.state ORDER BY d.hook, d.state");
    st.bind(1, track);
    std::vector<DeliveryCount> out;
    while (st.step())
      out.push_back({st.get_text(0), delivery_state_from_string(st.get_text_view(1)).value_or(DeliveryState::failed),
                     st.get_int(2)});
    return out;
  }

  void insert_hook_attempt(const HookAttempt& a) override {
    m_db.prepare("INSERT INTO hook_attempts (hook, delivery, event_hash, action, track, at, duration_ms, ok, detail)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
        .bind(1, a.hook)
        .bind(2, a.delivery)
        .bind(3, a.event_hash)
        .bind(4, a.action)
        .bind(5, a.track)
        .bind(6, a.at)
        .bind(7, a.duration_ms)
        .bind(8, a.ok)
        .bind(9, a.detail)
        .run();
  }

  std::vector<HookAttempt> hook_attempts(const std::optional<std::string>& hook, std::int64_t limit) override {
    auto st = m_db.prepare("SELECT " KANARI_ATTEMPT_COLUMNS " FROM hook_attempts WHERE ?1 IS NULL OR hook = ?1"
                           " ORDER BY id DESC LIMIT ?2");
    st.bind(1, hook).bind(2, limit);
    std::vector<HookAttempt> out;
    while (st.step())
      out.push_back(read_attempt(st));
    return out;
  }

  std::vector<std::string> verify() override {
    std::vector<std::string> out;
    auto r = read([&]() -> Result<void> {
      out = database_problems();
      return {};
    });
    if (!r.ok())
      out.push_back(r.error().message);
    for (auto& p : wal_file_problems(m_path, m_access))
      out.push_back(std::move(p));
    return out;
  }

  std::vector<std::string> database_problems() {
    auto st = m_db.prepare("PRAGMA integrity_check");
    std::vector<std::string> out;
    try {
      while (st.step()) {
        // One row may hold several problems, one per line.
        for (auto& line : split(st.get_text(0), '\n'))
          if (line != "ok" && !line.empty())
            out.push_back(std::move(line));
      }
    } catch (const StoreFailure& e) { // the check itself can trip over a damaged page
      out.push_back(e.what());
    }
    if (!out.empty())
      return out; // reading a damaged file further only fails
    auto fk = m_db.prepare("PRAGMA foreign_key_check");
    while (fk.step())
      out.push_back("foreign key: a row of table " + fk.get_text(0) + " (rowid " +
                    (fk.is_null(1) ? std::string("-") : std::to_string(fk.get_int(1))) +
                    ") refers to a missing row of " + fk.get_text(2));
    // The unique index keys outcomes by (task, track, slot); only outcomes
    // recorded in a shadow rollout (slot != 0) rely on kanari's lookup to
    // keep (track, task, version) unique. Each such outcome is checked
    // against the index's entries for its task.
    auto dup = m_db.prepare("SELECT a.id, a.task FROM outcomes a WHERE a.slot <> 0 AND EXISTS ("
                            " SELECT 1 FROM outcomes b WHERE b.task = a.task AND b.track_no = a.track_no"
                            " AND b.version_no = a.version_no AND b.id <> a.id)");
    while (dup.step())
      out.push_back("outcomes: task " + quote_for_message(dup.get_text(1)) + " (rowid " +
                    std::to_string(dup.get_int(0)) + ") has two outcomes for one version");
    auto sums = m_db.prepare(k_window_sums_check);
    while (sums.step())
      out.push_back(window_sums_problem(sums.get_int(0), sums.get_int(1) != 0, sums.get_int(2), sums.get_int(3),
                                        sums.get_int(4)));
    return out;
  }

  StoreInfo info() override {
    StoreInfo i{"sqlite", m_path.string(), pragma_int(m_db, "PRAGMA user_version"), sqlite3_libversion(), {}};
    auto r = read([&]() -> Result<void> {
      for (const auto& t : tables()) {
        auto st = m_db.prepare(count_sql(t).c_str());
        i.counts.emplace_back(t.name, st.step() ? st.get_int(0) : 0);
      }
      return {};
    });
    (void)r; // read() fails only on a read-only access check, which reading passes
    return i;
  }

  bool is_empty() override {
    for (const auto& t : tables()) {
      auto st = m_db.prepare(count_sql(t).c_str());
      if (st.step() && st.get_int(0) > 0)
        return false;
    }
    return true;
  }

  void for_each_row(const Table& t, const std::function<void(const Row&)>& fn) override {
    auto st = m_db.prepare(select_sql(t).c_str());
    Row row(t.columns.size());
    while (st.step()) {
      for (size_t c = 0; c < t.columns.size(); ++c) {
        const int col = static_cast<int>(c);
        if (st.is_null(col)) {
          row[c].reset();
          continue;
        }
        switch (t.columns[c].type) {
        case ColumnType::integer: row[c] = std::to_string(st.get_int(col)); break;
        case ColumnType::real: row[c] = format_real(st.get_double(col)); break;
        case ColumnType::text: row[c] = st.get_text(col); break;
        case ColumnType::bytes: row[c] = st.get_blob(col); break;
        }
      }
      fn(row);
    }
  }

  void insert_rows(const Table& t, const std::vector<Row>& rows) override {
    forget_numbers();
    for (const auto& row : rows) {
      auto st = m_db.prepare(insert_sql(t).c_str());
      for (size_t c = 0; c < t.columns.size(); ++c) {
        const int i = static_cast<int>(c) + 1;
        if (!row[c]) {
          st.bind_null(i);
          continue;
        }
        switch (t.columns[c].type) {
        case ColumnType::integer: st.bind(i, static_cast<std::int64_t>(std::stoll(*row[c]))); break;
        case ColumnType::real: st.bind(i, std::stod(*row[c])); break;
        case ColumnType::text: st.bind(i, *row[c]); break;
        case ColumnType::bytes: st.bind_blob(i, *row[c]); break;
        }
      }
      st.run();
    }
  }

  void finish_copy() override {} // SQLite's integer keys follow the largest one stored

  // Reports and metrics.

  std::vector<std::string> track_names() override {
    auto st = m_db.prepare("SELECT name FROM tracks ORDER BY name");
    std::vector<std::string> out;
    while (st.step())
      out.push_back(st.get_text(0));
    return out;
  }

  std::vector<ArmTotals> outcome_totals(const std::string& track) override {
    auto st = m_db.prepare("SELECT canary, count(*), total(pass), count(error) FROM outcomes"
                           " WHERE track_no = (SELECT no FROM tracks WHERE name = ?1) GROUP BY canary");
    st.bind(1, track);
    std::vector<ArmTotals> out;
    while (st.step())
      out.push_back({st.get_int(0) != 0 ? Arm::canary : Arm::stable, st.get_int(1),
                     static_cast<std::int64_t>(st.get_double(2)), st.get_int(3)});
    return out;
  }

// Every outcome of rollout ?1: its two versions ?2 and ?3 on its track ?4,
// from its first outcome id ?5 on (RolloutOutcomes::bind).
#define KANARI_ROLLOUT_OUTCOMES_WHERE " WHERE version_no IN (?2, ?3) AND track_no = ?4 AND id >= ?5 AND rollout_id = ?1"

  OutcomeSpan rollout_outcome_span(std::int64_t rollout_id) override {
    const auto where = rollout_outcomes(rollout_id);
    if (!where)
      return {};
    auto st = m_db.prepare("SELECT count(*), min(at), max(at) FROM outcomes" KANARI_ROLLOUT_OUTCOMES_WHERE
                           " AND excluded = 0");
    where->bind(st, rollout_id);
    if (!st.step() || st.get_int(0) == 0)
      return {};
    return {st.get_int(0), st.get_int(1), st.get_int(2)};
  }

  void for_each_rollout_outcome(std::int64_t rollout_id, const std::vector<std::string>& metrics,
                                const std::function<void(const RolloutOutcome&)>& fn) override {
    const auto where = rollout_outcomes(rollout_id);
    if (!where)
      return;
    const std::vector<MetricReader> readers(metrics.begin(), metrics.end());
    auto st =
        m_db.prepare("SELECT at, canary, step, excluded, pass, latency_ms, cost, tokens, score,"
                     " error IS NOT NULL, metrics FROM outcomes" KANARI_ROLLOUT_OUTCOMES_WHERE " ORDER BY at, id");
    where->bind(st, rollout_id);
    RolloutOutcome o;
    while (st.step()) {
      const OutcomeFields f = outcome_fields(st, 4);
      o = {st.get_int(0),
           st.get_int(1) != 0 ? Arm::canary : Arm::stable,
           st.get_opt_int(2).value_or(0),
           f.pass,
           f.error,
           f.latency_ms,
           counted_from(st.get_int(3)),
           read_metrics(readers, f)};
      fn(o);
    }
  }

private:
  // The statements of for_each_row, insert_rows and info, one per table:
  // Database::prepare caches by address, so each string is built once and
  // kept for the life of the process.
  static const std::string& cached_sql(const Table& t, int which) {
    static std::unordered_map<std::string, std::string> cache[3];
    auto& slot = cache[which][t.name];
    if (slot.empty()) {
      std::string cols, params;
      for (size_t c = 0; c < t.columns.size(); ++c) {
        cols += (c ? ", " : "") + std::string(t.columns[c].name);
        params += (c ? ", ?" : "?") + std::to_string(c + 1);
      }
      slot = which == 0   ? "SELECT " + cols + " FROM " + t.name + " ORDER BY " + t.key
             : which == 1 ? "INSERT INTO " + std::string(t.name) + " (" + cols + ") VALUES (" + params + ")"
                          : "SELECT count(*) FROM " + std::string(t.name);
    }
    return slot;
  }
  static const std::string& select_sql(const Table& t) { return cached_sql(t, 0); }
  static const std::string& insert_sql(const Table& t) { return cached_sql(t, 1); }
  static const std::string& count_sql(const Table& t) { return cached_sql(t, 2); }

  // Where a rollout's outcomes are in outcomes_by_version: its track, its two
  // versions, and the first outcome id of the rollout and of its current
  // step (schema/sqlite/0003_ledger_by_task.sql).
  struct RolloutOutcomes {
    std::int64_t track, stable, canary, first, step, step_first;
    bool window_sums; // kept since the rollout started (schema/sqlite/0010_window_sums.sql)
    // The parameters of KANARI_ROLLOUT_OUTCOMES_WHERE.
    void bind(Statement& st, std::int64_t rollout_id) const {
      st.bind(1, rollout_id).bind(2, stable).bind(3, canary).bind(4, track).bind(5, first);
    }
  };
  std::optional<RolloutOutcomes> rollout_outcomes(std::int64_t rollout_id) {
    auto st = m_db.prepare("SELECT t.no, s.no, c.no, r.first_outcome, r.step, r.step_first_outcome, r.window_sums"
                           " FROM rollouts r JOIN tracks t ON t.name = r.track JOIN versions s ON s.id = r.stable"
                           " JOIN versions c ON c.id = r.canary WHERE r.id = ?1");
    st.bind(1, rollout_id);
    if (!st.step())
      return std::nullopt;
    return RolloutOutcomes{st.get_int(0), st.get_int(1), st.get_int(2),     st.get_int(3),
                           st.get_int(4), st.get_int(5), st.get_int(6) != 0};
  }

  // The window sums of a sample: its rollout and arm, of one step or all,
  // and for the current step only the outcomes of its window, as the
  // exact read's `id >= first` has it. Buckets only for the percentiles
  // the sample needs.
  WindowSums window_sums(const SampleQuery& q, const RolloutOutcomes& where) {
    const std::int64_t opened = q.step && *q.step == where.step ? where.step_first : -1; // -1: any
    auto bind = [&](Statement& st) {
      st.bind(1, q.rollout_id).bind(2, q.arm == Arm::canary).bind(3, q.step).bind(4, opened);
    };
    WindowSums sums;
    auto st = m_db.prepare("SELECT name, sum(n), sum(nonzero), CASE WHEN count(value_sum) = count(*) THEN"
                           " sum(value_sum) END, max(value_max) FROM window_sums"
                           " WHERE rollout_id = ?1 AND canary = ?2 AND (?3 IS NULL OR step = ?3)"
                           " AND (?4 < 0 OR opened = ?4) GROUP BY name");
    bind(st);
    while (st.step()) {
      auto& m = sums[st.get_text(0)];
      m.n = st.get_int(1);
      m.nonzero = st.get_int(2);
      m.sum = st.get_opt_double(3).value_or(std::nan(""));
      m.max = st.get_double(4);
    }
    std::vector<std::string> wanted{"latency_ms"};
    for (const auto& m : q.metrics)
      if (m.percentiles)
        wanted.push_back(m.name);
    for (const auto& name : wanted) {
      auto it = sums.find(name);
      if (it == sums.end() || !it->second.buckets.empty())
        continue;
      auto b = m_db.prepare("SELECT bucket, sum(count) FROM window_buckets"
                            " WHERE rollout_id = ?1 AND canary = ?2 AND (?3 IS NULL OR step = ?3)"
                            " AND (?4 < 0 OR opened = ?4) AND name = ?5 GROUP BY bucket");
      bind(b);
      b.bind(5, name);
      while (b.step())
        it->second.buckets[b.get_int(0)] += b.get_int(1);
    }
    return sums;
  }

  // Writes the transaction's WindowDelta, just before it commits.
  void write_window_delta() {
    for (const auto& e : m_window.delta().entries())
      for (const auto& [name, m] : e.metrics) {
        if (m.n == 0)
          continue;
        m_db.prepare("INSERT INTO window_sums (rollout_id, canary, step, opened, name, n, nonzero, value_sum,"
                     " value_max) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                     " ON CONFLICT (rollout_id, canary, step, opened, name) DO UPDATE SET n = n + excluded.n,"
                     " nonzero = nonzero + excluded.nonzero, value_sum = value_sum + excluded.value_sum,"
                     " value_max = max(value_max, excluded.value_max)")
            .bind(1, e.key.rollout_id)
            .bind(2, e.key.canary)
            .bind(3, e.key.step)
            .bind(4, e.key.opened)
            .bind(5, name)
            .bind(6, m.n)
            .bind(7, m.nonzero)
            .bind(8, std::isnan(m.sum) ? std::nullopt : std::optional(m.sum))
            .bind(9, m.max)
            .run();
        for (const auto& [bucket, count] : m.buckets)
          m_db.prepare("INSERT INTO window_buckets (rollout_id, canary, step, opened, name, bucket, count)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                       " ON CONFLICT (rollout_id, canary, step, opened, name, bucket) DO UPDATE"
                       " SET count = count + excluded.count")
              .bind(1, e.key.rollout_id)
              .bind(2, e.key.canary)
              .bind(3, e.key.step)
              .bind(4, e.key.opened)
              .bind(5, name)
              .bind(6, bucket)
              .bind(7, count)
              .run();
      }
    m_window.delta().clear();
  }
  WindowRecorder m_window{[this](std::int64_t rollout_id) -> std::optional<std::int64_t> {
    auto st = m_db.prepare("SELECT step_first_outcome, window_sums FROM rollouts WHERE id = ?1");
    st.bind(1, rollout_id);
    if (st.step() && st.get_int(1) != 0)
      return st.get_int(0);
    return std::nullopt;
  }};

  // Why an outcome of the task already stored refuses `o`: a repeat of its
  // version (duplicate or conflict) or, with TaskVersions::one, another
  // version; nullopt when `o` may be stored.
  std::optional<InsertOutcome> existing_outcome(const OutcomeRecord& o, std::int64_t track, std::int64_t version,
                                                TaskVersions versions) {
    // The last column: whether the row was stored in a shadow rollout in
    // which `version` was an arm, so the task ran on both.
    auto st =
        m_db.prepare("SELECT o.version_no, o.pass, o.latency_ms, o.cost, o.tokens, o.score, o.error,"
                     " o.slot <> 0 AND EXISTS (SELECT 1 FROM rollouts r JOIN versions v ON v.id IN (r.canary, r.stable)"
                     "                          WHERE r.id = o.rollout_id AND r.shadow = 1 AND v.no = ?3),"
                     " o.metrics FROM outcomes o WHERE o.task = ?1 AND o.track_no = ?2");
    st.bind_static(1, o.task).bind(2, track).bind(3, version);
    std::optional<std::int64_t> other;
    while (st.step()) {
      if (st.get_int(0) == version) {
        bool same = (st.get_int(1) != 0) == o.pass && st.get_opt_double(2) == o.latency_ms &&
                    st.get_opt_double(3) == o.cost && st.get_opt_int(4) == o.tokens &&
                    st.get_opt_double(5) == o.score && st.get_opt_text(6) == o.error &&
                    st.get_opt_text(8) == encode_metrics(o.metrics);
        return InsertOutcome{same ? InsertResult::duplicate : InsertResult::conflict, std::nullopt};
      }
      // An outcome stored in a shadow rollout of this version ran beside
      // it (the task was mirrored): its outcome on this version may still
      // come, even after that rollout ended.
      if (st.get_int(7) == 0)
        other = st.get_int(0);
    }
    if (other && versions == TaskVersions::one)
      return InsertOutcome{InsertResult::other_version, version_id_of(*other)};
    return std::nullopt;
  }

#define KANARI_INTO_OUTCOMES                                                                                           \
  " INTO outcomes (track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, cost, tokens,"              \
  " score, error, at, slot, excluded, metrics) VALUES "
#define KANARI_OUTCOME_ROW "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
  static constexpr int k_outcome_columns = 16;

  // `unless_taken`: do nothing when (task, track, slot) is taken; changes()
  // tells which happened. Without it a taken key is an error.
  void insert_outcome_row(const OutcomeRecord& o, std::int64_t track, std::int64_t version, std::int64_t slot,
                          bool unless_taken) {
    auto st = m_db.prepare(unless_taken ? "INSERT" KANARI_INTO_OUTCOMES KANARI_OUTCOME_ROW
                                          " ON CONFLICT (task, track_no, slot) DO NOTHING"
                                        : "INSERT" KANARI_INTO_OUTCOMES KANARI_OUTCOME_ROW);
    bind_outcome(st, 0, o, track, version, slot);
    st.run();
  }

  // Binds `o` to the row of a statement whose parameters start after `base`.
  static void bind_outcome(Statement& st, int base, const OutcomeRecord& o, std::int64_t track, std::int64_t version,
                           std::int64_t slot) {
    st.bind(base + 1, track)
        .bind_static(base + 2, o.task)
        .bind(base + 3, version)
        .bind(base + 4, o.arm == Arm::canary)
        .bind(base + 5, o.rollout_id)
        .bind(base + 6, o.step)
        .bind(base + 7, o.pass)
        .bind(base + 8, o.latency_ms)
        .bind(base + 9, o.cost)
        .bind(base + 10, o.tokens)
        .bind(base + 11, o.score)
        .bind(base + 12, o.error)
        .bind(base + 13, o.at)
        .bind(base + 14, slot)
        .bind(base + 15, static_cast<std::int64_t>(o.counted))
        .bind(base + 16, encode_metrics(o.metrics));
  }

  // 32 rows to a statement take most of the gain (a statement of 100 saved
  // 2 % more) with 512 parameters, far below SQLite's limit.
  static constexpr size_t k_rows_per_insert = 32;

  // Stores batch[first] and the k_rows_per_insert - 1 after it, none with a
  // shadow slot, setting their results in `out`.
  //
  // OR IGNORE, not ON CONFLICT DO NOTHING: a statement of several rows that
  // a constraint could abort halfway keeps a statement journal, a copy of
  // every page it changes, which SQLite spills to a temporary file; that
  // made an import write nine times as often. Under OR IGNORE no
  // constraint aborts: it would also skip a row that broke a NOT NULL or
  // CHECK constraint, which a valid outcome cannot (every such column is
  // bound from a typed field), so the unique index is the only one met.
  void insert_run(const std::vector<PendingOutcome>& batch, size_t first, std::vector<InsertOutcome>& out) {
    static const std::string sql = [] {
      std::string s = "INSERT OR IGNORE" KANARI_INTO_OUTCOMES KANARI_OUTCOME_ROW;
      for (size_t r = 1; r < k_rows_per_insert; ++r)
        s += ", " KANARI_OUTCOME_ROW;
      return s;
    }();
    std::array<std::int64_t, k_rows_per_insert> tracks, versions;
    auto st = m_db.prepare(sql.c_str());
    for (size_t r = 0; r < k_rows_per_insert; ++r) {
      const auto& o = batch[first + r].outcome;
      tracks[r] = track_no(o.track);
      versions[r] = version_no(o.version_id);
      bind_outcome(st, static_cast<int>(r) * k_outcome_columns, o, tracks[r], versions[r], 0);
    }
    st.run();
    const auto stored = static_cast<size_t>(m_db.changes());
    std::array<bool, k_rows_per_insert> inserted;
    inserted.fill(stored == k_rows_per_insert);
    if (stored > 0 && stored < k_rows_per_insert) {
      // Rows stored in order; a refused row's key was taken, so no later
      // row of the same key was stored either.
      const std::int64_t last = m_db.last_insert_rowid();
      auto ids = m_db.prepare("SELECT task, track_no FROM outcomes WHERE id > ?1 AND id <= ?2 ORDER BY id");
      ids.bind(1, last - static_cast<std::int64_t>(stored)).bind(2, last);
      bool more = ids.step();
      size_t matched = 0;
      for (size_t r = 0; r < k_rows_per_insert && more; ++r)
        if (ids.get_text_view(0) == batch[first + r].outcome.task && ids.get_int(1) == tracks[r]) {
          inserted[r] = true;
          ++matched;
          more = ids.step();
        }
      if (matched != stored || more)
        throw StoreFailure("database: the outcomes just stored do not have the last " + std::to_string(stored) +
                           " ids; nothing was recorded");
    }
    for (size_t r = 0; r < k_rows_per_insert; ++r) {
      const auto& o = batch[first + r].outcome;
      if (inserted[r]) {
        m_window.add(o);
        out[first + r] = {InsertResult::inserted, std::nullopt};
      } else if (auto refused = existing_outcome(o, tracks[r], versions[r], TaskVersions::one)) {
        out[first + r] = *refused;
      } else {
        throw StoreFailure("database: the outcome of task " + o.task +
                           " was not stored, and no outcome of that task is stored");
      }
    }
  }
#undef KANARI_OUTCOME_ROW
#undef KANARI_INTO_OUTCOMES

  // Whether the track ever had a shadow rollout, so outcomes with a slot of
  // their own. Cached for one transaction: only a rollout started inside it
  // can change the answer, and insert_rollout forgets it.
  bool had_shadow_rollout(std::int64_t track) {
    if (auto it = m_shadow_history.find(track); it != m_shadow_history.end())
      return it->second;
    auto st = m_db.prepare("SELECT EXISTS (SELECT 1 FROM rollouts r JOIN tracks t ON t.name = r.track"
                           " WHERE t.no = ?1 AND r.shadow = 1)");
    st.bind(1, track);
    return m_shadow_history.emplace(track, st.step() && st.get_int(0) != 0).first->second;
  }
  std::unordered_map<std::int64_t, bool> m_shadow_history;

  // Tracks and versions are never deleted or renumbered, so their numbers
  // can be cached for the life of the connection.
  std::int64_t track_no(const std::string& name) {
    if (auto it = m_track_nos.find(name); it != m_track_nos.end())
      return it->second;
    auto st = m_db.prepare("SELECT no FROM tracks WHERE name = ?1");
    st.bind(1, name);
    if (!st.step())
      throw StoreFailure("database: track '" + name + "' is not in the store");
    return m_track_nos.emplace(name, st.get_int(0)).first->second;
  }

  std::int64_t version_no(const std::string& id) {
    if (auto it = m_version_nos.find(id); it != m_version_nos.end())
      return it->second;
    auto st = m_db.prepare("SELECT no FROM versions WHERE id = ?1");
    st.bind(1, id);
    if (!st.step())
      throw StoreFailure("database: version " + id + " is not in the store");
    return m_version_nos.emplace(id, st.get_int(0)).first->second;
  }

  std::string version_id_of(std::int64_t no) {
    auto st = m_db.prepare("SELECT id FROM versions WHERE no = ?1");
    st.bind(1, no);
    return st.step() ? st.get_text(0) : std::to_string(no);
  }

  void forget_numbers() {
    m_track_nos.clear();
    m_version_nos.clear();
  }

  std::unordered_map<std::string, std::int64_t> m_track_nos;
  std::unordered_map<std::string, std::int64_t> m_version_nos;

  Result<void> in_transaction(Transaction::Kind kind, const std::function<Result<void>()>& fn) {
    if (kind == Transaction::Kind::write && m_access != Access::read_write)
      return operational_error(read_only_message(m_path));
    Transaction txn(m_db, kind);
    m_shadow_history.clear(); // another process may have started a shadow rollout
    m_window.begin();
    Result<void> r = Error{ErrorCode::operational, ""};
    try {
      r = fn();
      if (r.ok() && kind == Transaction::Kind::write)
        write_window_delta();
    } catch (...) {
      forget_numbers();
      throw;
    }
    if (r.ok()) {
      txn.commit();
      if (kind == Transaction::Kind::write)
        count_commit();
    } else
      forget_numbers(); // a rolled-back transaction may have created a track
    return r;
  }

  Database m_db;
  std::filesystem::path m_path;
  Access m_access;
};

std::filesystem::path db_path(const std::string& dir) { return std::filesystem::path(dir) / k_db_file; }

std::int64_t pragma_int(Database& db, const char* sql) {
  auto st = db.prepare(sql);
  return st.step() ? st.get_int(0) : 0;
}

// Whether it took the migration lock and ran (some migrations may have been
// applied meanwhile by another process): the caller then opens afresh.
Result<bool> migrate(Database& db, const std::string& where, Access access) {
  const auto& migrations = sqlite_migrations();
  const std::int64_t latest = migrations.empty() ? 0 : migrations.back().number;
  std::int64_t app_id = pragma_int(db, "PRAGMA application_id");
  std::int64_t version = pragma_int(db, "PRAGMA user_version");
  if (app_id != 0 && app_id != k_application_id)
    return operational_error(where + " is an SQLite database but not a kanari store; "
                                     "point --state at a kanari store or run `kanari init` in an empty directory");
  if (version > latest)
    return operational_error(where + " has schema version " + std::to_string(version) +
                             ", newer than this kanari understands (" + std::to_string(latest) +
                             "); upgrade kanari to use this store");
  if (version == latest && app_id == k_application_id)
    return false;
  if (app_id == 0 && version == 0 && pragma_int(db, "SELECT count(*) FROM sqlite_master") > 0)
    return operational_error(where + " is an SQLite database with tables of its own, not a kanari store; "
                                     "point --state at a kanari store or run `kanari init` in an empty directory");
  if (access != Access::read_write)
    return operational_error(where + " has schema version " + std::to_string(version) + " and this kanari needs " +
                             std::to_string(latest) +
                             ", but it is read-only, so it cannot be upgraded here; "
                             "open it once where it is writable, or read it with the kanari that wrote it");
  // A migration that rebuilds a table (0008) drops it under the rows that
  // refer to it. SQLite's procedure: foreign keys off around the
  // transaction, and foreign_key_check inside it before the commit.
  db.exec("PRAGMA foreign_keys = OFF");
  struct ForeignKeysBack {
    Database& db;
    ~ForeignKeysBack() {
      try {
        db.exec("PRAGMA foreign_keys = ON");
      } catch (...) { // the connection is failing anyway; its next use says so
      }
    }
  } foreign_keys_back{db};
  for (const auto& m : migrations) {
    if (m.number <= version)
      continue;
    Transaction txn(db, Transaction::Kind::write);
    // Another process may have migrated while we waited for the lock.
    if (pragma_int(db, "PRAGMA user_version") >= m.number)
      continue;
    db.exec(m.sql);
    if (db.prepare("PRAGMA foreign_key_check").step())
      return operational_error(where + ": migration " + m.name +
                               " would leave rows that refer to nothing; nothing was changed; run `kanari doctor`");
    db.exec(("PRAGMA user_version = " + std::to_string(m.number)).c_str());
    db.exec(("PRAGMA application_id = " + std::to_string(k_application_id)).c_str());
    txn.commit();
  }
  return true;
}

void configure(Database& db) {
  db.exec("PRAGMA foreign_keys = ON");
  // NORMAL is durable against process crashes in WAL mode (SQLite's own
  // advice); an OS crash may lose the last commits but never corrupts.
  db.exec("PRAGMA synchronous = NORMAL");
}

Result<std::unique_ptr<Store>> open_at(const std::filesystem::path& path) {
  auto access = choose_access(path);
  KANARI_TRY(access);
  const auto mode = *access == Access::read_write  ? Database::Mode::open_existing
                    : *access == Access::read_only ? Database::Mode::read_only
                                                   : Database::Mode::immutable;
  Database db(path.string(), mode);
  configure(db);
  auto migrated = migrate(db, path.string(), *access); // its first read creates the -wal and -shm
  KANARI_TRY(migrated);
  // A migration may edit a table's SQL in place (0011), which the
  // connection that ran it does not read again: a new one does.
  if (*migrated) {
    db = Database(path.string(), mode);
    configure(db);
  }
  if (*access == Access::read_write)
    repair_wal_modes(path);
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(std::move(db), path, *access));
}

} // namespace

void configure_for_executable() {
  // SQLITE_MISUSE once SQLite is initialised: the setting then stays as it is.
  (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

Result<std::unique_ptr<Store>> open_sqlite(const std::string& dir, OpenMode mode, bool* created_out) {
  auto path = db_path(dir);
  std::error_code ec;
  const bool exists = std::filesystem::exists(path, ec);
  if (mode == OpenMode::existing && !exists)
    return operational_error("no kanari store at " + path.string() +
                             "; run `kanari init` there first (or choose one with --state DIR or KANARI_STATE)");
  const bool created = !exists;
  if (created_out)
    *created_out = created;
  if (created) {
    // Missing directories are made 0700; one that exists (perhaps a shared
    // group directory, or a link to one) keeps its mode and owner.
    KANARI_TRY(create_private_directories(dir));
    // Create the file readable by its owner only before SQLite opens it;
    // SQLite gives the -wal and -shm files the same permissions.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST)
      return operational_error("cannot create " + path.string() + ": " + std::strerror(errno));
    if (fd >= 0)
      ::close(fd);
    Database db(path.string(), Database::Mode::open_existing);
    db.exec("PRAGMA journal_mode = WAL");
  }
  return open_at(path);
}

} // namespace kanari::store
