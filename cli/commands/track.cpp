// kanari track list: every track of the store, its stable and its open
// rollout (docs/cli.md).
#include "commands.hpp"

#include "rollout/lifecycle.hpp"
#include "rollout/tracks.hpp"

namespace kanari::cli {

using nlohmann::json;

namespace {

Result<int> run_track_list(Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto tracks = rollout::list_tracks(**lib);
  KANARI_TRY(tracks);
  if (ctx.g.json) {
    json arr = json::array();
    for (const auto& t : *tracks) {
      const auto& r = t.rollout;
      arr.push_back(
          {{"track", t.track},
           {"stable", t.stable ? json(*t.stable) : json(nullptr)},
           {"state", r ? json(rollout::to_string(r->state)) : json("idle")},
           {"rollout", r ? json(r->id) : json(nullptr)},
           {"canary", r ? json(r->canary) : json(nullptr)},
           {"percentage", r ? rollout::percentage_json(r->steps_bp.at(static_cast<size_t>(r->step))) : json(nullptr)}});
    }
    ctx.print_json(arr);
    return 0;
  }
  auto& h = ctx.human();
  if (tracks->empty()) {
    h << "No tracks yet: `kanari version add` creates one.\n";
    return 0;
  }
  Table table({{"TRACK"}, {"STABLE"}, {"STATE"}, {"ROLLOUT", Table::Align::right}, {"CANARY"}, {"STEP"}});
  for (const auto& t : *tracks) {
    const auto& r = t.rollout;
    std::string state = r ? std::string(rollout::to_string(r->state)) : "idle";
    const char* state_style = !r ? "" : r->state == rollout::RolloutState::active ? style::green : style::yellow;
    table.add_row({t.track,
                   t.stable ? t.stable->substr(0, 12) : "-",
                   {state, state_style},
                   r ? std::to_string(r->id) : "-",
                   r ? r->canary.substr(0, 12) : "-",
                   r ? rollout::step_phrase(*r) : "-"});
  }
  h << table.render(ctx.colour());
  return 0;
}

} // namespace

void setup_track(CLI::App& app, Registry& reg) {
  auto* track = app.add_subcommand("track", "The store's tracks");
  track->require_subcommand(1);
  auto* list = track->add_subcommand(
      "list", "Every track: its stable, rollout state, rollout id, canary and percentage (--track is ignored)");
  reg.on(list, std::make_shared<int>(0), [](const int&, Context& ctx) { return run_track_list(ctx); });
}

} // namespace kanari::cli
