#include "rollout/ledger.hpp"

#include "gate/policy.hpp"

#include "rollout/outcome_line.hpp"
#include "rollout/sessions.hpp"
#include "rollout/versions.hpp"
#include "util/rereadable_input.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace kanari::rollout {

using nlohmann::json;

namespace {

// Per-transaction cache of what each track's versions mean, so a million
// lines resolve their refs with a handful of queries.
class ArmResolver {
public:
  explicit ArmResolver(Context& ctx) : m_ctx(ctx) {}

  struct Resolved {
    std::string_view version; // valid until the next resolve()
    store::Arm arm;
    std::optional<std::int64_t> rollout;
    std::optional<std::int64_t> step;
    bool shadow;
    store::Counted counted; // yes or late; backdated is the caller's to decide
    TimeMs window_start;    // the start of the window the outcome falls in
  };

  Result<Resolved> resolve(const OutcomeInput& in) {
    auto& t = track(in.track);
    std::string_view version;
    std::optional<std::int64_t> assigned_rollout; // the rollout a routed task was routed under
    if (in.version_ref) {
      const auto& key = *in.version_ref;
      auto it = t.refs.find(key);
      if (it == t.refs.end()) {
        auto id = resolve_ref_in_transaction(m_ctx, in.track, key);
        KANARI_TRY(id);
        it = t.refs.emplace(key, *id).first;
      }
      version = it->second;
    } else if (in.session) {
      // The version the session is pinned to, even when it has ended or
      // expired since: the task ran on it.
      auto pin = m_ctx.store.get_session(in.track, *in.session);
      if (!pin)
        return not_found_error("session " + quote_for_message(*in.session) + " has never been routed on track '" +
                               in.track + "'; route it with `kanari route --session ID`, or pass --version");
      // Its arm follows from the version as for --version: the open
      // rollout's canary or the stable, else a late outcome of the last
      // rollout the version was an arm of (an old stable's, a rolled-back
      // canary's), as the route that served it reported.
      m_assigned = std::move(pin->version_id);
      version = m_assigned;
    } else {
      auto a = m_ctx.store.get_assignment(in.track, in.task);
      if (!a)
        return not_found_error("task " + quote_for_message(in.task) + " on track '" + in.track +
                               "' has no routed assignment; pass --version, or route it first with "
                               "`kanari route --key KEY --task ID`");
      m_assigned = std::move(a->version_id);
      version = m_assigned;
      assigned_rollout = a->rollout_id;
    }
    Resolved r{version,
               store::Arm::stable,
               std::nullopt,
               std::nullopt,
               false,
               store::Counted::yes,
               std::numeric_limits<TimeMs>::min()};
    if (t.rollout) {
      r.rollout = t.rollout->id;
      r.step = t.rollout->step;
      r.shadow = t.rollout->shadow;
    }
    // A task routed under an earlier rollout that ran on a version that is
    // not the stable (a canary rolled back, then started again) belongs to
    // the rollout it was routed under, not to the one open now.
    if (assigned_rollout && (!t.stable || version != *t.stable) && (!t.rollout || t.rollout->id != *assigned_rollout)) {
      if (auto past = m_ctx.store.get_rollout(*assigned_rollout);
          past && (past->canary == version || past->stable == version)) {
        r.arm = past->canary == version ? store::Arm::canary : store::Arm::stable;
        r.rollout = past->id;
        r.step = past->step;
        r.shadow = past->shadow;
        r.counted = store::Counted::late;
        return r;
      }
    }
    if (t.rollout && version == t.rollout->canary) {
      r.arm = store::Arm::canary;
      r.window_start = t.rollout->step_started_at;
    } else if (t.stable && version == *t.stable) {
      r.arm = store::Arm::stable;
      if (t.rollout)
        r.window_start = t.rollout->started_at;
    } else {
      const auto& past = earlier_rollout(t, in.track, version);
      if (!past)
        return usage_error("version " + std::string(version.substr(0, 12)) +
                           " is neither the stable nor the canary of track '" + in.track +
                           "', and never was; outcomes are recorded only for the versions being compared");
      r.arm = past->canary == version ? store::Arm::canary : store::Arm::stable;
      r.rollout = past->id;
      r.step = past->step;
      r.shadow = past->shadow;
      r.counted = store::Counted::late;
    }
    return r;
  }

private:
  struct TrackState {
    std::optional<std::string> stable;
    std::optional<store::RolloutRecord> rollout;
    std::map<std::string, std::string, std::less<>> refs;
    // Per version that is no arm now: the last rollout in which it was one.
    std::map<std::string, std::optional<store::RolloutRecord>, std::less<>> earlier;
  };

  const std::optional<store::RolloutRecord>& earlier_rollout(TrackState& t, const std::string& track,
                                                             std::string_view version) {
    auto it = t.earlier.find(version);
    if (it == t.earlier.end())
      it =
          t.earlier.emplace(std::string(version), m_ctx.store.last_rollout_with_arm(track, std::string(version))).first;
    return it->second;
  }

  TrackState& track(const std::string& name) {
    auto it = m_tracks.find(name);
    if (it == m_tracks.end())
      it =
          m_tracks.emplace(name, TrackState{m_ctx.store.stable_of(name), m_ctx.store.open_rollout(name), {}, {}}).first;
    return it->second;
  }

  Context& m_ctx;
  std::map<std::string, TrackState> m_tracks;
  std::string m_assigned; // the version of the last routed task
};

// Notes go to stderr; past k_max_notes only the count grows, so a file of a
// million conflicts does not hold a million messages.
constexpr size_t k_max_notes = 100;

void note(RecordSummary& sum, std::string text) {
  if (sum.notes.size() < k_max_notes)
    sum.notes.push_back(std::move(text));
  else
    ++sum.notes_omitted;
}

Result<void> finite_non_negative(const std::optional<double>& v, const char* name) {
  if (v && (!std::isfinite(*v) || *v < 0))
    return usage_error(std::string(name) + " must be a finite number >= 0, got " + json(*v).dump());
  return {};
}

// The record of one validated outcome, taking its strings: its arm, rollout
// and whether it counts, decided against the open rollout.
Result<store::PendingOutcome> prepare_outcome(Context& ctx, ArmResolver& arms, OutcomeInput&& in) {
  const TimeMs now = ctx.clock.now_ms();
  if (in.at && *in.at > now + k_max_future_ms)
    return usage_error("\"at\" " + format_rfc3339(*in.at) + " is more than 10 minutes after this host's clock (" +
                       format_rfc3339(now) + "); give the time the task ran, in UTC");
  auto r = arms.resolve(in);
  KANARI_TRY(r);
  const TimeMs at = in.at ? *in.at : now;
  store::OutcomeRecord o{std::move(in.track),
                         std::move(in.task),
                         std::string(r->version),
                         r->arm,
                         r->rollout,
                         r->step,
                         in.pass,
                         in.latency_ms,
                         in.cost,
                         in.tokens,
                         in.score,
                         std::move(in.error),
                         at,
                         r->counted,
                         std::move(in.metrics)};
  std::sort(o.metrics.begin(), o.metrics.end(),
            [](const store::Metric& a, const store::Metric& b) { return a.name < b.name; });
  // Only a time the caller gave can be before the window: an outcome
  // stamped now was recorded after the window opened (its id says so), and
  // this host's clock may run behind the one that opened it.
  if (o.counted == store::Counted::yes && in.at && at < r->window_start)
    o.counted = store::Counted::backdated;
  return store::PendingOutcome{std::move(o), r->shadow ? store::TaskVersions::several : store::TaskVersions::one};
}

// Counts what became of an outcome into `sum`.
void tally(const store::OutcomeRecord& o, const store::InsertOutcome& ins, RecordSummary& sum) {
  switch (ins.result) {
  case store::InsertResult::inserted:
    ++sum.inserted;
    sum.late += o.counted == store::Counted::late ? 1 : 0;
    sum.backdated += o.counted == store::Counted::backdated ? 1 : 0;
    break;
  case store::InsertResult::duplicate: ++sum.duplicates; break;
  case store::InsertResult::conflict:
    ++sum.conflicts;
    note(sum, "conflict: task " + quote_for_message(o.task) + " already has a different outcome for version " +
                  o.version_id.substr(0, 12) + " (first write wins; not stored)");
    break;
  case store::InsertResult::other_version:
    ++sum.conflicts;
    note(sum, "conflict: task " + quote_for_message(o.task) + " already has an outcome for version " +
                  ins.other_version.value_or("?").substr(0, 12) +
                  "; a task runs on one version outside shadow rollouts (not stored)");
    break;
  }
}

// Stores one validated outcome, taking its strings; counts it into `sum`.
Result<void> store_outcome(Context& ctx, ArmResolver& arms, OutcomeInput&& in, RecordSummary& sum) {
  auto p = prepare_outcome(ctx, arms, std::move(in));
  KANARI_TRY(p);
  tally(p->outcome, ctx.store.insert_outcome(p->outcome, p->versions), sum);
  return {};
}

// One attempt at storing a batch inside its write transaction: the arms
// resolved once per track, and what was counted. Made anew for each
// attempt, so a transaction run again counts from zero.
class Batch {
public:
  // `item` names an item in messages ("line", "outcome"); `fail_hint` ends
  // the message of an item that fails the batch.
  Batch(Context& ctx, InvalidLines invalid, const char* item, const char* fail_hint)
      : m_ctx(ctx), m_arms(ctx), m_invalid(invalid), m_item(item), m_fail_hint(fail_hint) {}

  // Stores item `number`: `in` as parsed and validated, or why it could not
  // be. A bad item fails the batch, or is counted and noted when invalid
  // items are skipped. Only bad input is skippable; a store failure throws,
  // and an unknown version (exit 4) or unrelated one (exit 2) is bad input.
  Result<void> add(Result<OutcomeInput>&& in, std::int64_t number) {
    if (!in.ok())
      return refuse(in.error(), number);
    auto p = prepare_outcome(m_ctx, m_arms, std::move(*in));
    if (!p.ok())
      return refuse(p.error(), number);
    m_pending.push_back(std::move(*p));
    if (m_pending.size() == k_flush)
      flush();
    return {};
  }

  // Stores what is pending; the summary is complete afterwards.
  RecordSummary& finish() {
    flush();
    return m_sum;
  }

private:
  // Outcomes go to the store ten thousand at a time (Store::insert_outcomes),
  // in order, so the first of a task wins as it would one by one. Their
  // arms were decided as they came: nothing in the batch changes a rollout.
  static constexpr size_t k_flush = 10000;

  Result<void> refuse(const Error& error, std::int64_t number) {
    const std::string where = std::string(m_item) + " " + std::to_string(number);
    if (m_invalid == InvalidLines::skip) {
      ++m_sum.invalid;
      note(m_sum, where + ": " + error.message + " (skipped)");
      return {};
    }
    return Error{error.code, where + ": " + error.message + "; nothing was recorded" + m_fail_hint};
  }

  void flush() {
    if (m_pending.empty())
      return;
    const auto results = m_ctx.store.insert_outcomes(m_pending);
    for (size_t i = 0; i < m_pending.size(); ++i)
      tally(m_pending[i].outcome, results[i], m_sum);
    m_pending.clear();
  }
  std::vector<store::PendingOutcome> m_pending;

  Context& m_ctx;
  ArmResolver m_arms;
  InvalidLines m_invalid;
  const char* m_item;
  const char* m_fail_hint;
  RecordSummary m_sum;
};

} // namespace

Result<void> validate_metrics(const store::Metrics& metrics) {
  if (metrics.size() > k_max_metrics)
    return usage_error("an outcome has at most " + std::to_string(k_max_metrics) + " metrics, got " +
                       std::to_string(metrics.size()));
  for (size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    if (!is_metric_name(m.name))
      return usage_error("metric name " + quote_for_message(m.name, 70) +
                         " must match [a-z][a-z0-9_]{0,63} (lowercase letters, digits, '_')");
    if (gate::is_builtin_metric(m.name))
      return usage_error("metric name \"" + m.name + "\" is a built-in field; give it as \"" + m.name +
                         "\" itself, not among the metrics");
    if (gate::is_legacy_metric_gate(m.name))
      return usage_error("metric name \"" + m.name +
                         "\" is reserved (a gate on a built-in field has that name); choose another");
    if (!std::isfinite(m.value))
      return usage_error("metric \"" + m.name + "\" must be a finite number");
    for (size_t j = 0; j < i; ++j)
      if (metrics[j].name == m.name)
        return usage_error("metric \"" + m.name + "\" is given twice");
  }
  return {};
}

Result<void> validate_outcome(const OutcomeInput& in) {
  KANARI_TRY(validate_track_name(in.track));
  KANARI_TRY(validate_task_id(in.task));
  KANARI_TRY(finite_non_negative(in.latency_ms, "latency_ms"));
  KANARI_TRY(finite_non_negative(in.cost, "cost"));
  if (in.tokens && *in.tokens < 0)
    return usage_error("tokens must be an integer >= 0, got " + std::to_string(*in.tokens));
  if (in.score && !std::isfinite(*in.score))
    return usage_error("score must be a finite number");
  if (in.error && (in.error->empty() || in.error->size() > 256 || !is_valid_utf8(*in.error)))
    return usage_error("error must be 1 to 256 bytes of UTF-8");
  if (in.session) {
    KANARI_TRY(validate_session_id(*in.session));
    if (in.version_ref)
      return usage_error("give a version or a session, not both: a session records against its pinned version");
  }
  return validate_metrics(in.metrics);
}

Result<OutcomeInput> parse_outcome_line(std::string_view line, const std::string& default_track) {
  OutcomeInput o;
  o.track = default_track;
  bool have_task = false, have_pass = false;
  unsigned seen = 0; // one bit per known key, to refuse repeats
  using Kind = JsonScalar::Kind;
  auto r = parse_flat_object(line, [&](const std::string& k, JsonScalar& v) -> Result<void> {
    static constexpr std::string_view k_keys[] = {"task",   "pass",  "version", "track", "latency_ms", "cost",
                                                  "tokens", "score", "error",   "at",    "metrics",    "session"};
    size_t index = 0;
    while (index < std::size(k_keys) && k_keys[index] != k)
      ++index;
    if (index == std::size(k_keys))
      return usage_error(
          "unknown key " + quote_for_message(k, 40) +
          "; allowed: task, pass, version, session, track, latency_ms, cost, tokens, score, error, at, metrics");
    if (seen & (1u << index))
      return usage_error("the key \"" + k + "\" appears twice");
    seen |= 1u << index;
    const bool null = v.kind == Kind::null;
    const bool number = v.kind == Kind::number || v.kind == Kind::integer;
    if (v.kind == Kind::object && index != 10)
      return usage_error("\"" + k + "\" must not be an object (only \"metrics\" is)");
    switch (index) {
    case 0:
      if (v.kind != Kind::string)
        return usage_error("\"task\" must be a string");
      o.task = std::move(v.text);
      have_task = true;
      break;
    case 1:
      if (v.kind != Kind::boolean)
        return usage_error("\"pass\" must be true or false");
      o.pass = v.boolean;
      have_pass = true;
      break;
    case 2:
      if (v.kind != Kind::string)
        return usage_error("\"version\" must be a string (a version REF)");
      o.version_ref = std::move(v.text);
      break;
    case 3:
      if (v.kind != Kind::string)
        return usage_error("\"track\" must be a string");
      o.track = std::move(v.text);
      break;
    case 4:
    case 5:
    case 7:
      if (null)
        break;
      if (!number)
        return usage_error("\"" + k + "\" must be a number");
      (index == 4 ? o.latency_ms : index == 5 ? o.cost : o.score) = v.number;
      break;
    case 6:
      if (null)
        break;
      if (v.kind != Kind::integer)
        return usage_error("\"tokens\" must be an integer");
      o.tokens = v.integer;
      break;
    case 8:
      if (null)
        break;
      if (v.kind != Kind::string)
        return usage_error("\"error\" must be a string or null");
      o.error = std::move(v.text);
      break;
    case 9: {
      if (v.kind != Kind::string)
        return usage_error("\"at\" must be an RFC 3339 time string");
      auto t = parse_rfc3339(v.text);
      if (!t)
        return usage_error("\"at\" is not an RFC 3339 time (like 2026-11-22T10:00:00Z)");
      o.at = *t;
      break;
    }
    case 10:
      if (null)
        break;
      if (v.kind != Kind::object)
        return usage_error("\"metrics\" must be an object of names and numbers, like {\"tool_calls\": 7}");
      o.metrics.reserve(v.members.size());
      for (auto& [name, value] : v.members)
        o.metrics.push_back({std::move(name), value});
      break;
    case 11:
      if (v.kind != Kind::string)
        return usage_error("\"session\" must be a string (a session id)");
      o.session = std::move(v.text);
      break;
    }
    return {};
  });
  KANARI_TRY(r);
  if (!have_task)
    return usage_error("missing \"task\"");
  if (!have_pass)
    return usage_error("missing \"pass\" (true or false)");
  KANARI_TRY(validate_outcome(o));
  return o;
}

Result<RecordSummary> record_one(Context& ctx, const OutcomeInput& in) {
  KANARI_TRY(validate_outcome(in));
  RecordSummary sum;
  auto r = ctx.store.write([&]() -> Result<void> {
    sum = {}; // a transaction run again counts afresh
    ArmResolver arms(ctx);
    return store_outcome(ctx, arms, OutcomeInput(in), sum);
  });
  KANARI_TRY(r);
  return sum;
}

Result<RecordSummary> record_batch(Context& ctx, const std::vector<OutcomeInput>& outcomes, InvalidLines invalid) {
  RecordSummary sum;
  auto r = ctx.store.write([&]() -> Result<void> {
    Batch batch(ctx, invalid, "outcome", "");
    for (size_t i = 0; i < outcomes.size(); ++i) {
      auto valid = validate_outcome(outcomes[i]);
      KANARI_TRY(batch.add(valid.ok() ? Result<OutcomeInput>(outcomes[i]) : Result<OutcomeInput>(valid.error()),
                           static_cast<std::int64_t>(i)));
    }
    sum = std::move(batch.finish());
    return {};
  });
  KANARI_TRY(r);
  return sum;
}

Result<RecordSummary> record_jsonl(Context& ctx, std::istream& in, const std::string& default_track,
                                   InvalidLines invalid, const std::function<void(std::int64_t)>& progress) {
  KANARI_TRY(validate_track_name(default_track));
  // Read again from its start by every attempt of the transaction.
  auto input = RereadableInput::open(in, "the JSONL input");
  KANARI_TRY(input);
  RecordSummary sum;
  auto r = ctx.store.write([&]() -> Result<void> {
    auto lines = (*input)->rewind();
    KANARI_TRY(lines);
    std::istream& text = **lines;
    Batch batch(ctx, invalid, "line", " (fix the line, or pass --skip-invalid)");
    std::string line;
    std::int64_t number = 0;
    while (std::getline(text, line)) {
      ++number;
      if (progress && number % 65536 == 0)
        progress(number);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      // Editors on some systems start a UTF-8 file with a byte order mark.
      if (number == 1 && line.starts_with("\xEF\xBB\xBF"))
        line.erase(0, 3);
      if (line.find_first_not_of(" \t") == std::string::npos)
        continue;
      KANARI_TRY(batch.add(parse_outcome_line(line, default_track), number));
    }
    if (text.bad())
      return operational_error("reading the JSONL input failed after line " + std::to_string(number));
    sum = std::move(batch.finish());
    return {};
  });
  KANARI_TRY(r);
  return sum;
}

} // namespace kanari::rollout
