// Manifests and version ids (SPEC §4) against vectors computed outside
// kanari: tests/data/hashing_vectors.json (a copy of the shared vectors) and
// the extra tool and model-config vectors published in docs/hashing.md.
#include "core/canonical_json.hpp"
#include "core/manifest.hpp"
#include "crypto/sha256.hpp"
#include "support.hpp"
#include "util/strings.hpp"

#include <doctest/doctest.h>

using namespace kanari;
using core::ComponentKind;
using nlohmann::json;

namespace {

json hashing_vectors() { return json::parse(test::read_file(KANARI_TEST_DATA "/hashing_vectors.json")).at("vectors"); }

core::Component component(ComponentKind kind, const std::string& name, std::string_view bytes) {
  auto c = core::make_component(kind, name, bytes);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  return *c;
}

core::Manifest manifest(std::vector<core::Component> comps, json model) {
  auto m = core::make_manifest(std::move(comps), std::move(model));
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return *m;
}

// docs/hashing.md vector 4: a prompt and a tool given as pretty-printed JSON.
const char* const k_tool_text =
    "{\n  \"name\": \"search\",\n  \"description\": \"Search the web\",\n"
    "  \"parameters\": {\"type\": \"object\", \"properties\": {\"q\": {\"type\": \"string\"}}}\n}\n";
const char* const k_tool_canonical =
    R"({"description":"Search the web","name":"search","parameters":{"properties":{"q":{"type":"string"}},"type":"object"}})";
const char* const k_tool_sha = "e3f0b5bdeb26dbba68ce8fc16db187cd6c0c7e47e031c64c1c8b8f4ad99e14bd";
const char* const k_tool_vector_id = "a13d4bf8f02978070ed0bcdafcd9c9ae6faff2f0925c5e9f9c296e2fb29c31ec";

// docs/hashing.md vector 5: a model config alone (top_p 1.0 prints as 1).
const char* const k_model_text = R"({"model":"claude-x","temperature":0.2,"max_tokens":2048,"top_p":1.0,)"
                                 R"("stop":["\n\nHuman:"],"metadata":{"tier":2,"team":"süd"}})";
const char* const k_model_manifest =
    R"({"components":[],"format":"kanari.manifest.v1","model":{"max_tokens":2048,"metadata":{"team":"süd","tier":2},)"
    R"("model":"claude-x","stop":["\n\nHuman:"],"temperature":0.2,"top_p":1}})";
const char* const k_model_vector_id = "56cc2468580648d848b841fbc6862eb096fd02ead7119b3fea9f9e4fdd6aaa65";

} // namespace

TEST_CASE("manifest: every shared hashing vector is reproduced by the core functions") {
  auto vectors = hashing_vectors();
  REQUIRE(vectors.size() == 3);
  for (const auto& v : vectors) {
    INFO("vector " << v.at("prompt_name").get<std::string>());
    const std::string bytes = v.at("prompt_utf8");
    auto c = component(ComponentKind::prompt, v.at("prompt_name"), bytes);
    CHECK(c.bytes == bytes.size());
    CHECK(c.sha256 == crypto::sha256_hex(bytes));
    CHECK(c.content == bytes);
    auto m = manifest({c}, v.at("model"));
    CHECK(core::canonical_manifest(m) == v.at("canonical_manifest").get<std::string>());
    CHECK(core::version_id(m) == v.at("version_id").get<std::string>());
    CHECK(core::version_id(m) == crypto::sha256_hex(core::canonical_manifest(m)));
  }
}

TEST_CASE("manifest: a tool component is hashed as its canonical JSON (docs vector 4)") {
  auto tool = component(ComponentKind::tool, "search", k_tool_text);
  CHECK(tool.content == k_tool_canonical);
  CHECK(tool.bytes == 116);
  CHECK(tool.sha256 == k_tool_sha);
  auto prompt = component(ComponentKind::prompt, "system.md", "Use the search tool.\n");
  CHECK(prompt.sha256 == "25fa558331f48d6a6769f216b297611569747c20e886f5f37203e4bb69a3c0fc");
  // Given tool first: the manifest still sorts by (kind, name).
  auto m = manifest({tool, prompt}, json{{"model", "m-2"}});
  REQUIRE(m.components.size() == 2);
  CHECK(m.components[0].kind == ComponentKind::prompt);
  CHECK(core::version_id(m) == k_tool_vector_id);
}

TEST_CASE("manifest: reformatting a tool file does not change its hash") {
  auto a = component(ComponentKind::tool, "t", R"({"b": [1, 2.0, {"y": null, "x": "é"}], "a": true})");
  auto b = component(ComponentKind::tool, "t", "{\n\t\"a\" : true,\r\n \"b\":[1,2,{\"x\":\"\\u00e9\",\"y\":null}]\n}");
  CHECK(a.sha256 == b.sha256);
  CHECK(a.content == R"({"a":true,"b":[1,2,{"x":"é","y":null}]})");
  // The same bytes as a prompt are hashed raw, so formatting matters there.
  auto p1 = component(ComponentKind::prompt, "t", R"({"a": true})");
  auto p2 = component(ComponentKind::prompt, "t", R"({"a":true})");
  CHECK(p1.sha256 != p2.sha256);
}

TEST_CASE("manifest: a model config alone is a version (docs vector 5)") {
  auto model = core::parse_json(k_model_text, "model");
  REQUIRE(model.ok());
  auto m = manifest({}, *model);
  CHECK(core::canonical_manifest(m) == k_model_manifest);
  CHECK(core::version_id(m) == k_model_vector_id);
}

TEST_CASE("manifest: tool components must be JSON objects") {
  for (const char* bad : {"[1,2]", "\"x\"", "42", "null", "{\"a\":1", "{\"a\":1,\"a\":2}"}) {
    INFO(bad);
    auto c = core::make_component(ComponentKind::tool, "t", bad);
    REQUIRE_FALSE(c.ok());
    CHECK(c.error().code == ErrorCode::usage);
    CHECK(c.error().message.find("'t'") != std::string::npos);
  }
}

TEST_CASE("manifest: prompt and file components keep raw bytes including NUL and CRLF") {
  const std::string raw("a\r\nb\0c\xff", 8);
  auto f = component(ComponentKind::file, "bin/blob.dat", raw);
  CHECK(f.content == raw);
  CHECK(f.bytes == 8);
  CHECK(f.sha256 == crypto::sha256_hex(raw));
  auto empty = component(ComponentKind::prompt, "empty.md", "");
  CHECK(empty.sha256 == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(empty.bytes == 0);
}

TEST_CASE("manifest: components sort by kind then name and the id ignores input order") {
  auto p_b = component(ComponentKind::prompt, "b.md", "b");
  auto p_a = component(ComponentKind::prompt, "a.md", "a");
  auto f_a = component(ComponentKind::file, "a.md", "a");
  auto t_z = component(ComponentKind::tool, "z", "{}");
  auto m1 = manifest({t_z, p_b, f_a, p_a}, json::object());
  auto m2 = manifest({p_a, p_b, t_z, f_a}, json::object());
  std::vector<std::string> order;
  for (const auto& c : m1.components)
    order.push_back(std::string(core::to_string(c.kind)) + ":" + c.name);
  CHECK(order == std::vector<std::string>{"file:a.md", "prompt:a.md", "prompt:b.md", "tool:z"});
  CHECK(core::version_id(m1) == core::version_id(m2));
}

TEST_CASE("manifest: the same kind and name twice is rejected") {
  auto a1 = component(ComponentKind::prompt, "a.md", "one");
  auto a2 = component(ComponentKind::prompt, "./a.md", "two");
  auto r = core::make_manifest({a1, a2}, json::object());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::usage);
  CHECK(r.error().message.find("a.md") != std::string::npos);
}

TEST_CASE("manifest: the model config must be an object and its key order does not matter") {
  CHECK_FALSE(core::make_manifest({}, json::array()).ok());
  CHECK_FALSE(core::make_manifest({}, json("m-1")).ok());
  auto a = manifest({}, json::parse(R"({"a":1,"b":{"d":2,"c":3}})"));
  auto b = manifest({}, json::parse(R"({"b":{"c":3,"d":2},"a":1})"));
  CHECK(core::version_id(a) == core::version_id(b));
  // An empty manifest is well defined: sha256 of its canonical bytes.
  auto empty = manifest({}, json::object());
  CHECK(core::canonical_manifest(empty) == R"({"components":[],"format":"kanari.manifest.v1","model":{}})");
}

TEST_CASE("manifest: any change of content name kind or model changes the id") {
  auto base = core::version_id(manifest({component(ComponentKind::prompt, "a.md", "x")}, json::object()));
  CHECK(core::version_id(manifest({component(ComponentKind::prompt, "a.md", "x\n")}, json::object())) != base);
  CHECK(core::version_id(manifest({component(ComponentKind::prompt, "b.md", "x")}, json::object())) != base);
  CHECK(core::version_id(manifest({component(ComponentKind::file, "a.md", "x")}, json::object())) != base);
  CHECK(core::version_id(manifest({component(ComponentKind::prompt, "a.md", "x")}, json{{"t", 0}})) != base);
  // 1 and 1.0 are the same number in canonical JSON; "1" is not.
  auto one = core::version_id(manifest({}, json{{"t", 1}}));
  CHECK(core::version_id(manifest({}, json{{"t", 1.0}})) == one);
  CHECK(core::version_id(manifest({}, json{{"t", "1"}})) != one);
}

TEST_CASE("manifest: component names are normalised relative paths") {
  auto ok = [](std::string_view in, std::string_view out) {
    auto r = core::normalise_component_name(in);
    INFO(in);
    REQUIRE(r.ok());
    CHECK(*r == out);
  };
  ok("a.md", "a.md");
  ok("./a.md", "a.md");
  ok("././roles/x.md", "roles/x.md");
  ok("roles/backend.md", "roles/backend.md");
  ok("dir\\name.md", "dir\\name.md"); // '\' is not a separator
  ok("été/🚀.md", "été/🚀.md");
  for (const std::string& bad : std::vector<std::string>{"", "./", "/abs.md", "a//b", "a/./b", "../up.md", "a/..",
                                                         "dir/", "x\ny", std::string(257, 'a'), std::string("x\xff")}) {
    INFO("bad name: " << quote_for_message(bad));
    auto r = core::normalise_component_name(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::usage);
  }
  CHECK(core::normalise_component_name(std::string(256, 'a')).ok());
}

TEST_CASE("manifest: kind names round-trip and unknown kinds are rejected") {
  for (auto k : {ComponentKind::prompt, ComponentKind::tool, ComponentKind::file})
    CHECK(core::component_kind_from_string(core::to_string(k)) == k);
  CHECK_FALSE(core::component_kind_from_string("Prompt").has_value());
  CHECK_FALSE(core::component_kind_from_string("").has_value());
}
