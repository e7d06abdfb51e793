// Canonical JSON (RFC 8785) against golden bytes computed independently by
// tests/data/gen_canonical_golden.py (Python's json.dumps where JCS agrees
// with it, a JCS serialiser checked against RFC 8785's own examples where it
// does not), plus the strict parser's rejections.
#include "core/canonical_json.hpp"
#include "support.hpp"
#include "util/strings.hpp"

#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>

using kanari::ErrorCode;
using kanari::core::canonical_json;
using kanari::core::format_double;
using kanari::core::parse_json;
using nlohmann::json;

namespace {

json golden() {
  static const json g = json::parse(kanari::test::read_file(KANARI_TEST_DATA "/canonical_json_golden.json"));
  return g;
}

void check_golden_cases(const std::string& rule) {
  auto g = golden();
  int checked = 0;
  for (const auto& c : g.at("cases")) {
    if (c.at("rule") != rule)
      continue;
    const auto& name = c.at("name").get_ref<const std::string&>();
    const auto& input = c.at("input").get_ref<const std::string&>();
    const auto& expected = c.at("canonical").get_ref<const std::string&>();
    INFO("case: " << name << "\ninput: " << input);
    auto parsed = parse_json(input, "golden input");
    REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().message));
    CHECK(canonical_json(*parsed) == expected);
    // Canonical form is a fixed point: parsing it again changes nothing.
    auto again = parse_json(expected, "canonical output");
    REQUIRE(again.ok());
    CHECK(canonical_json(*again) == expected);
    ++checked;
  }
  // The file must actually hold cases of this kind, or the test proves nothing.
  CHECK(checked >= 15);
}

std::string from_hex_bits(const std::string& hex) {
  auto bits = static_cast<std::uint64_t>(std::stoull(hex, nullptr, 16));
  return format_double(std::bit_cast<double>(bits));
}

void require_usage_error(std::string_view text, std::string_view must_mention = {}) {
  auto r = parse_json(text, "test input");
  INFO("input: " << text);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::usage);
  CHECK(r.error().message.find("test input") != std::string::npos);
  if (!must_mention.empty())
    CHECK(r.error().message.find(must_mention) != std::string::npos);
}

} // namespace

TEST_CASE("canonical json: golden cases where JCS equals Python json.dumps") { check_golden_cases("python"); }

TEST_CASE("canonical json: golden cases where JCS differs from Python (numbers and UTF-16 key order)") {
  check_golden_cases("jcs");
}

TEST_CASE("canonical json: RFC 8785 Appendix B number table reproduced by format_double") {
  auto g = golden();
  REQUIRE(g.at("appendix_b_doubles").size() >= 20);
  for (const auto& d : g.at("appendix_b_doubles")) {
    INFO("bits " << d.at("bits").get<std::string>());
    CHECK(from_hex_bits(d.at("bits")) == d.at("canonical").get<std::string>());
  }
}

TEST_CASE("canonical json: format_double plain and exponential boundaries") {
  CHECK(format_double(0.1) == "0.1");
  CHECK(format_double(1e21) == "1e+21");
  CHECK(format_double(1e20) == "100000000000000000000");
  CHECK(format_double(1e-7) == "1e-7");
  CHECK(format_double(1e-6) == "0.000001");
  CHECK(format_double(123.456) == "123.456");
  CHECK(format_double(-123.456) == "-123.456");
  CHECK(format_double(5e-324) == "5e-324");
  CHECK(format_double(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(format_double(-0.0) == "0");
  CHECK(format_double(1.0) == "1");
  CHECK(format_double(100.0) == "100");
  CHECK(format_double(1.5e300) == "1.5e+300");
  CHECK(format_double(-2.5e-10) == "-2.5e-10");
  CHECK_THROWS(format_double(std::numeric_limits<double>::quiet_NaN()));
  CHECK_THROWS(format_double(std::numeric_limits<double>::infinity()));
}

TEST_CASE("canonical json: values built in C++ serialise like parsed ones") {
  json v = {{"b", -0.0},
            {"a", 1.0},
            {"c", json::array({std::int64_t{-9223372036854775807} - 1, std::uint64_t{18446744073709551615u}})}};
  CHECK(canonical_json(v) == R"({"a":1,"b":0,"c":[-9223372036854775808,18446744073709551615]})");
  // A string with every two-character escape and a raw control byte.
  CHECK(canonical_json(json(std::string("\"\\\b\f\n\r\t\x01\x1f\x7f", 10))) ==
        std::string("\"\\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\""));
  CHECK(canonical_json(json::object()) == "{}");
  CHECK(canonical_json(json::array()) == "[]");
  CHECK(canonical_json(json(nullptr)) == "null");
}

TEST_CASE("canonical json: keys in UTF-16 order even when the object also has ASCII keys") {
  // U+FF21 (FULLWIDTH A, 3 UTF-8 bytes from 0xEF) against U+1F600 (an astral
  // character, 4 bytes from 0xF0): UTF-8 byte order puts U+FF21 first,
  // UTF-16 (0xFF21 vs 0xD83D...) puts the emoji first.
  auto parsed = parse_json(R"({"z":1,"\uff21":2,"\ud83d\ude00":3,"A":4})", "keys");
  REQUIRE(parsed.ok());
  CHECK(canonical_json(*parsed) == "{\"A\":4,\"z\":1,\"\xF0\x9F\x98\x80\":3,\"\xEF\xBC\xA1\":2}");
}

TEST_CASE("canonical json: parse_json rejects duplicate keys at any depth with exit code 2") {
  require_usage_error(R"({"a":1,"a":2})", "'a' more than once");
  require_usage_error(R"({"x":{"k":1,"j":2,"k":3}})", "'k' more than once");
  require_usage_error(R"([{"a":1},{"b":1,"b":1}])", "'b' more than once");
  // The same key in sibling objects is fine.
  CHECK(parse_json(R"([{"a":1},{"a":2}])", "siblings").ok());
  CHECK(parse_json(R"({"a":{"a":{"a":1}}})", "nested").ok());
}

TEST_CASE("canonical json: parse_json rejects invalid UTF-8 and lone surrogates") {
  require_usage_error("\"\xff\"");
  require_usage_error("{\"k\xc3\":1}");
  require_usage_error("\"\xed\xa0\x80\""); // an encoded surrogate
  require_usage_error("\"\xc0\xaf\"");     // overlong '/'
  require_usage_error(R"("\ud800")");
  require_usage_error(R"("\udc00x")");
}

TEST_CASE("canonical json: parse_json error messages stay valid UTF-8 when quoting bad input") {
  auto r = parse_json("{\"a\":\"\xff\xfe\"}", "tool 't'");
  REQUIRE_FALSE(r.ok());
  CHECK(kanari::is_valid_utf8(r.error().message));
}

TEST_CASE("canonical json: parse_json rejects NaN Infinity trailing garbage and comments") {
  require_usage_error("NaN");
  require_usage_error(R"({"a":NaN})");
  require_usage_error("[Infinity]");
  require_usage_error("-Infinity");
  require_usage_error(R"({"a":1} x)");
  require_usage_error(R"({"a":1}{"b":2})");
  require_usage_error("[1,2]]");
  require_usage_error("");
  require_usage_error("   ");
  require_usage_error("[1,]");
  require_usage_error("{'a':1}");
  require_usage_error("// c\n{}");
  require_usage_error("[01]");
}

TEST_CASE("canonical json: a number too large for a double is a usage error not a crash") {
  require_usage_error("1e400");
  require_usage_error(R"({"a":-1e400})");
}

TEST_CASE("canonical json: parse_json accepts one document with surrounding whitespace") {
  auto r = parse_json(" \n\t{\"a\":[1,2.5,\"x\",true,null]}\r\n ", "ok");
  REQUIRE(r.ok());
  CHECK(canonical_json(*r) == R"({"a":[1,2.5,"x",true,null]})");
}

TEST_CASE("canonical json: parse_json refuses a NUL byte and does not stop reading at it") {
  // Found while fuzzing: nlohmann's parser takes a NUL byte for the end of
  // the input, so `{}` followed by a NUL and anything at all was accepted
  // as `{}` (a policy or tool file with trailing bytes that were never
  // read). A raw NUL is never valid JSON.
  using namespace std::string_literals;
  for (const std::string& text : {"{}\0"s, "{\"a\":1}\0{\"b\":2}"s, "[1,2]\0garbage"s, "\0"s, "1\0 "s}) {
    CAPTURE(kanari::escape_invalid_utf8(text));
    auto r = parse_json(text, "policy file 'p.json'");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::usage);
    CHECK(r.error().message.find("policy file 'p.json' is not valid JSON") == 0);
    CHECK(r.error().message.find("NUL") != std::string::npos);
  }
  // Escaped, U+0000 is an ordinary character.
  auto ok = parse_json(R"({"a":"x\u0000y"})", "ok");
  REQUIRE(ok.ok());
  CHECK(canonical_json(*ok) == R"({"a":"x\u0000y"})");
}

TEST_CASE("canonical json: parse_json refuses nesting deeper than 512 levels instead of overflowing the stack") {
  // Found by running fuzz/fuzz_canonical_json on a deeply nested input
  // written to probe it: canonical_json and nlohmann's dump recurse once
  // per level, so a 40 KB file of `[` (a --config, --policy or tool file)
  // overflowed the stack under ASan, and a larger one crashes an ordinary
  // build.
  auto nested = [](int levels, const std::string& open, const std::string& inner, const std::string& close) {
    std::string s;
    for (int i = 0; i < levels; ++i)
      s += open;
    s += inner;
    for (int i = 0; i < levels; ++i)
      s += close;
    return s;
  };
  auto at_limit = parse_json(nested(kanari::core::k_max_json_depth, "[", "", "]"), "ok");
  REQUIRE(at_limit.ok());
  CHECK(canonical_json(*at_limit).size() == 2 * kanari::core::k_max_json_depth);
  CHECK(parse_json(nested(kanari::core::k_max_json_depth - 1, "{\"a\":", "[1]", "}"), "ok").ok());
  for (const std::string& text :
       {nested(513, "[", "", "]"), nested(512, "{\"a\":", "[1]", "}"), nested(512, "[", "{\"a\":1,\"a\":2}", "]"),
        nested(200'000, "[", "", "]"), nested(100'000, "{\"k\":", "1", "}")}) {
    auto r = parse_json(text, "--config file 'm.json'");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::usage);
    CHECK(r.error().message == "--config file 'm.json' nests arrays and objects deeper than 512 levels");
  }
}
