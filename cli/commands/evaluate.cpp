// kanari canary evaluate [--all] [--apply]: the gate's verdict for a track,
// or every track with an open rollout; exit 1 when a rollback is due or was
// applied (docs/cli.md), so CI can fail on it.
#include "commands.hpp"

#include "rollout/lifecycle.hpp"

#include <sstream>

namespace kanari::cli {

using nlohmann::json;

namespace {

struct EvaluateOptions {
  bool all = false;
  bool apply = false;
};

void print_human(Context& ctx, const rollout::Evaluation& ev, std::ostream& h) {
  h << ev.track << ": " << paint(gate::to_string(ev.gate.verdict), verdict_style(ev.gate.verdict), ctx.colour());
  if (ev.applied) {
    h << " (applied: ";
    if (ev.action == "advanced")
      h << "advanced to " << rollout::step_phrase(*ev.rollout);
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

void report_rollback(Context& ctx, const std::string& track, const std::string& reason) {
  if (!ctx.g.quiet)
    return;
  std::string line;
  for (char c : reason)
    line += (c == '\n' || c == '\r') ? ' ' : c;
  ctx.err << "kanari: track '" << track << "' rolled back: " << line << "\n";
}

std::string rollback_reason(const std::string& reason, const std::string& actor) {
  return reason.empty() ? "by " + actor : reason;
}

std::string verdict_style(gate::Verdict v) {
  switch (v) {
  case gate::Verdict::promote: return style::green;
  case gate::Verdict::rollback: return style::bold_red;
  case gate::Verdict::no_canary: return "";
  default: return style::yellow;
  }
}

int worst_exit_code(int a, int b) {
  auto rank = [](int code) { return code == 0 ? 0 : code == 1 ? 1 : 3; };
  return std::max(rank(a), rank(b));
}

namespace {

// What `evaluate --all` prints for one track, made in full before any of it
// is printed, so a track that fails half-way prints only its error.
struct TrackOutput {
  int code = 0;
  json entry;        // with --json
  std::string human; // otherwise
};

// What a track's evaluation prints; a failure prints only its error.
TrackOutput track_output(Context& ctx, const std::string& track, const Result<rollout::Evaluation>& result) {
  TrackOutput out;
  Error error = result.ok() ? Error{ErrorCode::operational, ""} : result.error();
  if (result.ok()) {
    try {
      out.code = result->gate.verdict == gate::Verdict::rollback ? 1 : 0;
      if (ctx.g.json) {
        out.entry = rollout::verdict_json(*result);
      } else {
        std::ostringstream h;
        print_human(ctx, *result, h);
        out.human = h.str();
      }
      return out;
    } catch (const std::exception& e) {
      // A damaged row (a step outside its steps, say) must not stop the
      // output of the other tracks.
      error = operational_error(std::string("cannot evaluate: ") + e.what() + "; run `kanari doctor`");
    }
  }
  out.code = static_cast<int>(error.code);
  ctx.err << "kanari: error: track '" << track << "': " << error.message << "\n";
  if (ctx.g.json)
    out.entry = {{"track", track},   {"error", error.message}, {"exit_code", out.code},
                 {"applied", false}, {"action", "none"},       {"verdict", nullptr}};
  else
    out.human =
        track + ": " + paint("ERROR", style::bold_red, ctx.colour()) + " (nothing applied)\n  " + error.message + "\n";
  return out;
}

Result<int> run_evaluate(const EvaluateOptions& o, Context& ctx) {
  ctx.deliver_always = true; // cron's evaluate retries what is pending, even when it applies nothing
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  const auto apply = o.apply ? rollout::Apply::yes : rollout::Apply::no;
  if (!o.all) {
    auto ev = rollout::evaluate_track(**lib, ctx.g.track, apply);
    KANARI_TRY(ev);
    if (ev->applied && ev->action == "rolled_back")
      report_rollback(ctx, ev->track, ev->reason);
    if (ctx.g.json)
      ctx.print_json(rollout::verdict_json(*ev));
    else
      print_human(ctx, *ev, ctx.human());
    return ev->gate.verdict == gate::Verdict::rollback ? 1 : 0;
  }
  // What was applied where is printed, track by track.
  json all = json::array();
  int code = 0;
  auto tracks =
      rollout::evaluate_all(**lib, apply, [&](const std::string& track, const Result<rollout::Evaluation>& ev) {
        auto out = track_output(ctx, track, ev);
        code = worst_exit_code(code, out.code);
        if (ev.ok() && ev->applied && ev->action == "rolled_back")
          report_rollback(ctx, track, ev->reason);
        if (ctx.g.json)
          all.push_back(std::move(out.entry));
        else
          ctx.human() << out.human;
      });
  KANARI_TRY(tracks);
  if (ctx.g.json)
    ctx.print_json(all);
  else if (*tracks == 0)
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
              "(prints a JSON array with --json; exit code: the worst track's, a failed track 3 over 1 over 0)");
  e->add_flag("--apply", opts->apply, "perform the verdict atomically: advance/promote or roll back");
  reg.on(e, opts, run_evaluate);
}

} // namespace kanari::cli
