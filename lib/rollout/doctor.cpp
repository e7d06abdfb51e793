#include "rollout/doctor.hpp"

#include "core/canonical_json.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/sha256.hpp"
#include "rollout/audit.hpp"
#include "rollout/lifecycle.hpp"
#include "rollout/signatures.hpp"
#include "store/failure.hpp"
#include "util/strings.hpp"

#include <algorithm>
#include <map>

namespace kanari::rollout {

namespace {

using nlohmann::json;

// ---- The database, blobs and versions ----

void check_integrity(Context& ctx, DoctorReport& report, bool& damaged) {
  for (const auto& line : ctx.store.verify()) {
    report.problems.push_back("database: " + line);
    damaged = true;
  }
}

void check_blobs(Context& ctx, DoctorReport& report) {
  ctx.store.for_each_blob([&](const std::string& sha, const std::string& data) {
    ++report.blobs;
    if (const auto h = crypto::sha256_hex(data); h != sha)
      report.problems.push_back("blob " + sha + ": its content hashes to " + h);
  });
}

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
    const std::string what = std::string(core::to_string(c.kind)) + " " + quote_for_message(c.name, 256);
    // The rules of `version add`: a name it would refuse, or store
    // otherwise, was written by hand, and could lead `version checkout`
    // outside its target.
    if (auto name = core::normalise_component_name(c.name); !name.ok() || *name != c.name)
      problem(what + " has a name `version add` refuses (a path outside the checkout directory, or not in the "
                     "form add stores)");
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

// ---- The events ----

void check_chain(Context& ctx, DoctorReport& report) {
  auto chain = verify_chain(ctx);
  report.events = chain.events;
  for (const auto& p : chain.problems)
    report.problems.push_back("events: " + p);
}

// ---- Rollouts and tracks against their events ----
//
// Every change to a rollout row and to a track's stable is made together
// with its event, and the events are hash-chained. So the rows can be
// rebuilt from the events alone: `started` records the whole rollout
// (canary, stable, steps, salt, shadow, shadow_steps, policy and its hash;
// a started event written before shadow steps existed has no shadow_steps:
// its shadow flag then made every step shadow), and each later
// event of the rollout changes its state or step as lifecycle.cpp does. A
// row that differs from its rebuild was written by hand.

// A rollout as its events describe it.
struct Replayed {
  std::int64_t started_seq = 0;
  std::optional<std::string> unreadable; // why the started event cannot be read
  std::string track;
  std::string canary;
  std::string stable;
  std::string steps; // canonical JSON of the percentages
  std::string salt;
  bool shadow = false;
  std::int64_t shadow_steps = 0;
  std::string policy; // canonical JSON
  std::string policy_sha256;
  store::RolloutState state = store::RolloutState::active;
  std::int64_t step = 0;
  std::size_t step_count = 0;
  std::optional<std::int64_t> approved_step;
};

struct History {
  std::map<std::int64_t, Replayed> rollouts;
  std::map<std::string, std::string> stables; // track -> version, from stable_set and promoted
};

std::string steps_text(const std::vector<std::int64_t>& steps_bp) {
  json arr = json::array();
  for (auto s : steps_bp)
    arr.push_back(percentage_json(s));
  return core::canonical_json(arr);
}

// The rollout a `started` event records, or why it cannot be read.
Replayed read_started(const store::EventRecord& e) {
  Replayed r;
  r.started_seq = e.seq;
  r.track = e.track;
  auto ev = core::parse_json(e.evidence, "its evidence");
  if (!ev.ok()) {
    r.unreadable = ev.error().message;
    return r;
  }
  auto text = [&](const char* key, std::string& out) {
    if (ev->is_object() && ev->contains(key) && (*ev)[key].is_string())
      out = (*ev)[key].get<std::string>();
    else if (!r.unreadable)
      r.unreadable = std::string("its evidence has no string '") + key + "'";
  };
  text("canary", r.canary);
  text("stable", r.stable);
  text("salt", r.salt);
  text("policy_sha256", r.policy_sha256);
  if (r.unreadable)
    return r;
  const json& steps = (*ev)["steps"];
  const json& policy = (*ev)["policy"];
  const json& shadow = (*ev)["shadow"];
  if (!steps.is_array() || steps.empty() || !policy.is_object() || !shadow.is_boolean()) {
    r.unreadable = "its evidence has no steps, policy or shadow flag";
    return r;
  }
  r.steps = core::canonical_json(steps);
  r.step_count = steps.size();
  r.policy = core::canonical_json(policy);
  r.shadow = shadow.get<bool>();
  r.shadow_steps = r.shadow ? static_cast<std::int64_t>(r.step_count) : 0;
  if (ev->contains("shadow_steps")) {
    const json& n = (*ev)["shadow_steps"];
    if (!n.is_number_integer() || n.get<std::int64_t>() < 0 ||
        n.get<std::int64_t>() > static_cast<std::int64_t>(r.step_count)) {
      r.unreadable = "its evidence's shadow_steps is not a number of its steps";
      return r;
    }
    r.shadow_steps = n.get<std::int64_t>();
  }
  return r;
}

// Applies one event to the history, as lifecycle.cpp applied it to the rows.
void replay(const store::EventRecord& e, History& h, DoctorReport& report) {
  if ((e.action == "stable_set" || e.action == "promoted") && e.version)
    h.stables[e.track] = *e.version;
  if (!e.rollout)
    return;
  const std::string rollout = "rollout " + std::to_string(*e.rollout) + ": ";
  const std::string event = "event " + std::to_string(e.seq) + " (" + e.action + ")";
  auto problem = [&](const std::string& what) { report.problems.push_back(rollout + event + " " + what); };
  if (e.action == "started") {
    if (h.rollouts.count(*e.rollout))
      problem("starts it a second time");
    else
      h.rollouts.emplace(*e.rollout, read_started(e));
    return;
  }
  auto it = h.rollouts.find(*e.rollout);
  if (it == h.rollouts.end()) {
    problem("comes before any started event of it");
    return;
  }
  Replayed& r = it->second;
  if (r.unreadable)
    return;
  if (e.track != r.track)
    problem("names track '" + e.track + "', not its track '" + r.track + "'");
  if (e.version != r.canary)
    problem("names version " + e.version.value_or("(none)") + ", not its canary " + r.canary);
  if (!store::is_open(r.state)) {
    if (e.action == "step_advanced" || e.action == "promoted" || e.action == "rolled_back" || e.action == "paused" ||
        e.action == "resumed" || e.action == "approved")
      problem("comes after it ended " + std::string(store::to_string(r.state)));
    return;
  }
  if (e.action == "step_advanced") {
    if (r.step + 1 >= static_cast<std::int64_t>(r.step_count))
      problem("advances it past its last step");
    else
      r.step += 1;
  } else if (e.action == "promoted") {
    r.state = store::RolloutState::promoted;
  } else if (e.action == "rolled_back") {
    r.state = store::RolloutState::rolled_back;
  } else if (e.action == "paused") {
    r.state = store::RolloutState::paused;
  } else if (e.action == "resumed") {
    r.state = store::RolloutState::active;
  } else if (e.action == "approved") {
    r.approved_step = r.step;
  }
  // Other actions (a newer kanari's) change nothing this build knows of.
}

History replay_events(Context& ctx, DoctorReport& report) {
  History h;
  ctx.store.for_each_event([&](const store::EventRecord& e) { replay(e, h, report); });
  return h;
}

// One rollout row against its rebuild from the events.
void compare_rollout(const store::RolloutRecord& row, const Replayed& r, DoctorReport& report) {
  const std::string rollout = "rollout " + std::to_string(row.id) + ": ";
  if (r.unreadable) {
    report.problems.push_back(rollout + "its started event (event " + std::to_string(r.started_seq) +
                              ") cannot be read, so the row cannot be checked: " + *r.unreadable);
    return;
  }
  auto differ = [&](const std::string& what, const std::string& in_row, const std::string& in_events) {
    if (in_row != in_events)
      report.problems.push_back(rollout + "its " + what + " " + in_row + " but its events say " + in_events);
  };
  auto step_text = [](std::optional<std::int64_t> s) { return s ? std::to_string(*s) : std::string("none"); };
  differ("track is", "'" + row.track + "'", "'" + r.track + "'");
  differ("canary is", row.canary, r.canary);
  differ("stable is", row.stable, r.stable);
  differ("steps are", steps_text(row.steps_bp), r.steps);
  differ("salt is", row.salt, r.salt);
  differ("shadow flag is", row.shadow ? "true" : "false", r.shadow ? "true" : "false");
  differ("shadow steps are", std::to_string(row.shadow_steps), std::to_string(r.shadow_steps));
  if (row.policy != r.policy)
    report.problems.push_back(rollout + "its policy is not the one its started event (event " +
                              std::to_string(r.started_seq) + ") recorded");
  differ("policy_sha256 is", row.policy_sha256, r.policy_sha256);
  differ("state is", std::string(store::to_string(row.state)), std::string(store::to_string(r.state)));
  differ("step is", std::to_string(row.step), std::to_string(r.step));
  differ("approved step is", step_text(row.approved_step), step_text(r.approved_step));
}

void check_rollout(Context& ctx, std::int64_t id, const History& h, DoctorReport& report) {
  const std::string rollout = "rollout " + std::to_string(id) + ": ";
  auto row = ctx.store.get_rollout(id);
  if (!row) {
    report.problems.push_back(rollout + "listed but unreadable");
    return;
  }
  if (auto policy = read_stored_policy(*row); !policy.ok())
    report.problems.push_back(rollout + policy.error().message);
  auto it = h.rollouts.find(id);
  if (it == h.rollouts.end())
    report.problems.push_back(rollout + "no started event created it (the row was written by hand)");
  else
    compare_rollout(*row, it->second, report);
}

void check_missing_rollouts(const std::vector<std::int64_t>& ids, const History& h, DoctorReport& report) {
  for (const auto& [id, r] : h.rollouts)
    if (!std::binary_search(ids.begin(), ids.end(), id))
      report.problems.push_back("rollout " + std::to_string(id) + ": event " + std::to_string(r.started_seq) +
                                " started it, but the store has no such rollout (the row was deleted)");
}

void check_track_stables(Context& ctx, const History& h, DoctorReport& report) {
  for (const auto& track : ctx.store.track_names()) {
    const auto stable = ctx.store.stable_of(track);
    const auto it = h.stables.find(track);
    const std::string in_events = it == h.stables.end() ? "none" : it->second;
    if (stable.value_or("none") != in_events)
      report.problems.push_back("track '" + track + "': its stable is " + stable.value_or("none") +
                                " but its events say " + in_events);
  }
}

// Runs one phase of the checks in a read transaction of its own (on
// PostgreSQL a transaction is dead after any error); a database failure
// inside it (a damaged page the phase had to read) is reported as a
// problem, not thrown, so the other phases still run.
// Returns whether the phase ran to its end.
template <typename Fn> bool phase(Context& ctx, DoctorReport& report, bool& damaged, const std::string& what, Fn fn) {
  try {
    auto r = ctx.store.read([&]() -> Result<void> {
      fn();
      return {};
    });
    if (!r.ok()) {
      report.problems.push_back("database: cannot read " + what + ": " + r.error().message);
      damaged = true;
      return false;
    }
    return true;
  } catch (const store::StoreFailure& e) {
    report.problems.push_back("database: cannot read " + what + ": " + e.what());
    damaged = true;
    return false;
  }
}

} // namespace

DoctorReport doctor(Context& ctx) {
  DoctorReport report;
  bool damaged = false;
  try {
    check_integrity(ctx, report, damaged); // in a transaction of its own
  } catch (const store::StoreFailure& e) {
    report.problems.push_back(std::string("database: cannot run the integrity check: ") + e.what());
    damaged = true;
  }
  phase(ctx, report, damaged, "the blobs", [&] { check_blobs(ctx, report); });

  std::vector<std::string> versions;
  phase(ctx, report, damaged, "the versions",
        [&] { ctx.store.for_each_version_id([&](const std::string& id) { versions.push_back(id); }); });
  for (const auto& id : versions) {
    ++report.versions;
    phase(ctx, report, damaged, "version " + id, [&] { check_version(ctx, id, report); });
  }

  // The chain, then the rows against the events, in one transaction: a
  // transition committed between reading the events and reading the rows
  // would otherwise look like a row without its event.
  phase(ctx, report, damaged, "the events and rollouts", [&] {
    check_chain(ctx, report);
    // Only with every event read, or rows would be blamed for events the
    // damage hid.
    History history = replay_events(ctx, report);
    std::vector<std::int64_t> rollouts;
    ctx.store.for_each_rollout_id([&](std::int64_t id) { rollouts.push_back(id); });
    for (const auto id : rollouts) {
      ++report.rollouts;
      try { // a row kanari cannot read is one problem; the others are still checked
        check_rollout(ctx, id, history, report);
      } catch (const store::StoreFailure& e) {
        report.problems.push_back("database: cannot read rollout " + std::to_string(id) + ": " + e.what());
        damaged = true;
      }
    }
    check_missing_rollouts(rollouts, history, report);
    check_track_stables(ctx, history, report);
  });
  return report;
}

} // namespace kanari::rollout
