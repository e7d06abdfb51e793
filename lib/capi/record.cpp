// kanari_record, kanari_record_batch and kanari_record_jsonl: the outcome
// ledger through the C API, on rollout::record_one / record_jsonl, so that
// arms, duplicates, conflicts and all-or-nothing batches behave exactly as
// `kanari record` does.
//
// A batch of structs is stored through record_jsonl: each outcome becomes
// one JSON line of the documented `record --jsonl` form, and the whole batch
// is one transaction. Every outcome is validated here first, so the JSON
// conversion never meets a value it would change (a NaN, an out-of-range
// time); errors found while storing name the outcome's index.
#include "capi/handle.hpp"

#include "rollout/ledger.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <nlohmann/json.hpp>

#include <sstream>

namespace kanari::capi {

namespace {

using nlohmann::json;

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
  if (in.version_ref && (in.version_ref->empty() || !is_valid_utf8(*in.version_ref)))
    return usage_error("the outcome's version must be a non-empty REF (an id, a prefix, stable or canary)");
  KANARI_TRY(rollout::validate_outcome(in));
  return in;
}

json to_line(const rollout::OutcomeInput& in) {
  json j = {{"task", in.task}, {"pass", in.pass}, {"track", in.track}};
  if (in.version_ref)
    j["version"] = *in.version_ref;
  if (in.latency_ms)
    j["latency_ms"] = *in.latency_ms;
  if (in.cost)
    j["cost"] = *in.cost;
  if (in.tokens)
    j["tokens"] = *in.tokens;
  if (in.score)
    j["score"] = *in.score;
  if (in.error)
    j["error"] = *in.error;
  if (in.at)
    j["at"] = format_rfc3339(*in.at);
  return j;
}

void summarise(const rollout::RecordSummary& s, kanari_record_summary* out) {
  if (out)
    *out = {s.inserted, s.duplicates, s.conflicts, s.invalid};
}

// record_jsonl names "line N"; for a batch that is outcome N-1.
Error batch_error(const Error& e) {
  const std::string& m = e.message;
  if (m.rfind("line ", 0) == 0) {
    size_t end = m.find(':');
    if (end != std::string::npos) {
      try {
        long long line = std::stoll(m.substr(5, end - 5));
        std::string rest = m.substr(end);
        if (auto cut = rest.find("; nothing was recorded"); cut != std::string::npos)
          rest.resize(cut);
        return {e.code, "outcome " + std::to_string(line - 1) + rest + "; nothing was recorded"};
      } catch (const std::logic_error&) {
      }
    }
  }
  return e;
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

KANARI_API kanari_status kanari_record_batch(kanari_store* store, const kanari_outcome* outcomes, size_t n,
                                             kanari_record_summary* summary) {
  if (!store)
    return capi::fail(nullptr, KANARI_USAGE, "kanari_record_batch: store must not be NULL");
  return capi::guarded(store, [&]() -> Result<int> {
    if (n > 0 && !outcomes)
      return usage_error("kanari_record_batch: outcomes must not be NULL");
    std::string text;
    for (size_t i = 0; i < n; ++i) {
      auto in = capi::to_input(outcomes[i]);
      if (!in.ok())
        return Error{in.error().code, "outcome " + std::to_string(i) + ": " + in.error().message +
                                          "; nothing was recorded"};
      text += capi::to_line(*in).dump();
      text += '\n';
    }
    std::istringstream lines(text);
    auto s = rollout::record_jsonl(*store->ctx, lines, "default", rollout::InvalidLines::fail);
    if (!s.ok())
      return capi::batch_error(s.error());
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
