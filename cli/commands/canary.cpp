// kanari canary start | status | promote | rollback | pause | resume | approve
// (status, rollback, pause and resume also --all) and Bernstein's forms
// `canary --prompt-version REF --percentage P`, `canary --promote`,
// `canary --rollback`. (`canary evaluate` is in evaluate.cpp, `canary wait`
// in wait.cpp.)
#include "commands.hpp"
#include "policy_flags.hpp"

#include "gate/stats.hpp"
#include "rollout/evaluate.hpp"
#include "rollout/lifecycle.hpp"
#include "rollout/tracks.hpp"
#include "util/time.hpp"

#include <cmath>
#include <cstdio>

namespace kanari::cli {

using nlohmann::json;

namespace {

json rate(std::int64_t pass, std::int64_t n) {
  return n == 0 ? json(nullptr) : json(static_cast<double>(pass) / static_cast<double>(n));
}

json opt_num(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

json arm_json(const rollout::SampleStats& s) {
  auto ci = gate::wilson_interval(s.pass, s.n);
  return {{"n", s.n},
          {"pass", s.pass},
          {"pass_rate", rate(s.pass, s.n)},
          {"wilson95", s.n ? json::array({ci.lo, ci.hi}) : json(nullptr)},
          {"errors", s.errors},
          {"latency_p50_ms", opt_num(s.latency_p50_ms)},
          {"latency_p95_ms", opt_num(s.latency_p95_ms)},
          {"cost_mean", opt_num(s.cost_mean)},
          {"tokens_mean", opt_num(s.tokens_mean)}};
}

std::optional<std::string> waiting_for(const rollout::Status& st) {
  if (!st.rollout)
    return std::nullopt;
  const auto& c = st.samples.canary;
  const auto& b = st.samples.baseline;
  if (c.n < st.policy.min_samples)
    return std::to_string(c.n) + "/" + std::to_string(st.policy.min_samples) + " canary tasks";
  if (b.n < st.policy.effective_min_stable_samples())
    return std::to_string(b.n) + "/" + std::to_string(st.policy.effective_min_stable_samples()) + " stable tasks";
  return std::nullopt;
}

std::string rate_text(const rollout::SampleStats& s) {
  if (s.n == 0)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", 100.0 * static_cast<double>(s.pass) / static_cast<double>(s.n));
  return buf;
}

// With no open rollout: how the latest one ended, so that "idle" after a
// rollback does not read like "idle" after a promotion.
json last_rollout_json(const rollout::Status& st) {
  if (!st.last)
    return nullptr;
  const auto& r = *st.last;
  const auto& e = st.last_end;
  return {{"rollout", r.id},
          {"state", rollout::to_string(r.state)},
          {"canary", r.canary},
          {"stable", r.stable},
          {"ended_at", r.ended_at ? json(format_rfc3339(*r.ended_at)) : json(nullptr)},
          {"actor", e ? json(e->actor) : json(nullptr)},
          {"reason", e ? json(e->reason) : json(nullptr)}};
}

json deliveries_json(const rollout::DeliverySummary& d) {
  json recent = json::array();
  for (const auto& p : d.recent)
    recent.push_back({{"hook", p.delivery.hook},
                      {"seq", p.delivery.event_seq},
                      {"action", p.action},
                      {"state", rollout::to_string(p.delivery.state)},
                      {"attempts", p.delivery.attempts},
                      {"last_error", p.delivery.last_error ? json(*p.delivery.last_error) : json(nullptr)},
                      {"next_attempt_at", p.delivery.state == rollout::DeliveryState::pending
                                              ? json(format_rfc3339(p.delivery.next_attempt_at))
                                              : json(nullptr)}});
  return {{"pending", d.pending}, {"failed", d.failed}, {"recent", recent}};
}

// One line when notifications of the track's events are not delivered.
void print_deliveries(std::ostream& h, const rollout::DeliverySummary& d, bool colour) {
  if (d.pending == 0 && d.failed == 0)
    return;
  h << "hooks    "
    << paint(std::to_string(d.pending) + " pending, " + std::to_string(d.failed) + " failed",
             d.failed ? style::bold_red : style::yellow, colour);
  if (!d.recent.empty()) {
    const auto& p = d.recent.front();
    h << "; newest: " << p.delivery.hook << " (" << p.action << ", " << p.delivery.attempts
      << (p.delivery.attempts == 1 ? " attempt" : " attempts") << ")"
      << (p.delivery.last_error ? ": " + *p.delivery.last_error : "");
  }
  h << "  (`kanari hook log`)\n";
}

// Sessions: live pins per arm, draining ones, and the share of the step's
// session requests each arm served (docs/routing.md, "Sessions").
json sessions_json(const rollout::SessionSummary& s) {
  auto share = [&](std::int64_t n) {
    return s.served() == 0 ? json(nullptr)
                           : json(std::round(1e6 * static_cast<double>(n) / static_cast<double>(s.served())) / 1e4);
  };
  return {{"pinned", {{"stable", s.pinned_stable}, {"canary", s.pinned_canary}, {"previous", s.pinned_previous}}},
          {"draining", s.draining},
          {"drain_until", s.drain_until ? json(format_rfc3339(*s.drain_until)) : json(nullptr)},
          {"requests", {{"stable", s.served_stable}, {"canary", s.served_canary}, {"previous", s.served_previous}}},
          {"served_percentage",
           {{"stable", share(s.served_stable)},
            {"canary", share(s.served_canary)},
            {"previous", share(s.served_previous)}}}};
}

void print_sessions(std::ostream& h, const rollout::Status& st) {
  const auto& s = st.sessions;
  if (s.pinned() == 0 && s.served() == 0)
    return;
  h << "sessions " << s.pinned_stable << " pinned to stable, " << s.pinned_canary << " to canary";
  if (s.pinned_previous)
    h << ", " << s.pinned_previous << " to a previous version";
  if (s.draining)
    h << " (" << s.draining << " draining until " << format_rfc3339(*s.drain_until) << ")";
  h << "\n";
  if (st.rollout && s.served() > 0) {
    char line[160];
    const auto pct = [&](std::int64_t n) { return 100.0 * static_cast<double>(n) / static_cast<double>(s.served()); };
    std::snprintf(line, sizeof line, "served   %.1f %% canary, %.1f %% stable", pct(s.served_canary),
                  pct(s.served_stable));
    h << line;
    if (s.served_previous) {
      std::snprintf(line, sizeof line, ", %.1f %% previous", pct(s.served_previous));
      h << line;
    }
    h << " of " << s.served() << " session requests this step (configured: "
      << rollout::percentage_json(st.rollout->steps_bp.at(static_cast<size_t>(st.rollout->step))).dump() << " % canary"
      << (st.rollout->shadow_step() ? ", mirrored: a shadow step serves the stable" : "") << ")\n";
  }
}

} // namespace

json status_json(const rollout::Status& st) {
  const auto& r = st.rollout;
  json steps = json::array();
  if (r)
    for (auto s : r->steps_bp)
      steps.push_back(rollout::percentage_json(s));
  auto w = waiting_for(st);
  return {{"track", st.track},
          {"state", r ? json(rollout::to_string(r->state)) : json("idle")},
          {"stable", st.stable ? json(*st.stable) : json(nullptr)},
          {"canary", r ? json(r->canary) : json(nullptr)},
          {"rollout", r ? json(r->id) : json(nullptr)},
          {"salt", r ? json(r->salt) : json(nullptr)},
          {"step", r ? json(r->step) : json(nullptr)},
          {"steps", steps},
          {"percentage", r ? rollout::percentage_json(r->steps_bp.at(static_cast<size_t>(r->step))) : json(0)},
          {"shadow", r ? r->shadow_step() : false},
          {"shadow_steps", r ? r->shadow_steps : 0},
          {"canary_stats", arm_json(st.samples.canary)},
          {"stable_stats", arm_json(st.samples.baseline)},
          {"min_samples", st.policy.min_samples},
          {"min_stable_samples", st.policy.effective_min_stable_samples()},
          {"waiting_for", w ? json(*w) : json(nullptr)},
          {"policy_sha256", r ? json(r->policy_sha256) : json(nullptr)},
          {"started_at", r ? json(format_rfc3339(r->started_at)) : json(nullptr)},
          {"step_started_at", r ? json(format_rfc3339(r->step_started_at)) : json(nullptr)},
          {"metrics", rollout::gated_metrics_json(st.policy, st.samples)},
          {"paired", rollout::paired_json(st.samples)},
          {"last_rollout", last_rollout_json(st)},
          {"deliveries", deliveries_json(st.deliveries)},
          {"sessions", sessions_json(st.sessions)}};
}

namespace {

// The gated metrics, one row each with both arms' values and counts.
void print_gated_metrics(std::ostream& h, const rollout::Status& st, bool colour) {
  const json metrics = rollout::gated_metrics_json(st.policy, st.samples);
  if (!metrics.empty()) {
    Table table({{"METRIC"},
                 {"AGGREGATE"},
                 {"CANARY", Table::Align::right},
                 {"N", Table::Align::right},
                 {"STABLE", Table::Align::right},
                 {"N", Table::Align::right}});
    auto value = [](const json& arm) {
      if (arm.at("value").is_null())
        return std::string("-");
      char b[32];
      std::snprintf(b, sizeof b, "%.6g", arm.at("value").get<double>());
      return std::string(b);
    };
    for (const auto& m : metrics)
      table.add_row({m.at("metric").get<std::string>(), m.at("aggregate").get<std::string>(), value(m.at("canary")),
                     m.at("canary").at("n").dump(), value(m.at("stable")), m.at("stable").at("n").dump()});
    h << "\n" << table.render(colour);
  }
  if (const json p = rollout::paired_json(st.samples); !p.is_null())
    h << "\npaired   " << p.at("pairs").dump() << " tasks ran on both versions: " << p.at("both_pass").dump()
      << " both passed, " << p.at("stable_only").dump() << " stable only, " << p.at("canary_only").dump()
      << " canary only, " << p.at("both_fail").dump() << " both failed\n";
}

} // namespace

void print_status(Context& ctx, const rollout::Status& st) {
  if (ctx.g.json) {
    ctx.print_json(status_json(st));
    return;
  }
  auto& h = ctx.human();
  const auto& r = st.rollout;
  h << "track    " << st.track << "\n";
  h << "stable   " << (st.stable ? *st.stable : "(none)") << "\n";
  if (!r) {
    h << "state    idle (no rollout; everyone gets stable)\n";
    if (st.last) {
      const bool back = st.last->state == rollout::RolloutState::rolled_back;
      h << "last     rollout " << st.last->id << " of " << st.last->canary.substr(0, 12) << " "
        << paint(back ? "rolled back" : "promoted", back ? style::red : style::green, ctx.colour());
      if (st.last->ended_at)
        h << " " << format_rfc3339(*st.last->ended_at);
      if (st.last_end)
        h << " by " << st.last_end->actor << ": " << st.last_end->reason;
      h << "\n";
    }
    print_sessions(h, st);
    print_deliveries(h, st.deliveries, ctx.colour());
    return;
  }
  h << "canary   " << r->canary << "\n";
  const char* state_style = r->state == rollout::RolloutState::active ? style::green : style::yellow;
  h << "state    " << paint(rollout::to_string(r->state), state_style, ctx.colour()) << ", " << rollout::step_phrase(*r)
    << "  (steps";
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(r->steps_bp.size()); ++i)
    h << " " << rollout::step_spelling(*r, i);
  h << ")\n";
  h << "rollout  " << r->id << ", salt " << r->salt << ", started " << format_rfc3339(r->started_at) << "\n\n";
  Table table({{"ARM"},
               {"N", Table::Align::right},
               {"PASS", Table::Align::right},
               {"RATE", Table::Align::right},
               {"95 % CI"},
               {"P50 MS", Table::Align::right},
               {"P95 MS", Table::Align::right}});
  auto row = [&](const char* name, const rollout::SampleStats& s) {
    auto ci = gate::wilson_interval(s.pass, s.n);
    char ci_text[40] = "-";
    if (s.n)
      std::snprintf(ci_text, sizeof ci_text, "[%.1f, %.1f]", 100 * ci.lo, 100 * ci.hi);
    auto num = [](const std::optional<double>& v) {
      char b[24] = "-";
      if (v)
        std::snprintf(b, sizeof b, "%.0f", *v);
      return std::string(b);
    };
    table.add_row({name, std::to_string(s.n), std::to_string(s.pass), rate_text(s), std::string(ci_text),
                   num(s.latency_p50_ms), num(s.latency_p95_ms)});
  };
  row("canary", st.samples.canary);
  row("stable", st.samples.baseline);
  h << table.render(ctx.colour());
  print_gated_metrics(h, st, ctx.colour());
  auto w = waiting_for(st);
  h << "\ngate     " << gate::to_string(st.policy.method) << ", min " << st.policy.min_samples
    << " canary tasks per step; " << (w ? "waiting for " + *w : "enough data: run `kanari canary evaluate`") << "\n";
  print_sessions(h, st);
  print_deliveries(h, st.deliveries, ctx.colour());
}

namespace {

Result<int> show_status(Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto st = rollout::track_status(**lib, ctx.g.track);
  KANARI_TRY(st);
  print_status(ctx, *st);
  return 0;
}

// `canary status --all`: every track, in name order.
Result<int> show_all_statuses(Context& ctx) {
  if (ctx.g.track_given)
    return usage_error("give --all or --track, not both: --all shows every track");
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto tracks = rollout::list_tracks(**lib);
  KANARI_TRY(tracks);
  json all = json::array();
  for (const auto& t : *tracks) {
    auto st = rollout::track_status(**lib, t.track);
    KANARI_TRY(st);
    if (ctx.g.json) {
      all.push_back(status_json(*st));
    } else {
      if (&t != &tracks->front())
        ctx.human() << "\n";
      print_status(ctx, *st);
    }
  }
  if (ctx.g.json)
    ctx.print_json(all);
  else if (tracks->empty())
    ctx.human() << "No tracks yet: `kanari version add` creates one.\n";
  return 0;
}

// ---- start ----

struct StartOptions {
  std::string version;
  std::string percentage;
  std::string steps;
  bool shadow = false;
  std::string reason;
  PolicyFlags policy;
};

Result<int> run_start(const StartOptions& o, Context& ctx) {
  if (o.version.empty())
    return usage_error("--version REF is required: the version to roll out");
  if (!o.percentage.empty() && !o.steps.empty())
    return usage_error("give --percentage or --steps, not both");
  Steps steps;
  if (!o.percentage.empty()) {
    auto bp = parse_percentage(o.percentage, "--percentage");
    KANARI_TRY(bp);
    steps.bp = {*bp};
  } else if (!o.steps.empty()) {
    auto s = parse_steps(o.steps);
    KANARI_TRY(s);
    steps = std::move(*s);
  }
  auto policy = build_policy(o.policy, ctx);
  KANARI_TRY(policy);
  const char* source = "--steps";
  if (steps.bp.empty()) {
    steps = {policy->steps_bp, policy->shadow_steps};
    source = "the policy file's steps";
  }
  if (steps.bp.empty())
    return usage_error("give --percentage P or --steps P1,P2,... (or \"steps\" in the policy file)");
  if (o.shadow && steps.shadow > 0)
    return usage_error(std::string("give --shadow or shadow:P steps, not both: ") + source +
                       " already name shadow steps, and --shadow makes every step one");
  if (o.shadow)
    steps.shadow = static_cast<std::int64_t>(steps.bp.size());
  // The stored policy says which steps were shadow steps.
  policy->steps_bp = steps.bp;
  policy->shadow_steps = steps.shadow;
  auto id = resolve(ctx, o.version);
  KANARI_TRY(id);
  auto lib = ctx.lib();
  auto r = rollout::start_rollout(**lib, {ctx.g.track, *id, steps.bp, *policy, steps.shadow, o.reason});
  KANARI_TRY(r);
  if (!ctx.g.json)
    ctx.human() << "Started rollout " << r->id << ": " << r->canary.substr(0, 12) << ", " << rollout::step_phrase(*r)
                << ", against stable " << r->stable.substr(0, 12) << "\n\n";
  return show_status(ctx);
}

// ---- promote / rollback / pause / resume / approve ----

struct TransitionOptions {
  std::string reason;
  bool full = false;
  std::optional<std::int64_t> from_step;
  bool all = false;
};

enum class Verb { promote, rollback, pause, resume, approve };

Result<int> run_transition_all(Verb verb, const TransitionOptions& o, Context& ctx);

Result<int> run_transition(Verb verb, const TransitionOptions& o, Context& ctx) {
  if (o.all)
    return run_transition_all(verb, o, ctx);
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  // The transition expects the rollout and step this command saw when it
  // started (or --from-step), so a concurrent change makes it exit 5
  // instead of acting twice.
  auto expect = rollout::current_expectation(**lib, ctx.g.track);
  KANARI_TRY(expect);
  rollout::TransitionInput in{ctx.g.track, o.reason, *expect, json::object()};
  if (o.from_step)
    in.expect.step = *o.from_step;
  Result<rollout::RolloutRecord> r = rollout::RolloutRecord{};
  const char* done = "";
  switch (verb) {
  case Verb::promote:
    r = rollout::promote(**lib, in, o.full);
    done = "Promoted";
    break;
  case Verb::rollback:
    r = rollout::rollback(**lib, in);
    done = "Rolled back";
    break;
  case Verb::pause:
    r = rollout::pause(**lib, in);
    done = "Paused";
    break;
  case Verb::resume:
    r = rollout::resume(**lib, in);
    done = "Resumed";
    break;
  case Verb::approve:
    r = rollout::approve(**lib, in);
    done = "Approved step of";
    break;
  }
  KANARI_TRY(r);
  if (verb == Verb::rollback)
    report_rollback(ctx, r->track, rollback_reason(o.reason, ctx.g.actor));
  if (!ctx.g.json) {
    auto& h = ctx.human();
    h << done << " rollout " << r->id << " (" << r->canary.substr(0, 12) << ")";
    if (r->state == rollout::RolloutState::promoted)
      h << ": it is now the stable of track '" << r->track << "'";
    else if (verb == Verb::promote)
      h << ": now at " << rollout::step_phrase(*r);
    else if (r->state == rollout::RolloutState::rolled_back)
      h << ": canary at 0 %, stable unchanged";
    h << "\n\n";
  }
  return show_status(ctx);
}

// `canary rollback|pause|resume --all`: every open rollout (pause: every
// active one; resume: every paused one), each track its own transition,
// going on past a track that fails.
Result<int> run_transition_all(Verb verb, const TransitionOptions& o, Context& ctx) {
  if (ctx.g.track_given)
    return usage_error("give --all or --track, not both: --all acts on every track");
  if (o.from_step)
    return usage_error("--from-step goes with one track's rollout, not with --all");
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto tracks = rollout::list_tracks(**lib);
  KANARI_TRY(tracks);
  json all = json::array();
  int code = 0;
  std::size_t acted = 0;
  for (const auto& t : *tracks) {
    if (!t.rollout || (verb == Verb::pause && t.rollout->state != rollout::RolloutState::active) ||
        (verb == Verb::resume && t.rollout->state != rollout::RolloutState::paused))
      continue;
    ++acted;
    // Expect the rollout as it was listed: one that ended or was replaced
    // meanwhile is a conflict, not a transition of another rollout.
    const rollout::TransitionInput in{t.track, o.reason, {t.rollout->id, std::nullopt}, json::object()};
    Result<json> done = Error{ErrorCode::operational, ""};
    std::string line;
    try {
      auto r = verb == Verb::rollback ? rollout::rollback(**lib, in)
               : verb == Verb::pause  ? rollout::pause(**lib, in)
                                      : rollout::resume(**lib, in);
      if (r.ok()) {
        const char* what = verb == Verb::rollback ? "rolled back" : verb == Verb::pause ? "paused" : "resumed";
        line =
            t.track + ": " + what + " rollout " + std::to_string(r->id) + " (canary " + r->canary.substr(0, 12) + ")\n";
        if (verb == Verb::rollback)
          report_rollback(ctx, t.track, rollback_reason(o.reason, ctx.g.actor));
        auto st = rollout::track_status(**lib, t.track);
        done = st.ok() ? Result<json>(status_json(*st)) : Result<json>(st.error());
      } else {
        done = r.error();
      }
    } catch (const std::exception& e) { // a store failure on this track must not stop the others
      done = operational_error(e.what());
    }
    if (!done.ok()) {
      const int c = static_cast<int>(done.error().code);
      code = worst_exit_code(code, c);
      ctx.err << "kanari: error: track '" << t.track << "': " << done.error().message << "\n";
      if (ctx.g.json)
        all.push_back({{"track", t.track}, {"error", done.error().message}, {"exit_code", c}});
      else
        ctx.human() << t.track << ": " << paint("ERROR", style::bold_red, ctx.colour()) << " (nothing changed)\n";
      continue;
    }
    if (ctx.g.json)
      all.push_back(std::move(*done));
    else
      ctx.human() << line;
  }
  if (ctx.g.json)
    ctx.print_json(all);
  else if (acted == 0)
    ctx.human() << "No track has "
                << (verb == Verb::pause    ? "an active"
                    : verb == Verb::resume ? "a paused"
                                           : "an open")
                << " rollout.\n";
  return code;
}

// ---- Bernstein's form ----

struct BernsteinOptions {
  std::string prompt_version;
  std::string percentage;
  bool promote = false;
  bool rollback = false;
  std::string reason;
};

} // namespace

void setup_canary(CLI::App& app, Registry& reg) {
  auto* canary = app.add_subcommand("canary", "Start, inspect, promote, roll back, pause and evaluate rollouts");

  auto start = std::make_shared<StartOptions>();
  auto* s = canary->add_subcommand("start", "Start a rollout of a version against the track's stable");
  s->add_option("--version", start->version, "the version REF to roll out")->required();
  s->add_option("--percentage", start->percentage, "one step: the canary's share of traffic, (0, 100]");
  s->add_option("--steps", start->steps,
                "staged: ascending percentages, e.g. 5,25,50,100, optionally led by shadow steps shadow:P "
                "(shadow:20,5,25,100)");
  s->add_flag("--shadow", start->shadow,
              "make every step a shadow step: serve stable to everyone; mark the canary's share for mirroring");
  s->add_option("--reason", start->reason, "why, recorded in the event");
  add_policy_flags(s, start->policy);
  reg.on(s, start, run_start);

  auto status_all = std::make_shared<bool>(false);
  auto* st = canary->add_subcommand("status", "State, versions, step, per-arm counts and what the gate waits for");
  st->add_flag("--all", *status_all, "every track of the store, in name order (a JSON array with --json)");
  reg.on(st, status_all, [](const bool& all, Context& ctx) { return all ? show_all_statuses(ctx) : show_status(ctx); });

  auto add_transition = [&](const char* name, const char* help, Verb verb) {
    auto opts = std::make_shared<TransitionOptions>();
    auto* t = canary->add_subcommand(name, help);
    t->add_option("--reason", opts->reason, "why, recorded in the event");
    t->add_option("--from-step", opts->from_step,
                  "act only if the rollout is still at this step (0-based), else exit 5");
    if (verb == Verb::promote)
      t->add_flag("--full", opts->full, "make the canary stable now, skipping the remaining steps");
    if (verb == Verb::rollback || verb == Verb::pause || verb == Verb::resume)
      t->add_flag("--all", opts->all,
                  verb == Verb::rollback ? "every open rollout of every track (the kill switch), each its own "
                                           "transition and event; exit code: the worst track's"
                  : verb == Verb::pause  ? "every active rollout of every track, each its own transition and event"
                                         : "every paused rollout of every track, each its own transition and event");
    reg.on(t, opts, [verb](const TransitionOptions& o, Context& ctx) { return run_transition(verb, o, ctx); });
  };
  add_transition("promote", "Advance one step; at the last step (or --full) the canary becomes stable", Verb::promote);
  add_transition("rollback", "End the rollout: canary at 0 %, stable unchanged. Instant", Verb::rollback);
  add_transition("pause", "Hold the rollout: evaluate never promotes while paused (it may still roll back)",
                 Verb::pause);
  add_transition("resume", "Resume a paused rollout", Verb::resume);
  add_transition("approve", "Grant the approval the current step requires (policy require_approval)", Verb::approve);

  setup_evaluate(*canary, reg);
  setup_undo(*canary, reg);
  setup_wait(*canary, reg);

  auto bern = std::make_shared<BernsteinOptions>();
  canary->add_option("--prompt-version", bern->prompt_version, "Bernstein's form of `canary start --version`");
  canary->add_option("--percentage", bern->percentage, "with --prompt-version: the canary's share, (0, 100]");
  canary->add_flag("--promote", bern->promote, "Bernstein's form of `canary promote`");
  canary->add_flag("--rollback", bern->rollback, "Bernstein's form of `canary rollback`");
  canary->add_option("--reason", bern->reason, "with the forms above: why, recorded in the event");
  canary->callback([&reg, canary, bern] {
    if (!canary->get_subcommands().empty())
      return; // a subcommand chose the action
    reg.action = [&reg, bern]() -> Result<int> {
      const BernsteinOptions& b = *bern;
      int forms = !b.prompt_version.empty() + b.promote + b.rollback;
      if (forms == 0)
        return usage_error(
            "give a subcommand (start, status, promote, rollback, pause, resume, approve, evaluate, wait, undo); "
            "see `kanari canary --help`");
      if (forms > 1)
        return usage_error("give one of --prompt-version, --promote, --rollback");
      if (!b.prompt_version.empty()) {
        if (b.percentage.empty())
          return usage_error("--prompt-version needs --percentage P");
        StartOptions so;
        so.version = b.prompt_version;
        so.percentage = b.percentage;
        so.reason = b.reason;
        return run_start(so, reg.ctx);
      }
      if (!b.percentage.empty())
        return usage_error("--percentage goes with --prompt-version (or `canary start`)");
      TransitionOptions t;
      t.reason = b.reason;
      return run_transition(b.promote ? Verb::promote : Verb::rollback, t, reg.ctx);
    };
  });
}

} // namespace kanari::cli
