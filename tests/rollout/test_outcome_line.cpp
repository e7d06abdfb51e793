// The hand-written JSONL outcome parser must accept exactly what a JSON
// parser accepts (for flat objects) and read the same values: nlohmann's
// DOM parser is the oracle.
#include "rollout/ledger.hpp"
#include "rollout/outcome_line.hpp"
#include "util/strings.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using kanari::ErrorCode;
using kanari::rollout::JsonScalar;
using kanari::rollout::parse_flat_object;
using kanari::rollout::parse_outcome_line;
using nlohmann::json;

namespace {

// Parses with the flat parser into a json object, for comparison.
std::optional<json> flat(const std::string& line) {
  json out = json::object();
  auto r = parse_flat_object(line, [&](const std::string& k, JsonScalar& v) -> kanari::Result<void> {
    switch (v.kind) {
    case JsonScalar::Kind::null: out[k] = nullptr; break;
    case JsonScalar::Kind::boolean: out[k] = v.boolean; break;
    case JsonScalar::Kind::integer: out[k] = v.integer; break;
    case JsonScalar::Kind::number: out[k] = v.number; break;
    case JsonScalar::Kind::string: out[k] = v.text; break;
    case JsonScalar::Kind::object:
      out[k] = json::object();
      for (const auto& [name, value] : v.members)
        out[k][name] = value;
      break;
    }
    return {};
  });
  if (!r.ok())
    return std::nullopt;
  return out;
}

} // namespace

TEST_CASE("outcome line parser: agrees with a JSON parser on valid flat objects") {
  const std::vector<std::string> lines = {
      R"({})",
      R"(  { "task" : "t1" , "pass" : true }  )",
      R"({"a":"\"\\\/\b\f\n\r\t"})",
      R"({"a":"\u00e9\u4e2d\ud83d\ude00"})",
      "{\"a\":\"été 用户 😀\"}",
      R"({"n":0,"m":-0,"x":1.5,"y":-2.25e-3,"z":1E+2,"big":9223372036854775807,"bigger":9223372036854775808})",
      R"({"t":true,"f":false,"z":null})",
      "{\"a\":1}\r",
      "\t{\"a\":1}\n",
  };
  for (const auto& line : lines) {
    CAPTURE(line);
    auto mine = flat(line);
    REQUIRE(mine.has_value());
    auto oracle = json::parse(line);
    CHECK(mine->size() == oracle.size());
    // Not a structured binding: clang 14 cannot capture one in CAPTURE's lambda.
    for (auto& item : oracle.items()) {
      const std::string& k = item.key();
      const json& v = item.value();
      CAPTURE(k);
      REQUIRE(mine->contains(k));
      if (v.is_number())
        CHECK((*mine)[k].get<double>() == v.get<double>());
      else
        CHECK((*mine)[k] == v);
    }
  }
}

TEST_CASE("outcome line parser: rejects what a JSON parser rejects") {
  const std::vector<std::string> bad = {
      "",
      "   ",
      "{",
      "}",
      "{\"a\"}",
      "{\"a\":}",
      "{\"a\":1,}",
      "{,\"a\":1}",
      "{\"a\":1 \"b\":2}",
      "{a:1}",
      "{'a':1}",
      "{\"a\":01}",
      "{\"a\":1.}",
      "{\"a\":.5}",
      "{\"a\":-}",
      "{\"a\":1e}",
      "{\"a\":+1}",
      "{\"a\":NaN}",
      "{\"a\":Infinity}",
      "{\"a\":tru}",
      "{\"a\":nul}",
      "{\"a\":\"x\\q\"}",
      "{\"a\":\"\\u12\"}",
      "{\"a\":\"\\ud800\"}",
      "{\"a\":\"\\udc00\"}",
      "{\"a\":\"unterminated}",
      "{\"a\":\"tab\there\"}",
      "{\"a\":1}x",
      "{\"a\":1}{\"b\":2}",
      "{\"a\":\"\xff\"}",
      "{\"a\":\"\xc3\"}",
      "{\"a\":\"\xed\xa0\x80\"}",
      "{\"a\":1e400}",
  };
  for (const auto& line : bad) {
    CAPTURE(line);
    CHECK_FALSE(flat(line).has_value());
    // 1e400 is valid JSON syntax but not a finite double: nlohmann reads it
    // as infinity, kanari refuses it. Everything else the oracle rejects too.
    if (line != "{\"a\":1e400}")
      CHECK(json::accept(line) == false);
  }
  // Valid JSON that is not a flat object is not an outcome either; one
  // level of an object of numbers (an outcome's metrics) is the only nesting.
  for (const char* line :
       {"[]", "5", "\"task\"", "null", "{\"a\":{\"b\":{\"c\":1}}}", "{\"a\":[1]}", "{\"a\":{\"b\":\"x\"}}",
        "{\"a\":{\"b\":null}}", "{\"a\":{\"b\":true}}", "{\"a\":{\"b\":[1]}}"}) {
    CAPTURE(line);
    CHECK(json::accept(line));
    CHECK_FALSE(flat(line).has_value());
  }
  CHECK(flat("{\"a\":{\"b\":1,\"c\":-2.5e3}}") == json::parse("{\"a\":{\"b\":1,\"c\":-2500.0}}"));
  CHECK(flat("{\"a\":{}}") == json::parse("{\"a\":{}}"));
  // Malformed inner objects are refused as the outer ones are.
  for (const char* line :
       {"{\"a\":{\"b\":1,}}", "{\"a\":{\"b\" 1}}", "{\"a\":{b:1}}", "{\"a\":{\"b\":1}", "{\"a\":{\"b\":1 \"c\":2}}"}) {
    CAPTURE(line);
    CHECK_FALSE(flat(line).has_value());
  }
}

TEST_CASE("outcome line: fields, types and errors") {
  auto o = parse_outcome_line(R"({"task":"t-1","pass":false,"version":"stable","track":"agent-a",)"
                              R"("latency_ms":12.5,"cost":0.002,"tokens":812,"score":-1,"error":"E42",)"
                              R"("at":"2026-11-22T10:00:00Z"})",
                              "default");
  REQUIRE(o.ok());
  CHECK(o->task == "t-1");
  CHECK(o->pass == false);
  CHECK(o->version_ref == "stable");
  CHECK(o->track == "agent-a");
  CHECK(o->latency_ms == 12.5);
  CHECK(o->cost == 0.002);
  CHECK(o->tokens == 812);
  CHECK(o->score == -1.0);
  CHECK(o->error == "E42");
  REQUIRE(o->at.has_value());
  CHECK(*o->at == 1'795'341'600'000);

  auto d = parse_outcome_line(R"({"task":"t","pass":true,"latency_ms":null,"error":null})", "default");
  REQUIRE(d.ok());
  CHECK(d->track == "default");
  CHECK_FALSE(d->latency_ms.has_value());
  CHECK_FALSE(d->version_ref.has_value());

  struct Case {
    const char* line;
    const char* message;
  };
  const Case cases[] = {
      {R"({"pass":true})", "missing \"task\""},
      {R"({"task":"t"})", "missing \"pass\""},
      {R"({"task":"t","pass":"yes"})", "\"pass\" must be true or false"},
      {R"({"task":"t","pass":true,"passed":true})", "unknown key"},
      {R"({"task":"t","pass":true,"task":"u"})", "appears twice"},
      {R"({"task":"t","pass":true,"latency_ms":-1})", "latency_ms must be a finite number >= 0"},
      {R"({"task":"t","pass":true,"tokens":1.5})", "\"tokens\" must be an integer"},
      {R"({"task":"t","pass":true,"at":"yesterday"})", "RFC 3339"},
      {R"({"task":"","pass":true})", "1 to 256 bytes"},
      {R"({"task":"t","pass":true,"track":"a/b"})", "--track must match"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    auto r = parse_outcome_line(c.line, "default");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::usage);
    CHECK(r.error().message.find(c.message) != std::string::npos);
  }
  std::string long_task(257, 'x');
  CHECK_FALSE(parse_outcome_line("{\"task\":\"" + long_task + "\",\"pass\":true}", "default").ok());
  CHECK(parse_outcome_line("{\"task\":\"" + long_task.substr(1) + "\",\"pass\":true}", "default").ok());
}

TEST_CASE("outcome line parser: an unknown escape is named in a printable UTF-8 message") {
  // Found by fuzz/fuzz_outcome_line: the message held the byte after the
  // backslash as it was, so `\` before a non-ASCII or control byte made an
  // error message that is not UTF-8 (printed to stderr, returned by the C
  // API) or carries a raw control character.
  struct Case {
    std::string line;
    const char* shown;
  };
  const Case cases[] = {
      {"{\"task\":\"\\\x92\",\"pass\":true}", "0x92"},
      {std::string("{\"task\":\"\\\x01\",\"pass\":true}"), "0x01"},
      {"{\"task\":\"\\q\",\"pass\":true}", "\\q"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.line);
    auto r = parse_outcome_line(c.line, "default");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::usage);
    const std::string& m = r.error().message;
    CAPTURE(m);
    CHECK(kanari::is_valid_utf8(m));
    CHECK(std::none_of(m.begin(), m.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20; }));
    CHECK(m.find("unknown escape") != std::string::npos);
    CHECK(m.find(c.shown) != std::string::npos);
  }
}

TEST_CASE("outcome line parser: a number below the smallest double reads as zero, like a JSON parser") {
  // Found by fuzz/fuzz_outcome_line: 1e-400 was refused as "out of range"
  // although it is valid JSON that nlohmann, strtod and Python read as 0
  // (and that kanari accepts in policy and config files). Only a magnitude
  // above the largest double has no finite value.
  const std::string zeros(400, '0');
  const std::vector<std::string> small = {"1e-400",
                                          "-1.51e-400",
                                          "0." + zeros + "1",
                                          "1e-99999999999999999999",
                                          "5e-324",
                                          "2.2250738585072014e-308",
                                          "1" + zeros + "e-390"};
  for (const auto& number : small) {
    CAPTURE(number);
    const std::string line = "{\"score\":" + number + "}";
    auto mine = flat(line);
    REQUIRE(mine.has_value());
    const double oracle = json::parse(line)["score"].get<double>();
    CHECK((*mine)["score"].get<double>() == oracle);
    CHECK(std::signbit((*mine)["score"].get<double>()) == std::signbit(oracle));
  }
  const std::vector<std::string> large = {"1e400", "-1e400", "1" + zeros + "e-10", "0.1e99999999999999999999"};
  for (const auto& number : large) {
    CAPTURE(number);
    CHECK_FALSE(flat("{\"score\":" + number + "}").has_value());
  }
  auto o = parse_outcome_line(R"({"task":"t","pass":true,"latency_ms":1e-400})", "default");
  REQUIRE(o.ok());
  CHECK(o->latency_ms == 0.0);
}
