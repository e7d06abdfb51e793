// Shadow, then live (docs/routing.md, "Shadow steps"): a rollout's steps may
// begin with shadow steps, `--steps shadow:20,5,25,100` or the policy's
// `"steps": ["shadow:20", 5, 25, 100]`. In a shadow step everyone is served
// stable and the keys below its percentage are mirrored; promoting leaves it
// for the next step, live or shadow. `--shadow` still makes every step one.
// Every routed key is checked against its bucket under the rollout's salt.
#include "core/canonical_json.hpp"
#include "crypto/sha256.hpp"
#include "gate/policy.hpp"
#include "rollout/audit.hpp"
#include "rollout/routing.hpp"
#include "store/migrations.hpp"
#include "store/sqlite_shell.hpp"
#include "store/store.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

using namespace kanari;
using kanari::test::sqlite_value;
using nlohmann::json;

namespace {

constexpr int k_keys = 4000;

std::string user_keys() {
  std::string s;
  for (int i = 0; i < k_keys; ++i)
    s += "user-" + std::to_string(i) + "\n";
  return s;
}

// |count - n p| within five binomial standard deviations.
void check_share(std::int64_t count, double p) {
  const double mean = k_keys * p;
  const double sigma = std::sqrt(k_keys * p * (1 - p));
  INFO("count " << count << " of " << k_keys << ", expected " << mean << " +- 5 x " << sigma);
  CHECK(std::abs(static_cast<double>(count) - mean) <= 5 * sigma);
}

struct World {
  test::TwoVersions w;

  json status(const std::string& track = "default") { return w.cli.json({"--track", track, "canary", "status"}); }
  json history(const std::string& track = "default") { return w.cli.json({"--track", track, "history"}); }
  json started_evidence(const std::string& track = "default") {
    for (const auto& e : history(track))
      if (e["action"] == "started")
        return e["evidence"];
    FAIL("no started event");
    return nullptr;
  }

  // Routes k_keys keys on `track` with `route --keys - --json` while the
  // rollout is at `bp`: in a shadow step exactly the keys below the
  // threshold are mirrored and nobody is served the canary; in a live step
  // exactly those keys are served it and none is mirrored. Checks the share.
  void check_routing(std::int64_t bp, bool shadow, const std::string& canary, const std::string& stable,
                     const std::string& track = "default") {
    const std::string salt = status(track)["salt"];
    std::istringstream lines(w.cli.ok({"--track", track, "route", "--keys", "-", "--json"}, user_keys()).out);
    std::int64_t below = 0, served = 0, mirrored = 0, n = 0;
    for (std::string line; std::getline(lines, line); ++n) {
      const auto j = json::parse(line);
      const std::string key = "user-" + std::to_string(n);
      REQUIRE(j.at("key") == key);
      const bool in = rollout::routing_bucket(salt, key) < bp;
      below += in;
      served += j.at("arm") == "canary";
      mirrored += j.at("shadow") == true;
      CHECK(j.at("arm") == (in && !shadow ? "canary" : "stable"));
      CHECK(j.at("version") == (in && !shadow ? canary : stable));
      CHECK(j.at("shadow") == (in && shadow));
    }
    REQUIRE(n == k_keys);
    CHECK((shadow ? mirrored : served) == below);
    CHECK((shadow ? served : mirrored) == 0);
    check_share(below, static_cast<double>(bp) / 10000.0);
  }

  // Runs a command that must exit 2 with one line on stderr and write nothing.
  void refused(const std::vector<std::string>& args, const std::string& message) {
    const std::string before = test::store_snapshot(w.cli.state());
    auto r = w.cli(args);
    INFO("command: " << json(args).dump() << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("kanari: error: ") == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(test::store_snapshot(w.cli.state()) == before);
  }

  std::string policy_file(const std::string& name, const json& policy) { return w.cli.dir().file(name, policy.dump()); }
};

} // namespace

TEST_CASE("shadow steps: shadow:20,5,25,100 mirrors 20 %, then serves 5, 25 and 100 %, then is stable") {
  World t;
  auto& w = t.w;
  auto started = w.cli.ok({"canary", "start", "--version", w.b, "--steps", "shadow:20,5,25,100"});
  CHECK(started.out.find(": " + w.b.substr(0, 12) + ", shadow step 1/4 at 20 % mirrored, against stable " +
                         w.a.substr(0, 12)) != std::string::npos);
  CHECK(started.out.find("state    active, shadow step 1/4 at 20 % mirrored  (steps shadow:20 5 25 100)") !=
        std::string::npos);
  auto s = t.status();
  CHECK(s["steps"] == json::array({20, 5, 25, 100}));
  CHECK(s["shadow_steps"] == 1);
  CHECK(s["step"] == 0);
  CHECK(s["percentage"] == 20);
  CHECK(s["shadow"] == true);
  t.check_routing(2000, true, w.b, w.a);

  auto promoted = w.cli.ok({"canary", "promote"});
  CHECK(promoted.out.find(": now at step 2/4 at 5 %\n") != std::string::npos);
  s = t.status();
  CHECK(s["step"] == 1);
  CHECK(s["percentage"] == 5);
  CHECK(s["shadow"] == false);
  CHECK(s["shadow_steps"] == 1);
  t.check_routing(500, false, w.b, w.a);
  CHECK(w.cli.ok({"canary", "status"}).out.find("state    active, step 2/4 at 5 %  (steps shadow:20 5 25 100)") !=
        std::string::npos);

  w.cli.ok({"canary", "promote"});
  t.check_routing(2500, false, w.b, w.a);
  w.cli.ok({"canary", "promote"});
  t.check_routing(10000, false, w.b, w.a);
  w.cli.ok({"canary", "promote"});
  s = t.status();
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.b);
  CHECK(s["shadow"] == false);

  // The events: the start records the shadow steps, each advance the new
  // step's percentage and whether it is a shadow step.
  const json ev = t.started_evidence();
  CHECK(ev["shadow"] == true);
  CHECK(ev["shadow_steps"] == 1);
  CHECK(ev["steps"] == json::array({20, 5, 25, 100}));
  CHECK(ev["policy"]["steps"] == json::array({"shadow:20", 5, 25, 100}));
  std::vector<json> advances;
  for (const auto& e : t.history())
    if (e["action"] == "step_advanced")
      advances.insert(advances.begin(), e["evidence"]);
  REQUIRE(advances.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(advances[i]["to_step"] == i + 1);
    CHECK(advances[i]["to_shadow"] == false);
  }
  CHECK(advances[0]["to_percentage"] == 5);
  CHECK(advances[0]["percentage"] == 20);
  w.cli.ok({"doctor"});

  // The report says which steps were shadow steps.
  const json report = w.cli.json({"report", "--rollout", "1"});
  CHECK(report["shadow"] == true);
  CHECK(report["shadow_steps"] == 1);
  REQUIRE(report["timeline"].size() == 4);
  CHECK(report["timeline"][0]["shadow"] == true);
  CHECK(report["timeline"][1]["shadow"] == false);
  const std::string html = w.cli.ok({"report", "--rollout", "1", "--html", "-"}).out;
  CHECK(html.find("shadow 20 %, 5 %, 25 %, 100 %") != std::string::npos);
  CHECK(html.find("(shadow, then live)") != std::string::npos);
}

TEST_CASE("shadow steps: promoting leaves a shadow step for the next, shadow or live, by hand or by the gate") {
  World t;
  auto& w = t.w;
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "shadow:10,shadow:30,50", "--min-samples", "2"});
  t.check_routing(1000, true, w.b, w.a);
  auto promoted = w.cli.ok({"canary", "promote"});
  CHECK(promoted.out.find(": now at shadow step 2/3 at 30 % mirrored\n") != std::string::npos);
  auto s = t.status();
  CHECK(s["step"] == 1);
  CHECK(s["shadow"] == true);
  CHECK(s["shadow_steps"] == 2);
  t.check_routing(3000, true, w.b, w.a);
  CHECK(t.history()[0]["evidence"]["to_shadow"] == true);
  CHECK(t.history()[0]["evidence"]["to_percentage"] == 30);

  // Both versions' outcomes for the mirrored tasks; the gate promotes out of
  // the last shadow step into the live one.
  std::string outcomes;
  for (int i = 0; i < 3; ++i)
    for (const char* v : {"stable", "canary"})
      outcomes += json{{"task", "t" + std::to_string(i)}, {"pass", true}, {"version", v}}.dump() + "\n";
  REQUIRE(w.cli.json({"record", "--jsonl", "-"}, outcomes)["inserted"] == 6);
  auto evaluated = w.cli.ok({"canary", "evaluate", "--apply"});
  CHECK(evaluated.out.find("PROMOTE (applied: advanced to step 3/3 at 50 %)") != std::string::npos);
  s = t.status();
  CHECK(s["step"] == 2);
  CHECK(s["shadow"] == false);
  CHECK(t.history()[0]["evidence"]["to_shadow"] == false);
  t.check_routing(5000, false, w.b, w.a);
  w.cli.ok({"doctor"});
}

TEST_CASE("shadow steps: the policy file's steps may begin with \"shadow:P\"") {
  World t;
  auto& w = t.w;
  const auto policy = t.policy_file("p.json", {{"steps", {"shadow:20", 5, 25, 100}}, {"min_samples", 3}});
  SUBCASE("used when --steps is not given") {
    w.cli.ok({"canary", "start", "--version", w.b, "--policy", policy});
    auto s = t.status();
    CHECK(s["steps"] == json::array({20, 5, 25, 100}));
    CHECK(s["shadow_steps"] == 1);
    CHECK(s["shadow"] == true);
    CHECK(s["min_samples"] == 3);
    CHECK(t.started_evidence()["policy"]["steps"] == json::array({"shadow:20", 5, 25, 100}));
    t.check_routing(2000, true, w.b, w.a);
  }
  SUBCASE("--steps replaces them, shadow steps included") {
    w.cli.ok({"canary", "start", "--version", w.b, "--policy", policy, "--steps", "10,50"});
    auto s = t.status();
    CHECK(s["steps"] == json::array({10, 50}));
    CHECK(s["shadow_steps"] == 0);
    CHECK(s["shadow"] == false);
    CHECK(t.started_evidence()["shadow"] == false);
    CHECK(t.started_evidence()["policy"]["steps"] == json::array({10, 50}));
    t.check_routing(1000, false, w.b, w.a);
  }
}

TEST_CASE("shadow steps: --shadow alone still makes every step a shadow step") {
  World t;
  auto& w = t.w;
  auto started = w.cli.ok({"canary", "start", "--version", w.b, "--steps", "20,50", "--shadow"});
  CHECK(started.out.find("shadow step 1/2 at 20 % mirrored") != std::string::npos);
  CHECK(t.status()["shadow_steps"] == 2);
  CHECK(t.started_evidence()["shadow_steps"] == 2);
  CHECK(t.started_evidence()["policy"]["steps"] == json::array({"shadow:20", "shadow:50"}));
  t.check_routing(2000, true, w.b, w.a);
  w.cli.ok({"canary", "promote"});
  CHECK(t.status()["shadow"] == true);
  t.check_routing(5000, true, w.b, w.a);
  w.cli.ok({"doctor"});
}

TEST_CASE("shadow steps: every invalid form exits 2 with one line and writes nothing") {
  World t;
  auto& w = t.w;
  auto start = [&](std::vector<std::string> more) {
    std::vector<std::string> args = {"canary", "start", "--version", w.b};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  t.refused(start({"--steps", "5,shadow:20"}),
            "--steps: the shadow step 'shadow:20' comes after a live step; shadow steps (shadow:P) only lead");
  t.refused(start({"--steps", "shadow:10,25,shadow:30,50"}), "comes after a live step");
  t.refused(start({"--steps", "shadow:20,shadow:10,50"}),
            "the shadow steps of --steps must be strictly ascending, got shadow:20,shadow:10,50");
  t.refused(start({"--steps", "shadow:20,shadow:20,50"}), "the shadow steps of --steps must be strictly ascending");
  t.refused(start({"--steps", "shadow:20,10,5"}),
            "the live steps of --steps must be strictly ascending, got shadow:20,10,5");
  t.refused(start({"--steps", "shadow:0,5"}), "each shadow:P of --steps must be in (0, 100], got 0");
  t.refused(start({"--steps", "shadow:100.5,5"}), "each shadow:P of --steps must be in (0, 100]");
  t.refused(start({"--steps", "shadow:,5"}), "each shadow:P of --steps must be a number");
  t.refused(start({"--steps", "shadow:x,5"}), "each shadow:P of --steps must be a number");
  t.refused(start({"--steps", "shadow:12.345,5"}), "at most two decimals");
  t.refused(start({"--steps", "Shadow:20,5"}), "each of --steps must be a number");
  t.refused(start({"--steps", "shadow: 20,5"}), "each shadow:P of --steps must be a number");
  t.refused(start({"--steps", "shadow:20,5", "--shadow"}),
            "give --shadow or shadow:P steps, not both: --steps already name shadow steps");
  t.refused(start({"--steps", "shadow:20,5", "--percentage", "5"}), "give --percentage or --steps, not both");
  t.refused(start({"--percentage", "shadow:20"}), "--percentage must be a number");

  const auto policy = [&](const json& steps) {
    static int n = 0;
    return t.policy_file("policy-" + std::to_string(++n) + ".json", {{"steps", steps}});
  };
  t.refused(start({"--policy", policy({5, "shadow:20"})}),
            "policy key 'steps[1]' must be a number: shadow steps (\"shadow:P\") come only before the live ones, "
            "got \"shadow:20\"");
  t.refused(start({"--policy", policy({"shadow:20", "shadow:10", 50})}), "policy key 'steps' must be an array");
  t.refused(start({"--policy", policy({"shadow:20", 10, 5})}), "policy key 'steps' must be an array");
  t.refused(start({"--policy", policy({"shadow:0", 5})}), "policy key 'steps[0]'");
  t.refused(start({"--policy", policy({"shadow:20.125", 5})}), "policy key 'steps[0]'");
  t.refused(start({"--policy", policy({"shadow 20", 5})}), "policy key 'steps[0]'");
  t.refused(start({"--policy", policy({"20", 50})}), "policy key 'steps[0]'");
  t.refused(start({"--policy", policy({"shadow:20", 5}), "--shadow"}),
            "give --shadow or shadow:P steps, not both: the policy file's steps already name shadow steps");
  CHECK(t.status()["state"] == "idle");
}

// A rollout started with --shadow before shadow steps existed had every step
// shadow; the migration gives it as many shadow steps as steps, and leaves a
// live rollout with none. Runs on both backends.
TEST_CASE("shadow steps: a store migrated from before keeps an all-shadow rollout all-shadow") {
  World t;
  auto& w = t.w;
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "20,50", "--shadow"});
  const std::string live_stable = w.add("s.txt", "S\n", "live");
  const std::string live_canary = w.add("c.txt", "C\n", "live");
  w.cli.ok({"--track", "live", "canary", "start", "--version", live_canary, "--steps", "10,60"});

  // Take the store back to the schema before the migration that added
  // shadow_steps, whatever its number.
  const auto& migrations = test::on_postgresql() ? store::postgresql_migrations() : store::sqlite_migrations();
  int number = 0;
  for (const auto& m : migrations)
    if (std::string(m.name).ends_with("_shadow_steps.sql"))
      number = m.number;
  REQUIRE(number > 1);
  const std::string db = w.cli.state() + "/" + store::k_db_file;
  sqlite_value(db, "DROP TABLE window_buckets; DROP TABLE window_sums; ALTER TABLE rollouts DROP COLUMN window_sums;"
                   " DROP TABLE session_requests; DROP TABLE sessions; ALTER TABLE rollouts DROP COLUMN shadow_steps;"
                   " DROP TABLE hook_attempts; DROP TABLE deliveries; DROP TABLE hooks");
  sqlite_value(db, test::on_postgresql() ? "DELETE FROM kanari_schema WHERE version >= " + std::to_string(number)
                                         : "PRAGMA user_version = " + std::to_string(number - 1));
  REQUIRE(sqlite_value(db, "SELECT count(*) FROM rollouts") == "2");

  auto s = t.status(); // opening the store migrates it
  CHECK(sqlite_value(db, "SELECT shadow_steps FROM rollouts ORDER BY id") == "2\n0");
  CHECK(s["shadow_steps"] == 2);
  CHECK(s["shadow"] == true);
  t.check_routing(2000, true, w.b, w.a);
  w.cli.ok({"canary", "promote"});
  CHECK(t.status()["shadow"] == true);
  t.check_routing(5000, true, w.b, w.a);
  CHECK(t.status("live")["shadow_steps"] == 0);
  t.check_routing(1000, false, live_canary, live_stable, "live");
  w.cli.ok({"doctor"});
}

TEST_CASE("shadow steps: doctor checks them against the started event, or its shadow flag when it has none") {
  World t;
  auto& w = t.w;
  const std::string db = w.cli.state() + "/" + store::k_db_file;
  SUBCASE("a started event that records them") {
    w.cli.ok({"canary", "start", "--version", w.b, "--steps", "shadow:20,5,25,100"});
    sqlite_value(db, "UPDATE rollouts SET shadow_steps = 2");
    auto r = w.cli({"doctor"});
    CHECK(r.code == 1);
    CHECK(r.err.find("rollout 1: its shadow steps are 2 but its events say 1") != std::string::npos);
  }
  SUBCASE("a started event written before shadow steps existed") {
    // The rollout and its started event as `canary start --shadow` wrote
    // them then: a shadow flag and no shadow_steps in the evidence.
    auto opened = store::open(w.cli.state(), store::OpenMode::existing);
    REQUIRE(opened.ok());
    rollout::Context ctx{**opened, w.cli.clock, "tester"};
    REQUIRE(ctx.store
                .write([&]() -> Result<void> {
                  store::RolloutRecord r;
                  r.track = "default";
                  r.canary = w.b;
                  r.stable = w.a;
                  r.steps_bp = {2000, 5000};
                  r.salt = std::string(32, 'a');
                  r.shadow = true;
                  r.shadow_steps = 2;
                  gate::Policy p;
                  p.steps_bp = r.steps_bp;
                  const json policy = gate::policy_to_json(p);
                  r.policy = core::canonical_json(policy);
                  r.policy_sha256 = crypto::sha256_hex(r.policy);
                  r.started_at = r.step_started_at = w.cli.clock.now_ms();
                  r.id = ctx.store.insert_rollout(r);
                  rollout::append_event(ctx, {"started",
                                              "default",
                                              r.id,
                                              r.canary,
                                              "canary started",
                                              {{"rollout", r.id},
                                               {"canary", r.canary},
                                               {"stable", r.stable},
                                               {"step", 0},
                                               {"percentage", 20},
                                               {"steps", {20, 50}},
                                               {"salt", r.salt},
                                               {"shadow", true},
                                               {"policy", policy},
                                               {"policy_sha256", r.policy_sha256},
                                               {"signed_by", nullptr}}});
                  return {};
                })
                .ok());
    opened->reset();
    w.cli.ok({"doctor"});
    sqlite_value(db, "UPDATE rollouts SET shadow_steps = 1");
    auto r = w.cli({"doctor"});
    CHECK(r.code == 1);
    CHECK(r.err.find("rollout 1: its shadow steps are 1 but its events say 2") != std::string::npos);
  }
}
