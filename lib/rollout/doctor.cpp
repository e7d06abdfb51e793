#include "rollout/doctor.hpp"

#include "core/canonical_json.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/sha256.hpp"
#include "rollout/audit.hpp"
#include "rollout/signatures.hpp"
#include "store/failure.hpp"

namespace kanari::rollout {

namespace {

void check_version(Context& ctx, const std::string& id, DoctorReport& report) {
  auto problem = [&](const std::string& what) { report.problems.push_back("version " + id + ": " + what); };
  auto v = ctx.store.get_version(id);
  if (!v) {
    problem("listed but unreadable");
    return;
  }
  if (const auto h = crypto::sha256_hex(v->manifest); h != id)
    problem("its stored manifest hashes to " + h);
  auto model = core::parse_json(v->model, "model");
  if (!model.ok() || !model->is_object()) {
    problem("its model configuration is not a JSON object");
  } else {
    const core::Manifest rebuilt{v->components, *model};
    if (const auto h = core::version_id(rebuilt); h != id)
      problem("its component rows and model configuration hash to " + h + " (the store was edited)");
  }
  for (const auto& c : v->components) {
    const std::string what = std::string(core::to_string(c.kind)) + " '" + c.name + "'";
    auto blob = ctx.store.get_blob(c.sha256);
    if (!blob)
      problem(what + " has no content (blob " + c.sha256 + " is missing)");
    else if (blob->size() != c.bytes)
      problem(what + " is recorded as " + std::to_string(c.bytes) + " bytes but its blob has " +
              std::to_string(blob->size()));
  }
  const std::string msg = signature_message(id);
  for (const auto& s : ctx.store.signatures(id)) {
    ++report.signatures;
    auto raw = crypto::from_hex(s.signature);
    if (!raw || !crypto::ed25519_verify(s.key_id, msg, *raw))
      problem("the signature by " + s.key_id + " does not verify");
  }
}

// Runs one phase of the checks; a database failure inside it (a damaged
// page the phase had to read) is reported as a problem, not thrown, so the
// other phases still run.
template <typename Fn> void phase(DoctorReport& report, bool& damaged, const char* what, Fn fn) {
  try {
    fn();
  } catch (const store::StoreFailure& e) {
    report.problems.push_back(std::string("database: cannot read ") + what + ": " + e.what());
    damaged = true;
  }
}

} // namespace

DoctorReport doctor(Context& ctx) {
  DoctorReport report;
  bool damaged = false;
  auto r = ctx.store.read([&]() -> Result<void> {
    phase(report, damaged, "the integrity check", [&] {
      for (const auto& line : ctx.store.integrity_check()) {
        report.problems.push_back("database: " + line);
        damaged = true;
      }
    });
    phase(report, damaged, "the blobs", [&] {
      ctx.store.for_each_blob([&](const std::string& sha, const std::string& data) {
        ++report.blobs;
        if (const auto h = crypto::sha256_hex(data); h != sha)
          report.problems.push_back("blob " + sha + ": its content hashes to " + h);
      });
    });
    std::vector<std::string> ids;
    phase(report, damaged, "the versions", [&] { ctx.store.for_each_version_id([&](const std::string& id) { ids.push_back(id); }); });
    for (const auto& id : ids) {
      ++report.versions;
      phase(report, damaged, ("version " + id).c_str(), [&] { check_version(ctx, id, report); });
    }
    phase(report, damaged, "the events", [&] {
      auto chain = verify_chain(ctx);
      report.events = chain.events;
      for (const auto& p : chain.problems)
        report.problems.push_back("events: " + p);
    });
    // After SQLite met a damaged page the transaction may be gone: end it
    // without a COMMIT.
    if (damaged)
      return operational_error("the store is damaged");
    return {};
  });
  (void)r; // a damaged store is in the report already
  return report;
}

} // namespace kanari::rollout
