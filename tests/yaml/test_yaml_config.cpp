// YAML model configurations (docs/hashing.md, "YAML model configurations"):
// each YAML 1.2 core-schema scalar becomes the very JSON value (type and
// canonical bytes) that the same value written in a JSON config gives, and
// everything JSON cannot hold, or YAML could read two ways, is refused with
// its line.
#include "core/canonical_json.hpp"
#include "yaml/yaml_config.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using kanari::ErrorCode;
using kanari::core::canonical_json;
using kanari::core::parse_json;
using kanari::yaml::is_yaml_path;
using kanari::yaml::parse_yaml;
using nlohmann::json;

namespace {

// `yaml` parses to what `json_text` parses to with the JSON parser of a
// --config FILE.json: equal, of the same JSON type (unsigned, signed or
// float), with the same canonical bytes.
void check_same(const std::string& yaml, const std::string& json_text) {
  INFO("yaml:\n" << yaml << "\njson: " << json_text);
  auto y = parse_yaml(yaml, "test.yaml");
  REQUIRE_MESSAGE(y.ok(), (y.ok() ? "" : y.error().message));
  auto j = parse_json(json_text, "test.json");
  REQUIRE_MESSAGE(j.ok(), (j.ok() ? "" : j.error().message));
  CHECK(*y == *j);
  CHECK(canonical_json(*y) == canonical_json(*j));
  // operator== holds between 1 and 1.0: compare every value's type too.
  auto types = [](const json& root) {
    std::string out;
    auto walk = [&](auto&& self, const json& v) -> void {
      out += v.type_name();
      out += v.is_number_unsigned() ? "u " : v.is_number_integer() ? "i " : " ";
      if (v.is_structured())
        for (const auto& item : v)
          self(self, item);
    };
    walk(walk, root);
    return out;
  };
  CHECK(types(*y) == types(*j));
}

// `v: <yaml>` holds what `{"v": <json>}` holds.
void check_scalar(const std::string& yaml, const std::string& json_text) {
  check_same("v: " + yaml + "\n", "{\"v\": " + json_text + "}");
}

// `yaml` is refused with a usage error naming the input and `line`.
void check_refused(const std::string& yaml, int line, const std::string& mention) {
  INFO("yaml:\n" << yaml);
  auto r = parse_yaml(yaml, "--config file 'x.yaml'");
  REQUIRE_FALSE(r.ok());
  INFO("message: " << r.error().message);
  CHECK(r.error().code == ErrorCode::usage);
  if (line > 0)
    CHECK(r.error().message.rfind("--config file 'x.yaml' line " + std::to_string(line) + ": ", 0) == 0);
  else
    CHECK(r.error().message.rfind("--config file 'x.yaml' ", 0) == 0);
  CHECK(r.error().message.find(mention) != std::string::npos);
  CHECK(r.error().message.find('\n') == std::string::npos);
}

} // namespace

TEST_CASE("yaml config: null forms") {
  for (const char* s : {"null", "Null", "NULL", "~", ""})
    check_scalar(s, "null");
  check_same("a:\nb: ~\n", R"({"a": null, "b": null})");
  // Not the core schema's nulls: strings.
  check_scalar("nULL", R"("nULL")");
  check_scalar("none", R"("none")");
}

TEST_CASE("yaml config: booleans, and YAML 1.1 words that stay strings") {
  for (const char* s : {"true", "True", "TRUE"})
    check_scalar(s, "true");
  for (const char* s : {"false", "False", "FALSE"})
    check_scalar(s, "false");
  for (const char* s : {"yes", "no", "Yes", "NO", "on", "off", "On", "OFF", "y", "n", "tRUE"})
    check_scalar(s, "\"" + std::string(s) + "\"");
}

TEST_CASE("yaml config: integers, decimal, octal and hex, as JSON integers") {
  check_scalar("0", "0");
  check_scalar("7", "7");
  check_scalar("+7", "7");
  check_scalar("-7", "-7");
  check_scalar("-0", "-0");
  check_scalar("010", "10"); // decimal in YAML 1.2, not octal
  check_scalar("007", "7");
  check_scalar("0o17", "15");
  check_scalar("0o0", "0");
  check_scalar("0x1F", "31");
  check_scalar("0xff", "255");
  check_scalar("0xFFFFFFFFFFFFFFFF", "18446744073709551615");
  check_scalar("0o1777777777777777777777", "18446744073709551615");
  check_scalar("9223372036854775807", "9223372036854775807");
  check_scalar("-9223372036854775808", "-9223372036854775808");
  check_scalar("18446744073709551615", "18446744073709551615");
  // Beyond 64 bits a JSON integer goes through a double: so does YAML's.
  check_scalar("18446744073709551616", "18446744073709551616");
  check_scalar("-9223372036854775809", "-9223372036854775809");
  check_scalar("00018446744073709551616", "18446744073709551616");
  // Not integers of the core schema: strings.
  for (const char* s : {"1_000", "0b101", "+0x1F", "-0o7", "0x", "0o8", "0xG", "12:30", "1,000", "0x 1"})
    check_scalar(s, "\"" + std::string(s) + "\"");
}

TEST_CASE("yaml config: floats, with exponents and leading or trailing dots") {
  check_scalar("0.2", "0.2");
  check_scalar("-1.5", "-1.5");
  check_scalar("+1.5", "1.5");
  check_scalar("1.0", "1.0");
  check_scalar("1.", "1.0");
  check_scalar(".5", "0.5");
  check_scalar("-.5", "-0.5");
  check_scalar("00.25", "0.25");
  check_scalar("1e5", "1e5");
  check_scalar("1E+05", "1E+05");
  check_scalar("-2.5e-10", "-2.5e-10");
  check_scalar(".5e3", "0.5e3");
  check_scalar("1.e2", "1.0e2");
  check_scalar("-0.0", "-0.0");
  check_scalar("0.1000000000000000055511151231257827", "0.1000000000000000055511151231257827");
  check_scalar("1.7976931348623157e308", "1.7976931348623157e308");
  check_scalar("5e-324", "5e-324");
  check_scalar("1e-400", "1e-400"); // underflows to 0, as in JSON
  // Not floats of the core schema: strings.
  for (const char* s : {".", "+.", "1e", "e5", "1.5.2", "1e5.0", "0.2f", "1,5", ".e5", "1 e5", "inf", "NaN", "..5"})
    check_scalar(s, "\"" + std::string(s) + "\"");
}

TEST_CASE("yaml config: quoted and block scalars are always strings") {
  check_scalar(R"("1")", R"("1")");
  check_scalar("'0.2'", R"("0.2")");
  check_scalar(R"("true")", R"("true")");
  check_scalar("'null'", R"("null")");
  check_scalar(R"("")", R"("")");
  check_scalar("''", R"("")");
  check_scalar("'.inf'", R"(".inf")");
  check_scalar(R"("tab\there \"q\" \\ \u00e9 \U0001F600")", R"("tab\there \"q\" \\ é 😀")");
  check_scalar("'it''s'", R"("it's")");
  check_same("v: |\n  line 1\n    indented\n  line 3\n", R"({"v": "line 1\n  indented\nline 3\n"})");
  check_same("v: |-\n  kept\n  no final newline\n", R"({"v": "kept\nno final newline"})");
  check_same("v: >\n  folded\n  into one\n\n  paragraph two\n", R"({"v": "folded into one\nparagraph two\n"})");
  check_same("v: >-\n  42\n", R"({"v": "42"})");
  check_same("v: plain\n  continued\n", R"({"v": "plain continued"})");
}

TEST_CASE("yaml config: strings, unicode and keys") {
  check_scalar("gpt-4o-mini", R"("gpt-4o-mini")");
  check_scalar("hello world", R"("hello world")");
  check_scalar("héllo 😀 日本", R"("héllo 😀 日本")");
  check_scalar("'a: b'", R"("a: b")");
  check_scalar("a-b:c", R"("a-b:c")");
  check_scalar("x # not a comment? yes, a comment", R"("x")");
}

TEST_CASE("yaml config: block and flow mappings and sequences, nested") {
  check_same("model: m\nlist:\n  - 1\n  - two\n  - [3, 4]\n  - {k: v}\n  -\n  - - nested\nobj:\n  a: {b: {c: []}}\n  "
             "d: {}\n",
             R"({"model": "m", "list": [1, "two", [3, 4], {"k": "v"}, null, ["nested"]],
                 "obj": {"a": {"b": {"c": []}}, "d": {}}})");
  check_same("{a: 1, b: [x, 'y', \"z\"], c: {d: null}}", R"({"a": 1, "b": ["x", "y", "z"], "c": {"d": null}})");
  check_same("seq:\n- a\n- b\n", R"({"seq": ["a", "b"]})");
  check_same("pairs: [k: v]\n", R"({"pairs": [{"k": "v"}]})");
  check_same("\"quoted key\": 1\n'1': one\n\"true\": t\n\"\": empty\n",
             R"({"quoted key": 1, "1": "one", "true": "t", "": "empty"})");
  // `<<` is no merge key in YAML 1.2: an ordinary key.
  check_same("<<: x\n", R"({"<<": "x"})");
  // Comments, a document start and end marker, a BOM, CRLF line ends.
  check_same("# a comment\n---\na: 1 # trailing\n...\n", R"({"a": 1})");
  check_same("\xEF\xBB\xBF"
             "a: 1\r\nb: [2]\r\n",
             R"({"a": 1, "b": [2]})");
  check_same("%YAML 1.2\n---\na: 1\n", R"({"a": 1})");
  // The same key in sibling mappings is fine.
  check_same("a: {k: 1}\nb: {k: 2}\n", R"({"a": {"k": 1}, "b": {"k": 2}})");
}

TEST_CASE("yaml config: anchors, aliases and tags are refused with their line") {
  check_refused("a: 1\nb: &x 2\n", 2, "anchor &x");
  check_refused("a: &x\n  k: 1\n", 1, "anchor &x");
  check_refused("a: 1\nb:\n  - &first x\n  - *first\n", 3, "anchor &first");
  check_refused("a: 1\nb: *x\n", 2, "anchor"); // an alias of nothing
  check_refused("a: 1\nb: !!str 2\n", 2, "tag '!!str'");
  check_refused("a: 1\n\nb: !!int '2'\n", 3, "tag '!!int'");
  check_refused("a: !!float 1\n", 1, "tag '!!float'");
  check_refused("a: !!null\n", 1, "tag '!!null'");
  check_refused("a:\n  b: !custom x\n", 2, "tag '!custom'");
  check_refused("a: ! x\n", 1, "tag '!'");
  check_refused("a: ! 'x'\n", 1, "tag '!'");
  check_refused("a: !!map {}\n", 1, "tag '!!map'");
  check_refused("a: 1\nb: !!seq\n  - 1\n", 2, "tag '!!seq'");
  check_refused("!!map\na: 1\n", 1, "tag '!!map'");
  check_refused("a: !<tag:yaml.org,2002:str> x\n", 1, "tag '!!str'");
  check_refused("%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n", 3, "tag 'tag:example.com,2000:x'");
}

TEST_CASE("yaml config: keys that are not strings are refused with their line") {
  check_refused("a: 1\n1: x\n", 2, "the key '1' is an integer");
  check_refused("a: 1\n0x1F: x\n", 2, "an integer");
  check_refused("a: 1\n1.5: x\n", 2, "the key '1.5' is a float");
  check_refused("true: x\n", 1, "the key 'true' is a boolean");
  check_refused("a: 1\nb:\n  c:\n    False: x\n", 4, "a boolean");
  check_refused("a: 1\n~: x\n", 2, "null key");
  check_refused("a: 1\nnull: x\n", 2, "null key");
  check_refused("a: 1\n: x\n", 2, "null key");
  check_refused("{a: 1, 2: b}\n", 1, "the key '2'");
  check_refused("a: 1\n? [1, 2]\n: x\n", 2, "a sequence used as a key");
  check_refused("a: 1\n? {k: v}\n: x\n", 2, "a mapping used as a key");
  check_refused("a:\n  - {3: x}\n", 2, "the key '3'");
}

TEST_CASE("yaml config: duplicate keys are refused with the line of the second") {
  check_refused("a: 1\nb: 2\na: 3\n", 3, "the key 'a' appears twice");
  check_refused("x:\n  k: 1\n  j: 2\n\n  k: 3\n", 5, "'k' appears twice");
  check_refused("{a: 1, a: 2}\n", 1, "'a' appears twice");
  // Two spellings of one string are one key.
  check_refused("a: 1\n'a': 2\n", 2, "'a' appears twice");
  check_refused("\"1\": 1\n'1': 2\n", 2, "'1' appears twice");
}

TEST_CASE("yaml config: what JSON cannot hold is refused with its line") {
  check_refused("a: 1\nb: .inf\n", 2, "'.inf' is an infinity");
  check_refused("b: -.Inf\n", 1, "infinity");
  check_refused("b: +.INF\n", 1, "infinity");
  check_refused("a:\n  - .nan\n", 2, "'.nan' is NaN");
  check_refused("a: .NaN\n", 1, "NaN");
  check_refused("a: [1, .NAN]\n", 1, "NaN");
  check_refused("a: 1\nb: 1e400\n", 2, "'1e400' is beyond the range of a double");
  check_refused("a: -1e400\n", 1, "beyond the range of a double");
  check_refused("a: 1" + std::string(400, '0') + "\n", 1, "beyond the range of a double");
  check_refused("a: 1\nb: 0x10000000000000000\n", 2, "'0x10000000000000000' does not fit in 64 bits");
  check_refused("a: 0o2000000000000000000000\n", 1, "does not fit in 64 bits");
  check_refused("a: \"\\ud800\"\n", 1, "not valid YAML");
}

TEST_CASE("yaml config: one document whose top level is a mapping") {
  check_refused("a: 1\n---\nb: 2\n", 2, "a second YAML document");
  check_refused("a: 1\n...\n---\na: 1\n", 3, "a second YAML document");
  check_refused("a: 1\n---\n", 2, "a second YAML document");
  check_refused("", 0, "holds no YAML document");
  check_refused("# only a comment\n\n", 0, "holds no YAML document");
  check_refused("---\n", 0, "holds an empty YAML document");
  check_refused("null\n", 0, "holds an empty YAML document");
  check_refused("- a\n- b\n", 1, "the top level must be a mapping");
  check_refused("\n\n42\n", 3, "the top level must be a mapping");
  check_refused("'a: 1'\n", 1, "the top level must be a mapping");
}

TEST_CASE("yaml config: bad bytes and bad syntax are refused with their line") {
  check_refused("a: 1\nb: \xff\n", 2, "not valid UTF-8");
  check_refused("a: 1\n\nb: \"\xc3\"\n", 3, "not valid UTF-8");
  check_refused("a: \xed\xa0\x80\n", 1, "not valid UTF-8"); // an encoded surrogate
  check_refused("a: 1\nb: x\x01y\n", 2, "control character U+0001");
  check_refused(std::string("a: 1\nb: \0\n", 10), 2, "control character U+0000");
  check_refused("a: \x7f\n", 1, "U+007F");
  check_refused("a: \xc2\x80\n", 1, "U+0080");
  check_refused("a: 1\nb: [1, 2\n", 3, "not valid YAML: end of sequence flow not found"); // at the end
  check_refused("a: 1\nb: [1, 2", 2, "not valid YAML: end of sequence flow not found");
  check_refused("a: 1\nb: c: d\n", 2, "not valid YAML");
  check_refused("a: 1\n  b: 2\n", 2, "not valid YAML");
  check_refused("a: 'unterminated", 1, "not valid YAML");
  // yaml-cpp alone would take these as closed at the end of the file.
  check_refused("a: 1\nb: 'unterminated\n", 2, "the quoted scalar opened here is never closed (no ' before");
  check_refused("a: \"unterminated\nb: 1\n", 1, "is never closed (no \" before");
  check_refused("a: \"escaped \\\"\n", 1, "is never closed");
  check_refused("a: 'it''\n", 1, "is never closed");
  check_same("a: \"x\\\\\"\nb: 'it''s'\nc: ''''\nd: \"\\\"\"\n", R"({"a": "x\\", "b": "it's", "c": "'", "d": "\""})");
  check_refused("a:\n\tb: 1\n", 2, "not valid YAML");
  // yaml-cpp alone would read these forever, one empty document after another.
  check_refused(",\n", 1, "not valid YAML: a ',' outside");
  check_refused("\"x\"\n,\n", 2, "not valid YAML: a ',' outside");
  check_refused("|\n  x\n, y\n", 3, "not valid YAML: a ',' outside");
  check_refused("a: 1\n---\n,\n", 2, "a second YAML document");
  std::string deep = "a: " + std::string(600, '[') + std::string(600, ']') + "\n";
  check_refused(deep, 1, "nested 500 or more deep");
  std::string ok = "a: " + std::string(400, '[') + std::string(400, ']') + "\n";
  CHECK(parse_yaml(ok, "x.yaml").ok());
}

TEST_CASE("yaml config: only YAML 1.2 is read, and flow sequences have no empty entries") {
  // A file written for YAML 1.1 means another config (yes is true there).
  check_refused("%YAML 1.1\n---\na: yes\n", 1, "declares %YAML '1.1'; only YAML 1.2 is read");
  check_refused("# a comment\n%YAML 1.3\n---\na: 1\n", 2, "declares %YAML '1.3'");
  check_refused("%YAML\n---\na: 1\n", 1, "declares %YAML ''");
  check_same("%YAML 1.2 # the version\n---\na: yes\n", R"({"a": "yes"})");
  check_same("%YAML\t1.2\r\n---\r\na: on\r\n", R"({"a": "on"})");
  // yaml-cpp alone reads these as nulls.
  check_refused("a: [1,,2]\n", 1, "an empty entry in a [...] sequence");
  check_refused("a: [,]\n", 1, "an empty entry");
  check_refused("b: 1\na: [1, , 2]\n", 2, "an empty entry");
  check_refused("a: [1,,]\n", 1, "an empty entry");
  check_refused("a:\n  - [x,\n     ,y]\n", 3, "an empty entry");
  check_same("a: [1, 2,]\nb: [1, null, ~, '']\nc: []\n", R"({"a": [1, 2], "b": [1, null, null, ""], "c": []})");
  check_same("a:\n- \n- 1\n", R"({"a": [null, 1]})");
  check_same("a: {b: , c: 1}\n", R"({"a": {"b": null, "c": 1}})");
  // Two escapes yaml-cpp turns into bytes that are not UTF-8.
  check_refused("a: \"\\N\"\n", 1, "the escapes \\N and \\_");
  check_refused("a: 1\nb: \"x\\_y\"\n", 2, "write \\u0085 or \\u00A0");
  check_same("a: \"\\u0085\\u00A0\"\n", R"({"a": "\u0085\u00a0"})");
  // A line indented less than its node ends the document.
  check_refused("- a\nb: 1\n", 2, "a line indented less than the node it belongs to");
}

TEST_CASE("yaml config: which --config paths are YAML") {
  CHECK(is_yaml_path("config.yaml"));
  CHECK(is_yaml_path(".sdd/config.yaml"));
  CHECK(is_yaml_path("c.yml"));
  CHECK(is_yaml_path("C.YAML"));
  CHECK_FALSE(is_yaml_path("config.json"));
  CHECK_FALSE(is_yaml_path("yaml"));
  CHECK_FALSE(is_yaml_path(".yaml"));
  CHECK_FALSE(is_yaml_path("config.yaml.json"));
  CHECK_FALSE(is_yaml_path("-"));
}
