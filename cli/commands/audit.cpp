// kanari audit verify: check the event hash chain (exit 1 on any break).
#include "commands.hpp"

#include "rollout/audit.hpp"

namespace kanari::cli {

namespace {

struct VerifyOptions {};

Result<int> run_verify(const VerifyOptions&, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto report = rollout::verify_chain(**lib);
  const bool ok = report.problems.empty();
  if (ctx.g.json) {
    ctx.print_json({{"ok", ok}, {"events", report.events}, {"problems", report.problems}});
  } else if (ok) {
    ctx.human() << "Audit chain intact: " << report.events << " events verified.\n";
  }
  for (const auto& p : report.problems)
    ctx.err << "kanari: audit: " << p << "\n";
  return ok ? 0 : 1;
}

} // namespace

void setup_audit(CLI::App& app, Registry& reg) {
  auto* audit = app.add_subcommand("audit", "Verify the audit log");
  audit->require_subcommand(1);
  auto o = std::make_shared<VerifyOptions>();
  auto* v = audit->add_subcommand("verify", "Check the event hash chain; exit 1 naming the first changed, removed "
                                            "or reordered event");
  reg.on(v, o, run_verify);
}

} // namespace kanari::cli
