// Policy parsing, validation messages, the stored form, and exact decimals.
#include "gate/policy.hpp"
#include "util/strings.hpp"

#include <doctest/doctest.h>

#include <limits>

using namespace kanari::gate;
using nlohmann::json;

namespace {

std::string error_of(const json& j) {
  auto r = parse_policy(j);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == kanari::ErrorCode::usage);
  return r.error().message;
}

Policy parsed(const json& j) {
  auto r = parse_policy(j);
  INFO(j.dump());
  REQUIRE(r.ok());
  return *r;
}

} // namespace

TEST_CASE("policy: parse_decimal is exact") {
  CHECK(parse_decimal("0.1", 6) == 100000);
  CHECK(parse_decimal("0.07", 6) == 70000);
  CHECK(parse_decimal("0.10", 6) == 100000);
  CHECK(parse_decimal("25.25", 2) == 2525);
  CHECK(parse_decimal("10", 2) == 1000);
  CHECK(parse_decimal("100", 2) == 10000);
  CHECK(parse_decimal("0.100", 1) == 1); // trailing zeros are not significant
  CHECK(parse_decimal("-3", 0) == -3);
  CHECK(parse_decimal("+3", 0) == 3);
  CHECK(parse_decimal("-0", 0) == 0);
  CHECK(parse_decimal(".5", 1) == 5);
  CHECK(parse_decimal("1e-2", 6) == 10000);
  CHECK(parse_decimal("1e-06", 6) == 1);
  CHECK(parse_decimal("2.5E+1", 0) == 25);
  CHECK(parse_decimal("1e-07", 6) == std::nullopt); // too many decimals
  CHECK(parse_decimal("25.255", 2) == std::nullopt);
  CHECK(parse_decimal("0.0000001", 6) == std::nullopt);
  CHECK(parse_decimal("9223372036854775807", 0) == std::numeric_limits<std::int64_t>::max());
  CHECK(parse_decimal("-9223372036854775808", 0) == std::numeric_limits<std::int64_t>::min());
  CHECK(parse_decimal("9223372036854775808", 0) == std::nullopt);
  CHECK(parse_decimal("92233720368547758.08", 2) == std::nullopt);
  CHECK(parse_decimal("1e400", 0) == std::nullopt);
  CHECK(parse_decimal("0e400", 0) == 0);
  for (const char* bad :
       {"", "-", ".", "e5", "1e", "1e+", "abc", "1.2.3", " 1", "1 ", "inf", "nan", "NaN", "1,5", "0x10", "--1"}) {
    INFO(bad);
    CHECK(parse_decimal(bad, 6) == std::nullopt);
  }
  CHECK(parse_decimal("1", 19) == std::nullopt);
  CHECK(parse_decimal("1", -1) == std::nullopt);
}

TEST_CASE("policy: defaults reproduce the Bernstein rule") {
  const Policy p = parsed(json::object());
  CHECK(p.min_samples == 10);
  CHECK(p.effective_min_stable_samples() == 10);
  CHECK(p.max_regression_ppm == 100000);
  CHECK(p.regression == Regression::absolute);
  CHECK(p.method == Method::threshold);
  CHECK(p.steps_bp.empty());
  CHECK(p.consecutive == 1);
  CHECK(p.require_approval == Approval::none);
  CHECK(p == Policy{});
}

TEST_CASE("policy: the SPEC example parses") {
  const Policy p = parsed(json::parse(R"({"min_samples": 10, "min_stable_samples": 10, "max_regression": 0.10,
     "regression": "absolute", "method": "threshold",
     "steps": [5, 25, 50, 100], "min_step_seconds": 0,
     "max_step_seconds": null, "on_timeout": "hold",
     "consecutive": 1, "require_approval": "none",
     "metrics": [
       {"metric": "latency_p95_ms", "max": 2000},
       {"metric": "latency_p95_ms", "max_regression": 0.25},
       {"metric": "cost_mean", "max_regression": 0.10},
       {"metric": "error_rate", "max_ratio": 2.0, "on_fail": "hold"}]})"));
  CHECK(p.steps_bp == std::vector<std::int64_t>{500, 2500, 5000, 10000});
  CHECK(p.min_stable_samples == 10);
  CHECK_FALSE(p.max_step_seconds);
  REQUIRE(p.metrics.size() == 4);
  CHECK(p.metrics[0].max == 2000.0);
  CHECK(p.metrics[1].max_regression == 0.25);
  CHECK(p.metrics[3].max_ratio == 2.0);
  CHECK(p.metrics[3].on_fail == OnFail::hold);
  CHECK(p.metrics[0].on_fail == OnFail::rollback);
}

TEST_CASE("policy: exact conversions") {
  CHECK(parsed({{"max_regression", 0.07}}).max_regression_ppm == 70000);
  CHECK(parsed({{"max_regression", 0.1}}).max_regression_ppm == 100000);
  CHECK(parsed({{"max_regression", 0.000001}}).max_regression_ppm == 1);
  CHECK(parsed({{"max_regression", 0}}).max_regression_ppm == 0);
  CHECK(parsed({{"max_regression", 1}}).max_regression_ppm == 1000000);
  CHECK(parsed({{"steps", {0.01, 12.5, 33.33, 100}}}).steps_bp == std::vector<std::int64_t>{1, 1250, 3333, 10000});
  CHECK(parsed({{"min_samples", 25.0}}).min_samples == 25);
  CHECK(parsed({{"regression", "relative"}, {"max_regression", 0.25}}).regression == Regression::relative);
}

TEST_CASE("policy: errors name the key and the allowed values") {
  CHECK(error_of({{"regression", "abs"}}) ==
        "policy key 'regression' must be \"absolute\" or \"relative\", got \"abs\"");
  CHECK(error_of({{"method", 3}}) == "policy key 'method' must be \"threshold\" or \"sequential\", got 3");
  CHECK(error_of({{"on_timeout", "later"}}) ==
        "policy key 'on_timeout' must be \"hold\", \"rollback\" or \"promote\", got \"later\"");
  CHECK(error_of({{"require_approval", "final_step"}}) ==
        "policy key 'require_approval' must be \"none\", \"final\" or \"every\", got "
        "\"final_step\"");
  CHECK(error_of({{"min_samples", 0}}) == "policy key 'min_samples' must be an integer in [1, 1000000000], got 0");
  CHECK(error_of({{"min_samples", 10.5}}).find("'min_samples' must be an integer") != std::string::npos);
  CHECK(error_of({{"min_samples", "10"}}).find("got \"10\"") != std::string::npos);
  CHECK(error_of({{"min_stable_samples", 0}}).find("'min_stable_samples'") != std::string::npos);
  CHECK(error_of({{"max_regression", 1.5}}) ==
        "policy key 'max_regression' must be a number in [0, 1] with at most 6 decimals, got 1.5");
  CHECK(error_of({{"max_regression", -0.1}}).find("'max_regression'") != std::string::npos);
  CHECK(error_of({{"max_regression", 0.0000001}}).find("at most 6 decimals") != std::string::npos);
  CHECK(error_of({{"max_regression", "0.1"}}).find("'max_regression'") != std::string::npos);
  CHECK(error_of({{"steps", {50, 25}}}).find("'steps' must be") != std::string::npos);
  CHECK(error_of({{"steps", {25, 25}}}).find("strictly ascending") != std::string::npos);
  CHECK(error_of({{"steps", {0}}}).find("'steps[0]'") != std::string::npos);
  CHECK(error_of({{"steps", {10, 120}}}).find("'steps[1]'") != std::string::npos);
  CHECK(error_of({{"steps", {12.345}}}).find("at most two decimals") != std::string::npos);
  CHECK(error_of({{"steps", 50}}).find("'steps'") != std::string::npos);
  CHECK(error_of({{"min_step_seconds", 600}, {"max_step_seconds", 300}}) ==
        "policy key 'max_step_seconds' must be null or >= min_step_seconds (600), got 300");
  CHECK(error_of({{"consecutive", 0}}).find("'consecutive'") != std::string::npos);
  CHECK(error_of({{"alpha", 0}}) == "policy key 'alpha' must be a number in (0, 0.5], got 0");
  CHECK(error_of({{"alpha", 0.6}}).find("'alpha'") != std::string::npos);
  CHECK(error_of({{"planned_samples", 0}}).find("'planned_samples'") != std::string::npos);
  CHECK(error_of({{"min_samples", nullptr}}).find("'min_samples'") != std::string::npos);
  const std::string unknown = error_of({{"min_sample", 10}});
  CHECK(unknown.find("policy has unknown key 'min_sample'; allowed keys: alpha, ") == 0);
  CHECK(error_of(json::array()) == "policy must be a JSON object, got []");
}

TEST_CASE("policy: metric validation") {
  auto metric = [](json m) { return json{{"metrics", json::array({std::move(m)})}}; };
  // Any metric name is a gate (a recorded metric); a malformed one is not.
  CHECK(parse_policy(metric({{"metric", "p99"}, {"max", 1}})).ok());
  CHECK(error_of(metric({{"metric", "P99"}, {"max", 1}})) ==
        "policy key 'metrics[0].metric' must be a metric name matching [a-z][a-z0-9_]{0,63}: a built-in field "
        "(pass, latency_ms, cost, tokens, score, error), a recorded metric, or latency_p95_ms, cost_mean, "
        "tokens_mean, error_rate, got \"P99\"");
  CHECK(error_of(metric({{"max", 1}})).find("'metrics[0].metric' is required") != std::string::npos);
  CHECK(error_of(metric({{"metric", "latency_p95_ms"}, {"max_ratio", 2}})) ==
        "policy key 'metrics[0].max_ratio' is not allowed for metric \"latency_p95_ms\" "
        "(allowed bounds: max, max_regression; name the field \"latency_ms\" with an \"aggregate\" for the others)");
  CHECK(error_of(metric({{"metric", "error_rate"}, {"max_regression", 0.1}})) ==
        "policy key 'metrics[0].max_regression' is not allowed for metric \"error_rate\" "
        "(allowed bounds: max, max_ratio; name the field \"error\" with an \"aggregate\" for the others)");
  CHECK(error_of(metric({{"metric", "cost_mean"}})) ==
        "policy key 'metrics[0]' must set at least one bound: max, max_regression");
  CHECK(error_of(metric({{"metric", "cost_mean"}, {"max", 1}, {"limit", 2}})).find("'metrics[0].limit' is unknown") !=
        std::string::npos);
  CHECK(error_of(metric({{"metric", "error_rate"}, {"max", 1.5}})).find("[0, 1]") != std::string::npos);
  CHECK(error_of(metric({{"metric", "error_rate"}, {"max_ratio", 0}})).find("> 0") != std::string::npos);
  CHECK(error_of(metric({{"metric", "cost_mean"}, {"max", -1}})).find("'metrics[0].max'") != std::string::npos);
  CHECK(error_of(metric({{"metric", "cost_mean"}, {"max", 1}, {"on_fail", "warn"}})) ==
        "policy key 'metrics[0].on_fail' must be \"rollback\" or \"hold\", got \"warn\"");
  CHECK(error_of({{"metrics", {1}}}).find("'metrics[0]' must be an object") != std::string::npos);
}

TEST_CASE("policy: the stored form has every key and round-trips") {
  const json full = policy_to_json(Policy{});
  for (const char* key : {"min_samples",
                          "min_stable_samples",
                          "max_regression",
                          "regression",
                          "method",
                          "steps",
                          "min_step_seconds",
                          "max_step_seconds",
                          "on_timeout",
                          "consecutive",
                          "require_approval",
                          "metrics",
                          "alpha",
                          "planned_samples",
                          "require_signature",
                          "min_pass_rate",
                          "paired_alpha",
                          "session_ttl_seconds",
                          "on_rollback",
                          "drain_seconds"}) {
    INFO(key);
    CHECK(full.contains(key));
  }
  CHECK(full.size() == 20);
  CHECK(full.at("session_ttl_seconds") == 3600);
  CHECK(full.at("on_rollback") == "cut");
  CHECK(full.at("drain_seconds") == 900);
  CHECK(full.at("require_signature").is_null());
  CHECK(full.at("max_regression").dump() == "0.1");
  CHECK(full.at("min_stable_samples").is_null());
  CHECK(full.at("require_approval") == "none");

  const json custom = json::parse(R"({"min_samples": 20, "min_stable_samples": 40,
      "max_regression": 0.07, "regression": "relative", "method": "sequential",
      "steps": [5, 12.5, 33.33, 100], "min_step_seconds": 60, "max_step_seconds": 3600,
      "on_timeout": "promote", "consecutive": 3, "require_approval": "final",
      "metrics": [{"metric": "latency_p95_ms", "max": 2000, "max_regression": 0.25},
                  {"metric": "error_rate", "max_ratio": 2.0, "on_fail": "hold"}],
      "alpha": 0.01, "planned_samples": 500,
      "require_signature": ["ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                            "ed25519:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"]})");
  const Policy p = parsed(custom);
  CHECK(p.require_signature.size() == 2);
  CHECK(p.require_signature[1].substr(8, 4) == "3d40");
  CHECK(p.require_approval == Approval::final_step);
  const json stored = policy_to_json(p);
  CHECK(stored.at("steps").dump() == "[5,12.5,33.33,100]");
  CHECK(stored.at("max_regression").dump() == "0.07");
  CHECK(stored.at("require_approval") == "final");
  CHECK(parsed(stored) == p);
  CHECK(parsed(policy_to_json(Policy{})) == Policy{});
  // the stored form is stable: serialising the reparsed policy gives the same bytes
  CHECK(policy_to_json(parsed(stored)).dump() == stored.dump());
}

TEST_CASE("policy: round trip over many exact decimals") {
  for (std::int64_t ppm = 0; ppm <= 1'000'000; ppm += 7919) {
    Policy p;
    p.max_regression_ppm = ppm;
    INFO(ppm);
    CHECK(parsed(policy_to_json(p)).max_regression_ppm == ppm);
  }
  for (std::int64_t bp = 1; bp <= 10000; bp += 97) {
    Policy p;
    p.steps_bp = {bp};
    INFO(bp);
    CHECK(parsed(policy_to_json(p)).steps_bp == p.steps_bp);
  }
}

TEST_CASE("policy: steps may begin with shadow steps, written \"shadow:P\"") {
  Policy p = parsed({{"steps", {"shadow:20", 5, 25, 100}}});
  CHECK(p.steps_bp == std::vector<std::int64_t>{2000, 500, 2500, 10000});
  CHECK(p.shadow_steps == 1);
  p = parsed({{"steps", {"shadow:10", "shadow:30.5", 20}}});
  CHECK(p.steps_bp == std::vector<std::int64_t>{1000, 3050, 2000});
  CHECK(p.shadow_steps == 2);
  p = parsed({{"steps", {"shadow:0.01", "shadow:100"}}});
  CHECK(p.steps_bp == std::vector<std::int64_t>{1, 10000});
  CHECK(p.shadow_steps == 2);
  CHECK(parsed({{"steps", {5, 25}}}).shadow_steps == 0);
  CHECK(parsed(json::object()).shadow_steps == 0);

  // The stored form writes them back as strings, and reads back equal.
  for (const json& steps : {json{"shadow:20", 5, 25, 100}, json{"shadow:12.5", "shadow:33.33", 1, 100},
                            json{"shadow:20", "shadow:50"}, json{5, 100}}) {
    INFO(steps.dump());
    const Policy q = parsed({{"steps", steps}});
    const json stored = policy_to_json(q);
    CHECK(stored.at("steps") == steps);
    CHECK(parsed(stored) == q);
  }
  for (std::int64_t bp = 1; bp <= 10000; bp += 97) {
    Policy q;
    q.steps_bp = {bp, 100};
    q.shadow_steps = 1;
    INFO(bp);
    CHECK(parsed(policy_to_json(q)) == q);
  }

  // Errors name the key and the allowed values.
  CHECK(error_of({{"steps", {5, "shadow:20"}}}) ==
        "policy key 'steps[1]' must be a number: shadow steps (\"shadow:P\") come only before the live ones, got "
        "\"shadow:20\"");
  CHECK(error_of({{"steps", {"shadow:10", 25, "shadow:30"}}}).find("'steps[2]' must be a number") != std::string::npos);
  const std::string expect = "policy key 'steps' must be an array of percentages in (0, 100] with at most two "
                             "decimals, strictly ascending, optionally led by shadow steps \"shadow:P\" (strictly "
                             "ascending among themselves), got ";
  CHECK(error_of({{"steps", {"shadow:20", "shadow:10", 50}}}) == expect + R"(["shadow:20","shadow:10",50])");
  CHECK(error_of({{"steps", {"shadow:20", "shadow:20"}}}) == expect + R"(["shadow:20","shadow:20"])");
  CHECK(error_of({{"steps", {"shadow:20", 10, 5}}}) == expect + R"(["shadow:20",10,5])");
  for (const json& bad : {json("shadow:0"), json("shadow:100.01"), json("shadow:12.345"), json("shadow:"),
                          json("shadow:x"), json("shadow: 20"), json("Shadow:20"), json("shadow20"), json("20"),
                          json("live:20"), json(true), json(nullptr)}) {
    INFO(bad.dump());
    CHECK(error_of({{"steps", {bad, 100}}}).find("policy key 'steps[0]' must be an array of percentages") == 0);
  }
}

TEST_CASE("policy: require_signature takes null or trusted key ids") {
  const std::string alice = "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
  CHECK(parsed(json::parse(R"({"require_signature": null})")).require_signature.empty());
  CHECK(parsed(json{{"require_signature", {alice}}}).require_signature == std::vector<std::string>{alice});
  for (const json& bad : {json::array(), json("ed25519:00"), json::array({alice.substr(0, 71)}),
                          json::array({"ED25519" + alice.substr(7)}), json::array({1}), json::object()}) {
    INFO(bad.dump());
    CHECK(error_of({{"require_signature", bad}}).find("policy key 'require_signature") == 0);
  }
  CHECK(error_of({{"require_signature", {alice, alice}}}) ==
        "policy key 'require_signature[1]' repeats the key " + alice);
}

TEST_CASE("policy: a long non-ASCII value is cut at a character in error messages") {
  // Found by fuzz/fuzz_policy: the value shown in a message was cut at 77
  // bytes, which could split a UTF-8 character and make the message (that
  // the CLI prints and the C API returns) invalid UTF-8.
  for (size_t ascii = 70; ascii <= 80; ++ascii) {
    const std::string value = std::string(ascii, 'a') + "鈣鈣鈣";
    CAPTURE(ascii);
    for (const json& policy : {json(value), json{{"regression", value}}, json{{"steps", {value}}}}) {
      const std::string m = error_of(policy);
      CAPTURE(m);
      CHECK(kanari::is_valid_utf8(m));
      CHECK(m.find("aaaaaaaaaa") != std::string::npos);
      CHECK(m.size() >= 77);
      CHECK(m.substr(m.size() - 3) == "...");
    }
  }
}

TEST_CASE("policy: the session keys (docs/routing.md) parse, round-trip and refuse what is out of range") {
  const Policy p = parsed(json::parse(R"({"session_ttl_seconds": 60, "on_rollback": "drain", "drain_seconds": 0})"));
  CHECK(p.session_ttl_seconds == 60);
  CHECK(p.on_rollback == OnRollback::drain);
  CHECK(p.drain_seconds == 0);
  CHECK(parsed(policy_to_json(p)) == p);
  CHECK(error_of(json::parse(R"({"session_ttl_seconds": -1})")).find("'session_ttl_seconds'") != std::string::npos);
  CHECK(error_of(json::parse(R"({"session_ttl_seconds": 0})")).find("'session_ttl_seconds'") != std::string::npos);
  CHECK(error_of(json::parse(R"({"session_ttl_seconds": 1.5})")).find("'session_ttl_seconds'") != std::string::npos);
  CHECK(error_of(json::parse(R"({"drain_seconds": -5})")).find("'drain_seconds'") != std::string::npos);
  CHECK(error_of(json::parse(R"({"on_rollback": "keep"})")) ==
        "policy key 'on_rollback' must be \"cut\" or \"drain\", got \"keep\"");
}
