// `kanari canary evaluate` through the real CLI: the verdict JSON (SPEC
// §3.1), Bernstein's boundaries, exit codes, --apply performing the verdict
// exactly once with its evidence, and --all over several tracks.
#include "support.hpp"

#include "crypto/sha256.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

struct World : TwoVersions {

  // canary c/n vs stable s/n, one rollout on `steps`.
  void scenario(int canary_pass, int canary_n, int stable_pass, int stable_n, const std::string& steps = "10,100") {
    cli.ok({"canary", "start", "--version", b, "--steps", steps});
    outcomes("canary", canary_pass, canary_n);
    outcomes("stable", stable_pass, stable_n);
  }

  CliResult evaluate(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"canary", "evaluate", "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = cli(args);
    INFO("stderr: " << r.err);
    CHECK(r.err.find("error") == std::string::npos);
    return r;
  }

  json status() { return cli.json({"canary", "status"}); }
  json history() { return cli.json({"history"}); }
};

void check_verdict_shape(const json& v) {
  for (const char* key : {"track", "verdict", "applied", "action", "canary", "stable", "reasons"})
    CHECK_MESSAGE(v.contains(key), "verdict lacks \"" << key << "\": " << v.dump());
  for (const char* arm : {"canary", "stable"})
    for (const char* key : {"n", "pass", "pass_rate"})
      CHECK_MESSAGE(v[arm].contains(key), arm << " lacks " << key);
  CHECK(v["reasons"].is_array());
  CHECK(!v["reasons"].empty());
}

} // namespace

TEST_CASE("evaluate: NO_CANARY on an idle track, exit 0, nothing written") {
  World w;
  const auto before = store_snapshot(w.cli.state());
  auto r = w.evaluate({"--apply"});
  CHECK(r.code == 0);
  auto v = r.json();
  check_verdict_shape(v);
  CHECK(v["track"] == "default");
  CHECK(v["verdict"] == "NO_CANARY");
  CHECK(v["applied"] == false);
  CHECK(v["action"] == "none");
  CHECK(store_snapshot(w.cli.state()) == before);
  CHECK(w.cli.ok({"canary", "evaluate"}).out.find("NO_CANARY") != std::string::npos);
}

TEST_CASE("evaluate: INSUFFICIENT_DATA below min_samples names the count") {
  World w;
  SUBCASE("canary 9/10") {
    w.scenario(9, 9, 10, 10);
    auto r = w.evaluate();
    CHECK(r.code == 0);
    auto v = r.json();
    check_verdict_shape(v);
    CHECK(v["verdict"] == "INSUFFICIENT_DATA");
    CHECK(v["canary"]["n"] == 9);
    CHECK(mentions(v["reasons"], "9/10"));
    CHECK(v["more_canary_tasks"] == 1);
  }
  SUBCASE("stable 9/10") {
    w.scenario(10, 10, 9, 9);
    auto v = w.evaluate().json();
    CHECK(v["verdict"] == "INSUFFICIENT_DATA");
    CHECK(mentions(v["reasons"], "stable 9/10"));
  }
  SUBCASE("--min-samples 20") {
    w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10", "--min-samples", "20"});
    w.outcomes("canary", 19, 19);
    w.outcomes("stable", 20, 20);
    auto v = w.evaluate().json();
    CHECK(v["verdict"] == "INSUFFICIENT_DATA");
    CHECK(mentions(v["reasons"], "19/20"));
  }
}

TEST_CASE("evaluate: Bernstein's boundaries through the CLI") {
  struct Case {
    int canary, stable;
    const char* verdict;
    int code;
  };
  for (const auto& c :
       {Case{7, 8, "HOLD", 0}, Case{6, 8, "ROLLBACK", 1}, Case{8, 8, "PROMOTE", 0}, Case{10, 8, "PROMOTE", 0},
        Case{0, 0, "PROMOTE", 0}, Case{9, 10, "HOLD", 0}, Case{8, 9, "HOLD", 0}, Case{7, 10, "ROLLBACK", 1}}) {
    CAPTURE(c.canary);
    CAPTURE(c.stable);
    World w;
    w.scenario(c.canary, 10, c.stable, 10);
    const auto before = store_snapshot(w.cli.state());
    auto r = w.evaluate();
    CHECK(r.code == c.code);
    auto v = r.json();
    check_verdict_shape(v);
    CHECK(v["verdict"] == c.verdict);
    CHECK(v["applied"] == false);
    CHECK(v["action"] == "none");
    CHECK(v["canary"]["pass"] == c.canary);
    CHECK(v["canary"]["n"] == 10);
    CHECK(v["stable"]["pass"] == c.stable);
    CHECK(v["canary"]["pass_rate"] == doctest::Approx(c.canary / 10.0));
    // Without --apply nothing changes.
    CHECK(store_snapshot(w.cli.state()) == before);
    auto human = w.cli({"canary", "evaluate"});
    CHECK(human.code == c.code);
    CHECK(human.out.find(c.verdict) != std::string::npos);
  }
}

TEST_CASE("evaluate --apply: PROMOTE advances one step with full evidence") {
  World w;
  w.scenario(8, 10, 8, 10, "10,50,100");
  const auto st = w.status();
  auto r = w.evaluate({"--apply"});
  CHECK(r.code == 0);
  auto v = r.json();
  CHECK(v["verdict"] == "PROMOTE");
  CHECK(v["applied"] == true);
  CHECK(v["action"] == "advanced");
  auto s = w.status();
  CHECK(s["state"] == "active");
  CHECK(s["step"] == 1);
  CHECK(s["percentage"] == 50);
  CHECK(s["canary_stats"]["n"] == 0);

  auto e = w.history()[0];
  CHECK(e["action"] == "step_advanced");
  CHECK(e["actor"] == "tester");
  CHECK(e["reason"].get<std::string>().find("PROMOTE") != std::string::npos);
  const auto& gate = e["evidence"]["gate"];
  CHECK(gate["method"] == "threshold");
  CHECK(gate["canary"]["n"] == 10);
  CHECK(gate["canary"]["pass"] == 8);
  CHECK(gate["baseline"]["n"] == 10);
  CHECK(gate["baseline"]["pass"] == 8);
  CHECK(gate["params"]["min_samples"] == 10);
  CHECK(gate["params"]["max_regression"] == 0.1);
  // The policy hash: the rollout's, and SHA-256 of the canonical policy JSON
  // (nlohmann sorts keys and prints compactly: canonical for these values).
  CHECK(gate["policy_sha256"] == st["policy_sha256"]);
  json policy;
  for (const auto& ev : w.history())
    if (ev["action"] == "started")
      policy = ev["evidence"]["policy"];
  REQUIRE(policy.is_object());
  CHECK(gate["policy_sha256"] == crypto::sha256_hex(policy.dump()));

  // Exactly once: the new step's window is empty.
  v = w.evaluate({"--apply"}).json();
  CHECK(v["verdict"] == "INSUFFICIENT_DATA");
  CHECK(v["applied"] == false);
  CHECK(w.status()["step"] == 1);
}

TEST_CASE("evaluate --apply: PROMOTE at the last step makes the canary stable") {
  World w;
  w.scenario(10, 10, 9, 10, "100");
  auto v = w.evaluate({"--apply"}).json();
  CHECK(v["verdict"] == "PROMOTE");
  CHECK(v["action"] == "promoted");
  auto s = w.status();
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.b);
  auto e = w.history()[0];
  CHECK(e["action"] == "promoted");
  CHECK(e["evidence"]["gate"]["canary"]["pass"] == 10);
  CHECK(w.evaluate({"--apply"}).json()["verdict"] == "NO_CANARY");
}

TEST_CASE("evaluate --apply: ROLLBACK ends the rollout, exit 1") {
  World w;
  w.scenario(6, 10, 8, 10);
  auto r = w.evaluate({"--apply"});
  CHECK(r.code == 1);
  auto v = r.json();
  CHECK(v["verdict"] == "ROLLBACK");
  CHECK(v["applied"] == true);
  CHECK(v["action"] == "rolled_back");
  auto s = w.status();
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.a);
  auto e = w.history()[0];
  CHECK(e["action"] == "rolled_back");
  CHECK(e["evidence"]["gate"]["canary"]["pass"] == 6);
  CHECK(e["evidence"]["gate"]["baseline"]["pass"] == 8);
  CHECK(e["evidence"]["verdict"] == "ROLLBACK");
  // Human form says it was applied.
  World w2;
  w2.scenario(2, 10, 10, 10);
  auto h = w2.cli({"canary", "evaluate", "--apply"});
  CHECK(h.code == 1);
  CHECK(h.out.find("ROLLBACK") != std::string::npos);
  CHECK(h.out.find("rolled back") != std::string::npos);
}

TEST_CASE("evaluate --apply: HOLD and INSUFFICIENT_DATA change nothing") {
  World w;
  w.scenario(7, 10, 8, 10);
  const auto before = w.history();
  auto v = w.evaluate({"--apply"}).json();
  CHECK(v["verdict"] == "HOLD");
  CHECK(v["applied"] == false);
  CHECK(v["action"] == "none");
  CHECK(w.history() == before);
  CHECK(w.status()["step"] == 0);
}

TEST_CASE("evaluate --all: every track with an open rollout, exit 1 if any rolls back") {
  World w;
  const auto x = w.add("x.txt", "x\n", "ops");
  const auto y = w.add("y.txt", "y\n", "ops");
  w.add("q.txt", "q\n", "quiet"); // a track without a rollout is not listed
  SUBCASE("none open") {
    auto r = w.evaluate({"--all"});
    CHECK(r.code == 0);
    CHECK(r.json() == json::array());
  }
  SUBCASE("one PROMOTE, one ROLLBACK") {
    w.scenario(9, 10, 9, 10);
    w.cli.ok({"--track", "ops", "canary", "start", "--version", y, "--percentage", "20"});
    w.outcomes("canary", 3, 10, "ops");
    w.outcomes("stable", 9, 10, "ops");
    auto r = w.evaluate({"--all"});
    CHECK(r.code == 1);
    auto arr = r.json();
    REQUIRE(arr.is_array());
    REQUIRE(arr.size() == 2);
    std::map<std::string, json> by_track;
    for (const auto& v : arr) {
      check_verdict_shape(v);
      by_track[v["track"].get<std::string>()] = v;
    }
    CHECK(by_track["default"]["verdict"] == "PROMOTE");
    CHECK(by_track["ops"]["verdict"] == "ROLLBACK");

    r = w.evaluate({"--all", "--apply"});
    CHECK(r.code == 1);
    for (const auto& v : r.json())
      CHECK(v["applied"] == true);
    CHECK(w.status()["step"] == 1);
    auto ops = w.cli.json({"--track", "ops", "canary", "status"});
    CHECK(ops["state"] == "idle");
    CHECK(ops["stable"] == x);
    // The rolled-back track is no longer listed.
    r = w.evaluate({"--all"});
    CHECK(r.code == 0);
    REQUIRE(r.json().size() == 1);
    CHECK(r.json()[0]["track"] == "default");
  }
}
