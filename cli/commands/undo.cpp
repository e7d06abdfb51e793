// kanari canary undo: takes back the latest promotion, the one command
// that undoes a bad promotion (docs/operations.md, "At 3 AM").
#include "commands.hpp"

#include "rollout/lifecycle.hpp"

namespace kanari::cli {

using nlohmann::json;

namespace {

struct UndoOptions {
  std::string reason;
  std::optional<std::int64_t> rollout;
};

Result<int> run_undo(const UndoOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  rollout::TransitionInput in{ctx.g.track, o.reason, {}, json::object()};
  in.expect.rollout = o.rollout;
  auto r = rollout::undo_promotion(**lib, in);
  KANARI_TRY(r);
  if (ctx.g.json) {
    ctx.print_json({{"track", r->track}, {"undone", r->id}, {"stable", r->stable}, {"previous_stable", r->canary}});
    return 0;
  }
  ctx.human() << "Took back rollout " << r->id << "'s promotion: " << r->stable.substr(0, 12)
              << " is the stable of track '" << r->track << "' again (it was " << r->canary.substr(0, 12) << ")\n";
  return 0;
}

} // namespace

void setup_undo(CLI::App& canary, Registry& reg) {
  auto opts = std::make_shared<UndoOptions>();
  auto* u = canary.add_subcommand(
      "undo", "Take back the latest promotion: its previous stable becomes the stable again, at once (exit 5 "
              "when a rollout is open, the latest was not promoted, or the stable changed since)");
  u->add_option("--reason", opts->reason, "why, recorded in the event");
  u->add_option("--rollout", opts->rollout, "only if the latest rollout is this one (exit 5 otherwise)");
  reg.on(u, opts, run_undo);
}

} // namespace kanari::cli
