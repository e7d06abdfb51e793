// The gate-policy flags shared by `canary start` and `simulate`: a policy
// file, then flags overriding its keys (docs/gates.md).
#pragma once

#include "commands.hpp"
#include "gate/policy.hpp"

namespace kanari::cli {

struct PolicyFlags {
  std::string file;
  std::optional<std::int64_t> min_samples;
  std::optional<std::int64_t> min_stable_samples;
  std::string max_regression;
  std::string regression;
  std::string method;
  std::string alpha;
  std::string min_pass_rate;
  std::string paired_alpha;
};

void add_policy_flags(CLI::App* app, PolicyFlags& f);
// The policy JSON: the file's object (or {}) with the flags' keys set.
Result<nlohmann::json> policy_json(const PolicyFlags& f, Context& ctx);
Result<gate::Policy> build_policy(const PolicyFlags& f, Context& ctx);

// A percentage as users write it ("20", "25.25") in basis points; `flag`
// names it in the error. (0, 100], at most two decimals.
Result<std::int64_t> parse_percentage(const std::string& text, const std::string& flag);

// --steps "5,25,100", optionally led by shadow steps: "shadow:20,5,25,100".
// Shadow steps only lead; each kind is strictly ascending on its own.
struct Steps {
  std::vector<std::int64_t> bp;
  std::int64_t shadow = 0; // how many of bp, from the first, are shadow steps
};
Result<Steps> parse_steps(const std::string& text);

} // namespace kanari::cli
