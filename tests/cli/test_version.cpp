// `kanari version add|list|show|diff|checkout` in-process (SPEC §3, §3.1,
// §4): ids reproduce the shared hashing vectors through the CLI, JSON fields
// are the documented ones, refs resolve as SPEC §3 says, checkout is
// byte-exact.
#include "core/manifest.hpp"
#include "store/store.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <map>
#include <unistd.h>

using namespace kanari;
using nlohmann::json;

namespace {

constexpr const char* k_fake_now = "2027-01-15T08:00:00.000Z"; // test::Cli's FakeClock start

// A Cli with an initialised store.
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
};

// Changes the working directory for one test and restores it.
class InDir {
public:
  explicit InDir(const std::filesystem::path& p) : m_old(std::filesystem::current_path()) {
    std::filesystem::current_path(p);
  }
  ~InDir() { std::filesystem::current_path(m_old); }
  InDir(const InDir&) = delete;
  InDir& operator=(const InDir&) = delete;

private:
  std::filesystem::path m_old;
};

} // namespace

TEST_CASE("version add: every shared hashing vector is reproduced through the CLI") {
  auto vectors = json::parse(test::read_file(KANARI_TEST_DATA "/hashing_vectors.json")).at("vectors");
  REQUIRE(vectors.size() == 3);
  Repo r;
  for (const auto& v : vectors) {
    const std::string name = v.at("prompt_name");
    INFO("vector " << name);
    auto prompt = r.file("prompt-" + std::to_string(r.cli.clock.now_ms()), v.at("prompt_utf8").get<std::string>());
    auto config = r.file("config.json", v.at("model").dump());
    auto out = r.add({"--prompt", name + "=" + prompt, "--config", config});
    CHECK(out["id"] == v.at("version_id"));
    CHECK(out["short"] == v.at("version_id").get<std::string>().substr(0, 12));
    CHECK(out["model"] == v.at("model"));
    // The manifest kanari stored is byte-for-byte the vector's.
    auto show = r.cli.json({"version", "show", out["id"]});
    CHECK(show["manifest"].dump() == json::parse(v.at("canonical_manifest").get<std::string>()).dump());
    r.cli.clock.advance_ms(1);
  }
}

TEST_CASE("version add: --model and --param build the shared vector's model config") {
  // Vector 2: {"model": "m-1", "temperature": 0.2, "style": "brief"}, CRLF and non-ASCII prompt.
  Repo r;
  auto prompt = r.file("plan.md", "Plan the task.\r\nThen act.\n\xC3\xA9t\xC3\xA9 \xF0\x9F\x9A\x80\n");
  auto out = r.add(
      {"--prompt", "p/plan.md=" + prompt, "--model", "m-1", "--param", "temperature=0.2", "--param", "style=brief"});
  CHECK(out["id"] == "ab77d478e9090aea41811f7d2d4673c9e8eed6fca0276e61dbe447885dbdb0f4");
  CHECK(out["components"][0]["bytes"] == 37);
  CHECK(out["components"][0]["sha256"] == "dff06334ab896f225059b95aa86cbcf3c9d9dd00892cf3ab37d53f32922d5645");
}

TEST_CASE("version add: a tool and a model config reproduce the docs vectors 4 and 5") {
  Repo r;
  auto tool = r.file("search.json",
                     "{\n  \"name\": \"search\",\n  \"description\": \"Search the web\",\n"
                     "  \"parameters\": {\"type\": \"object\", \"properties\": {\"q\": {\"type\": \"string\"}}}\n}\n");
  auto prompt = r.file("system.md", "Use the search tool.\n");
  auto v4 = r.add({"--tool", "search=" + tool, "--prompt", "system.md=" + prompt, "--model", "m-2"});
  CHECK(v4["id"] == "a13d4bf8f02978070ed0bcdafcd9c9ae6faff2f0925c5e9f9c296e2fb29c31ec");
  auto config = r.file("model.json", R"({"model":"claude-x","temperature":0.7,"max_tokens":2048,"top_p":1.0,)"
                                     R"("stop":["\n\nHuman:"],"metadata":{"tier":2,"team":"süd"}})");
  auto v5 = r.add({"--config", config, "--param", "temperature=0.2"});
  CHECK(v5["id"] == "56cc2468580648d848b841fbc6862eb096fd02ead7119b3fea9f9e4fdd6aaa65");
  CHECK(v5["components"] == json::array());
}

TEST_CASE("version add: JSON output has the documented fields") {
  Repo r;
  auto out = r.add({"--prompt", "a.md=" + r.file("a.md", "hello\n"), "--label", "first", "--message", "why"});
  for (const char* key : {"id", "short", "created", "track", "became_stable", "components", "model"})
    CHECK_MESSAGE(out.contains(key), key);
  CHECK(out["id"].get<std::string>().size() == 64);
  CHECK(out["short"] == out["id"].get<std::string>().substr(0, 12));
  CHECK(out["created"] == true);
  CHECK(out["became_stable"] == true);
  CHECK(out["track"] == "default");
  CHECK(out["model"] == json::object());
  CHECK(out["components"] == json::parse(R"([{"kind":"prompt","name":"a.md","bytes":6,
        "sha256":"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}])"));
}

TEST_CASE("version add: identical content yields the same id and creates nothing") {
  Repo r;
  auto p = r.file("a.md", "same\n");
  auto first = r.add({"--prompt", "a.md=" + p, "--label", "one"});
  const auto list_before = r.cli.ok({"version", "list", "--json"}).out;
  const auto snap = test::store_snapshot(r.cli.state());
  r.cli.clock.advance_ms(5000);
  // Metadata differs but is outside the hash.
  auto second = r.add({"--prompt", "a.md=" + p, "--label", "two", "--message", "again"});
  CHECK(second["id"] == first["id"]);
  CHECK(second["created"] == false);
  CHECK(second["became_stable"] == false);
  CHECK(r.cli.ok({"version", "list", "--json"}).out == list_before);
  CHECK(test::store_snapshot(r.cli.state()) == snap);
  auto human = r.cli.ok({"version", "add", "--prompt", "a.md=" + p});
  CHECK(human.out.find("already exists") != std::string::npos);
}

TEST_CASE("version add: the first version on a track becomes stable with a stable_set event") {
  Repo r;
  auto v1 = r.add({"--prompt", "a.md=" + r.file("a.md", "1\n")});
  auto v2 = r.add({"--prompt", "a.md=" + r.file("b.md", "2\n")});
  CHECK(v1["became_stable"] == true);
  CHECK(v2["became_stable"] == false);
  CHECK(r.cli.json({"version", "show", "stable"})["id"] == v1["id"]);
  auto store = store::open(r.cli.state(), store::OpenMode::existing);
  REQUIRE(store.ok());
  auto events = (*store)->events("default", std::nullopt);
  REQUIRE(events.size() == 1);
  CHECK(events[0].action == "stable_set");
  CHECK(events[0].version == std::optional<std::string>(v1["id"].get<std::string>()));
  CHECK(events[0].actor == "tester");
  CHECK(events[0].seq == 1);
  CHECK(events[0].at == r.cli.clock.now_ms());
}

TEST_CASE("version add: an existing version added to another track becomes that track's stable") {
  Repo r;
  auto p = r.file("a.md", "shared\n");
  auto a = r.add({"--prompt", "a.md=" + p});
  auto b = r.cli.json({"--track", "other", "version", "add", "--prompt", "a.md=" + p});
  CHECK(b["id"] == a["id"]);
  CHECK(b["created"] == false);
  CHECK(b["became_stable"] == true);
  CHECK(b["track"] == "other");
  auto show = r.cli.json({"version", "show", a["id"]});
  CHECK(show["tracks"] == json::array({"default", "other"}));
  auto store = store::open(r.cli.state(), store::OpenMode::existing);
  REQUIRE(store.ok());
  CHECK((*store)->events("other", std::nullopt).size() == 1);
}

TEST_CASE("version add: positional files are prompts named by their normalised path") {
  Repo r;
  r.cli.dir().file("roles/backend.md", "You are a careful backend engineer.\n");
  InDir cd(r.cli.dir().path());
  auto a = r.add({"roles/backend.md"});
  CHECK(a["components"][0]["name"] == "roles/backend.md");
  CHECK(a["components"][0]["kind"] == "prompt");
  CHECK(a["id"] == "4ead50708b785ca7983f8964dbe336066de45f93b0cb7f1bad2c6ef66a886a33");
  auto b = r.add({"./roles/backend.md"});
  CHECK(b["id"] == a["id"]);
  CHECK(b["created"] == false);
}

TEST_CASE("version add: --param values are JSON scalars when they parse and strings otherwise") {
  Repo r;
  auto out = r.add({"--param", "temperature=0.2", "--param",   "flag=true", "--param",      "name=abc", "--param",
                    "n=7",     "--param",         "none=null", "--param",   "quoted=\"7\"", "--param",  "list=[1,2]",
                    "--param", "empty=",          "--param",   "big=1e400", "--param",      "neg=-3"});
  const auto& m = out["model"];
  CHECK(m["temperature"].is_number_float());
  CHECK(m["temperature"].get<double>() == 0.2);
  CHECK(m["flag"] == true);
  CHECK(m["name"] == "abc");
  CHECK(m["n"].is_number_integer());
  CHECK(m["n"] == 7);
  CHECK(m["none"].is_null());
  CHECK(m["quoted"] == "7");
  CHECK(m["list"] == "[1,2]");
  CHECK(m["empty"] == "");
  CHECK(m["big"] == "1e400");
  CHECK(m["neg"] == -3);
}

TEST_CASE("version add: --config then --param then --model and later wins") {
  Repo r;
  auto config = r.file("c.json", R"({"model":"from-config","temperature":0.9,"keep":"yes"})");
  auto out = r.add({"--model", "from-flag", "--param", "model=from-param", "--config", config, "--param",
                    "temperature=0.1", "--param", "temperature=0.3"});
  CHECK(out["model"] == json::parse(R"({"model":"from-flag","temperature":0.3,"keep":"yes"})"));
  auto no_model = r.add({"--param", "model=from-param", "--config", config});
  CHECK(no_model["model"]["model"] == "from-param");
}

TEST_CASE("version add: a reformatted tool file gives the same id") {
  Repo r;
  auto a = r.add({"--tool", "t=" + r.file("t1.json", R"({"b":1,"a":[1,2]})")});
  auto b = r.add({"--tool", "t=" + r.file("t2.json", "{\n  \"a\": [ 1, 2 ],\n  \"b\": 1\n}\n")});
  CHECK(b["id"] == a["id"]);
  CHECK(b["created"] == false);
  CHECK(a["components"][0]["bytes"] == 17); // {"a":[1,2],"b":1}
}

TEST_CASE("version list: newest first with roles and the documented fields") {
  Repo r;
  CHECK(r.cli.json({"version", "list"}) == json::array());
  CHECK(r.cli.ok({"version", "list"}).out.find("no versions") != std::string::npos);
  auto v1 = r.add({"--prompt", "a.md=" + r.file("a.md", "1\n"), "--label", "one"});
  r.cli.clock.advance_ms(1000);
  auto v2 = r.add({"--prompt", "a.md=" + r.file("b.md", "2\n")});
  auto list = r.cli.json({"version", "list"});
  REQUIRE(list.size() == 2);
  CHECK(list[0] ==
        json{{"id", v2["id"]}, {"label", nullptr}, {"created_at", "2027-01-15T08:00:01.000Z"}, {"role", nullptr}});
  CHECK(list[1] == json{{"id", v1["id"]}, {"label", "one"}, {"created_at", k_fake_now}, {"role", "stable"}});
  // Another track sees none of them.
  CHECK(r.cli.json({"--track", "other", "version", "list"}) == json::array());
  auto human = r.cli.ok({"version", "list"}).out;
  CHECK(human.find(v1["short"].get<std::string>() + "  stable") != std::string::npos);
}

TEST_CASE("version show: manifest metadata and tracks") {
  Repo r;
  auto v = r.add({"--prompt", "a.md=" + r.file("a.md", "1\n"), "--model", "m", "--label", "L", "--message", "M"});
  auto show = r.cli.json({"version", "show", v["id"]});
  for (const char* key : {"id", "components", "model", "label", "message", "created_at", "tracks"})
    CHECK_MESSAGE(show.contains(key), key);
  CHECK(show["id"] == v["id"]);
  CHECK(show["components"] == v["components"]);
  CHECK(show["model"] == json{{"model", "m"}});
  CHECK(show["label"] == "L");
  CHECK(show["message"] == "M");
  CHECK(show["created_at"] == k_fake_now);
  CHECK(show["tracks"] == json::array({"default"}));
  CHECK(show["manifest"]["format"] == "kanari.manifest.v1");
  auto human = r.cli.ok({"version", "show", v["short"]}).out;
  CHECK(human.find("version " + v["id"].get<std::string>()) != std::string::npos);
  CHECK(human.find("a.md") != std::string::npos);
}

TEST_CASE("version refs: full id prefix of 4 and stable resolve to the same version") {
  Repo r;
  auto v = r.add({"--prompt", "a.md=" + r.file("a.md", "1\n")});
  const std::string id = v["id"];
  for (const std::string& ref : {id, id.substr(0, 4), id.substr(0, 12), std::string("stable")})
    CHECK_MESSAGE(r.cli.json({"version", "show", ref})["id"] == id, ref);
}

TEST_CASE("version refs: canary without a rollout and unknown refs exit 4") {
  Repo r;
  auto v = r.add({"--prompt", "a.md=" + r.file("a.md", "1\n")});
  const std::string id = v["id"];
  const std::string other = id[0] == '0' ? "1111" : "0000";
  for (const std::string& ref : {std::string("canary"), id.substr(0, 3), other, std::string("zzzz"), id + "0"}) {
    auto res = r.cli({"version", "show", ref});
    INFO("ref " << ref << ": " << res.err);
    CHECK(res.code == 4);
    CHECK(res.out.empty());
    CHECK(res.err.rfind("kanari: error: ", 0) == 0);
  }
  CHECK(r.cli({"--track", "empty", "version", "show", "stable"}).code == 4);
}

TEST_CASE("version refs: an ambiguous prefix exits 4 and lists the candidates") {
  // Find two --param values whose ids share 4 hex characters (birthday
  // bound: a few hundred tries), using the same core functions offline.
  std::map<std::string, std::pair<int, std::string>> seen;
  int a = -1, b = -1;
  std::string id_a, id_b;
  for (int n = 0; n < 5000 && a < 0; ++n) {
    auto m = core::make_manifest({}, json{{"n", n}});
    REQUIRE(m.ok());
    auto id = core::version_id(*m);
    auto [it, fresh] = seen.emplace(id.substr(0, 4), std::pair(n, id));
    if (!fresh) {
      a = it->second.first, id_a = it->second.second;
      b = n, id_b = id;
    }
  }
  REQUIRE(a >= 0);
  Repo r;
  CHECK(r.add({"--param", "n=" + std::to_string(a)})["id"] == id_a);
  CHECK(r.add({"--param", "n=" + std::to_string(b)})["id"] == id_b);
  const auto snap = test::store_snapshot(r.cli.state());
  auto res = r.cli({"version", "show", id_a.substr(0, 4)});
  CHECK(res.code == 4);
  CHECK(res.err.find("ambiguous") != std::string::npos);
  CHECK(res.err.find(id_a) != std::string::npos);
  CHECK(res.err.find(id_b) != std::string::npos);
  CHECK(res.out.empty());
  CHECK(test::store_snapshot(r.cli.state()) == snap);
  // A longer prefix that tells them apart resolves.
  size_t common = 4;
  while (id_a[common] == id_b[common])
    ++common;
  CHECK(r.cli.json({"version", "show", id_a.substr(0, common + 1)})["id"] == id_a);
}

TEST_CASE("version diff: components added removed changed and model keys") {
  Repo r;
  auto v1 = r.add({"--prompt", "p.md=" + r.file("p1.md", "line1\nline2\nline3\nline4\nline5\n"), "--prompt",
                   "gone.md=" + r.file("g.md", "bye\n"), "--file", "same.bin=" + r.file("s.bin", "s"), "--param",
                   "temperature=0.2", "--param", "old=1"});
  auto v2 = r.add({"--prompt", "p.md=" + r.file("p2.md", "line1\nline2\nLINE3\nline4\nline5\n"), "--tool",
                   "t=" + r.file("t.json", "{}"), "--file", "same.bin=" + r.file("s.bin", "s"), "--param",
                   "temperature=0.3", "--param", "new=true"});
  auto d = r.cli.json({"version", "diff", v1["id"], v2["id"]});
  CHECK(d["from"] == v1["id"]);
  CHECK(d["to"] == v2["id"]);
  std::map<std::string, json> by_name;
  for (const auto& c : d["components"])
    by_name[c["kind"].get<std::string>() + ":" + c["name"].get<std::string>()] = c;
  REQUIRE(by_name.size() == 3); // same.bin is unchanged and not listed
  CHECK(by_name["prompt:gone.md"]["change"] == "removed");
  CHECK(by_name["tool:t"]["change"] == "added");
  CHECK(by_name["prompt:p.md"]["change"] == "changed");
  CHECK(by_name["prompt:p.md"]["old_sha256"] == v1["components"][2]["sha256"]); // file, then prompts by name
  CHECK(by_name["prompt:p.md"]["new_sha256"] == v2["components"][1]["sha256"]);
  CHECK(by_name["prompt:p.md"]["diff"] ==
        "--- a/p.md\n+++ b/p.md\n@@ -1,5 +1,5 @@\n line1\n line2\n-line3\n+LINE3\n line4\n line5\n");
  std::map<std::string, std::string> model;
  for (const auto& m : d["model"])
    model[m["key"]] = m["change"].get<std::string>() + " " + m["old"].dump() + " -> " + m["new"].dump();
  CHECK(model == std::map<std::string, std::string>{{"new", "added null -> true"},
                                                    {"old", "removed 1 -> null"},
                                                    {"temperature", "changed 0.2 -> 0.3"}});
  auto human = r.cli.ok({"version", "diff", v1["short"], v2["short"]}).out;
  CHECK(human.find("-line3\n+LINE3\n") != std::string::npos);
  CHECK(human.find("model.temperature: 0.2 -> 0.3") != std::string::npos);
  CHECK(r.cli.ok({"version", "diff", v1["id"], v1["id"]}).out == "No differences.\n");
}

TEST_CASE("version checkout: writes every component byte-exact plus model.json") {
  Repo r;
  const std::string binary("\x00\x01\xff\xfe\r\n\x80", 7);
  const std::string crlf = "one\r\ntwo\r\n";
  const std::string no_newline = "no trailing newline";
  auto v =
      r.add({"--file", "assets/blob.bin=" + r.file("blob.bin", binary), "--prompt",
             "roles/crlf.md=" + r.file("crlf.md", crlf), "--prompt", "qa.md=" + r.file("qa.md", no_newline), "--tool",
             "tools/t.json=" + r.file("t.json", "{ \"b\": 1, \"a\": 2 }"), "--param", "temperature=0.5"});
  const auto to = r.cli.dir().path() / "out";
  auto res = r.cli.json({"version", "checkout", v["short"], "--to", to.string()});
  CHECK(res["id"] == v["id"]);
  CHECK(res["files"].size() == 5);
  CHECK(test::read_file(to / "assets/blob.bin") == binary);
  CHECK(test::read_file(to / "roles/crlf.md") == crlf);
  CHECK(test::read_file(to / "qa.md") == no_newline);
  CHECK(test::read_file(to / "tools/t.json") == R"({"a":2,"b":1})");
  CHECK(test::read_file(to / "model.json") == "{\"temperature\":0.5}\n");
}

TEST_CASE("version checkout: a non-empty directory is refused unless --force") {
  Repo r;
  auto v = r.add({"--prompt", "a.md=" + r.file("a.md", "new\n")});
  const auto to = r.cli.dir().path() / "busy";
  r.cli.dir().file("busy/a.md", "old\n");
  auto res = r.cli({"version", "checkout", v["id"], "--to", to.string()});
  CHECK(res.code == 2);
  CHECK(res.err.find("--force") != std::string::npos);
  CHECK(test::read_file(to / "a.md") == "old\n");
  r.cli.ok({"version", "checkout", v["id"], "--to", to.string(), "--force"});
  CHECK(test::read_file(to / "a.md") == "new\n");
}

TEST_CASE("version: global options before or after the subcommand") {
  Repo r;
  auto p = r.file("a.md", "x\n");
  auto before = r.cli({"--track", "t1", "--json", "version", "add", "--prompt", "a.md=" + p});
  REQUIRE(before.code == 0);
  CHECK(before.json()["track"] == "t1");
  auto after = r.cli({"version", "add", "--prompt", "a.md=" + p, "--track", "t2", "--json"});
  REQUIRE(after.code == 0);
  CHECK(after.json()["track"] == "t2");
  auto middle = r.cli({"version", "--track", "t1", "list", "--json"});
  REQUIRE(middle.code == 0);
  CHECK(middle.json().size() == 1);
  auto quiet = r.cli({"version", "list", "-q"});
  CHECK(quiet.code == 0);
  CHECK(quiet.out.empty());
}

// kanari declares only the command it runs when the arguments plainly name
// one (cli/cli.cpp, named_command): global options before it, and their
// values, must not be taken for it, and help without it lists them all.
TEST_CASE("cli: a global option's value that names a command is still a value") {
  Repo r;
  auto p = r.file("a.md", "x\n");
  auto added = r.cli({"--track", "route", "--json", "version", "add", "--prompt", "a.md=" + p});
  REQUIRE(added.code == 0);
  CHECK(added.json()["track"] == "route");
  // Taking -q for an option with a value would make "route" the command.
  for (const std::vector<std::string>& args : {std::vector<std::string>{"--track", "route", "route", "--key", "k"},
                                               {"--track=route", "--json", "version", "list"},
                                               {"-q", "--track", "route", "--json", "version", "list"}}) {
    auto routed = r.cli(args);
    INFO(routed.err);
    CHECK(routed.code == 0);
    CHECK(routed.out.find(added.json()["id"].get<std::string>()) != std::string::npos);
  }
  auto help = r.cli({"--help", "route"}); // CLI11 shows the command's help
  CHECK(help.code == 0);
  CHECK(help.out.find("Usage: kanari route") != std::string::npos);
  CHECK(help.out.find("--key") != std::string::npos);
  auto all = r.cli({"--track", "route", "--help"});
  for (const char* command : {"init", "canary", "route", "session", "generate"})
    CHECK(all.out.find(std::string("\n  ") + command + " ") != std::string::npos);
  auto unknown = r.cli({"--frob", "route", "--key", "k"});
  CHECK(unknown.code == 2);
  CHECK(unknown.err.find("--frob") != std::string::npos);
}
