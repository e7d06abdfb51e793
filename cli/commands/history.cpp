// kanari history [--limit N] [--all]: the track's events (or every track's),
// newest first.
#include "commands.hpp"

#include "rollout/audit.hpp"
#include "rollout/tracks.hpp"
#include "util/time.hpp"

namespace kanari::cli {

using nlohmann::json;

namespace {

// Reasons are free text: keep each event on one line of the table.
std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text)
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  return out;
}

} // namespace

std::string action_style(std::string_view action) {
  if (action == "rolled_back")
    return style::red;
  if (action == "promoted" || action == "step_advanced" || action == "stable_set")
    return style::green;
  if (action == "paused")
    return style::yellow;
  return "";
}

namespace {

struct HistoryOptions {
  std::optional<std::int64_t> limit;
  bool all = false;
};

Result<int> run_history(const HistoryOptions& o, Context& ctx) {
  if (o.limit && *o.limit < 1)
    return usage_error("--limit must be at least 1, got " + std::to_string(*o.limit));
  if (o.all && ctx.g.track_given)
    return usage_error("give --all or --track, not both: --all shows every track's events");
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto events = o.all ? rollout::all_history(**lib, o.limit) : rollout::track_history(**lib, ctx.g.track, o.limit);
  KANARI_TRY(events);
  if (ctx.g.json) {
    json arr = json::array();
    for (const auto& e : *events) {
      json j = rollout::event_json(e);
      j.erase("prev_hash");
      arr.push_back(std::move(j));
    }
    ctx.print_json(arr);
    return 0;
  }
  auto& h = ctx.human();
  if (events->empty()) {
    if (o.all)
      h << "No events in the store.\n";
    else
      h << "No events on track '" << ctx.g.track << "'.\n";
    return 0;
  }
  std::vector<Table::Column> columns{{"SEQ", Table::Align::right}, {"AT"}};
  if (o.all)
    columns.push_back({"TRACK"});
  for (const char* c : {"ACTION", "VERSION", "ACTOR", "REASON"})
    columns.push_back({c});
  Table table(std::move(columns));
  for (const auto& e : *events) {
    std::vector<Table::Cell> row{std::to_string(e.seq), format_rfc3339(e.at)};
    if (o.all)
      row.emplace_back(e.track);
    row.emplace_back(e.action, action_style(e.action));
    row.emplace_back(e.version ? e.version->substr(0, 12) : "-");
    row.emplace_back(e.actor);
    row.emplace_back(one_line(e.reason));
    table.add_row(std::move(row));
  }
  h << table.render(ctx.colour());
  return 0;
}

} // namespace

void setup_history(CLI::App& app, Registry& reg) {
  auto o = std::make_shared<HistoryOptions>();
  auto* h = app.add_subcommand("history", "The track's events (audit log), newest first");
  h->add_option("--limit", o->limit, "show at most N events");
  h->add_flag("--all", o->all, "every track's events, merged, newest first");
  reg.on(h, o, run_history);
}

} // namespace kanari::cli
