#include "rollout/ledger.hpp"

#include "rollout/versions.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

namespace kanari::rollout {

using nlohmann::json;

namespace {

// Per-transaction cache of what each track's versions mean, so a million
// lines resolve their refs with a handful of queries.
class ArmResolver {
public:
  explicit ArmResolver(Context& ctx) : m_ctx(ctx) {}

  struct Resolved {
    std::string version;
    store::Arm arm;
    std::optional<std::int64_t> rollout;
    std::optional<std::int64_t> step;
    bool shadow;
  };

  Result<Resolved> resolve(const OutcomeInput& in) {
    auto& t = track(in.track);
    std::string version;
    if (in.version_ref) {
      auto key = *in.version_ref;
      auto it = t.refs.find(key);
      if (it == t.refs.end()) {
        auto id = resolve_ref(m_ctx, in.track, key);
        KANARI_TRY(id);
        it = t.refs.emplace(key, *id).first;
      }
      version = it->second;
    } else {
      auto a = m_ctx.store.get_assignment(in.track, in.task);
      if (!a)
        return not_found_error("task " + quote_for_message(in.task) + " on track '" + in.track +
                               "' has no routed assignment; pass --version, or route it first with "
                               "`kanari route --key KEY --task ID`");
      version = a->version_id;
    }
    Resolved r{version, store::Arm::stable, std::nullopt, std::nullopt, false};
    if (t.rollout) {
      r.rollout = t.rollout->id;
      r.step = t.rollout->step;
      r.shadow = t.rollout->shadow;
    }
    if (t.rollout && version == t.rollout->canary) {
      r.arm = store::Arm::canary;
    } else if (t.stable && version == *t.stable) {
      r.arm = store::Arm::stable;
    } else {
      return usage_error("version " + version.substr(0, 12) + " is neither the stable nor the canary of track '" +
                         in.track + "'; outcomes are recorded only for the versions being compared");
    }
    return r;
  }

private:
  struct TrackState {
    std::optional<std::string> stable;
    std::optional<store::RolloutRecord> rollout;
    std::map<std::string, std::string> refs;
  };

  TrackState& track(const std::string& name) {
    auto it = m_tracks.find(name);
    if (it == m_tracks.end())
      it = m_tracks.emplace(name, TrackState{m_ctx.store.stable_of(name), m_ctx.store.open_rollout(name), {}}).first;
    return it->second;
  }

  Context& m_ctx;
  std::map<std::string, TrackState> m_tracks;
};

Result<void> finite_non_negative(const std::optional<double>& v, const char* name) {
  if (v && (!std::isfinite(*v) || *v < 0))
    return usage_error(std::string(name) + " must be a finite number >= 0, got " + json(*v).dump());
  return {};
}

// Stores one validated outcome; counts it into `sum`.
Result<void> store_outcome(Context& ctx, ArmResolver& arms, const OutcomeInput& in, RecordSummary& sum) {
  auto r = arms.resolve(in);
  KANARI_TRY(r);
  store::OutcomeRecord o{in.track, in.task, r->version, r->arm, r->rollout, r->step, in.pass, in.latency_ms,
                         in.cost, in.tokens, in.score, in.error, in.at.value_or(ctx.clock.now_ms())};
  if (!r->shadow) {
    if (auto other = ctx.store.other_task_version(in.track, in.task, r->version)) {
      ++sum.conflicts;
      sum.notes.push_back("conflict: task " + quote_for_message(in.task) + " already has an outcome for version " +
                          other->substr(0, 12) + "; a task runs on one version outside shadow rollouts (not stored)");
      return {};
    }
  }
  switch (ctx.store.insert_outcome(o)) {
  case store::InsertResult::inserted: ++sum.inserted; break;
  case store::InsertResult::duplicate: ++sum.duplicates; break;
  case store::InsertResult::conflict:
    ++sum.conflicts;
    sum.notes.push_back("conflict: task " + quote_for_message(in.task) + " already has a different outcome for version " +
                        r->version.substr(0, 12) + " (first write wins; not stored)");
    break;
  }
  return {};
}

} // namespace

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
  return {};
}

Result<OutcomeInput> parse_outcome_line(std::string_view line, const std::string& default_track) {
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return usage_error("not valid JSON (or not UTF-8)");
  if (!j.is_object())
    return usage_error("each line must be a JSON object like {\"task\": \"t1\", \"pass\": true}");
  OutcomeInput o;
  o.track = default_track;
  bool have_task = false, have_pass = false;
  auto number = [](const json& v, const std::string& key) -> Result<double> {
    if (!v.is_number())
      return usage_error("\"" + key + "\" must be a number");
    return v.get<double>();
  };
  for (auto& [key, v] : j.items()) {
    if (key == "task") {
      if (!v.is_string())
        return usage_error("\"task\" must be a string");
      o.task = v.get<std::string>();
      have_task = true;
    } else if (key == "pass") {
      if (!v.is_boolean())
        return usage_error("\"pass\" must be true or false");
      o.pass = v.get<bool>();
      have_pass = true;
    } else if (key == "version") {
      if (!v.is_string())
        return usage_error("\"version\" must be a string (a version REF)");
      o.version_ref = v.get<std::string>();
    } else if (key == "track") {
      if (!v.is_string())
        return usage_error("\"track\" must be a string");
      o.track = v.get<std::string>();
    } else if (key == "latency_ms" || key == "cost" || key == "score") {
      if (v.is_null())
        continue;
      auto d = number(v, key);
      KANARI_TRY(d);
      (key == "latency_ms" ? o.latency_ms : key == "cost" ? o.cost : o.score) = *d;
    } else if (key == "tokens") {
      if (v.is_null())
        continue;
      if (!v.is_number_integer())
        return usage_error("\"tokens\" must be an integer");
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        return usage_error("\"tokens\" is too large");
      o.tokens = v.get<std::int64_t>();
    } else if (key == "error") {
      if (v.is_null())
        continue;
      if (!v.is_string())
        return usage_error("\"error\" must be a string or null");
      o.error = v.get<std::string>();
    } else if (key == "at") {
      if (!v.is_string())
        return usage_error("\"at\" must be an RFC 3339 time string");
      auto t = parse_rfc3339(v.get<std::string>());
      if (!t)
        return usage_error("\"at\" is not an RFC 3339 time (like 2026-11-22T10:00:00Z)");
      o.at = *t;
    } else {
      return usage_error("unknown key " + quote_for_message(key, 40) +
                         "; allowed: task, pass, version, track, latency_ms, cost, tokens, score, error, at");
    }
  }
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
    ArmResolver arms(ctx);
    return store_outcome(ctx, arms, in, sum);
  });
  KANARI_TRY(r);
  return sum;
}

Result<RecordSummary> record_jsonl(Context& ctx, std::istream& in, const std::string& default_track,
                                   InvalidLines invalid, const std::function<void(std::int64_t)>& progress) {
  KANARI_TRY(validate_track_name(default_track));
  RecordSummary sum;
  auto r = ctx.store.write([&]() -> Result<void> {
    ArmResolver arms(ctx);
    std::string line;
    std::int64_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      if (progress && number % 65536 == 0)
        progress(number);
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos)
        continue;
      auto o = parse_outcome_line(line, default_track);
      Result<void> stored = o.ok() ? store_outcome(ctx, arms, *o, sum) : Result<void>(o.error());
      if (!stored.ok()) {
        // Only bad input is skippable; a store failure throws, and an
        // unknown version (exit 4) or unrelated one (exit 2) is bad input.
        if (invalid == InvalidLines::skip) {
          ++sum.invalid;
          sum.notes.push_back("line " + std::to_string(number) + ": " + stored.error().message + " (skipped)");
          continue;
        }
        return Error{stored.error().code, "line " + std::to_string(number) + ": " + stored.error().message +
                                              "; nothing was recorded (fix the line, or pass --skip-invalid)"};
      }
    }
    if (in.bad())
      return operational_error("reading the JSONL input failed after line " + std::to_string(number));
    return {};
  });
  KANARI_TRY(r);
  return sum;
}

} // namespace kanari::rollout
