// Each verb lives in commands/<verb>.cpp with an options struct, a
// setup_<verb>(CLI::App&, Registry&) that declares its flags, and a
// run_<verb>(const Options&, Context&). The CLI11 callback only selects the
// action; cli::run invokes it after parsing has finished.
#pragma once

#include "context.hpp"
#include "rollout/evaluate.hpp"
#include "rollout/sessions.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>

namespace kanari::cli {

struct Registry {
  Context& ctx;
  std::function<Result<int>()> action;

  // Registers `run(opts, ctx)` as the action of `sub`.
  template <typename Options, typename Run> void on(CLI::App* sub, std::shared_ptr<Options> opts, Run run) {
    sub->callback([this, opts, run] { action = [this, opts, run] { return run(*opts, ctx); }; });
  }
};

void setup_init(CLI::App& app, Registry& reg);
void setup_version(CLI::App& app, Registry& reg);
void setup_canary(CLI::App& app, Registry& reg);
void setup_route(CLI::App& app, Registry& reg);
void setup_record(CLI::App& app, Registry& reg);
void setup_history(CLI::App& app, Registry& reg);
void setup_audit(CLI::App& app, Registry& reg);
void setup_simulate(CLI::App& app, Registry& reg);
void setup_report(CLI::App& app, Registry& reg);
void setup_metrics(CLI::App& app, Registry& reg);
void setup_generate(CLI::App& app, Registry& reg);
void setup_doctor(CLI::App& app, Registry& reg);
void setup_store(CLI::App& app, Registry& reg);
void setup_hook(CLI::App& app, Registry& reg);
void setup_track(CLI::App& app, Registry& reg);
void setup_session(CLI::App& app, Registry& reg);

void setup_version_signing(CLI::App& version, Registry& reg);

void setup_evaluate(CLI::App& canary, Registry& reg);
void setup_undo(CLI::App& canary, Registry& reg);
void setup_wait(CLI::App& canary, Registry& reg);

// Shared by verbs: a REF resolved on the context's track.
Result<std::string> resolve(Context& ctx, const std::string& ref);
// A session as `session show --json` prints it (docs/cli.md).
nlohmann::json session_json(const std::string& track, const rollout::SessionView& v);
// `canary status` as JSON (docs/cli.md) and as a table.
nlohmann::json status_json(const rollout::Status& st);
void print_status(Context& ctx, const rollout::Status& st);
// Colours for human output: an event action, a gate verdict.
std::string action_style(std::string_view action);
std::string verdict_style(gate::Verdict v);

// A rollback's news under --quiet (docs/cli.md, "Global options"): one
// line on stderr, `kanari: track 'T' rolled back: REASON`; nothing without
// --quiet, whose output on stdout says it already.
void report_rollback(Context& ctx, const std::string& track, const std::string& reason);
// The reason a rollback is reported with: the event's reason, or "by ACTOR"
// when it has none.
std::string rollback_reason(const std::string& reason, const std::string& actor);
// The exit code of a command over several tracks (the worst of theirs): a
// failed track (3, whatever its own code) over a negative one (1) over 0.
int worst_exit_code(int a, int b);

} // namespace kanari::cli
