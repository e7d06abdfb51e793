// kanari doctor: check the whole store (rollout/doctor.hpp); exit 1 naming
// each mismatch.
#include "commands.hpp"

#include "rollout/doctor.hpp"

namespace kanari::cli {

namespace {

struct DoctorOptions {};

Result<int> run_doctor(const DoctorOptions&, Context& ctx) {
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  const auto report = rollout::doctor(**lib);
  const bool ok = report.problems.empty();
  if (ctx.g.json) {
    ctx.print_json({{"ok", ok},
                    {"blobs", report.blobs},
                    {"versions", report.versions},
                    {"signatures", report.signatures},
                    {"events", report.events},
                    {"rollouts", report.rollouts},
                    {"problems", report.problems}});
  } else if (ok) {
    ctx.human() << "Store healthy: database integrity ok, " << report.blobs << " blobs and " << report.versions
                << " version ids re-hashed, " << report.signatures << " signatures and " << report.events
                << " events verified, " << report.rollouts << " rollouts checked against their events.\n";
  }
  for (const auto& p : report.problems)
    ctx.err << "kanari: doctor: " << p << "\n";
  return ok ? 0 : 1;
}

} // namespace

void setup_doctor(CLI::App& app, Registry& reg) {
  auto o = std::make_shared<DoctorOptions>();
  auto* d =
      app.add_subcommand("doctor", "Check the store: the database's own checks, every blob and version id re-hashed, "
                                   "signatures and the event chain verified, rollouts and stables checked "
                                   "against their events; exit 1 naming each mismatch");
  reg.on(d, o, run_doctor);
}

} // namespace kanari::cli
