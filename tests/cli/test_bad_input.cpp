// The bad-input corpus (issue: reliability). Every malformed invocation and
// input file below gets its documented exit code (SPEC §3.2) and exactly one
// clear message on stderr, prints nothing on stdout, and leaves the store
// byte-for-byte unchanged.
//
// The store holds versions A (stable of `default`), B and C on `default`,
// and an active rollout of B on the track `live`; two versions whose ids
// share a 4-character prefix make an ambiguous ref.
#include "core/manifest.hpp"
#include "util/strings.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

struct Case {
  std::string name;
  std::vector<std::string> args;
  int code;
  std::string message; // a fragment the one error line must contain
  std::string stdin_text = "";
};

std::string repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i)
    out += s;
  return out;
}

// Two --param values whose version ids share their first 4 hex characters.
std::pair<int, int> colliding_params() {
  std::map<std::string, int> seen;
  for (int n = 0; n < 5000; ++n) {
    auto m = core::make_manifest({}, json{{"n", n}});
    auto [it, fresh] = seen.emplace(core::version_id(*m).substr(0, 4), n);
    if (!fresh)
      return {it->second, n};
  }
  FAIL("no collision in 5000 tries");
  return {0, 0};
}

} // namespace

TEST_CASE("bad input: every malformed invocation and file gets its exit code, one message, and writes nothing") {
  TwoVersions w;
  Cli& cli = w.cli;
  const std::string c = w.add("c.txt", "You are agent C.\n");
  const std::string a_live = w.add("a.txt", "You are agent A.\n", "live");
  const std::string b_live = w.add("b.txt", "You are agent B.\n", "live");
  cli.ok({"--track", "live", "canary", "start", "--version", w.b, "--steps", "10,50"});
  const auto [n1, n2] = colliding_params();
  const std::string amb = cli.json({"version", "add", "--param", "n=" + std::to_string(n1)})["id"];
  cli.ok({"version", "add", "--param", "n=" + std::to_string(n2)});
  const std::string ambiguous = amb.substr(0, 4);
  // A version that is not on `live`: recording against it there is invalid.
  const std::string not_on_live = c;

  const auto& d = cli.dir();
  const std::string prompt = d.file("prompt.md", "hello\n");
  const std::string nonempty_dir = (d.path() / "full").string();
  d.file("full/x", "x");
  const std::string linked_dir = (d.path() / "linked").string();
  std::filesystem::create_directory_symlink(d.path() / "full", linked_dir);
  const std::string trap_dir = (d.path() / "trap").string();
  std::filesystem::create_directory(trap_dir);
  std::filesystem::create_symlink("../victim", d.path() / "trap" / "system"); // a's prompt is `system`
  const std::string missing = (d.path() / "missing.json").string();
  auto file = [&](const std::string& name, const std::string& content) { return d.file("in/" + name, content); };
  const std::string sql = "x'); DROP TABLE outcomes; --";
  const std::string not_utf8 = "caf\xc3\x28";
  const std::string long_line = R"({"task":")" + std::string(2'000'000, 'x') + R"(","pass":true,"version":"stable"})";
  const std::string deep_json = repeat("[", 100'000) + repeat("]", 100'000);
  const std::string good_line = R"({"task":"ok-1","pass":true,"version":"stable"})";
  auto jsonl = [&](const std::string& name, const std::string& content) {
    return std::vector<std::string>{"record", "--jsonl", file(name, content)};
  };
  auto policy = [&](const std::string& name, const std::string& content) {
    return std::vector<std::string>{"canary",       "start", "--version", c,
                                    "--percentage", "10",    "--policy",  file(name, content)};
  };
  auto start = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"canary", "start", "--version", c};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  auto record = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"record", "--task", "t1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };

  const std::vector<Case> cases = {
      // Commands and flags.
      {"unknown command", {"frobnicate"}, 2, "unknown command 'frobnicate' for `kanari`"},
      {"no command", {}, 2, "kanari --help"},
      {"unknown global flag", {"--bogus", "version", "list"}, 2, "--bogus"},
      {"unknown subcommand flag", {"version", "list", "--bogus"}, 2, "--bogus"},
      {"unknown subcommand", {"version", "frob"}, 2, "unknown command 'frob' for `kanari version`"},
      {"missing --state value", {"version", "list", "--state"}, 2, "--state"},
      {"missing --track value", {"version", "list", "--track"}, 2, "--track"},
      {"extra positional", {"audit", "verify", "extra"}, 2, "extra"},
      {"doctor with an argument", {"doctor", "now"}, 2, "now"},
      // Track names.
      {"track with ../", {"--track", "../etc", "version", "list"}, 2, "--track must match"},
      {"track with /", {"--track", "a/b", "version", "list"}, 2, "--track must match"},
      {"track with backslash", {"--track", "a\\b", "version", "list"}, 2, "--track must match"},
      {"track with SQL", {"--track", sql, "version", "list"}, 2, "--track must match"},
      {"empty track", {"--track", "", "version", "list"}, 2, "--track must match"},
      {"65-byte track", {"--track", std::string(65, 't'), "version", "list"}, 2, "--track must match"},
      {"non-UTF-8 track", {"--track", not_utf8, "version", "list"}, 2, "--track must match"},
      {"track with NUL-free control", {"--track", "a\tb", "version", "list"}, 2, "--track must match"},
      // version add.
      {"add nothing", {"version", "add"}, 2, "nothing to add"},
      {"--prompt without =", {"version", "add", "--prompt", prompt}, 2, "NAME=FILE"},
      {"--prompt missing file", {"version", "add", "--prompt", "p=" + missing}, 2, "missing.json"},
      {"--prompt name with ..", {"version", "add", "--prompt", "../p=" + prompt}, 2, ".."},
      {"--prompt absolute name", {"version", "add", "--prompt", "/etc/p=" + prompt}, 2, "/etc/p"},
      {"--prompt empty name", {"version", "add", "--prompt", "=" + prompt}, 2, "NAME=FILE"},
      {"--prompt non-UTF-8 name", {"version", "add", "--prompt", not_utf8 + "=" + prompt}, 2, "UTF-8"},
      {"same prompt twice", {"version", "add", "--prompt", "p=" + prompt, "--prompt", "p=" + prompt}, 2, "twice"},
      {"--tool malformed JSON",
       {"version", "add", "--tool", "t=" + file("t1.json", "{\"a\":")},
       2,
       "tool definition 't' is not valid JSON"},
      {"--tool JSON array", {"version", "add", "--tool", "t=" + file("t2.json", "[1,2]")}, 2, "JSON object"},
      {"--tool binary",
       {"version", "add", "--tool", "t=" + file("t3.json", std::string("\x00\x01\xfe\xff", 4))},
       2,
       "tool definition 't'"},
      {"--tool duplicate keys",
       {"version", "add", "--tool", "t=" + file("t4.json", R"({"a":1,"a":2})")},
       2,
       "more than once"},
      {"--tool NaN", {"version", "add", "--tool", "t=" + file("t5.json", R"({"a":NaN})")}, 2, "tool definition 't'"},
      {"--tool non-UTF-8 string",
       {"version", "add", "--tool", "t=" + file("t6.json", "{\"a\":\"" + not_utf8 + "\"}")},
       2,
       "UTF-8"},
      {"--config not an object", {"version", "add", "--config", file("c1.json", "42")}, 2, "object"},
      {"--config truncated", {"version", "add", "--config", file("c2.json", R"({"model": "gpt)")}, 2, "c2.json"},
      {"--config nested 100,000 deep", {"version", "add", "--config", file("c3.json", deep_json)}, 2, "c3.json"},
      {"--config missing", {"version", "add", "--config", missing}, 2, "missing.json"},
      {"--param without =", {"version", "add", "--param", "temperature"}, 2, "KEY=VALUE"},
      {"--param empty key", {"version", "add", "--param", "=0.2"}, 2, "KEY=VALUE"},
      // Refs.
      {"unknown ref", {"version", "show", "ffffffff"}, 4, "no version matches 'ffffffff'"},
      {"short ref", {"version", "show", "abc"}, 4, "unknown version"},
      {"non-hex ref", {"version", "show", "zzzz"}, 4, "unknown version"},
      {"SQL in ref", {"version", "show", sql}, 4, "unknown version"},
      {"LIKE wildcard ref", {"version", "show", "%%%%"}, 4, "unknown version"},
      {"ambiguous ref", {"version", "show", ambiguous}, 4, "ambiguous"},
      {"canary ref with no rollout", {"version", "show", "canary"}, 4, "canary"},
      {"diff with one ref", {"version", "diff", w.a}, 2, "TO"},
      {"checkout without --to", {"version", "checkout", w.a}, 2, "--to"},
      {"checkout into a full dir", {"version", "checkout", w.a, "--to", nonempty_dir}, 2, "not empty"},
      {"checkout --to a symbolic link",
       {"version", "checkout", w.a, "--to", linked_dir, "--force"},
       2,
       "symbolic link"},
      {"checkout over a symbolic link", {"version", "checkout", w.a, "--to", trap_dir, "--force"}, 2, "symbolic link"},
      {"checkout --to - with --json", {"--json", "version", "checkout", w.a, "--to", "-"}, 2, "--json"},
      // canary start.
      {"percentage 0", start({"--percentage", "0"}), 2, "--percentage"},
      {"percentage 120", start({"--percentage", "120"}), 2, "--percentage"},
      {"percentage negative", start({"--percentage", "-5"}), 2, "--percentage"},
      {"percentage nan", start({"--percentage", "nan"}), 2, "--percentage"},
      {"percentage inf", start({"--percentage", "inf"}), 2, "--percentage"},
      {"percentage 1e309", start({"--percentage", "1e309"}), 2, "--percentage"},
      {"percentage 3 decimals", start({"--percentage", "12.345"}), 2, "--percentage"},
      {"percentage text", start({"--percentage", "ten"}), 2, "--percentage"},
      {"steps descending", start({"--steps", "50,10"}), 2, "ascending"},
      {"steps empty item", start({"--steps", "10,,50"}), 2, "--steps"},
      {"steps text", start({"--steps", "a,b"}), 2, "--steps"},
      {"percentage and steps", start({"--percentage", "10", "--steps", "10,50"}), 2, "--steps"},
      {"min-samples 0", start({"--percentage", "10", "--min-samples", "0"}), 2, "min_samples"},
      {"min-samples fraction", start({"--percentage", "10", "--min-samples", "2.5"}), 2, "min"},
      {"max-regression 1.5", start({"--percentage", "10", "--max-regression", "1.5"}), 2, "max_regression"},
      {"regression sideways", start({"--percentage", "10", "--regression", "sideways"}), 2, "regression"},
      {"start without --version", {"canary", "start", "--percentage", "10"}, 2, "--version"},
      {"start unknown version", {"canary", "start", "--version", "ffff", "--percentage", "10"}, 4, "ffff"},
      {"Bernstein form 101 %", {"canary", "--prompt-version", c, "--percentage", "101"}, 2, "--percentage"},
      {"policy missing", start({"--percentage", "10", "--policy", missing}), 2, "missing.json"},
      {"policy malformed", policy("p1.json", "{min_samples: 3}"), 2, "p1.json"},
      {"policy unknown key", policy("p2.json", R"({"min_sample": 3})"), 2, "unknown key 'min_sample'"},
      {"policy wrong type", policy("p3.json", R"({"min_samples": "3"})"), 2, "min_samples"},
      {"policy huge number", policy("p4.json", R"({"min_samples": 1e400})"), 2, "p4.json"},
      {"policy binary", policy("p5.json", std::string("\x89PNG\r\n\x1a\n\x00", 9)), 2, "p5.json"},
      {"policy SQL in enum", policy("p6.json", R"({"method": "threshold'; DROP TABLE rollouts; --"})"), 2, "method"},
      {"promote --from-step text", {"--track", "live", "canary", "promote", "--from-step", "one"}, 2, "--from-step"},
      {"evaluate unknown flag", {"canary", "evaluate", "--now"}, 2, "--now"},
      // route.
      {"route without key", {"route"}, 2, "--key"},
      {"route empty key", {"route", "--key", ""}, 2, "empty"},
      {"route --keys missing file", {"route", "--keys", missing}, 2, "missing.json"},
      {"route --task without --key", {"route", "--task", "t1"}, 2, "--key"},
      // record (one outcome).
      {"record without pass/fail", record({}), 2, "--pass"},
      {"record pass and fail", record({"--pass", "--fail"}), 2, "--fail"},
      {"record latency negative", record({"--pass", "--latency-ms", "-1"}), 2, "--latency-ms"},
      {"record latency nan", record({"--pass", "--latency-ms", "nan"}), 2, "--latency-ms"},
      {"record cost inf", record({"--pass", "--cost", "inf"}), 2, "--cost"},
      {"record tokens fraction", record({"--pass", "--tokens", "1.5"}), 2, "--tokens"},
      {"record tokens overflow", record({"--pass", "--tokens", "99999999999999999999"}), 2, "--tokens"},
      {"record bad --at", record({"--pass", "--at", "yesterday"}), 2, "--at"},
      {"record impossible --at", record({"--pass", "--at", "2026-02-30T00:00:00Z"}), 2, "--at"},
      {"record empty task", {"record", "--task", "", "--pass"}, 2, "task"},
      {"record 257-byte task", {"record", "--task", std::string(257, 't'), "--pass"}, 2, "task"},
      {"record non-UTF-8 task", {"record", "--task", not_utf8, "--pass"}, 2, "UTF-8"},
      {"record unknown version", record({"--pass", "--version", "ffff"}), 4, "ffff"},
      {"record version not in rollout",
       {"--track", "live", "record", "--task", "t", "--pass", "--version", not_on_live},
       2,
       "live"},
      // record --jsonl.
      {"jsonl missing file", {"record", "--jsonl", missing}, 2, "missing.json"},
      {"jsonl truncated object", jsonl("j1", good_line + "\n{\"task\":\"t2\",\"pa"), 2, "line 2"},
      {"jsonl not JSON", jsonl("j2", "task=t1 pass=true\n"), 2, "line 1"},
      {"jsonl binary", jsonl("j3", std::string("\x00\x01\x02\xff\n", 5)), 2, "line 1"},
      {"jsonl 2 MB line", jsonl("j4", good_line + "\n" + long_line + "\n"), 2, "line 2"},
      {"jsonl non-UTF-8", jsonl("j5", "{\"task\":\"" + not_utf8 + "\",\"pass\":true,\"version\":\"stable\"}\n"), 2,
       "line 1"},
      {"jsonl pass as string",
       jsonl("j6", R"({"task":"t","pass":"true","version":"stable"})"
                   "\n"),
       2, "pass"},
      {"jsonl unknown key",
       jsonl("j7", R"({"task":"t","pass":true,"version":"stable","verdict":1})"
                   "\n"),
       2, "verdict"},
      {"jsonl duplicate key",
       jsonl("j8", R"({"task":"t","task":"u","pass":true,"version":"stable"})"
                   "\n"),
       2, "task"},
      {"jsonl latency 1e999",
       jsonl("j9", R"({"task":"t","pass":true,"version":"stable","latency_ms":1e999})"
                   "\n"),
       2, "1e999 is out of range"},
      {"jsonl nested value",
       jsonl("j10", R"({"task":{"id":1},"pass":true,"version":"stable"})"
                    "\n"),
       2, "\"task\" must not be an object"},
      {"jsonl NUL inside", jsonl("j11", std::string("{\"task\":\"t\0\",\"pass\":true}\n", 27)), 2, "line 1"},
      {"jsonl track with /",
       jsonl("j12", R"({"task":"t","pass":true,"version":"stable","track":"a/b"})"
                    "\n"),
       2, "track"},
      {"jsonl SQL then bad",
       jsonl("j13", "{\"task\":\"" + std::string("'; DROP TABLE outcomes; --") +
                        "\",\"pass\":true,\"version\":\"stable\"}\n{}\n"),
       2, "line 2"},
      {"jsonl unknown version",
       jsonl("j14", R"({"task":"t","pass":true,"version":"ffff"})"
                    "\n"),
       4, "ffff"},
      {"jsonl from stdin, bad", {"record", "--jsonl", "-"}, 2, "line 2", good_line + "\n" + good_line + "x\n{\n"},
      // Release 2: times from the future, NUL in ids, directories as files.
      {"record --at an hour ahead", record({"--pass", "--at", "2027-01-15T09:00:00Z"}), 2, "10 minutes"},
      {"record --at year 9999", record({"--pass", "--at", "9999-12-31T23:59:59Z"}), 2, "10 minutes"},
      {"jsonl at year 9999",
       jsonl("j15", good_line + "\n"
                                R"({"task":"f","pass":true,"version":"stable","at":"9999-12-31T23:59:59Z"})"
                                "\n"),
       2, "line 2"},
      {"jsonl task with escaped NUL",
       jsonl("j16", R"({"task":"nul\u0000","pass":true,"version":"stable"})"
                    "\n"),
       2, "NUL"},
      {"jsonl BOM on line 2", jsonl("j17", good_line + "\n\xEF\xBB\xBF" + good_line + "\n"), 2, "line 2"},
      {"jsonl is a directory", {"record", "--jsonl", cli.dir().str()}, 2, "is a directory"},
      {"route --keys is a directory", {"route", "--keys", cli.dir().str()}, 2, "is a directory"},
      {"route --keys with a NUL key", {"route", "--keys", "-"}, 2, "NUL", std::string("k1\nk\0\n", 6)},
      // history, simulate, audit.
      {"history limit 0", {"history", "--limit", "0"}, 2, "--limit"},
      {"history limit text", {"history", "--limit", "ten"}, 2, "--limit"},
      {"simulate rate 1.5", {"simulate", "--stable-rate", "1.5", "--canary-rate", "0.9"}, 2, "rate"},
      {"simulate rate nan", {"simulate", "--stable-rate", "0.9", "--canary-rate", "nan"}, 2, "rate"},
      {"simulate zero trials",
       {"simulate", "--stable-rate", "0.9", "--canary-rate", "0.9", "--trials", "0"},
       2,
       "trials must be an integer"},
      {"sign with a public key",
       {"version", "sign", w.b, "--key", std::string(KANARI_TEST_DATA) + "/keys/alice.pub.pem"},
       2,
       "PEM private key"},
  };
  REQUIRE(cases.size() >= 60);

  const std::string before = store_snapshot(cli.state());
  std::map<std::string, int> seen_names;
  for (const auto& tc : cases) {
    CAPTURE(tc.name);
    REQUIRE(seen_names[tc.name]++ == 0);
    auto r = cli(tc.args, tc.stdin_text);
    INFO("stderr: " << quote_for_message(r.err, 2000));
    CHECK(r.code == tc.code);
    CHECK(r.out.empty());
    // One message: a single line, starting as every kanari error does.
    CHECK(r.err.rfind("kanari: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find(tc.message) != std::string::npos);
    CHECK(r.err.size() < 1000); // a 2 MB line is quoted, not echoed
    CHECK(store_snapshot(cli.state()) == before);
  }
  (void)a_live;
  (void)b_live;
}

TEST_CASE("bad input: SQL metacharacters in every string field are stored verbatim, never executed") {
  TwoVersions w;
  Cli& cli = w.cli;
  const std::string sql = "x'); DROP TABLE outcomes; --\"\\%_*";
  const std::string file = cli.dir().file("p.md", sql + "\n");
  const std::string id = cli.json({"version", "add", "--prompt", "p" + std::string("%_") + "=" + file, "--label", sql,
                                   "--message", sql, "--param", "k=" + sql})["id"];
  auto shown = cli.json({"version", "show", id});
  CHECK(shown["label"] == sql);
  CHECK(shown["message"] == sql);
  CHECK(shown["model"]["k"] == sql);
  cli.ok({"canary", "start", "--version", id, "--percentage", "50", "--reason", sql});
  // The in-process runner names its own actor; the binary takes this one.
  REQUIRE(spawn_kanari({"--state", cli.state(), "--actor", sql, "canary", "pause", "--reason", sql}).code == 0);
  auto rec = cli.json({"record", "--task", sql, "--pass", "--version", "canary", "--error", sql});
  CHECK(rec["inserted"] == 1);
  auto route = cli.json({"route", "--key", sql, "--task", sql + "2"});
  CHECK(route["key"] == sql);
  auto h = cli.json({"history", "--limit", "1"});
  CHECK(h[0]["actor"] == sql);
  CHECK(h[0]["reason"] == sql);
  CHECK(cli.json({"canary", "status"})["canary_stats"]["n"] == 1);
  cli.ok({"audit", "verify"});
  cli.ok({"doctor"});
}
