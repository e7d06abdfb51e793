// Sums of the gate windows, kept as outcomes are recorded (docs/gates.md,
// "Large windows"), so that evaluating a window of ten million outcomes
// reads a few hundred rows. Shared by the backends: they add each counted
// outcome to a WindowDelta, write the delta before their transaction
// commits (schema/<backend>/0010_window_sums.sql), and read the sums back
// as WindowSums.
#pragma once

#include "store/types.hpp"
#include "util/summary.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kanari::store {

// How far a percentile read from the buckets may be from the exact one,
// relative to it.
inline constexpr double k_bucket_relative_error = 0.005;

// The bucket of a value and the value a bucket stands for
// (schema/sqlite/0010_window_sums.sql).
std::int64_t value_bucket(double v);
double bucket_value(std::int64_t bucket);

// The sums of one metric over some outcomes.
struct MetricSums {
  std::int64_t n = 0, nonzero = 0;
  double sum = 0; // NaN once sums past the largest double went both ways
  double max = 0; // meaningful when n > 0
  std::unordered_map<std::int64_t, std::int64_t> buckets;

  void add(double v);
  // The summary a SummaryBuilder would give, with percentiles (when
  // asked) from the buckets: each within k_bucket_relative_error.
  ValueSummary summary(bool percentiles) const;
  std::optional<double> percentile(int pct) const;
};

// One window's rows: the rollout, the arm, the step, and the id the step's
// window opened at when its outcomes were recorded.
struct WindowKey {
  std::int64_t rollout_id = 0;
  bool canary = false;
  std::int64_t step = 0;
  std::int64_t opened = 0;
  bool operator==(const WindowKey&) const = default;
};

// What a write transaction has added to the windows and not yet written.
class WindowDelta {
public:
  struct Entry {
    WindowKey key;
    std::vector<std::pair<std::string, MetricSums>> metrics; // built-ins first, then recorded ones
  };
  void add(const WindowKey& key, const OutcomeRecord& o);
  bool empty() const { return m_entries.empty(); }
  const std::vector<Entry>& entries() const { return m_entries; }
  void clear() { m_entries.clear(); }

private:
  std::vector<Entry> m_entries;
};

// What each backend keeps for one write transaction's windows: the
// WindowDelta, and per rollout the id its current step's window opened at,
// or nullopt when the rollout keeps no window sums. `opened` reads that
// from the store (rollouts.step_first_outcome, when rollouts.window_sums is
// set) the first time a rollout's outcome comes in a transaction.
class WindowRecorder {
public:
  using Opened = std::function<std::optional<std::int64_t>(std::int64_t rollout_id)>;
  explicit WindowRecorder(Opened opened) : m_read_opened(std::move(opened)) {}

  // Adds a counted outcome of a rollout that keeps window sums, under the
  // window its step has open now.
  void add(const OutcomeRecord& o);
  // A rollout was started or changed step: read the windows again.
  void forget_rollouts() { m_opened.clear(); }
  // A transaction begins: nothing added, nothing known.
  void begin() {
    m_opened.clear();
    m_delta.clear();
  }
  // What to write before commit; clear it once written.
  WindowDelta& delta() { return m_delta; }

private:
  Opened m_read_opened;
  std::unordered_map<std::int64_t, std::optional<std::int64_t>> m_opened;
  WindowDelta m_delta;
};

// A sample's sums read back, by metric name.
using WindowSums = std::map<std::string, MetricSums, std::less<>>;

// The built-in names every counted outcome adds to.
inline constexpr const char* k_window_builtins[] = {"pass", "error", "latency_ms", "cost", "tokens", "score"};

// For `doctor`, in both backends' SQL: each (rollout, arm, step) whose
// counted outcomes and window sums disagree, as rollout_id, canary, step,
// outcomes counted, outcomes summed.
inline constexpr const char* k_window_sums_check =
    "WITH s AS (SELECT rollout_id, canary, step, sum(n) AS n FROM window_sums WHERE name = 'pass'"
    "           GROUP BY rollout_id, canary, step),"
    " o AS (SELECT rollout_id, canary, step, count(*) AS n FROM outcomes WHERE excluded = 0"
    "       AND rollout_id IN (SELECT id FROM rollouts WHERE window_sums = 1) GROUP BY rollout_id, canary, step)"
    " SELECT o.rollout_id, o.canary, o.step, o.n, coalesce(s.n, 0) FROM o"
    "  LEFT JOIN s ON s.rollout_id = o.rollout_id AND s.canary = o.canary AND s.step = o.step"
    "  WHERE s.n IS NULL OR s.n <> o.n"
    " UNION ALL"
    " SELECT s.rollout_id, s.canary, s.step, 0, s.n FROM s"
    "  WHERE NOT EXISTS (SELECT 1 FROM o WHERE o.rollout_id = s.rollout_id AND o.canary = s.canary"
    "                    AND o.step = s.step)"
    " ORDER BY 1, 2, 3";
std::string window_sums_problem(std::int64_t rollout_id, bool canary, std::int64_t step, std::int64_t counted,
                                std::int64_t summed);

// SampleStats from the sums of its outcomes; percentiles from the buckets.
SampleStats stats_from_sums(const WindowSums& sums, const std::vector<MetricRequest>& metrics);

} // namespace kanari::store
