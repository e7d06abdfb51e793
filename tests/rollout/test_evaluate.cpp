// Policy features of the gate (SPEC §6.3, §6.4) as an operator meets them:
// a --policy file on `canary start`, outcomes recorded, the fake clock
// advanced, and `canary evaluate [--apply]` run the way cron runs it.
#include "support.hpp"

#include <doctest/doctest.h>

#include <functional>

using namespace kanari::test;
using nlohmann::json;

namespace {

struct World : TwoVersions {
  int next_task = 0;

  void start(const std::string& policy, const std::string& steps = "10,50,100") {
    auto file = cli.dir().file("policy.json", policy);
    cli.ok({"canary", "start", "--version", b, "--policy", file, "--steps", steps});
  }

  // Records `passes` of `n` outcomes for ref (failures first); each line
  // merged with `extra(i)`.
  void outcomes(
      const std::string& ref, int passes, int n,
      const std::function<json(int)>& extra = [](int) { return json::object(); }) {
    std::string text;
    for (int i = 0; i < n; ++i) {
      json line = {{"task", "task-" + std::to_string(next_task++)}, {"pass", i >= n - passes}, {"version", ref}};
      line.update(extra(i));
      text += line.dump() + "\n";
    }
    REQUIRE(cli.json({"record", "--jsonl", "-"}, text)["inserted"] == n);
  }

  json evaluate(bool apply = false, int expect_code = -1) {
    std::vector<std::string> args{"canary", "evaluate", "--json"};
    if (apply)
      args.push_back("--apply");
    auto r = cli(args);
    INFO("stderr: " << r.err << "\nstdout: " << r.out);
    REQUIRE((r.code == 0 || r.code == 1));
    auto v = r.json();
    CHECK(r.code == (v["verdict"] == "ROLLBACK" ? 1 : 0));
    if (expect_code >= 0)
      CHECK(r.code == expect_code);
    return v;
  }

  json status() { return cli.json({"canary", "status"}); }
};

} // namespace

TEST_CASE("rollout policy: min_step_seconds holds a PROMOTE until the step is old enough") {
  World w;
  w.start(R"({"min_step_seconds": 600})");
  w.outcomes("canary", 10, 10);
  w.outcomes("stable", 10, 10);
  w.cli.clock.advance_ms(599'000);
  auto v = w.evaluate(true);
  CHECK(v["verdict"] == "HOLD");
  CHECK(v["applied"] == false);
  CHECK(mentions(v["reasons"], "min_step_seconds 600"));
  CHECK(w.status()["step"] == 0);
  w.cli.clock.advance_ms(1'000);
  v = w.evaluate(true);
  CHECK(v["verdict"] == "PROMOTE");
  CHECK(v["action"] == "advanced");
  // The next step's clock starts at the promotion.
  w.outcomes("canary", 10, 10);
  w.cli.clock.advance_ms(300'000);
  CHECK(w.evaluate(true)["verdict"] == "HOLD");
  CHECK(w.status()["step"] == 1);
}

TEST_CASE("rollout policy: max_step_seconds and on_timeout decide an undecided step") {
  World w;
  SUBCASE("rollback") {
    w.start(R"({"max_step_seconds": 3600, "on_timeout": "rollback"})");
    w.outcomes("canary", 3, 3);
    w.cli.clock.advance_ms(3'599'000);
    CHECK(w.evaluate(true)["verdict"] == "INSUFFICIENT_DATA");
    w.cli.clock.advance_ms(1'000);
    auto v = w.evaluate(true, 1);
    CHECK(v["verdict"] == "ROLLBACK");
    CHECK(v["action"] == "rolled_back");
    CHECK(mentions(v["reasons"], "deadline"));
    CHECK(w.status()["state"] == "idle");
  }
  SUBCASE("promote") {
    w.start(R"({"max_step_seconds": 60, "on_timeout": "promote"})");
    w.outcomes("canary", 7, 10); // HOLD on pass rate (7/10 vs 8/10)
    w.outcomes("stable", 8, 10);
    CHECK(w.evaluate(true)["verdict"] == "HOLD");
    w.cli.clock.advance_ms(60'000);
    auto v = w.evaluate(true);
    CHECK(v["verdict"] == "PROMOTE");
    CHECK(v["action"] == "advanced");
  }
  SUBCASE("hold") {
    w.start(R"({"max_step_seconds": 60, "on_timeout": "hold"})");
    w.outcomes("canary", 2, 2);
    w.cli.clock.advance_ms(61'000);
    auto v = w.evaluate(true);
    CHECK(v["verdict"] == "HOLD");
    CHECK(v["applied"] == false);
    CHECK(mentions(v["reasons"], "deadline"));
    CHECK(w.status()["state"] == "active");
  }
  SUBCASE("a paused rollout's deadline does not act") {
    w.start(R"({"max_step_seconds": 60, "on_timeout": "rollback"})");
    w.cli.ok({"canary", "pause"});
    w.cli.clock.advance_ms(120'000);
    CHECK(w.evaluate(true)["verdict"] == "INSUFFICIENT_DATA");
    CHECK(w.status()["state"] == "paused");
  }
}

TEST_CASE("rollout policy: consecutive 2 applies the second PROMOTE in a row") {
  World w;
  w.start(R"({"consecutive": 2})");
  w.outcomes("canary", 8, 10);
  w.outcomes("stable", 8, 10);
  auto v = w.evaluate(true);
  CHECK(v["verdict"] == "PROMOTE");
  CHECK(v["applied"] == false);
  CHECK(v["action"] == "none");
  CHECK(mentions(v["reasons"], "1 of 2"));
  CHECK(w.status()["step"] == 0);
  // A look without --apply does not count.
  CHECK(w.evaluate()["applied"] == false);
  // A HOLD in between resets the streak.
  w.outcomes("canary", 0, 1); // 8/11 < 8/10: HOLD
  CHECK(w.evaluate(true)["verdict"] == "HOLD");
  w.outcomes("canary", 5, 5); // 13/16 >= 8/10: PROMOTE again, 1 of 2
  v = w.evaluate(true);
  CHECK(v["verdict"] == "PROMOTE");
  CHECK(v["applied"] == false);
  v = w.evaluate(true);
  CHECK(v["applied"] == true);
  CHECK(v["action"] == "advanced");
  CHECK(w.status()["step"] == 1);
}

TEST_CASE("rollout policy: require_approval") {
  World w;
  SUBCASE("final: only the last step waits for `canary approve`") {
    w.start(R"({"require_approval": "final"})", "50,100");
    w.outcomes("canary", 10, 10);
    w.outcomes("stable", 10, 10);
    CHECK(w.evaluate(true)["action"] == "advanced");
    w.outcomes("canary", 10, 10);
    auto v = w.evaluate(true);
    CHECK(v["verdict"] == "AWAITING_APPROVAL");
    CHECK(v["applied"] == false);
    CHECK(mentions(v["reasons"], "approval"));
    CHECK(w.status()["step"] == 1);
    auto e = w.cli.json({"history"})[0];
    CHECK(e["action"] == "step_advanced");
    w.cli.ok({"canary", "approve", "--reason", "looked at the transcripts"});
    v = w.evaluate(true);
    CHECK(v["verdict"] == "PROMOTE");
    CHECK(v["action"] == "promoted");
    CHECK(w.status()["stable"] == w.b);
  }
  SUBCASE("every: each step waits; an approval is for one step") {
    w.start(R"({"require_approval": "every"})", "50,100");
    w.outcomes("canary", 10, 10);
    w.outcomes("stable", 10, 10);
    CHECK(w.evaluate(true)["verdict"] == "AWAITING_APPROVAL");
    w.cli.ok({"canary", "approve"});
    CHECK(w.evaluate(true)["action"] == "advanced");
    w.outcomes("canary", 10, 10);
    CHECK(w.evaluate(true)["verdict"] == "AWAITING_APPROVAL");
    CHECK(w.status()["state"] == "active");
  }
  SUBCASE("approval does not override a rollback") {
    w.start(R"({"require_approval": "every"})");
    w.cli.ok({"canary", "approve"});
    w.outcomes("canary", 2, 10);
    w.outcomes("stable", 10, 10);
    CHECK(w.evaluate(true, 1)["action"] == "rolled_back");
  }
}

TEST_CASE("rollout policy: a paused rollout never promotes but still rolls back") {
  World w;
  w.start("{}");
  w.outcomes("canary", 10, 10);
  w.outcomes("stable", 10, 10);
  w.cli.ok({"canary", "pause"});
  auto v = w.evaluate(true);
  CHECK(v["verdict"] == "HOLD");
  CHECK(v["applied"] == false);
  CHECK(mentions(v["reasons"], "paused"));
  CHECK(w.status()["state"] == "paused");
  w.cli.ok({"canary", "resume"});
  CHECK(w.evaluate(true)["action"] == "advanced");
  w.cli.ok({"canary", "pause"});
  w.outcomes("canary", 1, 10);
  v = w.evaluate(true, 1);
  CHECK(v["verdict"] == "ROLLBACK");
  CHECK(v["action"] == "rolled_back");
  CHECK(w.status()["state"] == "idle");
}

TEST_CASE("rollout policy: metric gates") {
  World w;
  SUBCASE("latency_p95_ms max rolls back even when every task passes") {
    w.start(R"({"metrics": [{"metric": "latency_p95_ms", "max": 1000}]})");
    // p95 of ten latencies is the 10th value by nearest rank.
    w.outcomes("canary", 10, 10, [](int i) { return json{{"latency_ms", i == 9 ? 1500 : 200}}; });
    w.outcomes("stable", 10, 10, [](int) { return json{{"latency_ms", 300}}; });
    auto v = w.evaluate(true, 1);
    CHECK(v["verdict"] == "ROLLBACK");
    CHECK(mentions(v["reasons"], "latency_p95_ms"));
    CHECK(w.status()["state"] == "idle");
  }
  SUBCASE("latency within the bound promotes") {
    w.start(R"({"metrics": [{"metric": "latency_p95_ms", "max": 1000}]})");
    w.outcomes("canary", 10, 10, [](int) { return json{{"latency_ms", 1000}}; });
    w.outcomes("stable", 10, 10);
    CHECK(w.evaluate()["verdict"] == "PROMOTE");
  }
  SUBCASE("error_rate with on_fail hold holds") {
    w.start(R"({"metrics": [{"metric": "error_rate", "max_ratio": 2.0, "on_fail": "hold"}]})");
    w.outcomes("canary", 10, 10, [](int i) { return i < 3 ? json{{"error", "E_TOOL"}} : json::object(); });
    w.outcomes("stable", 10, 10, [](int i) { return i < 1 ? json{{"error", "E_TOOL"}} : json::object(); });
    auto v = w.evaluate(true);
    CHECK(v["verdict"] == "HOLD");
    CHECK(v["applied"] == false);
    CHECK(mentions(v["reasons"], "error_rate"));
    CHECK(w.status()["step"] == 0);
  }
}

TEST_CASE("rollout policy: method sequential") {
  World w;
  SUBCASE("a clear regression rolls back") {
    w.start(R"({"method": "sequential"})");
    w.outcomes("canary", 20, 100);
    w.outcomes("stable", 90, 100);
    auto v = w.evaluate(true, 1);
    CHECK(v["verdict"] == "ROLLBACK");
    CHECK(v["action"] == "rolled_back");
    CHECK(w.cli.json({"history"})[0]["evidence"]["gate"]["method"] == "sequential");
  }
  SUBCASE("too little evidence holds and says how many more canary tasks") {
    w.start(R"({"method": "sequential"})");
    w.outcomes("canary", 9, 10);
    w.outcomes("stable", 9, 10);
    auto v = w.evaluate();
    CHECK(v["verdict"] == "HOLD");
    REQUIRE(v["more_canary_tasks"].is_number_integer());
    CHECK(v["more_canary_tasks"].get<std::int64_t>() > 0);
  }
  SUBCASE("where the threshold rule would roll back on noise, sequential holds") {
    w.start(R"({"method": "sequential"})");
    w.outcomes("canary", 7, 10); // 20 points down on ten tasks
    w.outcomes("stable", 9, 10);
    CHECK(w.evaluate()["verdict"] == "HOLD");
  }
}

TEST_CASE("rollout policy: invalid policy files are refused with the key named, nothing written") {
  World w;
  struct Case {
    std::string text;
    const char* names;
  };
  const std::vector<Case> cases = {
      {R"({"min_samples": 0})", "min_samples"},
      {R"({"min_samples": 2.5})", "min_samples"},
      {R"({"max_regression": 1.5})", "max_regression"},
      {R"({"regression": "abs"})", "regression"},
      {R"({"method": "bayes"})", "method"},
      {R"({"on_timeout": "explode"})", "on_timeout"},
      {R"({"require_approval": "yes"})", "require_approval"},
      {R"({"consecutive": 0})", "consecutive"},
      {R"({"min_step_seconds": -1})", "min_step_seconds"},
      {R"({"steps": [50, 25]})", "steps"},
      {R"({"min_sample": 10})", "min_sample"},
      {R"({"metrics": [{"metric": "latency_p95_ms", "max_ratio": 2}]})", "metrics[0].max_ratio"},
      {R"({"metrics": [{"metric": "Vibes", "max": 1}]})", "metrics[0].metric"},
      {R"({"metrics": [{"metric": "vibes", "aggregate": "median", "max": 1}]})", "metrics[0].aggregate"},
      {R"([1, 2])", "object"},
      {R"({"min_samples": )", "policy"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.text);
    auto file = w.cli.dir().file("bad.json", c.text);
    const auto before = store_snapshot(w.cli.state());
    auto r = w.cli({"canary", "start", "--version", w.b, "--percentage", "10", "--policy", file});
    CHECK(r.code == 2);
    CHECK(r.err.find(c.names) != std::string::npos);
    CHECK(store_snapshot(w.cli.state()) == before);
  }
  auto r = w.cli({"canary", "start", "--version", w.b, "--percentage", "10", "--policy", "/nonexistent/p.json"});
  CHECK(r.code == 2);
  CHECK(w.status()["state"] == "idle");
}
