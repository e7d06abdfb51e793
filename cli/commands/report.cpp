// kanari report [--rollout ID] [--html FILE|-] [--buckets N]: one rollout as
// a self-contained HTML page with charts, as JSON, or as a summary table.
#include "commands.hpp"

#include "output/files.hpp"
#include "report/report.hpp"
#include "rollout/lifecycle.hpp"
#include "util/time.hpp"

#include <cstdio>

namespace kanari::cli {

using nlohmann::json;

namespace {

struct ReportOptions {
  std::optional<std::int64_t> rollout;
  std::string html;
  int buckets = report::k_default_buckets;
};

std::string pct(std::int64_t pass, std::int64_t n) {
  if (n == 0)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", 100.0 * static_cast<double>(pass) / static_cast<double>(n));
  return buf;
}

std::string ms(const std::optional<double>& v) {
  if (!v)
    return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", *v);
  return buf;
}

void print_summary(Context& ctx, const report::RolloutReport& r) {
  auto& h = ctx.human();
  const auto& ro = r.rollout;
  const bool colour = ctx.colour();
  h << "rollout  " << ro.id << " on track " << r.track << ", "
    << paint(rollout::to_string(ro.state),
             ro.state == rollout::RolloutState::rolled_back ? style::red
             : ro.state == rollout::RolloutState::promoted  ? style::green
                                                            : style::yellow,
             colour)
    << "\n";
  h << "canary   " << ro.canary << "\nstable   " << ro.stable << "\nsteps   ";
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(ro.steps_bp.size()); ++i)
    h << " " << rollout::step_spelling(ro, i);
  h << "\n";
  h << "started  " << format_rfc3339(ro.started_at) << (ro.ended_at ? ", ended " + format_rfc3339(*ro.ended_at) : "")
    << "\n\n";
  Table arms({{"ARM"},
              {"N", Table::Align::right},
              {"PASS", Table::Align::right},
              {"RATE", Table::Align::right},
              {"P50 MS", Table::Align::right},
              {"P95 MS", Table::Align::right},
              {"P99 MS", Table::Align::right}});
  auto arm = [&](const char* name, const report::ArmCount& c, const report::LatencyArm& l) {
    arms.add_row({name, std::to_string(c.n), std::to_string(c.pass), pct(c.pass, c.n), ms(l.p50_ms), ms(l.p95_ms),
                  ms(l.p99_ms)});
  };
  arm("canary", r.canary, r.latency.canary);
  arm("stable", r.stable, r.latency.stable);
  h << arms.render(colour) << "\n";
  const std::int64_t late = r.late_canary.n + r.late_stable.n, backdated = r.backdated_canary.n + r.backdated_stable.n;
  if (late || backdated)
    h << "counted in no window: " << late << " late (canary " << r.late_canary.n << ", " << r.late_canary.pass
      << " passed; stable " << r.late_stable.n << ", " << r.late_stable.pass << " passed), " << backdated
      << " backdated (canary " << r.backdated_canary.n << ", stable " << r.backdated_stable.n << ")\n\n";
  Table timeline({{"SEQ", Table::Align::right},
                  {"AT"},
                  {"ACTION"},
                  {"CANARY %", Table::Align::right},
                  {"VERDICT"},
                  {"ACTOR"},
                  {"REASON"}});
  for (const auto& m : r.markers) {
    std::string reason;
    for (char c : m.reason)
      reason += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    timeline.add_row({std::to_string(m.seq),
                      format_rfc3339(m.at),
                      {m.action, action_style(m.action)},
                      (m.shadow_after ? std::string(gate::k_shadow_step_prefix) : std::string()) +
                          rollout::percentage_json(m.bp_after).dump(),
                      m.verdict.value_or("-"),
                      m.actor,
                      reason});
  }
  h << timeline.render(colour);
  h << "\nWrite the page with charts: kanari report --html FILE\n";
}

Result<int> run_report(const ReportOptions& o, Context& ctx) {
  if (o.rollout && *o.rollout < 1)
    return usage_error("--rollout must be a rollout id (1 or more), got " + std::to_string(*o.rollout));
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto r = report::gather_report(**lib, ctx.g.track, o.rollout, o.buckets);
  KANARI_TRY(r);
  if (!o.html.empty()) {
    const std::string page = report::render_html(*r);
    if (o.html == "-") {
      ctx.out << page << std::flush;
      return 0;
    }
    KANARI_TRY(write_file_atomically(o.html, page, "--html file"));
    if (ctx.g.json)
      ctx.print_json({{"html", o.html}, {"bytes", page.size()}, {"rollout", r->rollout.id}, {"track", r->track}});
    else
      ctx.human() << "Wrote the report of rollout " << r->rollout.id << " (" << rollout::to_string(r->rollout.state)
                  << ") to " << o.html << "\n";
    return 0;
  }
  if (ctx.g.json)
    ctx.print_json(report::report_json(*r));
  else
    print_summary(ctx, *r);
  return 0;
}

} // namespace

void setup_report(CLI::App& app, Registry& reg) {
  auto o = std::make_shared<ReportOptions>();
  auto* r = app.add_subcommand("report", "A rollout's pass rates over time, latency, step timeline and events: a "
                                         "summary, --json, or a self-contained HTML page with --html FILE");
  r->add_option("--rollout", o->rollout, "the rollout id (default: the track's latest)");
  r->add_option("--html", o->html, "write the HTML page to FILE (- for stdout); nothing is fetched when it is opened");
  r->add_option("--buckets", o->buckets, "at most N time buckets in the pass-rate chart, [1, 500]")
      ->capture_default_str();
  reg.on(r, o, run_report);
}

} // namespace kanari::cli
