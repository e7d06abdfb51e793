// kanari simulate: the gate's operating characteristics on synthetic
// Bernoulli traffic, through the real gate code (docs/gates.md).
#include "commands.hpp"
#include "policy_flags.hpp"

#include "gate/simulate.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace kanari::cli {

using nlohmann::json;

namespace {

struct SimulateOptions {
  std::string stable_rate, canary_rate;
  std::int64_t trials = 10000;
  std::int64_t eval_every = 1;
  std::int64_t max_tasks = 1000;
  std::string stable_per_canary = "1";
  std::uint64_t seed = 1;
  bool paired = false;
  std::string pair_correlation = "0.5";
  PolicyFlags policy;
};

Result<double> rate_flag(const std::string& text, const char* flag) {
  double v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !std::isfinite(v))
    return usage_error(std::string(flag) + " must be a number, got '" + text + "'");
  return v;
}

Result<int> run_simulate(const SimulateOptions& o, Context& ctx) {
  auto policy = build_policy(o.policy, ctx);
  KANARI_TRY(policy);
  auto s = rate_flag(o.stable_rate, "--stable-rate");
  KANARI_TRY(s);
  auto c = rate_flag(o.canary_rate, "--canary-rate");
  KANARI_TRY(c);
  auto ratio = rate_flag(o.stable_per_canary, "--stable-per-canary");
  KANARI_TRY(ratio);
  auto correlation = rate_flag(o.pair_correlation, "--pair-correlation");
  KANARI_TRY(correlation);
  gate::SimulationConfig cfg{*s, *c, o.trials, o.eval_every, o.max_tasks, *ratio, o.seed, o.paired, *correlation};
  auto bar = ctx.progress({"simulating", o.trials, "trials"});
  std::function<void(std::int64_t)> progress;
  if (bar)
    progress = [&](std::int64_t done) { bar->update(done); };
  auto r = gate::simulate(*policy, cfg, progress);
  if (bar)
    bar->finish();
  KANARI_TRY(r);
  auto mean = std::isnan(r->mean_tasks_to_verdict) ? json(nullptr) : json(r->mean_tasks_to_verdict);
  if (ctx.g.json) {
    ctx.print_json({{"method", gate::to_string(policy->method)},
                    {"stable_rate", *s},
                    {"canary_rate", *c},
                    {"trials", r->trials},
                    {"eval_every", o.eval_every},
                    {"max_canary_tasks", o.max_tasks},
                    {"seed", o.seed},
                    {"paired", o.paired},
                    {"pair_correlation", o.paired ? json(*correlation) : json(nullptr)},
                    {"promote", r->promote},
                    {"rollback", r->rollback},
                    {"undecided", r->undecided},
                    {"p_promote", r->p_promote},
                    {"p_rollback", r->p_rollback},
                    {"p_undecided", r->p_undecided},
                    {"mean_tasks_to_verdict", mean},
                    {"gate_evaluations", r->gate_evaluations},
                    {"policy", gate::policy_to_json(*policy)}});
    return 0;
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "%s gate%s, stable %.3f vs canary %.3f, %lld trials, evaluated every %lld canary tasks:\n"
                "  P(PROMOTE)   %.4f\n  P(ROLLBACK)  %.4f\n  P(undecided) %.4f (after %lld canary tasks)\n"
                "  mean canary tasks to a verdict: %s\n",
                std::string(gate::to_string(policy->method)).c_str(), o.paired ? " on pairs (McNemar)" : "", *s, *c,
                static_cast<long long>(r->trials), static_cast<long long>(o.eval_every), r->p_promote, r->p_rollback,
                r->p_undecided, static_cast<long long>(o.max_tasks),
                std::isnan(r->mean_tasks_to_verdict) ? "-" : std::to_string(r->mean_tasks_to_verdict).c_str());
  ctx.human() << buf;
  return 0;
}

} // namespace

void setup_simulate(CLI::App& app, Registry& reg) {
  auto o = std::make_shared<SimulateOptions>();
  auto* s = app.add_subcommand("simulate", "The gate's P(PROMOTE), P(ROLLBACK), P(undecided) on synthetic traffic");
  s->add_option("--stable-rate", o->stable_rate, "stable's true pass rate, [0, 1]")->required();
  s->add_option("--canary-rate", o->canary_rate, "the canary's true pass rate, [0, 1]")->required();
  s->add_option("--trials", o->trials, "simulated rollouts")->capture_default_str();
  s->add_option("--eval-every", o->eval_every, "evaluate after every K canary tasks")->capture_default_str();
  s->add_option("--max-tasks", o->max_tasks, "canary tasks after which a trial counts as undecided")
      ->capture_default_str();
  s->add_option("--stable-per-canary", o->stable_per_canary, "stable tasks observed per canary task")
      ->capture_default_str();
  s->add_flag("--paired", o->paired,
              "simulate a shadow step: every canary task also runs on stable, and the gate compares the pairs with "
              "the exact McNemar test (paired_alpha)");
  s->add_option("--pair-correlation", o->pair_correlation,
                "with --paired: how often a task's two outcomes share one draw, [0, 1] (0: independent)")
      ->capture_default_str();
  s->add_option("--seed", o->seed, "random seed (results are deterministic for a seed)")->capture_default_str();
  add_policy_flags(s, o->policy);
  reg.on(s, o, run_simulate);
}

} // namespace kanari::cli
