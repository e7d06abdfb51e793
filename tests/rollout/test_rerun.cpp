// Every write transaction of the library is safe to run again, as a backend
// runs it after a serialization failure: RerunningStore runs each write()
// first inside a transaction it rolls back, then for real. Every write path
// must give the same results and leave the same store as without it.
#include "rollout/store_decorators.hpp"
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include "crypto/ed25519.hpp"
#include "rollout/audit.hpp"
#include "rollout/evaluate.hpp"
#include "rollout/ledger.hpp"
#include "rollout/lifecycle.hpp"
#include "rollout/routing.hpp"
#include "rollout/sessions.hpp"
#include "rollout/signatures.hpp"
#include "rollout/versions.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

// A stream that cannot seek, as standard input from a pipe: tellg() fails
// and it hands out its bytes a few at a time.
class PipeBuffer final : public std::streambuf {
public:
  explicit PipeBuffer(std::string data) : m_data(std::move(data)) {}

protected:
  int_type underflow() override {
    if (m_pos >= m_data.size())
      return traits_type::eof();
    const size_t n = std::min<size_t>(7, m_data.size() - m_pos);
    m_chunk.assign(m_data, m_pos, n);
    m_pos += n;
    setg(m_chunk.data(), m_chunk.data(), m_chunk.data() + n);
    return traits_type::to_int_type(m_chunk[0]);
  }

private:
  std::string m_data;
  std::string m_chunk;
  size_t m_pos = 0;
};

json rollout_json(const rollout::RolloutRecord& r) {
  // The salt is random, and differs between any two runs.
  return {{"id", r.id},
          {"track", r.track},
          {"canary", r.canary},
          {"stable", r.stable},
          {"steps", r.steps_bp},
          {"step", r.step},
          {"state", rollout::to_string(r.state)},
          {"shadow", r.shadow},
          {"shadow_steps", r.shadow_steps},
          {"policy", r.policy},
          {"started_at", r.started_at},
          {"step_started_at", r.step_started_at},
          {"ended_at", r.ended_at ? json(*r.ended_at) : json(nullptr)},
          {"promote_streak", r.promote_streak},
          {"approved_step", r.approved_step ? json(*r.approved_step) : json(nullptr)}};
}

json summary_json(const rollout::RecordSummary& s) {
  return {{"inserted", s.inserted},   {"late", s.late},       {"backdated", s.backdated}, {"duplicates", s.duplicates},
          {"conflicts", s.conflicts}, {"invalid", s.invalid}, {"notes", s.notes}};
}

template <typename T> json result(const Result<T>& r, const std::function<json(const T&)>& ok) {
  return r.ok() ? ok(*r) : json{{"error", static_cast<int>(r.error().code)}, {"message", r.error().message}};
}

rollout::OutcomeInput outcome(const std::string& task, std::optional<std::string> version, bool pass) {
  rollout::OutcomeInput o;
  o.track = "default";
  o.task = task;
  o.version_ref = std::move(version);
  o.pass = pass;
  return o;
}

// Every write path of the library, in the order an operator meets them;
// returns what each returned.
json scenario(rollout::Context& ctx) {
  json out = json::object();
  auto add = [&](const std::string& name, const std::string& text) {
    rollout::AddVersionInput in;
    in.track = "default";
    in.components.push_back(*core::make_component(core::ComponentKind::prompt, "system", text));
    auto r = rollout::add_version(ctx, std::move(in));
    out["add " + name] = result<rollout::AddVersionResult>(r, [](const auto& v) {
      return json{{"id", v.id}, {"created", v.created}, {"added", v.added_to_track}, {"stable", v.became_stable}};
    });
    REQUIRE(r.ok());
    return r->id;
  };
  const std::string a = add("a", "You are agent A.\n");
  const std::string b = add("b", "You are agent B.\n");
  const std::string c = add("c", "You are agent C.\n");
  add("a again", "You are agent A.\n");

  const auto pem = read_file(std::string(KANARI_TEST_DATA) + "/keys/alice.pem");
  const auto key = crypto::ed25519_public_key_id(read_file(std::string(KANARI_TEST_DATA) + "/keys/alice.pub.pem"), "k");
  REQUIRE(key.ok());
  for (int i = 0; i < 2; ++i)
    out["sign " + std::to_string(i)] =
        result<rollout::SignResult>(rollout::sign_version(ctx, "default", b, pem, "key"), [](const auto& s) {
          return json{{"key", s.key_id}, {"signature", s.signature}, {"created", s.created}};
        });

  gate::Policy policy;
  policy.min_samples = 2;
  policy.require_signature = {*key};
  auto started = rollout::start_rollout(ctx, {"default", b, {5000, 10000}, policy, 0, "canary b"});
  out["start b"] = result<rollout::RolloutRecord>(started, rollout_json);
  REQUIRE(started.ok());
  const rollout::TransitionInput at_step_0{"default", "by hand", {started->id, 0}, json::object()};
  out["promote"] = result<rollout::RolloutRecord>(rollout::promote(ctx, at_step_0, false), rollout_json);
  out["promote again"] = result<rollout::RolloutRecord>(rollout::promote(ctx, at_step_0, false), rollout_json);

  // At 100 % every key is the canary's: the decisions do not depend on the salt.
  for (const char* task : {"r1", "r2", "r3"})
    out[std::string("route ") + task] = result<rollout::RouteDecision>(
        rollout::route_key(ctx, "default", std::string("user-") + task, std::string(task)), [](const auto& d) {
          return json{{"version", d.version}, {"arm", rollout::to_string(d.arm)}, {"shadow", d.shadow}};
        });

  auto summary = [](const Result<rollout::RecordSummary>& r) {
    return result<rollout::RecordSummary>(r, summary_json);
  };
  // Sessions (at 100 %, so salt-independent too): a pin, its request count and the task's assignment once each.
  auto session_route = [&](const std::string& name, const char* session, const char* task) {
    out[name] = result<rollout::SessionRoute>(
        rollout::route_session(ctx, "default", session, task ? std::optional<std::string>(task) : std::nullopt),
        [](const auto& r) {
          return json{{"version", r.decision.version},
                      {"arm", rollout::to_string(r.arm)},
                      {"pinned", r.pinned},
                      {"moved", r.moved},
                      {"requests", r.pin.requests}};
        });
  };
  for (int turn = 1; turn <= 3; ++turn)
    session_route("route --session turn " + std::to_string(turn), "conv-1", turn == 1 ? "c1" : nullptr);
  session_route("route --session other", "conv-2", nullptr);
  auto in_session = outcome("c2", std::nullopt, true);
  in_session.session = "conv-2";
  out["record --session"] = summary(rollout::record_one(ctx, in_session));
  out["record an assigned task of a session"] = summary(rollout::record_one(ctx, outcome("c1", std::nullopt, true)));
  out["session end"] = result<rollout::SessionView>(rollout::end_session(ctx, "default", "conv-2"), [](const auto& v) {
    return json{{"state", v.state}, {"requests", v.pin.requests}};
  });
  out["record r1"] = summary(rollout::record_one(ctx, outcome("r1", std::nullopt, true)));
  out["record s1"] = summary(rollout::record_one(ctx, outcome("s1", "stable", true)));
  out["record r1 again"] = summary(rollout::record_one(ctx, outcome("r1", std::nullopt, true)));

  PipeBuffer pipe("{\"task\": \"r2\", \"pass\": true}\n"
                  "{\"task\": \"r3\", \"pass\": true, \"latency_ms\": 20}\n"
                  "{\"task\": \"s2\", \"pass\": true, \"version\": \"stable\"}\n"
                  "{\"task\": \"s1\", \"pass\": false, \"version\": \"stable\"}\n"
                  "not json\n"
                  "{\"task\": \"r1\", \"pass\": true}\n");
  std::istream piped(&pipe);
  std::int64_t progress_calls = 0;
  out["record --jsonl from a pipe"] = summary(rollout::record_jsonl(ctx, piped, "default", rollout::InvalidLines::skip,
                                                                    [&](std::int64_t) { ++progress_calls; }));

  // A seekable stream is read again from where it was handed over.
  std::istringstream file("already read\n{\"task\": \"s3\", \"pass\": true, \"version\": \"" + a.substr(0, 8) +
                          "\"}\n");
  std::string skipped;
  std::getline(file, skipped);
  out["record --jsonl from a file"] = summary(rollout::record_jsonl(ctx, file, "default", rollout::InvalidLines::fail));
  out["record a batch"] = summary(rollout::record_batch(
      ctx, {outcome("s4", "stable", true), outcome("r1", std::nullopt, false)}, rollout::InvalidLines::fail));

  auto evaluated = rollout::evaluate_track(ctx, "default", rollout::Apply::yes);
  out["evaluate --apply"] =
      result<rollout::Evaluation>(evaluated, [](const auto& ev) { return rollout::verdict_json(ev); });
  CHECK(evaluated.ok());

  policy.require_signature.clear();
  auto second = rollout::start_rollout(ctx, {"default", c, {2500}, policy, 0, ""});
  out["start c"] = result<rollout::RolloutRecord>(second, rollout_json);
  if (!second.ok())
    return out;
  const rollout::TransitionInput now{"default", "", {second->id, 0}, json::object()};
  out["pause"] = result<rollout::RolloutRecord>(rollout::pause(ctx, now), rollout_json);
  out["resume"] = result<rollout::RolloutRecord>(rollout::resume(ctx, now), rollout_json);
  out["approve"] = result<rollout::RolloutRecord>(rollout::approve(ctx, now), rollout_json);
  out["rollback"] = result<rollout::RolloutRecord>(rollout::rollback(ctx, now), rollout_json);
  session_route("route --session after the rollback", "conv-1", nullptr);
  out["rollback again"] = result<rollout::RolloutRecord>(rollout::rollback(ctx, now), rollout_json);
  out["evaluate --apply, idle"] =
      result<rollout::Evaluation>(rollout::evaluate_track(ctx, "default", rollout::Apply::yes),
                                  [](const auto& ev) { return rollout::verdict_json(ev); });
  return out;
}

// Everything the store holds, but for what is random by design: the salts,
// and the event hashes that cover them.
std::string contents(const std::string& state_dir, const TempDir& scratch) {
  const std::string copy = scratch.str() + "/copy.db";
  sqlite_value(state_dir + "/" + store::k_db_file, "VACUUM INTO " + shell_quote(copy));
  sqlite_value(copy, "DROP TRIGGER events_no_update; UPDATE rollouts SET salt = '';"
                     "UPDATE events SET hash = '', prev_hash = '', evidence = json_remove(evidence, '$.salt');");
  return sqlite_value(copy, ".dump");
}

struct Run {
  TempDir dir;
  FakeClock clock{1'800'000'000'000};
  std::unique_ptr<store::Store> real = open_test_store(dir.str() + "/state");
};

} // namespace

TEST_CASE("rerun: every write gives the same result and store when its transaction runs twice") {
  Run plain, twice;
  rollout::Context plain_ctx{*plain.real, plain.clock, "tester"};
  const json expected = scenario(plain_ctx);

  RerunningStore rerunning(*twice.real);
  rollout::Context twice_ctx{rerunning, twice.clock, "tester"};
  const json got = scenario(twice_ctx);

  CHECK(rerunning.writes >= 20); // every write above ran twice
  for (const auto& item : expected.items()) {
    const std::string step = item.key(); // (clang 14 cannot capture a structured binding in INFO)
    INFO(step);
    CHECK(got[step] == item.value());
  }
  CHECK(got.size() == expected.size());
  CHECK(expected["record --jsonl from a pipe"]["inserted"] == 3);
  CHECK(expected["record --jsonl from a file"]["inserted"] == 1);
  CHECK(contents(twice.dir.str() + "/state", twice.dir) == contents(plain.dir.str() + "/state", plain.dir));
  auto chain = rollout::check_audit_chain(twice_ctx, {});
  REQUIRE(chain.ok());
  CHECK(chain->problems.empty());
}

TEST_CASE("rerun: an evaluation run again after another process ended the rollout reports what it found then") {
  Run run;
  rollout::Context plain{*run.real, run.clock, "tester"};
  RerunningStore rerunning(*run.real);
  rollout::Context ctx{rerunning, run.clock, "cron"};
  std::string b;
  for (const char* text : {"A\n", "B\n"}) {
    rollout::AddVersionInput in;
    in.track = "default";
    in.components.push_back(*core::make_component(core::ComponentKind::prompt, "system", text));
    auto added = rollout::add_version(plain, std::move(in));
    REQUIRE(added.ok());
    b = added->id;
  }
  gate::Policy policy;
  policy.min_samples = 2;
  REQUIRE(rollout::start_rollout(plain, {"default", b, {5000}, policy, 0, ""}).ok());
  auto batch = std::vector<rollout::OutcomeInput>{outcome("c1", "canary", false), outcome("c2", "canary", false),
                                                  outcome("s1", "stable", true), outcome("s2", "stable", true)};
  REQUIRE(rollout::record_batch(plain, batch, rollout::InvalidLines::fail).ok());

  // The first attempt finds the bad canary and rolls it back; before the
  // second, a person rolls it back by hand. The second finds no rollout.
  rerunning.between = [&] { REQUIRE(rollout::rollback(plain, {"default", "by hand", {}, json::object()}).ok()); };
  auto ev = rollout::evaluate_track(ctx, "default", rollout::Apply::yes);
  REQUIRE(ev.ok());
  CHECK(ev->gate.verdict == gate::Verdict::no_canary);
  CHECK_FALSE(ev->applied);
  CHECK(ev->action == "none");
  CHECK_FALSE(ev->rollout);
  CHECK(ev->samples.canary.n == 0);
  auto again = rollout::evaluate_track(plain, "default", rollout::Apply::no);
  CHECK(rollout::verdict_json(*ev) == rollout::verdict_json(*again));
}
