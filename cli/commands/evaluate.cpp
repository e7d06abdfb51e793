// kanari canary evaluate [--all] [--apply]: the gate's verdict for a track,
// or every track with an open rollout; exit 1 when a rollback is due or was
// applied (SPEC §3.2), so CI can fail on it.
#include "commands.hpp"

#include "rollout/lifecycle.hpp"

namespace kanari::cli {

using nlohmann::json;

namespace {

struct EvaluateOptions {
  bool all = false;
  bool apply = false;
};

void print_human(Context& ctx, const rollout::Evaluation& ev) {
  auto& h = ctx.human();
  h << ev.track << ": " << paint(gate::to_string(ev.gate.verdict), verdict_style(ev.gate.verdict), ctx.colour());
  if (ev.applied) {
    h << " (applied: ";
    if (ev.action == "advanced")
      h << "advanced to step " << ev.rollout->step + 1 << ", "
        << rollout::percentage_json(ev.rollout->steps_bp.at(static_cast<size_t>(ev.rollout->step))).dump() << " %";
    else if (ev.action == "promoted")
      h << "the canary is now stable";
    else
      h << "rolled back; canary at 0 %";
    h << ")";
  } else if (ev.gate.verdict == gate::Verdict::rollback || ev.gate.verdict == gate::Verdict::promote) {
    h << " (not applied" << (ctx.g.quiet ? "" : "; pass --apply to act") << ")";
  }
  h << "\n";
  for (const auto& reason : ev.gate.reasons)
    h << "  " << reason << "\n";
  if (ev.gate.more_canary_tasks)
    h << "  about " << *ev.gate.more_canary_tasks << " more canary tasks needed for a verdict\n";
}

} // namespace

std::string verdict_style(gate::Verdict v) {
  switch (v) {
  case gate::Verdict::promote: return style::green;
  case gate::Verdict::rollback: return style::bold_red;
  case gate::Verdict::no_canary: return "";
  default: return style::yellow;
  }
}

namespace {

// The exit code of several tracks: the worst of theirs, an error (3, or its
// own code) over a rollback (1) over anything else (0).
int worse(int a, int b) {
  auto rank = [](int code) { return code == 0 ? 0 : code == 1 ? 1 : code == 3 ? 3 : 2; };
  return rank(b) > rank(a) ? b : a;
}

// One track's evaluation; a failure (its error, or a store failure) becomes
// an Error, so that `--all` goes on with the other tracks.
Result<rollout::Evaluation> evaluate_one(rollout::Context& lib, const std::string& track, rollout::Apply apply) {
  try {
    return rollout::evaluate_track(lib, track, apply);
  } catch (const store::StoreFailure& e) {
    return operational_error(std::string(e.what()) + "; check the store's disk and permissions, and run `kanari doctor`");
  }
}

Result<int> run_evaluate(const EvaluateOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  if (!o.all) {
    auto ev = rollout::evaluate_track(**lib, ctx.g.track, o.apply ? rollout::Apply::yes : rollout::Apply::no);
    KANARI_TRY(ev);
    if (ctx.g.json)
      ctx.print_json(rollout::verdict_json(*ev));
    else
      print_human(ctx, *ev);
    return ev->gate.verdict == gate::Verdict::rollback ? 1 : 0;
  }
  // Every track is evaluated, each in its own transaction, even when one
  // fails: a damaged rollout on one track must not stop cron from rolling
  // back a bad canary on another. What was applied where is printed.
  const auto tracks = (*lib)->store.tracks_with_open_rollouts();
  const auto apply = o.apply ? rollout::Apply::yes : rollout::Apply::no;
  json all = json::array();
  int code = 0;
  for (const auto& t : tracks) {
    auto ev = evaluate_one(**lib, t, apply);
    if (!ev.ok()) {
      const int failed = static_cast<int>(ev.error().code);
      code = worse(code, failed);
      ctx.err << "kanari: error: track '" << t << "': " << ev.error().message << "\n";
      if (ctx.g.json)
        all.push_back({{"track", t}, {"error", ev.error().message}, {"exit_code", failed}, {"applied", false},
                       {"action", "none"}, {"verdict", nullptr}});
      else
        ctx.human() << t << ": " << paint("ERROR", style::bold_red, ctx.colour()) << " (nothing applied)\n  "
                    << ev.error().message << "\n";
      continue;
    }
    code = worse(code, ev->gate.verdict == gate::Verdict::rollback ? 1 : 0);
    if (ctx.g.json)
      all.push_back(rollout::verdict_json(*ev));
    else
      print_human(ctx, *ev);
  }
  if (ctx.g.json)
    ctx.print_json(all);
  else if (tracks.empty())
    ctx.human() << "No track has an open rollout.\n";
  return code;
}

} // namespace

void setup_evaluate(CLI::App& canary, Registry& reg) {
  auto opts = std::make_shared<EvaluateOptions>();
  auto* e = canary.add_subcommand(
      "evaluate", "The gate's verdict (PROMOTE, HOLD, ROLLBACK, ...); exit 1 when a rollback is due or applied");
  e->add_flag("--all", opts->all,
              "every track with an open rollout, each in its own transaction, going on past a track that fails "
              "(prints a JSON array with --json; exit code: the worst track's, 3 over 1 over 0)");
  e->add_flag("--apply", opts->apply, "perform the verdict atomically: advance/promote or roll back");
  reg.on(e, opts, run_evaluate);
}

} // namespace kanari::cli
