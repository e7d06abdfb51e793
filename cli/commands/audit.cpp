// kanari audit verify: check the event hash chain (exit 1 on any break).
#include "commands.hpp"

#include "rollout/audit.hpp"
#include "util/strings.hpp"

namespace kanari::cli {

namespace {

struct VerifyOptions {
  std::vector<std::string> anchors;
};

Result<int> run_verify(const VerifyOptions& o, Context& ctx) {
  for (const auto& a : o.anchors)
    if (a.size() != 64 || !is_lower_hex(a))
      return usage_error("--anchor takes an event hash (64 lowercase hex digits), got " + quote_for_message(a));
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto checked = rollout::check_audit_chain(**lib, o.anchors);
  KANARI_TRY(checked);
  const auto& report = *checked;
  const bool ok = report.problems.empty();
  if (ctx.g.json) {
    ctx.print_json({{"ok", ok}, {"events", report.events}, {"head", report.head}, {"problems", report.problems}});
  } else if (ok) {
    ctx.human() << "Audit chain intact: " << report.events << " events verified; head " << report.head << "\n";
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
  v->add_option("--anchor", o->anchors,
                "an event hash saved earlier outside the store (e.g. the head printed by a previous verify); "
                "exit 1 unless it is still in the chain. Repeatable");
  reg.on(v, o, run_verify);
}

} // namespace kanari::cli
