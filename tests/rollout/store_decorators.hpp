// Store decorators for tests of how the library uses transactions. Each
// wraps a real store and is handed to the library in a rollout::Context:
//
// - TransactionCheck counts read() and write() calls and notes every store
//   call made outside one (an operation must own its transaction).
// - RerunningStore runs every write() twice: first inside a transaction it
//   forces to roll back, then for real, as a backend does that retries a
//   whole transaction after a serialization failure. A closure that consumes
//   a stream or adds to outside state gives another result the second time.
#pragma once

#include "store/store.hpp"

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace kanari::test {

// Opens the store under `dir` (created when missing).
inline std::unique_ptr<store::Store> open_test_store(const std::string& dir) {
  auto s = store::open(dir, store::OpenMode::create);
  if (!s.ok())
    throw std::runtime_error("cannot open the test store: " + s.error().message);
  return std::move(*s);
}

// Hands every call to `inner`; touched() sees the name of each data call.
class ForwardingStore : public store::Store {
public:
  explicit ForwardingStore(store::Store& inner) : m_inner(inner) {}

  Result<void> write(const std::function<Result<void>()>& fn) override { return m_inner.write(fn); }
  Result<void> read(const std::function<Result<void>()>& fn) override { return m_inner.read(fn); }
  // These run in a transaction of their own.
  std::vector<std::string> verify() override { return m_inner.verify(); }
  store::StoreInfo info() override { return m_inner.info(); }

#define KANARI_FORWARD(ret, name, params, args)                                                                        \
  ret name params override {                                                                                           \
    touched(#name);                                                                                                    \
    return m_inner.name args;                                                                                          \
  }
  using Components = std::vector<core::Component>;
  using VersionIdFn = std::function<void(const std::string&)>;
  using BlobFn = std::function<void(const std::string&, const std::string&)>;
  using RolloutIdFn = std::function<void(std::int64_t)>;
  using EventFn = std::function<void(const store::EventRecord&)>;
  using OutcomeFn = std::function<void(const store::RolloutOutcome&)>;
  KANARI_FORWARD(bool, insert_version, (const store::VersionRecord& v, const Components& c), (v, c))
  KANARI_FORWARD(std::optional<store::VersionRecord>, get_version, (const std::string& id), (id))
  KANARI_FORWARD(std::vector<std::string>, version_ids_with_prefix, (const std::string& p, int limit), (p, limit))
  KANARI_FORWARD(std::optional<std::string>, get_blob, (const std::string& sha), (sha))
  KANARI_FORWARD(std::vector<std::string>, version_tracks, (const std::string& id), (id))
  KANARI_FORWARD(void, for_each_version_id, (const VersionIdFn& fn), (fn))
  KANARI_FORWARD(void, for_each_blob, (const BlobFn& fn), (fn))
  KANARI_FORWARD(bool, insert_signature, (const store::SignatureRecord& s), (s))
  KANARI_FORWARD(std::vector<store::SignatureRecord>, signatures, (const std::string& id), (id))
  KANARI_FORWARD(void, ensure_track, (const std::string& t, TimeMs now), (t, now))
  KANARI_FORWARD(bool, add_track_version, (const std::string& t, const std::string& v, TimeMs now), (t, v, now))
  KANARI_FORWARD(bool, track_has_version, (const std::string& t, const std::string& v), (t, v))
  KANARI_FORWARD(std::vector<store::TrackVersion>, track_versions, (const std::string& t), (t))
  KANARI_FORWARD(std::optional<std::string>, stable_of, (const std::string& t), (t))
  KANARI_FORWARD(void, set_stable, (const std::string& t, const std::string& v), (t, v))
  KANARI_FORWARD(std::optional<store::RolloutRecord>, open_rollout, (const std::string& t), (t))
  KANARI_FORWARD(std::optional<store::RolloutRecord>, get_rollout, (std::int64_t id), (id))
  KANARI_FORWARD(std::optional<store::RolloutRecord>, latest_rollout, (const std::string& t), (t))
  KANARI_FORWARD(std::int64_t, insert_rollout, (const store::RolloutRecord& r), (r))
  KANARI_FORWARD(void, update_rollout, (const store::RolloutRecord& r), (r))
  KANARI_FORWARD(std::vector<std::string>, tracks_with_open_rollouts, (), ())
  KANARI_FORWARD(std::optional<store::RolloutRecord>, last_rollout_with_arm,
                 (const std::string& t, const std::string& v), (t, v))
  KANARI_FORWARD(void, for_each_rollout_id, (const RolloutIdFn& fn), (fn))
  KANARI_FORWARD(store::InsertOutcome, insert_outcome, (const store::OutcomeRecord& o, store::TaskVersions v), (o, v))
  KANARI_FORWARD(store::SampleStats, sample_stats, (const store::SampleQuery& q), (q))
  KANARI_FORWARD(store::PairedSample, paired_sample, (const store::PairQuery& q), (q))
  KANARI_FORWARD(std::int64_t, count_outcomes, (const std::string& t), (t))
  KANARI_FORWARD(void, put_assignment,
                 (const std::string& t, const std::string& task, const store::Assignment& a, TimeMs now),
                 (t, task, a, now))
  KANARI_FORWARD(std::optional<store::Assignment>, get_assignment, (const std::string& t, const std::string& task),
                 (t, task))
  KANARI_FORWARD(std::optional<store::SessionRecord>, get_session, (const std::string& t, const std::string& s), (t, s))
  KANARI_FORWARD(void, put_session, (const store::SessionRecord& s), (s))
  KANARI_FORWARD(std::int64_t, mark_sessions,
                 (const std::string& t, const std::string& v, store::SessionState st, std::optional<TimeMs> until,
                  TimeMs now),
                 (t, v, st, until, now))
  KANARI_FORWARD(std::vector<store::SessionRecord>, live_sessions,
                 (const std::string& t, TimeMs now, std::int64_t limit, const std::vector<std::string>& versions,
                  bool except),
                 (t, now, limit, versions, except))
  KANARI_FORWARD(std::vector<store::SessionCount>, session_counts, (const std::string& t, TimeMs now), (t, now))
  KANARI_FORWARD(void, count_session_request, (std::int64_t id, std::int64_t step, std::string_view arm),
                 (id, step, arm))
  KANARI_FORWARD(std::vector<store::ArmRequests>, session_requests, (std::int64_t id, std::int64_t step), (id, step))
  KANARI_FORWARD(std::optional<store::EventRecord>, last_event, (), ())
  KANARI_FORWARD(std::optional<TimeMs>, last_event_time, (const std::string& t), (t))
  KANARI_FORWARD(void, insert_event, (const store::EventRecord& e), (e))
  KANARI_FORWARD(std::vector<store::EventRecord>, events, (const std::string& t, std::optional<std::int64_t> limit),
                 (t, limit))
  KANARI_FORWARD(void, for_each_event, (const EventFn& fn), (fn))
  KANARI_FORWARD(std::optional<store::EventRecord>, get_event, (std::int64_t seq), (seq))
  KANARI_FORWARD(bool, insert_hook, (const store::HookRecord& h), (h))
  KANARI_FORWARD(std::vector<store::HookRecord>, hooks, (), ())
  KANARI_FORWARD(bool, remove_hook, (const std::string& name), (name))
  KANARI_FORWARD(void, insert_delivery, (const store::DeliveryRecord& d), (d))
  KANARI_FORWARD(std::vector<store::DeliveryRecord>, due_deliveries, (TimeMs now, std::int64_t limit), (now, limit))
  KANARI_FORWARD(bool, update_delivery, (const store::DeliveryRecord& d, std::int64_t expected), (d, expected))
  KANARI_FORWARD(std::vector<store::DeliveryRecord>, undelivered,
                 (const std::optional<std::string>& t, std::int64_t limit), (t, limit))
  KANARI_FORWARD(std::vector<store::DeliveryCount>, delivery_counts, (const std::optional<std::string>& t), (t))
  KANARI_FORWARD(void, insert_hook_attempt, (const store::HookAttempt& a), (a))
  KANARI_FORWARD(std::vector<store::HookAttempt>, hook_attempts,
                 (const std::optional<std::string>& h, std::int64_t limit), (h, limit))
  KANARI_FORWARD(std::vector<store::InsertOutcome>, insert_outcomes, (const std::vector<store::PendingOutcome>& b), (b))
  KANARI_FORWARD(bool, is_empty, (), ())
  using RowFn = std::function<void(const store::Row&)>;
  KANARI_FORWARD(void, for_each_row, (const store::Table& t, const RowFn& fn), (t, fn))
  KANARI_FORWARD(void, insert_rows, (const store::Table& t, const std::vector<store::Row>& rows), (t, rows))
  KANARI_FORWARD(void, finish_copy, (), ())
  KANARI_FORWARD(std::vector<std::string>, track_names, (), ())
  KANARI_FORWARD(std::vector<store::ArmTotals>, outcome_totals, (const std::string& t), (t))
  KANARI_FORWARD(store::OutcomeSpan, rollout_outcome_span, (std::int64_t id), (id))
  KANARI_FORWARD(void, for_each_rollout_outcome,
                 (std::int64_t id, const std::vector<std::string>& metrics, const OutcomeFn& fn), (id, metrics, fn))
#undef KANARI_FORWARD

protected:
  virtual void touched(const char* /*name*/) {}
  store::Store& m_inner;
};

class TransactionCheck final : public ForwardingStore {
public:
  using ForwardingStore::ForwardingStore;

  int reads = 0;
  int writes = 0;
  std::vector<std::string> outside; // store calls made outside any transaction

  Result<void> write(const std::function<Result<void>()>& fn) override {
    ++writes;
    return within([&] { return m_inner.write(fn); });
  }
  Result<void> read(const std::function<Result<void>()>& fn) override {
    ++reads;
    return within([&] { return m_inner.read(fn); });
  }
  int transactions() const { return reads + writes; }
  void reset() {
    reads = writes = 0;
    outside.clear();
  }

private:
  template <typename Fn> Result<void> within(Fn fn) {
    struct Depth {
      int& d;
      explicit Depth(int& depth) : d(depth) { ++d; }
      ~Depth() { --d; }
    } depth(m_depth);
    return fn();
  }
  void touched(const char* name) override {
    if (m_depth == 0)
      outside.emplace_back(name);
  }
  int m_depth = 0;
};

class RerunningStore final : public ForwardingStore {
public:
  using ForwardingStore::ForwardingStore;

  int writes = 0;
  // Run once, on the real store, after the next first attempt was rolled
  // back and before the second: what another process commits meanwhile.
  std::function<void()> between;

  Result<void> write(const std::function<Result<void>()>& fn) override {
    ++writes;
    auto first = m_inner.write([&]() -> Result<void> {
      (void)fn();
      return Error{ErrorCode::operational, "the first attempt is always rolled back"};
    });
    (void)first;
    if (between) {
      auto run = std::move(between);
      between = nullptr;
      run();
    }
    return m_inner.write(fn);
  }
};

} // namespace kanari::test
