// Outcome metrics and the gates on them through the real CLI (docs/gates.md,
// "Metrics" and "Metric gates"): `record --metric` and JSONL "metrics"
// stored on the store's backend, refused when malformed with nothing
// written, retries compared with their metrics; gates on any metric with
// their pass | fail | marginal | inconclusive results, min_pass_rate, and
// the release-1 names.
#include "support.hpp"

#include <doctest/doctest.h>

#include <cmath>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

struct World : TwoVersions {
  int next_task = 0;

  // Records n outcomes of `ref`, each passing, with the metrics `make(i)`
  // returns (null: none).
  template <typename F> void outcomes(const std::string& ref, int n, F make) {
    std::string text;
    for (int i = 0; i < n; ++i) {
      json line = {{"task", "task-" + std::to_string(next_task++)}, {"pass", true}, {"version", ref}};
      json m = make(i);
      if (!m.is_null())
        line["metrics"] = m;
      text += line.dump() + "\n";
    }
    REQUIRE(cli.json({"record", "--jsonl", "-"}, text)["inserted"] == n);
  }

  void start(const json& policy, const std::string& steps = "10,100") {
    const auto file = cli.dir().file("policy.json", policy.dump());
    cli.ok({"canary", "start", "--version", b, "--steps", steps, "--policy", file});
  }

  json evaluate() {
    auto r = cli({"canary", "evaluate", "--json"});
    INFO("stderr: " << r.err);
    REQUIRE((r.code == 0 || r.code == 1));
    return r.json();
  }

  // The evidence entry of the gate on `metric`.
  static json gate_of(const json& verdict, const std::string& metric) {
    for (const auto& g : verdict["evidence"]["gates"])
      if (g.value("metric", "") == metric)
        return g;
    FAIL("no gate on " << metric << " in " << verdict["evidence"]["gates"].dump());
    return nullptr;
  }
};

} // namespace

TEST_CASE("metrics: --metric and JSONL metrics are stored and used by a gate") {
  World w;
  w.start({{"min_samples", 3}, {"metrics", {{{"metric", "tool_calls"}, {"aggregate", "mean"}, {"max", 10}}}}});
  w.cli.ok({"record", "--task", "t-a", "--pass", "--version", "canary", "--metric", "tool_calls=4", "--metric",
            "escalated=0"});
  w.cli.ok({"record", "--jsonl", "-"},
           R"({"task": "t-b", "pass": true, "version": "canary", "metrics": {"tool_calls": 8, "escalated": 1}})"
           "\n"
           R"({"task": "t-c", "pass": true, "version": "canary", "metrics": {"tool_calls": 6.5}})"
           "\n");
  w.outcomes("stable", 3, [](int) { return json(nullptr); });
  const auto v = w.evaluate();
  const auto g = World::gate_of(v, "tool_calls");
  CHECK(g["canary"] == json(6.166666666666667));
  CHECK(g["canary_n"] == 3);
  CHECK(g["result"] == "pass");
  CHECK(v["verdict"] == "PROMOTE");
  // canary status shows the gated metric for both arms.
  const auto st = w.cli.json({"canary", "status"});
  REQUIRE(st["metrics"].size() == 1);
  CHECK(st["metrics"][0]["metric"] == "tool_calls");
  CHECK(st["metrics"][0]["canary"]["n"] == 3);
  CHECK(st["metrics"][0]["stable"]["n"] == 0);
  CHECK(st["metrics"][0]["stable"]["value"].is_null());
  const auto human = w.cli.ok({"canary", "status"}).out;
  CHECK(human.find("tool_calls") != std::string::npos);
}

TEST_CASE("metrics: a retry with the same metrics is a duplicate, with others a conflict") {
  World w;
  const std::vector<std::string> first = {"record", "--task",   "t1",    "--pass",   "--version",
                                          w.a,      "--metric", "x=1.5", "--metric", "y=2"};
  w.cli.ok(first);
  CHECK(w.cli.json({"record", "--task", "t1", "--pass", "--version", w.a, "--metric", "y=2", "--metric", "x=1.5",
                    "--json"})["duplicates"] == 1);
  auto changed = w.cli.json(
      {"record", "--task", "t1", "--pass", "--version", w.a, "--metric", "x=1.25", "--metric", "y=2", "--json"});
  CHECK(changed["conflicts"] == 1);
  CHECK(w.cli.json({"record", "--task", "t1", "--pass", "--version", w.a, "--json"})["conflicts"] == 1);
  // The same through JSONL, with the keys in another order.
  CHECK(w.cli.json({"record", "--jsonl", "-", "--json"}, R"({"task": "t1", "pass": true, "version": ")" + w.a +
                                                             R"(", "metrics": {"y": 2.0, "x": 1.5}})"
                                                             "\n")["duplicates"] == 1);
}

TEST_CASE("metrics: malformed metrics are refused with exit 2 and nothing written") {
  World w;
  const auto before = store_snapshot(w.cli.state());
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::string many;
  for (int i = 0; i < 33; ++i)
    many += std::string(i ? ", " : "") + "\"m" + std::to_string(i) + "\": 1";
  const std::vector<Case> flags = {
      {{"--metric", "Tool=1"}, "must match [a-z][a-z0-9_]{0,63}"},
      {{"--metric", "9x=1"}, "must match"},
      {{"--metric", std::string(65, 'a') + "=1"}, "must match"},
      {{"--metric", "x"}, "NAME=X"},
      {{"--metric", "x="}, "no value"},
      {{"--metric", "x=abc"}, "finite number"},
      {{"--metric", "x=inf"}, "finite number"},
      {{"--metric", "x=nan"}, "finite number"},
      {{"--metric", "score=1"}, "built-in field"},
      {{"--metric", "error_rate=1"}, "reserved"},
      {{"--metric", "x=1", "--metric", "x=2"}, "given twice"},
  };
  for (const auto& c : flags) {
    std::vector<std::string> args = {"record", "--task", "t1", "--pass", "--version", w.a};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = w.cli(args);
    INFO(c.args.front() << " " << c.args.back() << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  const std::string good = R"({"task": "ok", "pass": true, "version": ")" + w.a + "\"}\n";
  const std::vector<std::pair<std::string, std::string>> lines = {
      {R"("metrics": {"tool_calls": "7"})", "must be a number"},
      {R"("metrics": {"tool_calls": null})", "must be a number"},
      {R"("metrics": {"a": {"b": 1}})", "must be a number"},
      {R"("metrics": [1, 2])", "not arrays"},
      {R"("metrics": 7)", "must be an object"},
      {R"("metrics": {"Bad": 1})", "must match"},
      {R"("metrics": {"x": 1, "x": 2})", "given twice"},
      {R"("metrics": {"x": 1e999})", "out of range"},
      {R"("metrics": {)" + many + "}", "at most 32"},
      {R"("latency_ms": {"x": 1})", "must not be an object"},
  };
  for (const auto& line : lines) {
    const std::string& fragment = line.first;
    const std::string& message = line.second;
    const std::string bad = R"({"task": "t2", "pass": true, "version": ")" + w.a + "\", " + fragment + "}\n";
    auto r = w.cli({"record", "--jsonl", "-"}, good + bad);
    INFO(fragment << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find("line 2: ") != std::string::npos);
    CHECK(r.err.find(message) != std::string::npos);
  }
  CHECK(store_snapshot(w.cli.state()) == before);
}

TEST_CASE("metric gates: the score rule promotes, waits for a person, rolls back") {
  // "score >= 95 promotes, 75-94 with >= 50 data points waits for a person,
  // below 75 rolls back".
  const json policy = {{"min_samples", 10},
                       {"metrics",
                        {{{"metric", "score"},
                          {"aggregate", "mean"},
                          {"direction", "higher_is_better"},
                          {"min", 75},
                          {"target", 95},
                          {"min_samples", 50}}}}};
  auto run = [&](double score, int n) {
    World w;
    w.start(policy);
    std::string text;
    for (int i = 0; i < n; ++i)
      text += json{{"task", "c" + std::to_string(i)}, {"pass", true}, {"version", "canary"}, {"score", score}}.dump() +
              "\n";
    for (int i = 0; i < 50; ++i)
      text +=
          json{{"task", "s" + std::to_string(i)}, {"pass", true}, {"version", "stable"}, {"score", 96}}.dump() + "\n";
    w.cli.ok({"record", "--jsonl", "-"}, text);
    auto v = w.evaluate();
    return std::pair{v, World::gate_of(v, "score")};
  };
  SUBCASE("97: pass, PROMOTE") {
    auto [v, g] = run(97, 50);
    CHECK(g["result"] == "pass");
    CHECK(v["verdict"] == "PROMOTE");
  }
  SUBCASE("85 with 50 values: marginal, AWAITING_APPROVAL; approval promotes") {
    World w;
    w.start(policy);
    std::string text;
    for (int i = 0; i < 50; ++i) {
      text +=
          json{{"task", "c" + std::to_string(i)}, {"pass", true}, {"version", "canary"}, {"score", 85}}.dump() + "\n";
      text +=
          json{{"task", "s" + std::to_string(i)}, {"pass", true}, {"version", "stable"}, {"score", 96}}.dump() + "\n";
    }
    w.cli.ok({"record", "--jsonl", "-"}, text);
    auto v = w.evaluate();
    CHECK(World::gate_of(v, "score")["result"] == "marginal");
    CHECK(World::gate_of(v, "score")["bounds"]["target"]["result"] == "marginal");
    CHECK(v["verdict"] == "AWAITING_APPROVAL");
    CHECK(mentions(v["reasons"], "approve"));
    w.cli.ok({"canary", "approve"});
    CHECK(w.evaluate()["verdict"] == "PROMOTE");
  }
  SUBCASE("85 with 49 values: inconclusive, HOLD") {
    auto [v, g] = run(85, 49);
    CHECK(g["result"] == "inconclusive");
    CHECK(v["verdict"] == "HOLD");
  }
  SUBCASE("70: fail, ROLLBACK (exit 1)") {
    auto [v, g] = run(70, 50);
    CHECK(g["result"] == "fail");
    CHECK(g["bounds"]["min"]["result"] == "fail");
    CHECK(v["verdict"] == "ROLLBACK");
  }
}

TEST_CASE("metric gates: aggregates, direction and relative bounds against the baseline") {
  World w;
  w.start({{"min_samples", 4},
           {"metrics",
            {{{"metric", "tool_calls"}, {"aggregate", "p95"}, {"max_ratio", 2.0}},
             {{"metric", "escalated"}, {"aggregate", "rate"}, {"max_regression", 0.5}, {"on_fail", "hold"}},
             {{"metric", "quality"}, {"aggregate", "max"}, {"direction", "higher_is_better"}, {"min", 0.5}}}}});
  // canary tool_calls 1..4 (p95 = 4), escalated 2 of 4, quality max 0.9.
  w.outcomes("canary", 4, [](int i) {
    return json{{"tool_calls", i + 1}, {"escalated", i % 2}, {"quality", 0.6 + 0.1 * i}};
  });
  // stable tool_calls 2 each (p95 = 2), escalated 1 of 4 (rate 0.25).
  w.outcomes("stable", 4, [](int i) { return json{{"tool_calls", 2}, {"escalated", i == 0 ? 1 : 0}}; });
  const auto v = w.evaluate();
  const auto calls = World::gate_of(v, "tool_calls");
  CHECK(calls["canary"] == 4.0);
  CHECK(calls["baseline"] == 2.0);
  CHECK(calls["result"] == "pass"); // 4 <= 2 * 2
  const auto esc = World::gate_of(v, "escalated");
  CHECK(esc["canary"] == 0.5);
  CHECK(esc["baseline"] == 0.25);
  CHECK(esc["result"] == "fail"); // 0.5 - 0.25 > 0.5 * 0.25
  CHECK(esc["on_fail"] == "hold");
  const auto quality = World::gate_of(v, "quality");
  CHECK(quality["canary"] == doctest::Approx(0.9));
  CHECK(quality["result"] == "pass");
  CHECK(quality["canary_n"] == 4);
  CHECK(quality["baseline_n"] == 0);
  CHECK(v["verdict"] == "HOLD");
}

TEST_CASE("metric gates: min_pass_rate rolls back below the floor, exactly") {
  auto run = [](int canary_pass) {
    World w;
    w.start({{"min_samples", 10}, {"max_regression", 1}, {"min_pass_rate", 0.8}});
    std::string text;
    for (int i = 0; i < 10; ++i) {
      text += json{{"task", "c" + std::to_string(i)}, {"pass", i < canary_pass}, {"version", "canary"}}.dump() + "\n";
      text += json{{"task", "s" + std::to_string(i)}, {"pass", true}, {"version", "stable"}}.dump() + "\n";
    }
    w.cli.ok({"record", "--jsonl", "-"}, text);
    return w.evaluate();
  };
  const auto at_floor = run(8); // 8/10 = 0.8 is not below 0.8
  CHECK(at_floor["verdict"] == "HOLD");
  const auto below = run(7);
  CHECK(below["verdict"] == "ROLLBACK");
  CHECK(mentions(below["reasons"], "min_pass_rate"));
  bool found = false;
  for (const auto& g : below["evidence"]["gates"])
    if (g["gate"] == "min_pass_rate") {
      found = true;
      CHECK(g["result"] == "fail");
      CHECK(g["threshold"] == 0.8);
    }
  CHECK(found);
}

TEST_CASE("metric gates: release-1 names keep working") {
  World w;
  w.start({{"min_samples", 3},
           {"metrics",
            {{{"metric", "latency_p95_ms"}, {"max", 1000}},
             {{"metric", "error_rate"}, {"max_ratio", 2.0}},
             {{"metric", "cost_mean"}, {"max_regression", 0.5}}}}});
  std::string text;
  for (int i = 0; i < 3; ++i) {
    text += json{{"task", "c" + std::to_string(i)},
                 {"pass", true},
                 {"version", "canary"},
                 {"latency_ms", 100 * (i + 1)},
                 {"cost", 1.0}}
                .dump() +
            "\n";
    text += json{{"task", "s" + std::to_string(i)},
                 {"pass", true},
                 {"version", "stable"},
                 {"latency_ms", 50},
                 {"cost", 1.0},
                 {"error", i == 0 ? json("E") : json(nullptr)}}
                .dump() +
            "\n";
  }
  w.cli.ok({"record", "--jsonl", "-"}, text);
  const auto v = w.evaluate();
  CHECK(World::gate_of(v, "latency_p95_ms")["canary"] == 300.0);
  CHECK(World::gate_of(v, "latency_p95_ms")["aggregate"] == "p95");
  CHECK(World::gate_of(v, "error_rate")["canary"] == 0.0);
  CHECK(World::gate_of(v, "cost_mean")["result"] == "pass");
  CHECK(v["verdict"] == "PROMOTE");
}

TEST_CASE("metric gates: policy errors name the key and the allowed values, nothing written") {
  World w;
  const auto before = store_snapshot(w.cli.state());
  const std::vector<std::pair<json, std::string>> cases = {
      {{{"metric", "score"}, {"aggregate", "median"}, {"min", 1}},
       R"('metrics[0].aggregate' must be "mean", "rate", "p50", "p90", "p95", "p99" or "max")"},
      {{{"metric", "score"}, {"direction", "up"}, {"min", 1}},
       R"('metrics[0].direction' must be "lower_is_better" or "higher_is_better")"},
      {{{"metric", "Score"}, {"min", 1}}, "'metrics[0].metric' must be a metric name"},
      {{{"metric", "score"}}, "must set at least one bound"},
      {{{"metric", "score"}, {"min", 1}, {"min_samples", 0}}, "'metrics[0].min_samples' must be an integer in [1"},
      {{{"metric", "score"}, {"min", 1}, {"paired", "yes"}}, "'metrics[0].paired' must be true or false"},
      {{{"metric", "score"}, {"min", 80}, {"target", 70}}, "'metrics[0].target' must be >= its min"},
      {{{"metric", "latency_ms"}, {"max", 80}, {"target", 90}}, "'metrics[0].target' must be <= its max"},
      {{{"metric", "latency_p95_ms"}, {"aggregate", "p99"}, {"max", 1}}, "must be \"p95\" for metric"},
      {{{"metric", "error_rate"}, {"min", 0.1}}, "is not allowed for metric \"error_rate\""},
      {{{"metric", "score"}, {"min", 1}, {"bound", 2}}, "'metrics[0].bound' is unknown"},
  };
  for (const auto& c : cases) {
    const json& gate = c.first;
    const std::string& message = c.second;
    const auto file = w.cli.dir().file("p.json", json{{"metrics", {gate}}}.dump());
    auto r = w.cli({"canary", "start", "--version", w.b, "--percentage", "10", "--policy", file});
    INFO(gate.dump() << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(message) != std::string::npos);
  }
  for (const auto& c : std::vector<std::pair<json, std::string>>{
           {{{"min_pass_rate", 1.5}}, "'min_pass_rate' must be null or a number"},
           {{{"paired_alpha", 0}}, "'paired_alpha' must be a number in (0, 0.5]"}}) {
    const json& policy = c.first;
    const std::string& message = c.second;
    const auto file = w.cli.dir().file("p.json", policy.dump());
    auto r = w.cli({"canary", "start", "--version", w.b, "--percentage", "10", "--policy", file});
    INFO(policy.dump() << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(message) != std::string::npos);
  }
  CHECK(store_snapshot(w.cli.state()) == before);
}

TEST_CASE("paired: a shadow rollout compares the tasks that ran on both versions") {
  auto run = [](int stable_only, int canary_only, const json& policy) {
    World w;
    const auto file = w.cli.dir().file("policy.json", policy.dump());
    w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "100", "--shadow", "--policy", file});
    std::string text;
    // 20 tasks on both versions: both pass unless one of the discordant ones;
    // and 30 canary-only tasks that pass, which pairing leaves out.
    for (int i = 0; i < 20; ++i) {
      const bool s = i >= stable_only + canary_only || i < stable_only;
      const bool c = i >= stable_only;
      const std::string task = "p" + std::to_string(i);
      text += json{{"task", task}, {"pass", s}, {"version", w.a}, {"latency_ms", 100 + i}}.dump() + "\n";
      text += json{{"task", task}, {"pass", c}, {"version", w.b}, {"latency_ms", 150 + 2 * i}}.dump() + "\n";
    }
    for (int i = 0; i < 30; ++i)
      text += json{{"task", "c" + std::to_string(i)}, {"pass", true}, {"version", w.b}}.dump() + "\n";
    w.cli.ok({"record", "--jsonl", "-"}, text);
    auto st = w.cli.json({"canary", "status"});
    CHECK(st["paired"]["pairs"] == 20);
    CHECK(st["paired"]["stable_only"] == stable_only);
    CHECK(st["paired"]["canary_only"] == canary_only);
    return w.evaluate();
  };
  SUBCASE("six tasks fail only on the canary: McNemar rolls back") {
    const auto v = run(6, 0, {{"min_samples", 10}, {"max_regression", 0.5}});
    CHECK(v["verdict"] == "ROLLBACK");
    const auto& p = v["evidence"]["paired"];
    CHECK(p["pairs"] == 20);
    CHECK(p["both_pass"] == 14);
    CHECK(p["stable_only"] == 6);
    CHECK(p["canary_only"] == 0);
    CHECK(p["both_fail"] == 0);
    CHECK(p["mcnemar_p"].get<double>() == doctest::Approx(1.0 / 64.0));
    CHECK(mentions(v["reasons"], "McNemar"));
  }
  SUBCASE("discordant both ways: no evidence the canary is worse") {
    const auto v = run(3, 3, {{"min_samples", 10}});
    CHECK(v["evidence"]["paired"]["mcnemar_p"].get<double>() == doctest::Approx(42.0 / 64.0));
    CHECK(v["verdict"] == "PROMOTE");
  }
  SUBCASE("a paired latency gate: slower on every pair fails the Wilcoxon test") {
    const auto v = run(
        0, 0, {{"min_samples", 10}, {"metrics", {{{"metric", "latency_ms"}, {"aggregate", "p50"}, {"paired", true}}}}});
    const auto g = World::gate_of(v, "latency_ms");
    CHECK(g["paired"] == true);
    CHECK(g["canary_n"] == 20);
    CHECK(g["bounds"]["wilcoxon"]["n"] == 20);
    CHECK(g["bounds"]["wilcoxon"]["exact"] == true);
    CHECK(g["bounds"]["wilcoxon"]["p"].get<double>() == doctest::Approx(std::ldexp(1.0, -20)));
    CHECK(g["result"] == "fail");
    CHECK(v["verdict"] == "ROLLBACK");
  }
}

TEST_CASE("paired: the pairs decide the shadow step, the arms the live steps after it") {
  World w;
  const auto file = w.cli.dir().file("policy.json", json{{"min_samples", 5}}.dump());
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "shadow:100,50,100", "--policy", file});
  std::string text;
  for (int i = 0; i < 6; ++i) {
    text += json{{"task", "p" + std::to_string(i)}, {"pass", true}, {"version", w.a}}.dump() + "\n";
    text += json{{"task", "p" + std::to_string(i)}, {"pass", true}, {"version", w.b}}.dump() + "\n";
  }
  w.cli.ok({"record", "--jsonl", "-"}, text);
  auto v = w.cli.json({"canary", "evaluate", "--apply"});
  CHECK(v["verdict"] == "PROMOTE");
  CHECK(v["evidence"]["paired"]["pairs"] == 6);
  CHECK(v["action"] == "advanced");
  // The live step: no pairs, the arms are compared as usual.
  auto st = w.cli.json({"canary", "status"});
  CHECK(st["paired"].is_null());
  CHECK(st["step"] == 1);
  text.clear();
  for (int i = 0; i < 5; ++i) {
    text += json{{"task", "l" + std::to_string(i)}, {"pass", true}, {"version", w.b}}.dump() + "\n";
    text += json{{"task", "m" + std::to_string(i)}, {"pass", true}, {"version", w.a}}.dump() + "\n";
  }
  w.cli.ok({"record", "--jsonl", "-"}, text);
  v = w.cli.json({"canary", "evaluate"});
  CHECK(v["verdict"] == "PROMOTE");
  CHECK_FALSE(v["evidence"].contains("paired"));
  CHECK(v["canary"]["n"] == 5);
}

TEST_CASE("metric gates: report and metrics show every gated metric for both arms") {
  World w;
  w.start({{"min_samples", 3},
           {"metrics",
            {{{"metric", "tool_calls"}, {"aggregate", "p90"}, {"max", 100}},
             {{"metric", "escalated"}, {"aggregate", "rate"}, {"max", 0.5}}}}});
  w.outcomes("canary", 4, [](int i) { return json{{"tool_calls", 10 * (i + 1)}, {"escalated", i == 0 ? 1 : 0}}; });
  w.outcomes("stable", 2, [](int) { return json{{"tool_calls", 5}}; });
  const auto r = w.cli.json({"report"});
  REQUIRE(r["metrics"].size() == 2);
  const auto& calls = r["metrics"][0];
  CHECK(calls["metric"] == "tool_calls");
  CHECK(calls["aggregate"] == "p90");
  CHECK(calls["canary"]["value"] == 40.0); // rank ceil(0.9 * 4) = 4
  CHECK(calls["canary"]["n"] == 4);
  CHECK(calls["stable"]["value"] == 5.0);
  CHECK(calls["canary"]["buckets"].size() == r["buckets"].size());
  std::int64_t in_buckets = 0;
  for (const auto& b : calls["canary"]["buckets"])
    in_buckets += b["n"].get<std::int64_t>();
  CHECK(in_buckets == 4);
  const auto& esc = r["metrics"][1];
  CHECK(esc["canary"]["value"] == 0.25);
  CHECK(esc["stable"]["n"] == 0);
  CHECK(esc["stable"]["value"].is_null());

  const auto html = w.cli.dir().path() / "r.html";
  w.cli.ok({"report", "--html", html.string()});
  const auto page = read_file(html);
  CHECK(page.find("Gated metric: tool_calls p90") != std::string::npos);
  CHECK(page.find("id=\"chart-metric-1\"") != std::string::npos);

  const auto text = w.cli.ok({"metrics"}).out;
  CHECK(text.find(R"(kanari_gate_metric{track="default",arm="canary",metric="tool_calls",aggregate="p90"} 40)") !=
        std::string::npos);
  CHECK(text.find(R"(kanari_gate_metric_values{track="default",arm="stable",metric="escalated",aggregate="rate"} 0)") !=
        std::string::npos);
  CHECK(text.find(R"(kanari_gate_metric{track="default",arm="stable",metric="escalated")") == std::string::npos);
}

TEST_CASE("metrics: -0 and 0 are the same value on a retry") {
  World w;
  w.cli.ok({"record", "--task", "t1", "--pass", "--version", w.a, "--metric", "x=-0"});
  CHECK(w.cli.json({"record", "--task", "t1", "--pass", "--version", w.a, "--metric", "x=0", "--json"})["duplicates"] ==
        1);
}
