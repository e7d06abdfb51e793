#include "policy_flags.hpp"

#include "core/canonical_json.hpp"
#include "util/strings.hpp"

namespace kanari::cli {

using nlohmann::json;

void add_policy_flags(CLI::App* app, PolicyFlags& f) {
  app->add_option("--policy", f.file, "a JSON gate policy (docs/gates.md); the flags below override its keys");
  app->add_option("--min-samples", f.min_samples, "canary tasks per step before the gate decides (default 10)");
  app->add_option("--min-stable-samples", f.min_stable_samples, "baseline tasks needed (default: --min-samples)");
  app->add_option("--max-regression", f.max_regression,
                  "largest tolerated drop in pass rate, e.g. 0.10 = 10 points (absolute) or 10 % (relative)");
  app->add_option("--regression", f.regression, "absolute | relative (how --max-regression is measured)");
  app->add_option("--method", f.method, "threshold (Bernstein's rule) | sequential (anytime-valid test)");
  app->add_option("--alpha", f.alpha, "sequential method: error rate of the confidence sequence (default 0.05)");
  app->add_option("--min-pass-rate", f.min_pass_rate,
                  "an absolute floor on the canary's pass rate, e.g. 0.80: below it the gate rolls back");
  app->add_option("--paired-alpha", f.paired_alpha,
                  "shadow steps: level of the one-sided exact McNemar (and Wilcoxon) test that rolls back (default "
                  "0.05)");
}

Result<json> policy_json(const PolicyFlags& f, Context& ctx) {
  json p = json::object();
  if (!f.file.empty()) {
    auto parsed = read_json_object(ctx, f.file, "--policy", "policy file '" + f.file + "'", R"({"min_samples": 20})");
    KANARI_TRY(parsed);
    p = std::move(*parsed);
  }
  if (f.min_samples)
    p["min_samples"] = *f.min_samples;
  if (f.min_stable_samples)
    p["min_stable_samples"] = *f.min_stable_samples;
  auto decimal_flag = [&](const std::string& text, const char* flag, const char* key) -> Result<void> {
    if (text.empty())
      return {};
    if (!gate::parse_decimal(text, 6))
      return usage_error(std::string(flag) + " must be a decimal number with at most 6 decimals, like 0.10; got " +
                         quote_for_message(text));
    p[key] = std::stod(text);
    return {};
  };
  KANARI_TRY(decimal_flag(f.max_regression, "--max-regression", "max_regression"));
  KANARI_TRY(decimal_flag(f.alpha, "--alpha", "alpha"));
  KANARI_TRY(decimal_flag(f.min_pass_rate, "--min-pass-rate", "min_pass_rate"));
  KANARI_TRY(decimal_flag(f.paired_alpha, "--paired-alpha", "paired_alpha"));
  if (!f.regression.empty())
    p["regression"] = f.regression;
  if (!f.method.empty())
    p["method"] = f.method;
  return p;
}

Result<gate::Policy> build_policy(const PolicyFlags& f, Context& ctx) {
  auto j = policy_json(f, ctx);
  KANARI_TRY(j);
  return gate::parse_policy(*j);
}

Result<std::int64_t> parse_percentage(const std::string& text, const std::string& flag) {
  auto bp = gate::parse_decimal(text, 2);
  if (!bp)
    return usage_error(flag + " must be a number in (0, 100] with at most two decimals, got " +
                       quote_for_message(text));
  if (*bp <= 0 || *bp > 10000)
    return usage_error(flag + " must be in (0, 100], got " + text);
  return *bp;
}

Result<Steps> parse_steps(const std::string& text) {
  Steps steps;
  for (const auto& part : split(text, ',')) {
    const bool shadow = part.starts_with(gate::k_shadow_step_prefix);
    const auto live = static_cast<std::int64_t>(steps.bp.size()) - steps.shadow;
    if (shadow && live > 0)
      return usage_error("--steps: the shadow step " + quote_for_message(part) +
                         " comes after a live step; shadow steps (shadow:P) only lead, as in shadow:20,5,25,100");
    auto bp = shadow ? parse_percentage(part.substr(gate::k_shadow_step_prefix.size()), "each shadow:P of --steps")
                     : parse_percentage(part, "each of --steps");
    KANARI_TRY(bp);
    if ((shadow ? steps.shadow : live) > 0 && *bp <= steps.bp.back())
      return usage_error(std::string(shadow             ? "the shadow steps of --steps"
                                     : steps.shadow > 0 ? "the live steps of --steps"
                                                        : "--steps") +
                         " must be strictly ascending, got " + text);
    steps.bp.push_back(*bp);
    steps.shadow += shadow;
  }
  return steps;
}

} // namespace kanari::cli
