// kanari history [--limit N]: the track's events, newest first.
#include "commands.hpp"

#include "rollout/audit.hpp"
#include "util/time.hpp"

namespace kanari::cli {

using nlohmann::json;

namespace {

struct HistoryOptions {
  std::optional<std::int64_t> limit;
};

Result<int> run_history(const HistoryOptions& o, Context& ctx) {
  if (o.limit && *o.limit < 1)
    return usage_error("--limit must be at least 1, got " + std::to_string(*o.limit));
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto events = (*lib)->store.events(ctx.g.track, o.limit);
  if (ctx.g.json) {
    json arr = json::array();
    for (const auto& e : events) {
      json j = rollout::event_json(e);
      j.erase("prev_hash");
      arr.push_back(std::move(j));
    }
    ctx.print_json(arr);
    return 0;
  }
  auto& h = ctx.human();
  if (events.empty())
    h << "No events on track '" << ctx.g.track << "'.\n";
  for (const auto& e : events) {
    h << e.seq << "  " << format_rfc3339(e.at) << "  " << e.action;
    if (e.version)
      h << "  " << e.version->substr(0, 12);
    h << "  by " << e.actor << "\n    " << e.reason << "\n";
  }
  return 0;
}

} // namespace

void setup_history(CLI::App& app, Registry& reg) {
  auto o = std::make_shared<HistoryOptions>();
  auto* h = app.add_subcommand("history", "The track's events (audit log), newest first");
  h->add_option("--limit", o->limit, "show at most N events");
  reg.on(h, o, run_history);
}

} // namespace kanari::cli
