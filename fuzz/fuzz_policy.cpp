// Fuzzes the gate policy parser (lib/gate/policy.hpp) the way a policy file
// reaches it: the text through core::parse_json, then gate::parse_policy.
//
// Properties:
// - Every error is a usage error (exit 2) with a non-empty UTF-8 message.
// - An accepted policy keeps the limits policy.hpp and docs/gates.md
//   document (ranges, ascending steps, the bounds each metric allows).
// - Its stored form is complete (every key present) and round-trips:
//   parse_policy(policy_to_json(p)) == p, and so does the canonical text
//   that `canary start` stores and `canary evaluate` reads back.
#include "fuzz_check.hpp"

#include "core/canonical_json.hpp"
#include "gate/policy.hpp"
#include "util/strings.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <string>

namespace {

using kanari::ErrorCode;
using namespace kanari::gate;
using nlohmann::json;

void check_limits(const Policy& p, const std::string& text) {
  KANARI_FUZZ_CHECK(p.min_samples >= 1 && p.min_samples <= k_max_min_samples, text);
  KANARI_FUZZ_CHECK(!p.min_stable_samples || (*p.min_stable_samples >= 1 && *p.min_stable_samples <= k_max_min_samples),
                    text);
  KANARI_FUZZ_CHECK(p.max_regression_ppm >= 0 && p.max_regression_ppm <= 1'000'000, text);
  for (size_t i = 0; i < p.steps_bp.size(); ++i) {
    KANARI_FUZZ_CHECK(p.steps_bp[i] > 0 && p.steps_bp[i] <= 10000, text);
    KANARI_FUZZ_CHECK(i == 0 || p.steps_bp[i] > p.steps_bp[i - 1], text);
  }
  KANARI_FUZZ_CHECK(p.min_step_seconds >= 0 && p.min_step_seconds <= k_max_seconds, text);
  KANARI_FUZZ_CHECK(!p.max_step_seconds || (*p.max_step_seconds >= 1 && *p.max_step_seconds <= k_max_seconds &&
                                            *p.max_step_seconds >= p.min_step_seconds),
                    text);
  KANARI_FUZZ_CHECK(p.consecutive >= 1 && p.consecutive <= k_max_consecutive, text);
  KANARI_FUZZ_CHECK(p.alpha > 0 && p.alpha <= 0.5, text);
  KANARI_FUZZ_CHECK(p.planned_samples >= 1 && p.planned_samples <= k_max_planned_samples, text);
  KANARI_FUZZ_CHECK(!p.min_pass_rate_ppm || (*p.min_pass_rate_ppm >= 0 && *p.min_pass_rate_ppm <= 1'000'000), text);
  KANARI_FUZZ_CHECK(p.paired_alpha > 0 && p.paired_alpha <= 0.5, text);
  KANARI_FUZZ_CHECK(p.shadow_steps >= 0 && p.shadow_steps <= static_cast<std::int64_t>(p.steps_bp.size()), text);
  auto finite = [](const std::optional<double>& v) { return !v || std::isfinite(*v); };
  for (const auto& g : p.metrics) {
    // Any metric name; a release-1 name keeps its field, aggregate,
    // direction and bounds (docs/gates.md, "Metric gates").
    KANARI_FUZZ_CHECK(kanari::is_metric_name(g.metric) && kanari::is_metric_name(g.source), text);
    KANARI_FUZZ_CHECK(g.max || g.min || g.max_regression || g.max_ratio || g.target || g.paired, text);
    KANARI_FUZZ_CHECK(
        finite(g.max) && finite(g.min) && finite(g.target) && finite(g.max_ratio) && finite(g.max_regression), text);
    KANARI_FUZZ_CHECK(!g.max_regression || *g.max_regression >= 0, text);
    KANARI_FUZZ_CHECK(!g.max_ratio || *g.max_ratio > 0, text);
    KANARI_FUZZ_CHECK(!g.min || !g.max || *g.min <= *g.max, text);
    KANARI_FUZZ_CHECK(g.min_samples >= 1 && g.min_samples <= k_max_min_samples, text);
    const bool higher = g.direction == Direction::higher_is_better;
    KANARI_FUZZ_CHECK(!g.target || (higher ? !g.min || *g.target >= *g.min : !g.max || *g.target <= *g.max), text);
    if (!is_legacy_metric_gate(g.metric)) {
      KANARI_FUZZ_CHECK(g.source == g.metric, text);
      continue;
    }
    const bool rate = g.metric == "error_rate";
    KANARI_FUZZ_CHECK(g.direction == Direction::lower_is_better && !g.min && !g.target, text);
    KANARI_FUZZ_CHECK(g.aggregate == (rate                           ? Aggregate::rate
                                      : g.metric == "latency_p95_ms" ? Aggregate::p95
                                                                     : Aggregate::mean),
                      text);
    KANARI_FUZZ_CHECK(!g.max || (*g.max >= 0 && (!rate || *g.max <= 1)), text);
    KANARI_FUZZ_CHECK(!g.max_regression || !rate, text);
    KANARI_FUZZ_CHECK(!g.max_ratio || rate, text);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto j = kanari::core::parse_json(text, "policy file 'fuzz.json'");
  if (!j.ok()) {
    KANARI_FUZZ_CHECK_ERROR(j.error(), ErrorCode::usage);
    return 0;
  }
  auto p = parse_policy(*j);
  if (!p.ok()) {
    KANARI_FUZZ_CHECK_ERROR(p.error(), ErrorCode::usage);
    return 0;
  }
  check_limits(*p, text);

  const json stored = policy_to_json(*p);
  // Every key, always: as many as the default policy's stored form has.
  static const std::size_t k_keys = policy_to_json(kanari::gate::Policy{}).size();
  KANARI_FUZZ_CHECK(stored.is_object() && stored.size() == k_keys, stored.dump());
  auto again = parse_policy(stored);
  KANARI_FUZZ_CHECK(again.ok(), stored.dump() + " is refused: " + again.error().message);
  KANARI_FUZZ_CHECK(*again == *p,
                    text + " is stored as " + stored.dump() + ", which reads back as " + policy_to_json(*again).dump());

  // What `canary start` stores and `canary evaluate` reads back.
  const std::string canonical = kanari::core::canonical_json(stored);
  auto reread = parse_policy(json::parse(canonical));
  KANARI_FUZZ_CHECK(reread.ok(), canonical + " is refused: " + reread.error().message);
  KANARI_FUZZ_CHECK(*reread == *p,
                    text + " is stored as " + canonical + ", which reads back as " + policy_to_json(*reread).dump());
  return 0;
}
