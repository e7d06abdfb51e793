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

Result<int> run_evaluate(const EvaluateOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  std::vector<std::string> tracks;
  if (o.all)
    tracks = (*lib)->store.tracks_with_open_rollouts();
  else
    tracks.push_back(ctx.g.track);
  const auto apply = o.apply ? rollout::Apply::yes : rollout::Apply::no;
  json all = json::array();
  bool rollback = false;
  for (const auto& t : tracks) {
    auto ev = rollout::evaluate_track(**lib, t, apply);
    KANARI_TRY(ev);
    rollback = rollback || ev->gate.verdict == gate::Verdict::rollback;
    if (ctx.g.json)
      all.push_back(rollout::verdict_json(*ev));
    else
      print_human(ctx, *ev);
  }
  if (ctx.g.json)
    ctx.print_json(o.all ? all : all.at(0));
  else if (o.all && tracks.empty())
    ctx.human() << "No track has an open rollout.\n";
  return rollback ? 1 : 0;
}

} // namespace

void setup_evaluate(CLI::App& canary, Registry& reg) {
  auto opts = std::make_shared<EvaluateOptions>();
  auto* e = canary.add_subcommand(
      "evaluate", "The gate's verdict (PROMOTE, HOLD, ROLLBACK, ...); exit 1 when a rollback is due or applied");
  e->add_flag("--all", opts->all, "every track with an open rollout (prints a JSON array with --json)");
  e->add_flag("--apply", opts->apply, "perform the verdict atomically: advance/promote or roll back");
  reg.on(e, opts, run_evaluate);
}

} // namespace kanari::cli
