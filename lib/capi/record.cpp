// kanari_record, kanari_record_batch and kanari_record_jsonl: the outcome
// ledger through the C API, on rollout::record_one / record_batch /
// record_jsonl, so that arms, duplicates, conflicts and all-or-nothing
// batches behave exactly as `kanari record` does.
//
// A batch of structs is converted to rollout::OutcomeInput, every outcome
// validated first, and stored by record_batch in one transaction through the
// same per-outcome code as `record --jsonl`; errors name the outcome's index.
#include "capi/handle.hpp"

#include "rollout/ledger.hpp"
#include "util/strings.hpp"

#include <sstream>

namespace kanari::capi {

namespace {

// 1970-01-01 .. 9999-12-31 in milliseconds.
constexpr TimeMs k_min_at = 0;
constexpr TimeMs k_max_at = 253402300799999LL;

Result<rollout::OutcomeInput> to_input(const kanari_outcome& o) {
  if (o.has & ~(KANARI_HAS_LATENCY_MS | KANARI_HAS_COST | KANARI_HAS_TOKENS | KANARI_HAS_SCORE | KANARI_HAS_AT))
    return usage_error("unknown bits in kanari_outcome.has: " + std::to_string(o.has));
  rollout::OutcomeInput in;
  auto t = track_arg(o.track);
  KANARI_TRY(t);
  in.track = *t;
  if (!o.task)
    return usage_error("the outcome's task must not be NULL");
  in.task = o.task;
  if (o.version)
    in.version_ref = std::string(o.version);
  in.pass = o.pass != 0;
  if (o.has & KANARI_HAS_LATENCY_MS)
    in.latency_ms = o.latency_ms;
  if (o.has & KANARI_HAS_COST)
    in.cost = o.cost;
  if (o.has & KANARI_HAS_TOKENS)
    in.tokens = o.tokens;
  if (o.has & KANARI_HAS_SCORE)
    in.score = o.score;
  if (o.error)
    in.error = std::string(o.error);
  if (o.has & KANARI_HAS_AT) {
    if (o.at_ms < k_min_at || o.at_ms > k_max_at)
      return usage_error("at_ms " + std::to_string(o.at_ms) + " is outside 1970..9999");
    in.at = o.at_ms;
  }
  if (o.n_metrics > 0 && !o.metrics)
    return usage_error("the outcome's metrics must not be NULL when n_metrics is " + std::to_string(o.n_metrics));
  if (o.n_metrics > rollout::k_max_metrics)
    return usage_error("an outcome has at most " + std::to_string(rollout::k_max_metrics) + " metrics, got " +
                       std::to_string(o.n_metrics));
  for (size_t i = 0; i < o.n_metrics; ++i) {
    if (!o.metrics[i].name)
      return usage_error("metric " + std::to_string(i) + " has a NULL name");
    in.metrics.push_back({o.metrics[i].name, o.metrics[i].value});
  }
  if (in.version_ref && (in.version_ref->empty() || !is_valid_utf8(*in.version_ref)))
    return usage_error("the outcome's version must be a non-empty REF (an id, a prefix, stable or canary)");
  KANARI_TRY(rollout::validate_outcome(in));
  return in;
}

void summarise(const rollout::RecordSummary& s, kanari_record_summary* out) {
  if (out)
    *out = {s.inserted, s.duplicates, s.conflicts, s.invalid};
}

} // namespace

} // namespace kanari::capi

using namespace kanari;

extern "C" {

KANARI_API kanari_status kanari_record(kanari_store* store, const kanari_outcome* outcome,
                                       kanari_record_summary* summary) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_record: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (!outcome)
      return usage_error("kanari_record: outcome must not be NULL");
    auto in = capi::to_input(*outcome);
    KANARI_TRY(in);
    auto s = rollout::record_one(*store->ctx, *in);
    KANARI_TRY(s);
    capi::summarise(*s, summary);
    return KANARI_OK;
  });
}

KANARI_API kanari_status kanari_record_session(kanari_store* store, const kanari_outcome* outcome, const char* session,
                                               kanari_record_summary* summary) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_record_session: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (!outcome || !session)
      return usage_error("kanari_record_session: outcome and session must not be NULL");
    if (outcome->version)
      return usage_error("kanari_record_session: the outcome's version must be NULL: a session records against "
                         "its pinned version");
    auto in = capi::to_input(*outcome);
    KANARI_TRY(in);
    in->session = session;
    KANARI_TRY(rollout::validate_outcome(*in));
    auto s = rollout::record_one(*store->ctx, *in);
    KANARI_TRY(s);
    capi::summarise(*s, summary);
    return KANARI_OK;
  });
}

KANARI_API kanari_status kanari_record_batch(kanari_store* store, const kanari_outcome* outcomes, size_t n,
                                             kanari_record_summary* summary) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_record_batch: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (n > 0 && !outcomes)
      return usage_error("kanari_record_batch: outcomes must not be NULL");
    std::vector<rollout::OutcomeInput> batch;
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      auto in = capi::to_input(outcomes[i]);
      if (!in.ok())
        return Error{in.error().code,
                     "outcome " + std::to_string(i) + ": " + in.error().message + "; nothing was recorded"};
      batch.push_back(std::move(*in));
    }
    auto s = rollout::record_batch(*store->ctx, batch, rollout::InvalidLines::fail);
    KANARI_TRY(s);
    capi::summarise(*s, summary);
    return KANARI_OK;
  });
}

KANARI_API kanari_status kanari_record_jsonl(kanari_store* store, const char* jsonl, size_t len,
                                             const char* default_track, int skip_invalid,
                                             kanari_record_summary* summary) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_record_jsonl: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (len > 0 && !jsonl)
      return usage_error("kanari_record_jsonl: jsonl must not be NULL");
    auto t = capi::track_arg(default_track);
    KANARI_TRY(t);
    std::istringstream lines(len > 0 ? std::string(jsonl, len) : std::string());
    auto s = rollout::record_jsonl(*store->ctx, lines, *t,
                                   skip_invalid ? rollout::InvalidLines::skip : rollout::InvalidLines::fail);
    KANARI_TRY(s);
    capi::summarise(*s, summary);
    return KANARI_OK;
  });
}

} // extern "C"
