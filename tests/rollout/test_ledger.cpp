// The gate's windows over the outcome ledger (SPEC §6.1), seen through
// `canary status` and `canary evaluate`: the canary sample is the current
// step's outcomes only; the baseline is stable's outcomes since the rollout
// started, topped up with the most recent earlier outcomes of the same
// stable version. And parse_outcome_line, the JSONL front door, directly.
#include "support.hpp"

#include "rollout/ledger.hpp"

#include <doctest/doctest.h>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

struct World {
  Cli cli;
  std::string a, b, c;
  int next_task = 0;

  World() {
    cli.ok({"init"});
    a = add("a.txt", "You are agent A.\n");
    b = add("b.txt", "You are agent B.\n");
    c = add("c.txt", "You are agent C.\n");
  }

  std::string add(const std::string& name, const std::string& text) {
    auto path = cli.dir().file(name, text);
    return cli.json({"version", "add", "--prompt", "system=" + path})["id"].get<std::string>();
  }

  // Records `fails` failing then `passes` passing outcomes for `ref`, in
  // that order, in one JSONL import.
  void outcomes(const std::string& ref, int fails, int passes) {
    std::string text;
    for (int i = 0; i < fails + passes; ++i)
      text +=
          json{{"task", "task-" + std::to_string(next_task++)}, {"pass", i >= fails}, {"version", ref}}.dump() + "\n";
    auto r = cli.json({"record", "--jsonl", "-"}, text);
    REQUIRE(r["inserted"] == fails + passes);
  }

  json status() { return cli.json({"canary", "status"}); }
  std::pair<json, json> arms() {
    auto s = status();
    return {s["canary_stats"], s["stable_stats"]};
  }
  json evaluate() {
    auto r = cli({"canary", "evaluate", "--json"});
    INFO(r.err);
    REQUIRE((r.code == 0 || r.code == 1));
    return r.json();
  }
};

} // namespace

TEST_CASE("ledger: the canary window is the current step, promote resets it, the baseline stays") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "10,50,100"});
  w.outcomes("canary", 2, 8);
  w.outcomes("stable", 1, 9);
  auto [canary, stable] = w.arms();
  CHECK(canary["n"] == 10);
  CHECK(canary["pass"] == 8);
  CHECK(canary["pass_rate"] == doctest::Approx(0.8));
  CHECK(stable["n"] == 10);
  CHECK(stable["pass"] == 9);

  w.cli.ok({"canary", "promote"});
  std::tie(canary, stable) = w.arms();
  CHECK(canary["n"] == 0);
  CHECK(canary["pass_rate"].is_null());
  CHECK(stable["n"] == 10);
  auto v = w.evaluate();
  CHECK(v["verdict"] == "INSUFFICIENT_DATA");
  CHECK(v["canary"]["n"] == 0);

  w.outcomes("canary", 0, 3);
  std::tie(canary, stable) = w.arms();
  CHECK(canary["n"] == 3);
  CHECK(canary["pass"] == 3);
  CHECK(w.status()["waiting_for"] == "3/10 canary tasks");
}

TEST_CASE("ledger: a new rollout of the same canary starts with an empty window") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10"});
  w.outcomes("canary", 0, 10);
  w.outcomes("stable", 0, 10);
  w.cli.ok({"canary", "rollback"});
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10"});
  auto [canary, stable] = w.arms();
  CHECK(canary["n"] == 0);
  // The earlier rollout's stable outcomes are "earlier outcomes": they top up.
  CHECK(stable["n"] == 10);
}

TEST_CASE("ledger: the baseline is topped up with the most recent earlier stable outcomes") {
  World w;
  // Before the rollout: 8 failures, then 7 passes (the most recent).
  w.outcomes("stable", 8, 7);
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10"});
  auto [canary, stable] = w.arms();
  CHECK(stable["n"] == 10); // topped up to min_stable_samples
  CHECK(stable["pass"] == 7);
  CHECK(w.evaluate()["evidence"]["baseline_top_up"] == 10);

  // Four passes during the rollout: 4 + the 6 most recent earlier ones (all passes).
  w.outcomes("stable", 0, 4);
  std::tie(canary, stable) = w.arms();
  CHECK(stable["n"] == 10);
  CHECK(stable["pass"] == 10);
  CHECK(w.evaluate()["evidence"]["baseline_top_up"] == 6);

  // Enough outcomes of its own: no top-up.
  w.outcomes("stable", 8, 0);
  std::tie(canary, stable) = w.arms();
  CHECK(stable["n"] == 12);
  CHECK(stable["pass"] == 4);
  w.outcomes("canary", 0, 10);
  auto v = w.evaluate();
  CHECK(v["evidence"]["baseline_top_up"] == 0);
  CHECK(v["stable"]["n"] == 12);
  CHECK(v["stable"]["pass"] == 4);
}

TEST_CASE("ledger: min_stable_samples sets the top-up target") {
  World w;
  w.outcomes("stable", 0, 30);
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10", "--min-stable-samples", "25"});
  auto s = w.status();
  CHECK(s["stable_stats"]["n"] == 25);
  CHECK(s["min_stable_samples"] == 25);
}

TEST_CASE("ledger: the top-up takes only the current stable's outcomes") {
  World w;
  w.outcomes("stable", 10, 0); // version a
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10"});
  w.outcomes("canary", 0, 3); // version b, as canary
  w.cli.ok({"canary", "promote", "--full"});
  w.cli.ok({"canary", "start", "--version", w.c, "--percentage", "10"});
  auto s = w.status();
  CHECK(s["stable"] == w.b);
  // b's three earlier outcomes (as canary) count; a's ten do not.
  CHECK(s["stable_stats"]["n"] == 3);
  CHECK(s["stable_stats"]["pass"] == 3);
  CHECK(s["waiting_for"] == "0/10 canary tasks");
}

TEST_CASE("ledger: the canary's outcomes never enter the baseline and vice versa") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10"});
  w.outcomes("canary", 5, 0);
  w.outcomes("stable", 0, 5);
  auto [canary, stable] = w.arms();
  CHECK(canary["n"] == 5);
  CHECK(canary["pass"] == 0);
  CHECK(stable["n"] == 5);
  CHECK(stable["pass"] == 5);
}

TEST_CASE("parse_outcome_line: accepted lines") {
  auto o = rollout::parse_outcome_line(
      R"({"task":"t","pass":false,"version":"canary","track":"ops","latency_ms":12.5,"cost":0,"tokens":7,)"
      R"("score":-1.5,"error":"E1","at":"2026-11-22T10:00:00Z"})",
      "default");
  REQUIRE(o.ok());
  CHECK(o->task == "t");
  CHECK(o->pass == false);
  CHECK(o->version_ref == "canary");
  CHECK(o->track == "ops");
  CHECK(o->latency_ms == 12.5);
  CHECK(o->cost == 0.0);
  CHECK(o->tokens == 7);
  CHECK(o->score == -1.5);
  CHECK(o->error == "E1");
  CHECK(o->at == 1'795'341'600'000);

  auto minimal = rollout::parse_outcome_line(R"({"pass":true,"task":"x","latency_ms":null,"error":null})", "dflt");
  REQUIRE(minimal.ok());
  CHECK(minimal->track == "dflt");
  CHECK(!minimal->version_ref);
  CHECK(!minimal->latency_ms);
  CHECK(!minimal->error);
}

TEST_CASE("parse_outcome_line: refused lines name the problem") {
  struct Case {
    std::string line;
    const char* says;
  };
  const std::vector<Case> cases = {
      {R"({"task":"t"})", "pass"},
      {R"({"pass":true})", "task"},
      {R"({"task":"t","pass":"true"})", "pass"},
      {R"({"task":"t","pass":true,"latency":5})", "unknown key"},
      {R"({"task":"t","pass":true,"latency_ms":-0.1})", "latency_ms"},
      {R"({"task":"t","pass":true,"latency_ms":"5"})", "latency_ms"},
      {R"({"task":"t","pass":true,"cost":-1})", "cost"},
      {R"({"task":"t","pass":true,"tokens":-1})", "tokens"},
      {R"({"task":"t","pass":true,"tokens":18446744073709551615})", "tokens"},
      {R"({"task":"t","pass":true,"error":""})", "error"},
      {R"({"task":"t","pass":true,"at":"2026-11-22"})", "at"},
      {R"({"task":"t","pass":true,"at":12345})", "at"},
      {R"({"task":"t","pass":true,"track":"no spaces"})", "track"},
      {R"({"task":7,"pass":true})", "task"},
      {"{\"task\":\"\xc3\x28\",\"pass\":true}", "JSON"},
      {"[]", "object"},
      {"", "JSON"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    auto r = rollout::parse_outcome_line(c.line, "default");
    REQUIRE(!r.ok());
    CHECK(r.error().code == ErrorCode::usage);
    CHECK(r.error().message.find(c.says) != std::string::npos);
  }
}
