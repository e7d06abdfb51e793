// kanari metrics [--output FILE]: Prometheus text exposition of every track
// (or the --track given), for node_exporter's textfile collector.
#include "commands.hpp"

#include "output/files.hpp"
#include "report/metrics.hpp"

namespace kanari::cli {

using nlohmann::json;

namespace {

struct MetricsOptions {
  std::string output;
};

Result<int> run_metrics(const MetricsOptions& o, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  std::vector<std::string> tracks;
  if (ctx.g.track_given)
    tracks.push_back(ctx.g.track);
  auto families = report::gather_metrics(**lib, tracks);
  KANARI_TRY(families);
  std::size_t samples = 0;
  for (const auto& f : *families)
    samples += f.samples.size();
  if (o.output.empty()) {
    // The exposition is the command's output, like `route --keys`: printed
    // even with --quiet.
    if (ctx.g.json)
      ctx.print_json(report::metrics_json(*families));
    else
      ctx.out << report::exposition_text(*families) << std::flush;
    return 0;
  }
  KANARI_TRY(write_file_atomically(o.output, report::exposition_text(*families), "--output file"));
  if (ctx.g.json)
    ctx.print_json({{"output", o.output}, {"samples", samples}});
  else
    ctx.human() << "Wrote " << samples << " samples to " << o.output << "\n";
  return 0;
}

} // namespace

void setup_metrics(CLI::App& app, Registry& reg) {
  auto o = std::make_shared<MetricsOptions>();
  auto* m = app.add_subcommand("metrics",
                               "Prometheus text exposition of every track (or --track): outcomes, pass rates, latency "
                               "quantiles, rollout state and percentage");
  m->add_option("--output", o->output,
                "write to FILE atomically (temporary file + rename), e.g. for node_exporter's textfile collector "
                "directory; default: stdout");
  reg.on(m, o, run_metrics);
}

} // namespace kanari::cli
