// The canary lifecycle through the real CLI: every command in every state
// (idle, active, paused, and idle again after promoted / rolled_back), the
// legal transitions and what they show, the illegal ones (exit 4/5) and bad
// input (exit 2), each proven to change nothing in the store.
#include "support.hpp"

#include <doctest/doctest.h>

#include <regex>

using namespace kanari::test;
using nlohmann::json;

namespace {

struct World {
  Cli cli;
  std::string a, b, c; // a is the stable; b and c are on the track too

  World() {
    cli.ok({"init"});
    a = add("a.txt", "You are agent A.\n");
    b = add("b.txt", "You are agent B.\n");
    c = add("c.txt", "You are agent C.\n");
  }

  std::string add(const std::string& name, const std::string& text, const std::string& track = "default") {
    auto path = cli.dir().file(name, text);
    return cli.json({"--track", track, "version", "add", "--prompt", "system=" + path})["id"].get<std::string>();
  }

  json status(const std::string& track = "default") { return cli.json({"--track", track, "canary", "status"}); }
  json history(const std::string& track = "default") { return cli.json({"--track", track, "history"}); }

  // Runs a command that must be refused with `code` and change nothing.
  CliResult rejected(const std::vector<std::string>& args, int code, const std::string& message = "") {
    const auto before = store_snapshot(cli.state());
    const auto events = history();
    auto r = cli(args);
    INFO("command: " << json(args).dump() << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.code == code);
    CHECK(r.err.find("kanari: error: ") != std::string::npos);
    if (!message.empty())
      CHECK(r.err.find(message) != std::string::npos);
    CHECK(store_snapshot(cli.state()) == before);
    CHECK(history() == events);
    return r;
  }

  std::vector<std::string> actions(const std::string& track = "default") {
    std::vector<std::string> out;
    for (const auto& e : history(track))
      out.push_back(e["action"].get<std::string>());
    return out;
  }
};

void check_status_shape(const json& s) {
  for (const char* key : {"track", "state", "stable", "canary", "rollout", "salt", "step", "steps", "percentage",
                          "shadow", "canary_stats", "stable_stats", "min_samples"})
    CHECK_MESSAGE(s.contains(key), "status lacks \"" << key << "\": " << s.dump());
  for (const char* arm : {"canary_stats", "stable_stats"})
    for (const char* key : {"n", "pass", "pass_rate"})
      CHECK_MESSAGE(s[arm].contains(key), arm << " lacks " << key);
}

const std::vector<std::string> k_verbs_needing_rollout = {"promote", "rollback", "pause", "resume", "approve"};

} // namespace

TEST_CASE("lifecycle: idle track refuses every transition (exit 5) and shows idle status") {
  World w;
  auto s = w.status();
  check_status_shape(s);
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.a);
  CHECK(s["canary"].is_null());
  CHECK(s["rollout"].is_null());
  CHECK(s["percentage"] == 0);
  for (const auto& verb : k_verbs_needing_rollout) {
    CAPTURE(verb);
    w.rejected({"canary", verb}, 5, "no active rollout");
  }
  w.rejected({"canary", "--promote"}, 5);
  w.rejected({"canary", "--rollback"}, 5);
  w.rejected({"canary", "promote", "--full"}, 5);
  CHECK(w.actions() == std::vector<std::string>{"stable_set"});
}

TEST_CASE("lifecycle: start shows the new rollout as the status object (SPEC 3.1)") {
  World w;
  auto s = w.cli.json({"canary", "start", "--version", w.b.substr(0, 8), "--steps", "5,25.5,100"});
  check_status_shape(s);
  CHECK(s["track"] == "default");
  CHECK(s["state"] == "active");
  CHECK(s["stable"] == w.a);
  CHECK(s["canary"] == w.b);
  CHECK(s["rollout"].is_number_integer());
  CHECK(std::regex_match(s["salt"].get<std::string>(), std::regex("[0-9a-f]{32}")));
  CHECK(s["step"] == 0);
  CHECK(s["steps"] == json::array({5, 25.5, 100}));
  CHECK(s["percentage"] == 5);
  CHECK(s["shadow"] == false);
  CHECK(s["min_samples"] == 10);
  CHECK(s["canary_stats"]["n"] == 0);
  CHECK(w.status() == s);
  CHECK(w.actions() == std::vector<std::string>{"started", "stable_set"});

  // A new rollout draws a new salt.
  w.cli.ok({"canary", "rollback"});
  auto s2 = w.cli.json({"canary", "start", "--version", w.b, "--percentage", "5"});
  CHECK(s2["salt"] != s["salt"]);
  CHECK(s2["rollout"] != s["rollout"]);
}

TEST_CASE("lifecycle: active rollout: start, resume and stable are refused, state unchanged") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "20"});
  w.rejected({"canary", "start", "--version", w.c, "--percentage", "20"}, 5, "already has");
  w.rejected({"canary", "start", "--version", w.b, "--percentage", "20"}, 5);
  w.rejected({"canary", "--prompt-version", w.c, "--percentage", "10"}, 5);
  w.rejected({"canary", "resume"}, 5, "not paused");
  w.rejected({"canary", "promote", "--from-step", "1"}, 5, "step 0");
  w.rejected({"canary", "rollback", "--from-step", "3"}, 5);
  CHECK(w.status()["state"] == "active");
}

TEST_CASE("lifecycle: pause and resume") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "10,50"});
  auto s = w.cli.json({"canary", "pause", "--reason", "investigating latency"});
  CHECK(s["state"] == "paused");
  CHECK(w.status()["state"] == "paused");
  w.rejected({"canary", "pause"}, 5, "not active");
  w.rejected({"canary", "start", "--version", w.c, "--percentage", "20"}, 5, "paused rollout");
  auto h = w.history();
  CHECK(h[0]["action"] == "paused");
  CHECK(h[0]["reason"] == "investigating latency");

  // Approve is allowed while paused; so are promote and rollback.
  CHECK(w.cli.json({"canary", "approve"})["state"] == "paused");
  s = w.cli.json({"canary", "resume"});
  CHECK(s["state"] == "active");
  CHECK(s["step"] == 0);
  w.rejected({"canary", "resume"}, 5);
  w.cli.ok({"canary", "pause"});
  s = w.cli.json({"canary", "promote"});
  CHECK(s["step"] == 1);
  CHECK(s["percentage"] == 50);
  CHECK(w.actions() ==
        std::vector<std::string>{"step_advanced", "paused", "resumed", "approved", "paused", "started", "stable_set"});
}

TEST_CASE("lifecycle: promote walks the steps, the last step makes the canary stable") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "10,50,100"});
  auto s = w.cli.json({"canary", "promote"});
  CHECK(s["state"] == "active");
  CHECK(s["step"] == 1);
  CHECK(s["percentage"] == 50);
  CHECK(s["stable"] == w.a);
  s = w.cli.json({"canary", "promote", "--from-step", "1"});
  CHECK(s["step"] == 2);
  CHECK(s["percentage"] == 100);
  CHECK(s["stable"] == w.a);
  s = w.cli.json({"canary", "promote", "--reason", "all green"});
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.b);
  CHECK(s["canary"].is_null());
  CHECK(s["rollout"].is_null());
  CHECK(s["percentage"] == 0);
  CHECK(w.actions() == std::vector<std::string>{"promoted", "step_advanced", "step_advanced", "started", "stable_set"});
  auto promoted = w.history()[0];
  CHECK(promoted["version"] == w.b);
  CHECK(promoted["reason"] == "all green");
  CHECK(promoted["evidence"]["new_stable"] == w.b);
  CHECK(promoted["evidence"]["previous_stable"] == w.a);

  // Terminal: the track is idle again; transitions refused, the old stable
  // can now be rolled out, the new stable cannot.
  for (const auto& verb : k_verbs_needing_rollout) {
    CAPTURE(verb);
    w.rejected({"canary", verb}, 5);
  }
  w.rejected({"canary", "start", "--version", w.b, "--percentage", "10"}, 5, "already the stable");
  auto again = w.cli.json({"canary", "start", "--version", w.a, "--percentage", "10"});
  CHECK(again["canary"] == w.a);
  CHECK(again["stable"] == w.b);
}

TEST_CASE("lifecycle: promote --full skips the remaining steps") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.c, "--steps", "1,2,3,4"});
  auto s = w.cli.json({"canary", "promote", "--full"});
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.c);
  CHECK(w.actions() == std::vector<std::string>{"promoted", "started", "stable_set"});
}

TEST_CASE("lifecycle: rollback ends the rollout, stable unchanged, everyone routed to stable") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "100"});
  CHECK(w.cli.json({"route", "--key", "user-1"})["version"] == w.b);
  auto s = w.cli.json({"canary", "rollback", "--reason", "bad answers"});
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.a);
  CHECK(s["canary"].is_null());
  auto r = w.cli.json({"route", "--key", "user-1"});
  CHECK(r["version"] == w.a);
  CHECK(r["arm"] == "stable");
  auto h = w.history();
  CHECK(h[0]["action"] == "rolled_back");
  CHECK(h[0]["reason"] == "bad answers");
  CHECK(h[0]["version"] == w.b);
  for (const auto& verb : k_verbs_needing_rollout) {
    CAPTURE(verb);
    w.rejected({"canary", verb}, 5);
  }
  // The same candidate may be tried again.
  CHECK(w.cli.json({"canary", "start", "--version", w.b, "--percentage", "5"})["state"] == "active");
}

TEST_CASE("lifecycle: Bernstein's forms") {
  World w;
  auto s = w.cli.json({"canary", "--prompt-version", w.b, "--percentage", "20"});
  CHECK(s["state"] == "active");
  CHECK(s["canary"] == w.b);
  CHECK(s["percentage"] == 20);
  CHECK(s["steps"] == json::array({20}));
  s = w.cli.json({"canary", "--promote"});
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.b);

  s = w.cli.json({"canary", "--prompt-version", w.a.substr(0, 6), "--percentage", "12.5"});
  CHECK(s["canary"] == w.a);
  CHECK(s["percentage"] == 12.5);
  s = w.cli.json({"canary", "--rollback"});
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.b);
  CHECK(w.actions() == std::vector<std::string>{"rolled_back", "started", "promoted", "started", "stable_set"});

  w.rejected({"canary", "--prompt-version", w.c}, 2, "--percentage");
  w.rejected({"canary", "--promote", "--rollback"}, 2);
  w.rejected({"canary"}, 2);
}

TEST_CASE("lifecycle: Bernstein's --promote / --rollback take --reason like promote / rollback") {
  // SPEC 3: `canary rollback [--reason TEXT]` (alias `canary --rollback`).
  // At 3 AM `kanari canary --rollback --reason "..."` must roll back, not
  // fail with a usage error and leave the canary serving.
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "10,100"});
  SUBCASE("--rollback") {
    auto r = w.cli({"canary", "--rollback", "--reason", "bad answers"});
    INFO("stderr: " << r.err);
    CHECK(r.code == 0);
    CHECK(w.status()["state"] == "idle");
    CHECK(w.history()[0]["reason"] == "bad answers");
  }
  SUBCASE("--prompt-version") {
    w.cli.ok({"canary", "rollback"});
    auto r = w.cli({"canary", "--prompt-version", w.c, "--percentage", "5", "--reason", "try C"});
    INFO("stderr: " << r.err);
    CHECK(r.code == 0);
    CHECK(w.history()[0]["action"] == "started");
    CHECK(w.history()[0]["reason"] == "try C");
  }
  SUBCASE("--promote") {
    auto r = w.cli({"canary", "--promote", "--reason", "looks good"});
    INFO("stderr: " << r.err);
    CHECK(r.code == 0);
    CHECK(w.status()["step"] == 1);
    CHECK(w.history()[0]["reason"] == "looks good");
  }
}

TEST_CASE("lifecycle: rollback of a paused rollout") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10"});
  w.cli.ok({"canary", "pause"});
  auto s = w.cli.json({"canary", "rollback"});
  CHECK(s["state"] == "idle");
  CHECK(s["stable"] == w.a);
  CHECK(w.actions() == std::vector<std::string>{"rolled_back", "paused", "started", "stable_set"});
}

TEST_CASE("lifecycle: start options: overrides, policy file, shadow") {
  World w;
  SUBCASE("flags become the rollout's policy") {
    auto s = w.cli.json({"canary", "start", "--version", w.b, "--percentage", "10", "--min-samples", "25",
                         "--max-regression", "0.05", "--regression", "relative"});
    CHECK(s["min_samples"] == 25);
    auto policy = w.history()[0]["evidence"]["policy"];
    CHECK(policy["min_samples"] == 25);
    CHECK(policy["max_regression"] == 0.05);
    CHECK(policy["regression"] == "relative");
    CHECK(policy["steps"] == json::array({10}));
  }
  SUBCASE("a policy file, its steps used when no --percentage; flags override its keys") {
    auto file = w.cli.dir().file("p.json", R"({"min_samples": 5, "steps": [1, 10, 100], "max_regression": 0.2})");
    auto s = w.cli.json({"canary", "start", "--version", w.b, "--policy", file, "--min-samples", "7"});
    CHECK(s["steps"] == json::array({1, 10, 100}));
    CHECK(s["percentage"] == 1);
    CHECK(s["min_samples"] == 7);
    CHECK(w.history()[0]["evidence"]["policy"]["max_regression"] == 0.2);
  }
  SUBCASE("--percentage replaces the policy file's steps") {
    auto file = w.cli.dir().file("p.json", R"({"steps": [1, 10, 100]})");
    auto s = w.cli.json({"canary", "start", "--version", w.b, "--policy", file, "--percentage", "30"});
    CHECK(s["steps"] == json::array({30}));
  }
  SUBCASE("--shadow") {
    auto s = w.cli.json({"canary", "start", "--version", w.b, "--percentage", "50", "--shadow"});
    CHECK(s["shadow"] == true);
    CHECK(w.status()["shadow"] == true);
    CHECK(w.history()[0]["evidence"]["shadow"] == true);
  }
}

TEST_CASE("lifecycle: start of unknown, foreign or stable versions") {
  World w;
  const auto other = w.add("o.txt", "only on the other track\n", "other");
  w.rejected({"canary", "start", "--version", "ffffffff", "--percentage", "10"}, 4, "no version matches");
  w.rejected({"canary", "start", "--version", "not-a-ref", "--percentage", "10"}, 4);
  w.rejected({"canary", "start", "--version", "canary", "--percentage", "10"}, 4);
  w.rejected({"canary", "start", "--version", other, "--percentage", "10"}, 4, "not on track 'default'");
  w.rejected({"canary", "start", "--version", w.a, "--percentage", "10"}, 5, "already the stable");
  w.rejected({"canary", "start", "--version", "stable", "--percentage", "10"}, 5);
  w.rejected({"--track", "other", "canary", "start", "--version", w.b, "--percentage", "10"}, 4);
  // An empty track has no stable to compare against.
  w.rejected({"--track", "empty", "canary", "start", "--version", w.b, "--percentage", "10"}, 4);
}

TEST_CASE("lifecycle: percentage and steps validation (exit 2, nothing written)") {
  World w;
  auto start = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"canary", "start", "--version", w.b};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  w.rejected(start({"--percentage", "120"}), 2, "--percentage must be in (0, 100], got 120");
  w.rejected(start({"--percentage", "0"}), 2, "--percentage must be in (0, 100], got 0");
  w.rejected(start({"--percentage=-1"}), 2, "got -1");
  w.rejected(start({"--percentage", "-1"}), 2);
  for (const char* bad : {"100.001", "abc", "nan", "inf", "-inf", "1e400", "12.345", "", "5%", "0x10", " 5"}) {
    CAPTURE(bad);
    w.rejected(start({"--percentage", bad}), 2);
  }
  w.rejected(start({"--steps", "5,5"}), 2, "ascending");
  w.rejected(start({"--steps", "50,25"}), 2, "ascending");
  w.rejected(start({"--steps", "5,,25"}), 2);
  w.rejected(start({"--steps", "5,25,101"}), 2);
  w.rejected(start({"--steps", "0,25"}), 2);
  w.rejected(start({"--percentage", "10", "--steps", "10,20"}), 2, "not both");
  w.rejected(start({}), 2);
  w.rejected({"canary", "start", "--percentage", "10"}, 2);
  w.rejected({"canary", "--prompt-version", w.b, "--percentage", "120"}, 2, "got 120");
  w.rejected(start({"--percentage", "10", "--min-samples", "0"}), 2, "min_samples");
  w.rejected(start({"--percentage", "10", "--max-regression", "1.5"}), 2, "max_regression");
  w.rejected(start({"--percentage", "10", "--regression", "abs"}), 2, "regression");
  w.rejected({"--track", "bad/name", "canary", "start", "--version", w.b, "--percentage", "10"}, 2);

  // The boundaries themselves are accepted.
  CHECK(w.cli.json(start({"--percentage", "0.01"}))["percentage"] == 0.01);
  w.cli.ok({"canary", "rollback"});
  CHECK(w.cli.json(start({"--percentage", "100"}))["percentage"] == 100);
  w.cli.ok({"canary", "rollback"});
  CHECK(w.cli.json(start({"--percentage", "12.340"}))["percentage"] == 12.34);
}

TEST_CASE("lifecycle: tracks are independent") {
  World w;
  const auto x = w.add("x.txt", "x\n", "ops");
  const auto y = w.add("y.txt", "y\n", "ops");
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10"});
  auto s = w.cli.json({"--track", "ops", "canary", "start", "--version", y, "--percentage", "30"});
  CHECK(s["track"] == "ops");
  CHECK(s["stable"] == x);
  w.cli.ok({"--track", "ops", "canary", "rollback"});
  CHECK(w.status()["state"] == "active");
  CHECK(w.status("ops")["state"] == "idle");
  CHECK(w.actions("ops") == std::vector<std::string>{"rolled_back", "started", "stable_set"});
}
