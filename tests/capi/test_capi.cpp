// The C API (include/kanari/kanari.h) in-process: the same route decisions
// as the CLI and the published algorithm (SPEC §5), the same ledger, the
// same evaluate JSON, the pure gate, version ids against the SPEC §4
// vectors, and the error contract (status codes, messages, nothing thrown).
#include "support.hpp"

#include "crypto/sha256.hpp"
#include "gate/gate.hpp"
#include "kanari/kanari.h"

#include <doctest/doctest.h>

#include <array>
#include <chrono>

#include <cmath>
#include <cstring>
#include <sstream>
#include <thread>
#include <fstream>

using namespace kanari::test;
using nlohmann::json;

namespace {

// A store with a stable (a) and a canary (b) at `percentage`, made with the
// CLI; `h` is a C API handle on the same store.
struct World {
  Cli cli;
  std::string a, b;
  kanari_store* h = nullptr;

  explicit World(const std::string& percentage = "30", const std::vector<std::string>& extra = {}) {
    // The handle reads the system clock, so the CLI does too: an outcome
    // the handle records now must fall in the window of a rollout the CLI
    // started a moment ago (a CLI clock ahead of it would make every such
    // outcome backdated).
    static const kanari::SystemClock system_clock;
    cli.clock_override = &system_clock;
    cli.ok({"init"});
    a = add("a.txt", "You are agent A.\n");
    b = add("b.txt", "You are agent B.\n");
    std::vector<std::string> start = {"canary", "start", "--version", b, "--percentage", percentage};
    start.insert(start.end(), extra.begin(), extra.end());
    cli.ok(start);
    REQUIRE(kanari_open(cli.state().c_str(), "capi-test", 0, &h) == KANARI_OK);
    REQUIRE(h != nullptr);
  }
  ~World() { kanari_close(h); }
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  std::string add(const std::string& name, const std::string& text) {
    auto path = cli.dir().file(name, text);
    return cli.json({"version", "add", "--prompt", "system=" + path})["id"].get<std::string>();
  }
  std::string salt() { return cli.json({"canary", "status"})["salt"].get<std::string>(); }
};

// The decision for `key` once it is `version`. On SQLite the very next call
// sees a change committed elsewhere; on PostgreSQL a call within a second
// does (docs/library.md, "Speed"), so the calls go on there, for at most 5 s.
kanari_route_decision route_once_seen(kanari_store* h, const std::string& key, const std::string& version) {
  kanari_route_decision d{};
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    REQUIRE(kanari_route(h, nullptr, key.c_str(), nullptr, &d) == KANARI_OK);
    if (std::string(d.version) == version || !on_postgresql() || std::chrono::steady_clock::now() > give_up)
      return d;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// SPEC §5 written out from the text, independent of rollout::Router.
std::uint32_t published_bucket(const std::string& salt, const std::string& key) {
  auto d = kanari::crypto::sha256(salt + ":" + key);
  std::uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i)
    v = (v << 8) | d[i];
  return static_cast<std::uint32_t>(v % 10000);
}

std::string take(char* s) {
  REQUIRE(s != nullptr);
  std::string out = s;
  kanari_free(s);
  return out;
}

kanari_outcome outcome(const char* task, bool pass, const char* version = nullptr) {
  kanari_outcome o{};
  o.task = task;
  o.pass = pass ? 1 : 0;
  o.version = version;
  return o;
}

} // namespace

TEST_CASE("capi: route decisions equal the CLI's and the published algorithm's") {
  World w("30");
  const std::string salt = w.salt();
  int canary = 0;
  std::vector<std::string> keys;
  for (int i = 0; i < 300; ++i)
    keys.push_back("user-" + std::to_string(i));
  keys.push_back("ünïcödé");
  keys.push_back("用户-7");
  std::string keys_text;
  for (const auto& k : keys)
    keys_text += k + "\n";
  // route --keys --json: one JSON line per key.
  auto many = w.cli.ok({"route", "--keys", "-", "--json"}, keys_text).out;
  std::istringstream lines(many);
  std::vector<kanari_route_decision> batch(keys.size());
  std::vector<const char*> key_ptrs;
  for (const auto& k : keys)
    key_ptrs.push_back(k.c_str());
  REQUIRE(kanari_route_many(w.h, nullptr, key_ptrs.data(), key_ptrs.size(), batch.data()) == KANARI_OK);
  for (size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i];
    kanari_route_decision r{};
    REQUIRE(kanari_route(w.h, "default", k.c_str(), nullptr, &r) == KANARI_OK);
    std::string line;
    REQUIRE(std::getline(lines, line));
    json cli = json::parse(line);
    const auto bucket = published_bucket(salt, k);
    const bool in_canary = bucket < 3000;
    CHECK(r.bucket == static_cast<std::int32_t>(bucket));
    CHECK(cli["bucket"] == bucket);
    CHECK(cli["key"] == k);
    CHECK(std::string(r.version) == (in_canary ? w.b : w.a));
    CHECK(cli["version"] == r.version);
    CHECK(r.arm == (in_canary ? KANARI_ARM_CANARY : KANARI_ARM_STABLE));
    CHECK(cli["arm"] == (in_canary ? "canary" : "stable"));
    CHECK(r.shadow == 0);
    CHECK(std::string(r.canary) == w.b);
    CHECK(std::memcmp(&batch[i], &r, sizeof r) == 0);
    canary += in_canary;
  }
  // route --key for a few, the single-key form.
  for (const char* k : {"user-1", "user-2", "user-3"}) {
    kanari_route_decision r{};
    REQUIRE(kanari_route(w.h, nullptr, k, nullptr, &r) == KANARI_OK);
    auto j = w.cli.json({"route", "--key", k});
    CHECK(j["version"] == r.version);
    CHECK(j["bucket"] == r.bucket);
  }
  CHECK(canary > 50);
  CHECK(canary < 130);
}

TEST_CASE("capi: a route reflects the rollout as committed, even by another process") {
  World w("30");
  kanari_route_decision before{};
  // A key in the canary at 30 %: after a rollback it must route to stable.
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    std::string k = "k" + std::to_string(i);
    REQUIRE(kanari_route(w.h, nullptr, k.c_str(), nullptr, &before) == KANARI_OK);
    if (before.arm == KANARI_ARM_CANARY)
      key = k;
  }
  w.cli.ok({"canary", "rollback"});
  kanari_route_decision after = route_once_seen(w.h, key, w.a);
  CHECK(after.arm == KANARI_ARM_STABLE);
  CHECK(std::string(after.version) == w.a);
  CHECK(after.bucket == -1);
  CHECK(std::string(after.canary).empty());

  SUBCASE("with a route cache, a table is reused until it expires") {
    REQUIRE(kanari_set_route_cache_ms(w.h, 3'600'000) == KANARI_OK);
    REQUIRE(kanari_route(w.h, nullptr, key.c_str(), nullptr, &after) == KANARI_OK); // reads the table
    auto c = w.add("c.txt", "You are agent C.\n");
    w.cli.ok({"canary", "start", "--version", c, "--percentage", "100"});
    REQUIRE(kanari_route(w.h, nullptr, key.c_str(), nullptr, &after) == KANARI_OK);
    CHECK(std::string(after.version) == w.a); // within the hour: the cached table
    REQUIRE(kanari_set_route_cache_ms(w.h, 0) == KANARI_OK);
    after = route_once_seen(w.h, key, c);
    CHECK(std::string(after.version) == c);
    CHECK(after.arm == KANARI_ARM_CANARY);
  }
}

TEST_CASE("capi: recording goes to the same ledger the CLI reads") {
  World w("50");
  // Route-and-record like a runtime: the task's assignment is remembered.
  int canary = 0, stable = 0;
  for (int i = 0; i < 40; ++i) {
    const std::string task = "task-" + std::to_string(i), key = "user-" + std::to_string(i);
    kanari_route_decision r{};
    REQUIRE(kanari_route(w.h, nullptr, key.c_str(), task.c_str(), &r) == KANARI_OK);
    auto o = outcome(task.c_str(), i % 4 != 0); // no version: the routed assignment
    o.has = KANARI_HAS_LATENCY_MS | KANARI_HAS_TOKENS;
    o.latency_ms = 100.0 + i;
    o.tokens = 1000 + i;
    kanari_record_summary s{};
    REQUIRE(kanari_record(w.h, &o, &s) == KANARI_OK);
    CHECK(s.inserted == 1);
    (r.arm == KANARI_ARM_CANARY ? canary : stable) += 1;
  }
  auto st = w.cli.json({"canary", "status"});
  CHECK(st["canary_stats"]["n"] == canary);
  CHECK(st["stable_stats"]["n"] == stable);

  // A retry is a duplicate; a different result for the same task a conflict.
  kanari_record_summary s{};
  auto again = outcome("task-1", true);
  again.has = KANARI_HAS_LATENCY_MS | KANARI_HAS_TOKENS;
  again.latency_ms = 101.0;
  again.tokens = 1001;
  REQUIRE(kanari_record(w.h, &again, &s) == KANARI_OK);
  CHECK(s.duplicates == 1);
  CHECK(s.inserted == 0);
  auto changed = outcome("task-1", false);
  REQUIRE(kanari_record(w.h, &changed, &s) == KANARI_OK);
  CHECK(s.conflicts == 1);

  SUBCASE("a batch is one transaction: one bad outcome stores nothing and is named by index") {
    std::vector<kanari_outcome> batch = {outcome("b-0", true, "stable"), outcome("b-1", true, "canary"),
                                         outcome("b-2", true, "ffffffff")};
    REQUIRE(kanari_record_batch(w.h, batch.data(), batch.size(), &s) == KANARI_NOT_FOUND);
    CHECK(std::string(kanari_last_error(w.h)).find("outcome 2") == 0);
    CHECK(w.cli.json({"canary", "status"})["canary_stats"]["n"] == canary);
    batch[2].version = "stable";
    batch[2].has = KANARI_HAS_SCORE;
    batch[2].score = NAN;
    REQUIRE(kanari_record_batch(w.h, batch.data(), batch.size(), &s) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(w.h)).find("outcome 2: score") == 0);
    batch[2].score = 0.5;
    REQUIRE(kanari_record_batch(w.h, batch.data(), batch.size(), &s) == KANARI_OK);
    CHECK(s.inserted == 3);
    auto after = w.cli.json({"canary", "status"});
    CHECK(after["canary_stats"]["n"] == canary + 1);
    CHECK(after["stable_stats"]["n"] == stable + 2);
  }
  SUBCASE("JSON Lines, as record --jsonl") {
    const std::string text =
        "{\"task\":\"j-1\",\"pass\":true,\"version\":\"canary\"}\n"
        "{\"task\":\"j-2\",\"pass\":false,\"version\":\"stable\",\"at\":\"2026-01-01T00:00:00Z\"}\n"
        "not json\n";
    REQUIRE(kanari_record_jsonl(w.h, text.data(), text.size(), nullptr, 0, &s) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(w.h)).find("line 3") != std::string::npos);
    REQUIRE(kanari_record_jsonl(w.h, text.data(), text.size(), nullptr, 1, &s) == KANARI_OK);
    CHECK(s.inserted == 2);
    CHECK(s.invalid == 1);
  }
}

TEST_CASE("capi: kanari_evaluate returns the CLI's evaluate JSON and applies once") {
  World w("50", {"--min-samples", "5"});
  std::vector<kanari_outcome> batch;
  std::vector<std::string> tasks;
  for (int i = 0; i < 20; ++i)
    tasks.push_back("e-" + std::to_string(i));
  for (int i = 0; i < 20; ++i) // canary all fail, stable all pass: a rollback
    batch.push_back(outcome(tasks[static_cast<size_t>(i)].c_str(), i % 2 == 0, i % 2 == 0 ? "stable" : "canary"));
  REQUIRE(kanari_record_batch(w.h, batch.data(), batch.size(), nullptr) == KANARI_OK);

  int verdict = -1;
  char* text = nullptr;
  CHECK(kanari_evaluate(w.h, nullptr, 0, &verdict, &text) == KANARI_NEGATIVE);
  CHECK(verdict == KANARI_VERDICT_ROLLBACK);
  json capi = json::parse(take(text));
  auto cli = w.cli({"canary", "evaluate", "--json"});
  CHECK(cli.code == 1);
  // The same verdict, counts, reasons and evidence; the step's elapsed
  // seconds come from two reads of the system clock and may differ by one.
  auto cli_json = cli.json();
  auto& elapsed = cli_json["evidence"]["step_state"]["elapsed_seconds"];
  REQUIRE(elapsed.is_number_integer());
  const auto capi_elapsed = capi["evidence"]["step_state"]["elapsed_seconds"].get<std::int64_t>();
  CHECK(elapsed.get<std::int64_t>() - capi_elapsed >= 0);
  CHECK(elapsed.get<std::int64_t>() - capi_elapsed <= 1);
  elapsed = capi_elapsed;
  CHECK(capi == cli_json);
  CHECK(capi["verdict"] == "ROLLBACK");
  CHECK(capi["canary"]["n"] == 10);

  // Apply through the C API: rolled back once; routing follows at once.
  CHECK(kanari_evaluate(w.h, "default", KANARI_EVALUATE_APPLY, &verdict, &text) == KANARI_NEGATIVE);
  json applied = json::parse(take(text));
  CHECK(applied["applied"] == true);
  CHECK(applied["action"] == "rolled_back");
  CHECK(kanari_evaluate(w.h, nullptr, 0, &verdict, nullptr) == KANARI_OK);
  CHECK(verdict == KANARI_VERDICT_NO_CANARY);
  auto hist = w.cli.json({"history"});
  CHECK(hist[0]["action"] == "rolled_back");
  CHECK(hist[0]["actor"] == "capi-test");
  kanari_route_decision r{};
  REQUIRE(kanari_route(w.h, nullptr, "anyone", nullptr, &r) == KANARI_OK);
  CHECK(std::string(r.version) == w.a);
}

TEST_CASE("capi: outcomes carry metrics that the store's gates read") {
  World w("50", {"--min-samples", "4"});
  const std::string policy = w.cli.dir().file(
      "p.json", R"({"min_samples": 4, "metrics": [{"metric": "tool_calls", "aggregate": "max", "max": 9}]})");
  w.cli.ok({"canary", "rollback", "--reason", "restart with a metric gate"});
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "50", "--policy", policy});
  std::vector<kanari_outcome> batch;
  std::vector<std::string> tasks;
  std::vector<std::array<kanari_metric, 2>> metrics(8);
  for (int i = 0; i < 8; ++i)
    tasks.push_back("m-" + std::to_string(i));
  for (int i = 0; i < 8; ++i) {
    auto o = outcome(tasks[static_cast<size_t>(i)].c_str(), true, i % 2 ? "canary" : "stable");
    metrics[static_cast<size_t>(i)] = {kanari_metric{"tool_calls", 3.0 + i}, kanari_metric{"escalated", 0}};
    o.metrics = metrics[static_cast<size_t>(i)].data();
    o.n_metrics = 2;
    batch.push_back(o);
  }
  REQUIRE(kanari_record_batch(w.h, batch.data(), batch.size(), nullptr) == KANARI_OK);
  char* text = nullptr;
  int verdict = -1;
  CHECK(kanari_evaluate(w.h, nullptr, 0, &verdict, &text) == KANARI_NEGATIVE);
  const json v = json::parse(take(text));
  json gate;
  for (const auto& g : v["evidence"]["gates"])
    if (g["gate"] == "metric")
      gate = g;
  CHECK(gate["canary"] == 10.0); // 4, 6, 8, 10
  CHECK(gate["result"] == "fail");
  CHECK(v["verdict"] == "ROLLBACK");

  // Invalid metrics: refused with KANARI_USAGE, nothing stored.
  kanari_record_summary s{};
  auto o = outcome("m-bad", true, "stable");
  kanari_metric bad[] = {{"Bad", 1}};
  o.metrics = bad;
  o.n_metrics = 1;
  CHECK(kanari_record(w.h, &o, &s) == KANARI_USAGE);
  CHECK(std::string(kanari_last_error(w.h)).find("must match") != std::string::npos);
  kanari_metric nan_value[] = {{"x", NAN}};
  o.metrics = nan_value;
  CHECK(kanari_record(w.h, &o, &s) == KANARI_USAGE);
  o.metrics = nullptr;
  CHECK(kanari_record(w.h, &o, &s) == KANARI_USAGE);
  kanari_metric null_name[] = {{nullptr, 1}};
  o.metrics = null_name;
  CHECK(kanari_record(w.h, &o, &s) == KANARI_USAGE);
  CHECK(w.cli.json({"canary", "status"})["stable_stats"]["n"] == 4);
}

TEST_CASE("capi: the pure gate on counts is gate::evaluate") {
  struct Row {
    std::int64_t cn, cp, sn, sp;
    const char* policy;
    int verdict;
  };
  const Row rows[] = {
      {9, 9, 10, 10, nullptr, KANARI_VERDICT_INSUFFICIENT_DATA},
      {10, 7, 10, 8, nullptr, KANARI_VERDICT_HOLD},     // exactly 10 points: not a rollback
      {10, 6, 10, 8, nullptr, KANARI_VERDICT_ROLLBACK}, // 20 points
      {10, 8, 10, 8, nullptr, KANARI_VERDICT_PROMOTE},
      {10, 8, 10, 8, "{\"require_approval\":\"every\"}", KANARI_VERDICT_AWAITING_APPROVAL},
      {10, 7, 10, 8, "{\"max_regression\":0.05}", KANARI_VERDICT_ROLLBACK},
      {50, 45, 50, 45, "{\"method\":\"sequential\"}", -2}, // whatever gate::evaluate says
  };
  for (const auto& row : rows) {
    kanari_gate_input in{};
    in.canary.n = row.cn;
    in.canary.pass = row.cp;
    in.stable.n = row.sn;
    in.stable.pass = row.sp;
    int verdict = -1;
    char* text = nullptr;
    auto st = kanari_gate(row.policy, &in, &verdict, &text);
    CAPTURE(row.policy ? row.policy : "defaults");
    CAPTURE(row.cp);
    json j = json::parse(take(text));
    kanari::gate::Policy p;
    if (row.policy)
      p = *kanari::gate::parse_policy(json::parse(row.policy));
    kanari::gate::GateInput gi;
    gi.has_rollout = true;
    gi.canary.n = row.cn;
    gi.canary.pass = row.cp;
    gi.baseline.n = row.sn;
    gi.baseline.pass = row.sp;
    auto expected = kanari::gate::evaluate(p, gi);
    CHECK(j["verdict"] == kanari::gate::to_string(expected.verdict));
    CHECK(j["reasons"] == json(expected.reasons));
    CHECK(j["evidence"] == expected.evidence);
    if (row.verdict != -2)
      CHECK(verdict == row.verdict);
    CHECK(st == (verdict == KANARI_VERDICT_ROLLBACK ? KANARI_NEGATIVE : KANARI_OK));
  }
  SUBCASE("impossible counts and bad policies are usage errors with a message") {
    kanari_gate_input in{};
    in.canary.n = 5;
    in.canary.pass = 6;
    CHECK(kanari_gate(nullptr, &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).find("invalid gate input") == 0);
    in.canary.pass = 1;
    CHECK(kanari_gate("{\"regression\":\"abs\"}", &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).find("regression") != std::string::npos);
    CHECK(kanari_gate("{", &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(kanari_gate(nullptr, nullptr, nullptr, nullptr) == KANARI_USAGE);
    // As strict as the CLI's --policy: a repeated key and nesting past the
    // limit are refused with a message. The nesting used to be parsed
    // recursively to any depth, and a deep enough policy overflowed the
    // host's stack.
    CHECK(kanari_gate("{\"min_samples\": 5, \"min_samples\": 50}", &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).find("min_samples") != std::string::npos);
    const std::string deep = "{\"x\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
    CHECK(kanari_gate(deep.c_str(), &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).find("nest") != std::string::npos);
  }
}

TEST_CASE("capi: the pure gate refuses non-finite or negative metrics, naming the field") {
  // A canary that passes every task; the only thing that can stop it is the
  // latency ceiling. A NaN latency used to pass it ("canary nan ms <= max").
  const char* policy = R"({"metrics": [{"metric": "latency_p95_ms", "max": 100},
                                        {"metric": "cost_mean", "max": 1},
                                        {"metric": "tokens_mean", "max": 1000}]})";
  auto promoting = [] {
    kanari_gate_input in{};
    in.canary = {50, 50, 0, KANARI_HAS_LATENCY_P95 | KANARI_HAS_COST_MEAN | KANARI_HAS_TOKENS_MEAN, 80, 0.5, 500};
    in.stable = {50, 50, 0, KANARI_HAS_LATENCY_P95 | KANARI_HAS_COST_MEAN | KANARI_HAS_TOKENS_MEAN, 80, 0.5, 500};
    return in;
  };
  {
    auto in = promoting();
    int verdict = -1;
    REQUIRE(kanari_gate(policy, &in, &verdict, nullptr) == KANARI_OK);
    CHECK(verdict == KANARI_VERDICT_PROMOTE);
  }
  const double nan = std::nan(""), inf = HUGE_VAL;
  struct Bad {
    const char* field;
    void (*set)(kanari_gate_input&, double);
    double value;
  };
  const Bad bad[] = {
      {"canary.latency_p95_ms", [](kanari_gate_input& i, double v) { i.canary.latency_p95_ms = v; }, nan},
      {"canary.latency_p95_ms", [](kanari_gate_input& i, double v) { i.canary.latency_p95_ms = v; }, -1},
      {"canary.latency_p95_ms", [](kanari_gate_input& i, double v) { i.canary.latency_p95_ms = v; }, inf},
      {"stable.latency_p95_ms", [](kanari_gate_input& i, double v) { i.stable.latency_p95_ms = v; }, nan},
      {"canary.cost_mean", [](kanari_gate_input& i, double v) { i.canary.cost_mean = v; }, nan},
      {"stable.cost_mean", [](kanari_gate_input& i, double v) { i.stable.cost_mean = v; }, -0.5},
      {"canary.tokens_mean", [](kanari_gate_input& i, double v) { i.canary.tokens_mean = v; }, -inf},
      {"stable.tokens_mean", [](kanari_gate_input& i, double v) { i.stable.tokens_mean = v; }, nan},
  };
  for (const auto& b : bad) {
    CAPTURE(b.field);
    CAPTURE(b.value);
    auto in = promoting();
    b.set(in, b.value);
    int verdict = -1;
    char* text = reinterpret_cast<char*>(1);
    CHECK(kanari_gate(policy, &in, &verdict, &text) == KANARI_USAGE);
    CHECK(verdict == -1);
    CHECK(text == nullptr);
    const std::string msg = kanari_last_error(nullptr);
    CHECK(msg.find(b.field) != std::string::npos);
    CHECK(msg.find("finite number >= 0") != std::string::npos);
    // Without its has-bit the field is not read at all.
    in.canary.has = in.stable.has = 0;
    CHECK(kanari_gate(nullptr, &in, nullptr, nullptr) == KANARI_OK);
  }
  SUBCASE("impossible counts name the field") {
    auto in = promoting();
    in.stable.n = -3;
    CHECK(kanari_gate(nullptr, &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).find("stable.n must be >= 0, got -3") != std::string::npos);
    in = promoting();
    in.canary.pass = 51;
    CHECK(kanari_gate(nullptr, &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).find("canary.pass (51) must not exceed canary.n (50)") !=
          std::string::npos);
    in = promoting();
    in.canary.errors = -1;
    CHECK(kanari_gate(nullptr, &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).find("canary.errors") != std::string::npos);
    in = promoting();
    in.promote_streak = -1;
    CHECK(kanari_gate(nullptr, &in, nullptr, nullptr) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).find("promote_streak") != std::string::npos);
  }
}

TEST_CASE("capi: version ids reproduce the SPEC §4 vectors and the CLI's version add") {
  std::ifstream f(std::string(KANARI_TEST_DATA) + "/hashing_vectors.json");
  json vectors = json::parse(f);
  for (const auto& v : vectors["vectors"]) {
    char id[KANARI_ID_SIZE];
    const auto manifest = v["canonical_manifest"].get<std::string>();
    REQUIRE(kanari_version_id(manifest.c_str(), id) == KANARI_OK);
    CHECK(std::string(id) == v["version_id"].get<std::string>());
    // Order of components and keys does not matter; the hash is canonical.
    json m = json::parse(manifest);
    m.erase("format");
    REQUIRE(kanari_version_id(m.dump(2).c_str(), id) == KANARI_OK);
    CHECK(std::string(id) == v["version_id"].get<std::string>());
  }
  Cli cli;
  cli.ok({"init"});
  auto added = cli.json({"version", "add", "--prompt", "sys=" + cli.dir().file("p.md", "hello\n"), "--tool",
                         "t=" + cli.dir().file("t.json", "{\"b\": 1, \"a\": [true]}"), "--model", "m-2"});
  json manifest = {{"components", added["components"]}, {"model", added["model"]}};
  char id[KANARI_ID_SIZE];
  REQUIRE(kanari_version_id(manifest.dump().c_str(), id) == KANARI_OK);
  CHECK(std::string(id) == added["id"].get<std::string>());

  for (const char* bad :
       {"", "[]", "{\"components\":{}}", "{\"format\":\"v2\",\"components\":[]}", "{\"components\":[],\"extra\":1}",
        "{\"components\":[{\"kind\":\"prompt\",\"name\":\"a\",\"sha256\":\"00\",\"bytes\":1}]}",
        "{\"components\":[{\"kind\":\"x\",\"name\":\"a\",\"sha256\":\"00\",\"bytes\":1}]}",
        // As strict as the CLI: a repeated key; nesting past the limit.
        "{\"components\":[],\"components\":[]}"}) {
    CAPTURE(bad);
    CHECK(kanari_version_id(bad, id) == KANARI_USAGE);
    CHECK(std::string(kanari_last_error(nullptr)).size() > 10);
  }
  const std::string deep =
      "{\"components\":[],\"model\":{\"x\":" + std::string(100000, '[') + std::string(100000, ']') + "}}";
  CHECK(kanari_version_id(deep.c_str(), id) == KANARI_USAGE);
  CHECK(std::string(kanari_last_error(nullptr)).find("nest") != std::string::npos);
}

TEST_CASE("capi: errors are status codes with messages, never exceptions") {
  TempDir dir;
  kanari_store* h = reinterpret_cast<kanari_store*>(1);
  CHECK(kanari_open((dir.path() / "missing").c_str(), nullptr, 0, &h) == KANARI_OPERATIONAL);
  CHECK(h == nullptr);
  CHECK(std::string(kanari_last_error(nullptr)).find("kanari init") != std::string::npos);
  CHECK(kanari_open(nullptr, nullptr, 0, &h) == KANARI_USAGE);
  CHECK(kanari_open("x", nullptr, 0, nullptr) == KANARI_USAGE);
  CHECK(kanari_open("x", nullptr, 8, &h) == KANARI_USAGE);

  // KANARI_OPEN_CREATE makes the store, like `kanari init`; the CLI reads it.
  const std::string state = new_store_location(dir);
  REQUIRE(kanari_open(state.c_str(), "me", KANARI_OPEN_CREATE, &h) == KANARI_OK);
  Cli cli(state);
  CHECK(cli.json({"canary", "status"})["state"] == "idle");
  kanari_route_decision r{};
  CHECK(kanari_route(h, nullptr, "k", nullptr, &r) == KANARI_NOT_FOUND);
  CHECK(std::string(kanari_last_error(h)).find("no stable version") != std::string::npos);
  CHECK(std::string(kanari_last_error(nullptr)) == kanari_last_error(h));
  CHECK(kanari_route(h, "bad track!", "k", nullptr, &r) == KANARI_USAGE);
  CHECK(kanari_route(h, nullptr, "", nullptr, &r) == KANARI_USAGE);
  CHECK(kanari_route(h, nullptr, "\xff", nullptr, &r) == KANARI_USAGE);
  CHECK(kanari_route(h, nullptr, "k", nullptr, nullptr) == KANARI_USAGE);
  CHECK(kanari_route(nullptr, nullptr, "k", nullptr, &r) == KANARI_USAGE);
  auto o = outcome(nullptr, true, "stable");
  CHECK(kanari_record(h, &o, nullptr) == KANARI_USAGE);
  o.task = "t";
  o.has = 1u << 10;
  CHECK(kanari_record(h, &o, nullptr) == KANARI_USAGE);
  o.has = KANARI_HAS_AT;
  o.at_ms = -5;
  CHECK(kanari_record(h, &o, nullptr) == KANARI_USAGE);
  CHECK(kanari_set_route_cache_ms(h, -1) == KANARI_USAGE);
  CHECK(kanari_evaluate(h, nullptr, 4, nullptr, nullptr) == KANARI_USAGE);
  int verdict = -1;
  CHECK(kanari_evaluate(h, nullptr, 0, &verdict, nullptr) == KANARI_OK);
  CHECK(verdict == KANARI_VERDICT_NO_CANARY);
  kanari_close(h);
  kanari_close(nullptr);
  kanari_free(nullptr);
  CHECK(std::string(kanari_version()) == KANARI_VERSION_STRING);
}

TEST_CASE("capi: sessions are pinned, cut by a rollback, recorded against their pin and ended (ABI 1.2)") {
  World w("50");
  // Conversations of three turns each: every turn the same version.
  std::string on_canary, on_stable;
  for (int i = 0; on_canary.empty() || on_stable.empty(); ++i) {
    const std::string s = "conv-" + std::to_string(i);
    kanari_session_route first{};
    REQUIRE(kanari_route_session(w.h, nullptr, s.c_str(), nullptr, &first) == KANARI_OK);
    CHECK(first.pinned == 1);
    CHECK(first.requests == 1);
    // The CLI sees the same pin.
    CHECK(w.cli.json({"session", "show", s})["version"] == first.decision.version);
    for (int turn = 2; turn <= 3; ++turn) {
      kanari_session_route next{};
      REQUIRE(kanari_route_session(w.h, nullptr, s.c_str(), nullptr, &next) == KANARI_OK);
      CHECK(std::string(next.decision.version) == first.decision.version);
      CHECK(next.pinned == 0);
      CHECK(next.moved == 0);
      CHECK(next.requests == turn);
      CHECK(next.expires_at_ms > 0);
    }
    (first.decision.arm == KANARI_ARM_CANARY ? on_canary : on_stable) = s;
  }

  // record against the pin; a version beside the session is refused.
  kanari_outcome o = outcome("capi-session-task", true);
  kanari_record_summary sum{};
  REQUIRE(kanari_record_session(w.h, &o, on_canary.c_str(), &sum) == KANARI_OK);
  CHECK(sum.inserted == 1);
  CHECK(w.cli.json({"canary", "status"})["canary_stats"]["n"] == 1);
  kanari_outcome versioned = outcome("capi-session-task-2", true, "stable");
  CHECK(kanari_record_session(w.h, &versioned, on_canary.c_str(), &sum) == KANARI_USAGE);
  CHECK(kanari_record_session(w.h, &o, "never-routed", &sum) == KANARI_NOT_FOUND);

  // A rollback by another process cuts the canary's session: the next route
  // moves it to the stable and says so, once.
  w.cli.ok({"canary", "rollback"});
  kanari_session_route moved{};
  REQUIRE(kanari_route_session(w.h, nullptr, on_canary.c_str(), nullptr, &moved) == KANARI_OK);
  CHECK(moved.moved == 1);
  CHECK(std::string(moved.moved_from) == w.b);
  CHECK(std::string(moved.decision.version) == w.a);
  CHECK(moved.decision.arm == KANARI_ARM_STABLE);
  REQUIRE(kanari_route_session(w.h, nullptr, on_canary.c_str(), nullptr, &moved) == KANARI_OK);
  CHECK(moved.moved == 0);

  REQUIRE(kanari_session_end(w.h, nullptr, on_stable.c_str()) == KANARI_OK);
  CHECK(w.cli.json({"session", "show", on_stable})["state"] == "ended");
  CHECK(kanari_session_end(w.h, nullptr, "never-routed") == KANARI_NOT_FOUND);

  // Bad input: usage errors, nothing written.
  kanari_session_route r{};
  const std::string before = store_snapshot(w.cli.state());
  CHECK(kanari_route_session(w.h, nullptr, "", nullptr, &r) == KANARI_USAGE);
  CHECK(kanari_route_session(w.h, nullptr, std::string(257, 'x').c_str(), nullptr, &r) == KANARI_USAGE);
  CHECK(kanari_route_session(w.h, nullptr, "\xff", nullptr, &r) == KANARI_USAGE);
  CHECK(kanari_route_session(w.h, nullptr, nullptr, nullptr, &r) == KANARI_USAGE);
  CHECK(kanari_route_session(w.h, nullptr, "s", nullptr, nullptr) == KANARI_USAGE);
  CHECK(kanari_route_session(nullptr, nullptr, "s", nullptr, &r) == KANARI_USAGE);
  CHECK(std::string(kanari_last_error(nullptr)).find("store must not be NULL") != std::string::npos);
  CHECK(store_snapshot(w.cli.state()) == before);
}

// Always-current routing at hashing speed (docs/library.md, "Speed"): with
// no route cache the handle reads the routing table again only when the
// store's commit stamp moved. Each change below is made by another process
// (the real binary), and the very next call must see it (on PostgreSQL, a
// call within a second: the revision check); calls in between must not
// read the store (no transaction: the stamp alone decides).
TEST_CASE("capi: without a route cache, a change committed by another process is seen by the next call") {
  World w("30");
  const std::string state = w.cli.state();
  auto other_process = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--state", state, "--actor", "other"});
    const auto r = spawn_kanari(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
  };
  std::string key;
  kanari_route_decision d{};
  for (int i = 0; key.empty(); ++i) {
    const std::string k = "k" + std::to_string(i);
    REQUIRE(kanari_route(w.h, nullptr, k.c_str(), nullptr, &d) == KANARI_OK);
    if (d.arm == KANARI_ARM_CANARY)
      key = k;
  }
  for (int round = 0; round < 3; ++round) {
    other_process({"canary", "rollback"});
    d = route_once_seen(w.h, key, w.a);
    CHECK(std::string(d.version) == w.a);
    CHECK(d.bucket == -1);
    other_process({"canary", "start", "--version", w.b, "--percentage", "100"});
    d = route_once_seen(w.h, key, w.b);
    CHECK(std::string(d.version) == w.b);
    CHECK(d.arm == KANARI_ARM_CANARY);
    // A commit that changes no rollout (an outcome) is seen too: the table
    // is read again and gives the same answer.
    other_process({"record", "--task", "other-" + std::to_string(round), "--version", "stable", "--pass"});
    REQUIRE(kanari_route(w.h, nullptr, key.c_str(), nullptr, &d) == KANARI_OK);
    CHECK(std::string(d.version) == w.b);
  }
}
