// `version add --config FILE.yaml` (docs/cli.md, docs/hashing.md "YAML model
// configurations"): a YAML config is the same model config, hence the same
// version id, as the same config written in JSON; a refused one exits 2,
// names the file and line, and writes nothing.
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari;
using nlohmann::json;

namespace {

// An agent orchestrator's model config (the shape of Bernstein's
// .sdd/config.yaml): comments, YAML 1.1 words that are strings in YAML 1.2
// (`on`), floats, integers, nulls, a block string, nested mappings and lists.
constexpr const char* k_config_yaml = R"(# Bernstein: which model the agents run
model: claude-sonnet-4
provider: anthropic
temperature: 0.2
top_p: 1.0
max_tokens: 8192
seed: 0x2A
stop: ["</answer>", "\n\nHuman:"]
retry:
  attempts: 3
  backoff_s: 1.5
  on: [rate_limit, overloaded]   # `on` is a string key in YAML 1.2
roles:
  planner:
    model: claude-opus-4
    temperature: 0.0
  coder:
    model: claude-sonnet-4
    max_tokens: 16000
    tools:
      - read_file
      - run_tests
budget:
  usd_per_task: .75
  hard_stop: true
  fallback: ~
system_suffix: |
  Answer in English.
  Cite files by path.
labels:
  - canary
  - "2026"
  - 'no'
)";

// The same config written in JSON by hand, keys in another order.
constexpr const char* k_config_json = R"({
  "budget": {"fallback": null, "hard_stop": true, "usd_per_task": 0.75},
  "labels": ["canary", "2026", "no"],
  "max_tokens": 8192,
  "model": "claude-sonnet-4",
  "provider": "anthropic",
  "retry": {"attempts": 3, "backoff_s": 1.5, "on": ["rate_limit", "overloaded"]},
  "roles": {
    "coder": {"max_tokens": 16000, "model": "claude-sonnet-4", "tools": ["read_file", "run_tests"]},
    "planner": {"model": "claude-opus-4", "temperature": 0.0}
  },
  "seed": 42,
  "stop": ["</answer>", "\n\nHuman:"],
  "system_suffix": "Answer in English.\nCite files by path.\n",
  "temperature": 0.2,
  "top_p": 1.0
}
)";

struct Repo {
  test::Cli cli;
  Repo() { cli.ok({"init"}); }
  std::string file(const std::string& name, const std::string& content) {
    return cli.dir().file("in/" + name, content);
  }
  json add(std::vector<std::string> args) {
    args.insert(args.begin(), {"version", "add"});
    return cli.json(args);
  }
  // `version add --config PATH` of `content` exits 2 with one line naming
  // the file and `line`, and mentioning `mention`; the store is unchanged.
  void refuses(const std::string& name, const std::string& content, int line, const std::string& mention) {
    const auto path = file(name, content);
    const auto before = test::store_snapshot(cli.state());
    const auto versions = cli.ok({"version", "list", "--json"}).out;
    auto r = cli({"version", "add", "--config", path});
    INFO("yaml:\n" << content << "\nstderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("kanari: error: --config file '" + path + "' line " + std::to_string(line) + ": ", 0) == 0);
    CHECK(r.err.find(mention) != std::string::npos);
    CHECK(r.err.find('\n') == r.err.size() - 1);
    CHECK(test::store_snapshot(cli.state()) == before);
    CHECK(cli.ok({"version", "list", "--json"}).out == versions);
  }
};

} // namespace

TEST_CASE("version add --config: a YAML config and the same config in JSON give the same version id") {
  Repo r;
  auto from_yaml = r.add({"--config", r.file("config.yaml", k_config_yaml)});
  auto from_json = r.add({"--config", r.file("config.json", k_config_json)});
  CHECK(from_yaml["created"] == true);
  CHECK(from_json["created"] == false);
  CHECK(from_json["id"] == from_yaml["id"]);
  CHECK(from_json["model"] == from_yaml["model"]);
  CHECK(from_yaml["model"]["retry"]["on"] == json::array({"rate_limit", "overloaded"}));
  CHECK(from_yaml["model"]["seed"].is_number_unsigned());
  CHECK(from_yaml["model"]["temperature"].is_number_float());
  // .yml is YAML too, and a changed value is another version.
  auto yml = r.add({"--config", r.file("config.yml", k_config_yaml)});
  CHECK(yml["id"] == from_yaml["id"]);
  std::string warmer = k_config_yaml;
  warmer.replace(warmer.find("temperature: 0.2"), 16, "temperature: 0.3");
  auto other = r.add({"--config", r.file("warmer.yaml", warmer)});
  CHECK(other["created"] == true);
  CHECK(other["id"] != from_yaml["id"]);
  // The stored model config is the canonical JSON of the JSON file's.
  auto out = r.cli.dir().path() / "checkout";
  r.cli.ok({"version", "checkout", from_yaml["id"], "--to", out.string()});
  CHECK(test::read_file(out / "model.json").find(R"("temperature":0.2,"top_p":1})") != std::string::npos);
}

TEST_CASE("version add --config: --param and --model override a YAML config as they do a JSON one") {
  Repo r;
  auto out = r.add({"--config", r.file("c.yaml", "model: from-config\ntemperature: 0.9\nkeep: yes\n"), "--param",
                    "temperature=0.1", "--model", "from-flag"});
  CHECK(out["model"] == json::parse(R"({"model":"from-flag","temperature":0.1,"keep":"yes"})"));
}

TEST_CASE("version add --config: YAML refusals name the file and line and write nothing") {
  Repo r;
  r.add({"--config", r.file("first.yaml", "model: m-1\n")});
  r.refuses("anchor.yaml", "model: m\nbase: &b\n  t: 1\nother: *b\n", 2, "anchor &b");
  r.refuses("tag.yaml", "model: m\n\nmax_tokens: !!str 8192\n", 3, "tag '!!str'");
  r.refuses("key.yml", "model: m\n1: one\n", 2, "the key '1' is an integer");
  r.refuses("dup.yaml", "model: m\nroles:\n  a: 1\n  a: 2\n", 4, "the key 'a' appears twice");
  r.refuses("docs.yaml", "model: m\n---\nmodel: n\n", 2, "a second YAML document");
  r.refuses("nan.yaml", "model: m\ntemperature: .nan\n", 2, "NaN");
  r.refuses("utf8.yaml", "model: m\nname: \xff\n", 2, "not valid UTF-8");
  r.refuses("syntax.yaml", "model: m\nstop: [a, b\nmax_tokens: 3\n", 3, "not valid YAML");
}

TEST_CASE("version add --config: YAML that holds no mapping is refused and writes nothing") {
  Repo r;
  // A tuple, not a structured binding: clang refuses a binding captured by INFO.
  for (const auto& c : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"empty.yaml", "", "holds no YAML document"},
           {"comment.yaml", "# nothing yet\n", "holds no YAML document"},
           {"null.yaml", "~\n", "holds an empty YAML document"},
           {"list.yaml", "- model: m\n", "line 1: the top level must be a mapping"}}) {
    const std::string& name = std::get<0>(c);
    const std::string& content = std::get<1>(c);
    const std::string& mention = std::get<2>(c);
    auto path = r.file(name, content);
    const auto before = test::store_snapshot(r.cli.state());
    auto out = r.cli({"version", "add", "--config", path});
    INFO(name << ": " << out.err);
    CHECK(out.code == 2);
    CHECK(out.err.rfind("kanari: error: --config file '" + path + "' ", 0) == 0);
    CHECK(out.err.find(mention) != std::string::npos);
    CHECK(test::store_snapshot(r.cli.state()) == before);
  }
}

TEST_CASE("version add --config: only .yaml and .yml paths are YAML, standard input stays JSON") {
  Repo r;
  // YAML text in a .json file or on stdin is read as JSON, and is not.
  auto json_path = r.file("c.json", "model: m-1\n");
  auto as_json = r.cli({"version", "add", "--config", json_path});
  CHECK(as_json.code == 2);
  CHECK(as_json.err.find("not valid JSON") != std::string::npos);
  auto stdin_yaml = r.cli({"version", "add", "--config", "-"}, "model: m-1\n");
  CHECK(stdin_yaml.code == 2);
  CHECK(stdin_yaml.err.find("not valid JSON") != std::string::npos);
  // JSON is a subset of YAML's flow style: a .yaml file may hold it.
  auto a = r.add({"--config", r.file("flow.yaml", R"({"model": "m-1", "temperature": 0.2})")});
  auto b = r.cli.json({"version", "add", "--config", "-"}, R"({"temperature": 0.2, "model": "m-1"})");
  CHECK(b["id"] == a["id"]);
  CHECK(b["created"] == false);
  auto missing = r.cli({"version", "add", "--config", r.cli.dir().str() + "/no-such.yaml"});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("no-such.yaml") != std::string::npos);
}
