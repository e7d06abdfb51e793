// `kanari record` through the real CLI: the arm derived from the version,
// duplicates and conflicts (first write wins), shadow rollouts, and JSONL
// validated in full before anything is written.
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari::test;
using nlohmann::json;

namespace {

// a is stable, b is the canary of an open 10 % rollout, c is on the track
// but neither.
struct World {
  Cli cli;
  std::string a, b, c;

  explicit World(bool shadow = false) {
    cli.ok({"init"});
    a = add("a.txt", "You are agent A.\n");
    b = add("b.txt", "You are agent B.\n");
    c = add("c.txt", "You are agent C.\n");
    std::vector<std::string> start{"canary", "start", "--version", b, "--percentage", "10"};
    if (shadow)
      start.push_back("--shadow");
    cli.ok(start);
  }

  std::string add(const std::string& name, const std::string& text) {
    auto path = cli.dir().file(name, text);
    return cli.json({"version", "add", "--prompt", "system=" + path})["id"].get<std::string>();
  }

  json record(std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin(), "record");
    return cli.json(args, in);
  }

  // (n, pass) of each arm, as `canary status` shows them.
  std::pair<std::int64_t, std::int64_t> canary() {
    auto s = cli.json({"canary", "status"})["canary_stats"];
    return {s["n"].get<std::int64_t>(), s["pass"].get<std::int64_t>()};
  }
  std::pair<std::int64_t, std::int64_t> stable() {
    auto s = cli.json({"canary", "status"})["stable_stats"];
    return {s["n"].get<std::int64_t>(), s["pass"].get<std::int64_t>()};
  }

  CliResult rejected(const std::vector<std::string>& args, int code, const std::string& message = "",
                     const std::string& in = "") {
    const auto before = store_snapshot(cli.state());
    auto r = cli(args, in);
    INFO("command: " << json(args).dump() << "\nstdout: " << r.out << "\nstderr: " << r.err);
    CHECK(r.code == code);
    if (!message.empty())
      CHECK(r.err.find(message) != std::string::npos);
    CHECK(store_snapshot(cli.state()) == before);
    return r;
  }
};

json summary(std::int64_t inserted, std::int64_t duplicates, std::int64_t conflicts, std::int64_t invalid) {
  return {
      {"inserted", inserted}, {"duplicates", duplicates}, {"conflicts", conflicts}, {"invalid", invalid}, {"late", 0},
      {"backdated", 0}};
}

} // namespace

TEST_CASE("record: the arm is derived from the version") {
  World w;
  CHECK(w.record({"--task", "t1", "--pass", "--version", "canary"}) == summary(1, 0, 0, 0));
  CHECK(w.record({"--task", "t2", "--fail", "--version", w.b.substr(0, 10)}) == summary(1, 0, 0, 0));
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{2, 1});
  CHECK(w.record({"--task", "t3", "--pass", "--version", "stable"}) == summary(1, 0, 0, 0));
  CHECK(w.record({"--task", "t4", "--pass", "--version", w.a}) == summary(1, 0, 0, 0));
  CHECK(w.stable() == std::pair<std::int64_t, std::int64_t>{2, 2});
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{2, 1});

  w.rejected({"record", "--task", "t5", "--pass", "--version", w.c}, 2, "neither the stable nor the canary");
  w.rejected({"record", "--task", "t5", "--pass", "--version", "abcdef0123"}, 4);
  w.rejected({"record", "--task", "t5", "--pass", "--version", "xyz"}, 4);
  w.rejected({"record", "--task", "t5", "--pass"}, 4, "route"); // no version, no routed assignment
  w.cli.ok({"canary", "rollback"});
  w.rejected({"record", "--task", "t5", "--pass", "--version", "canary"}, 4); // no canary to name
  // The rolled-back canary by id: a late outcome of its rollout, stored but
  // counted in no window (tests/cli/test_windows.cpp has the rest).
  auto late = w.cli.json({"record", "--task", "t5", "--pass", "--version", w.b});
  CHECK(late["inserted"] == 1);
  CHECK(late["late"] == 1);
  w.rejected({"record", "--task", "t6", "--pass", "--version", w.c}, 2, "never was");
}

TEST_CASE("record: a routed task needs no version") {
  World w;
  // At 10 %, find one key per arm.
  std::string canary_key, stable_key;
  for (int i = 0; i < 200 && (canary_key.empty() || stable_key.empty()); ++i) {
    auto key = "user-" + std::to_string(i);
    auto r = w.cli.json({"route", "--key", key});
    (r["arm"] == "canary" ? canary_key : stable_key) = key;
  }
  REQUIRE(!canary_key.empty());
  REQUIRE(!stable_key.empty());
  w.cli.ok({"route", "--key", canary_key, "--task", "task-c"});
  w.cli.ok({"route", "--key", stable_key, "--task", "task-s"});
  w.record({"--task", "task-c", "--pass"});
  w.record({"--task", "task-s", "--fail"});
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{1, 1});
  CHECK(w.stable() == std::pair<std::int64_t, std::int64_t>{1, 0});
}

TEST_CASE("record: duplicates are counted, not stored twice, even at another time") {
  World w;
  // The rollout started at the fake clock's 2027-01-15T08:00:00Z.
  std::vector<std::string> args{"--task",       "t1",  "--pass", "--version",           "canary",
                                "--latency-ms", "120", "--at",   "2027-01-15T08:00:00Z"};
  CHECK(w.record(args) == summary(1, 0, 0, 0));
  CHECK(w.record(args) == summary(0, 1, 0, 0));
  args.back() = "2027-01-15T08:05:00Z";
  CHECK(w.record(args) == summary(0, 1, 0, 0));
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{1, 1});
  // The same task id on another track is another task.
}

TEST_CASE("record: conflicts are counted, named on stderr, and the first write wins") {
  World w;
  CHECK(w.record({"--task", "t1", "--pass", "--version", "canary"}) == summary(1, 0, 0, 0));
  auto r = w.cli({"record", "--task", "t1", "--fail", "--version", "canary", "--json"});
  CHECK(r.code == 0);
  CHECK(r.json() == summary(0, 0, 1, 0));
  CHECK(r.err.find("conflict") != std::string::npos);
  CHECK(r.err.find("t1") != std::string::npos);
  r = w.cli({"record", "--task", "t1", "--pass", "--version", "canary", "--latency-ms", "5", "--json"});
  CHECK(r.json() == summary(0, 0, 1, 0));
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{1, 1});

  // Outside a shadow rollout a task runs on one version.
  CHECK(w.record({"--task", "t2", "--pass", "--version", "stable"}) == summary(1, 0, 0, 0));
  r = w.cli({"record", "--task", "t2", "--pass", "--version", "canary", "--json"});
  CHECK(r.code == 0);
  CHECK(r.json() == summary(0, 0, 1, 0));
  CHECK(r.err.find("t2") != std::string::npos);
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{1, 1});
  CHECK(w.stable() == std::pair<std::int64_t, std::int64_t>{1, 1});
}

TEST_CASE("record: inside a shadow rollout one task carries both versions") {
  World w(/*shadow=*/true);
  CHECK(w.record({"--task", "t1", "--pass", "--version", "stable"}) == summary(1, 0, 0, 0));
  CHECK(w.record({"--task", "t1", "--fail", "--version", "canary"}) == summary(1, 0, 0, 0));
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{1, 0});
  CHECK(w.stable() == std::pair<std::int64_t, std::int64_t>{1, 1});
  // Per version, first write still wins.
  CHECK(w.record({"--task", "t1", "--pass", "--version", "canary"}) == summary(0, 0, 1, 0));
}

TEST_CASE("record: single-outcome flags are validated (exit 2, nothing stored)") {
  World w;
  const std::vector<std::vector<std::string>> bad = {
      {"--task", "t", "--version", "canary"},                     // neither --pass nor --fail
      {"--task", "t", "--pass", "--fail", "--version", "canary"}, // both
      {"--pass", "--version", "canary"},                          // no task
      {"--task", "", "--pass", "--version", "canary"},            // empty task
      {"--task", std::string(257, 'x'), "--pass", "--version", "canary"},
      {"--task", "bad\xff", "--pass", "--version", "canary"}, // not UTF-8
      {"--task", "t", "--pass", "--version", "canary", "--latency-ms", "-1"},
      {"--task", "t", "--pass", "--version", "canary", "--latency-ms", "nan"},
      {"--task", "t", "--pass", "--version", "canary", "--latency-ms", "fast"},
      {"--task", "t", "--pass", "--version", "canary", "--cost", "inf"},
      {"--task", "t", "--pass", "--version", "canary", "--tokens", "1.5"},
      {"--task", "t", "--pass", "--version", "canary", "--tokens", "-3"},
      {"--task", "t", "--pass", "--version", "canary", "--at", "yesterday"},
      {"--task", "t", "--pass", "--version", "canary", "--at", "2026-13-01T00:00:00Z"},
      {"--task", "t", "--pass", "--version", "canary", "--skip-invalid"},
      {"--task", "t", "--pass", "--jsonl", "-"},
  };
  for (auto args : bad) {
    args.insert(args.begin(), "record");
    w.rejected(args, 2);
  }
  // 256 bytes is the limit, not 255.
  CHECK(w.record({"--task", std::string(256, 'x'), "--pass", "--version", "canary"}) == summary(1, 0, 0, 0));
  CHECK(w.record({"--task", "naïve-タスク", "--pass", "--version", "canary", "--latency-ms", "0", "--cost", "0.002",
                  "--tokens", "1234", "--score", "-0.5", "--error", "E_TIMEOUT"}) == summary(1, 0, 0, 0));
}

TEST_CASE("record --jsonl: file and stdin, with duplicates and conflicts counted") {
  World w;
  const std::string lines =
      "{\"task\": \"j1\", \"pass\": true, \"version\": \"canary\"}\n"
      "{\"task\": \"j2\", \"pass\": false, \"version\": \"canary\", \"latency_ms\": 900}\n"
      "\n"
      "{\"task\": \"j3\", \"pass\": true, \"version\": \"stable\", \"at\": \"2027-01-15T08:00:00Z\"}\r\n"
      "{\"task\": \"j1\", \"pass\": true, \"version\": \"canary\"}\n"  // duplicate
      "{\"task\": \"j2\", \"pass\": true, \"version\": \"canary\"}\n"; // conflict
  auto file = w.cli.dir().file("o.jsonl", lines);
  auto r = w.cli({"record", "--jsonl", file, "--json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.json() == summary(3, 1, 1, 0));
  CHECK(r.err.find("j2") != std::string::npos);
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{2, 1});
  CHECK(w.stable() == std::pair<std::int64_t, std::int64_t>{1, 1});
  // The same lines again, from stdin: the four stored-or-equal lines are
  // duplicates, the line that conflicted still conflicts.
  CHECK(w.record({"--jsonl", "-"}, lines) == summary(0, 4, 1, 0));
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{2, 1});
  w.rejected({"record", "--jsonl", w.cli.dir().str() + "/missing.jsonl"}, 2);
}

TEST_CASE("record --jsonl: one bad line fails the whole file, names its line, stores nothing") {
  World w;
  const std::string good = "{\"task\": \"g1\", \"pass\": true, \"version\": \"canary\"}\n"
                           "{\"task\": \"g2\", \"pass\": false, \"version\": \"stable\"}\n";
  struct Bad {
    const char* what;
    std::string line;
    int code;
  };
  const std::vector<Bad> bad = {
      {"bad JSON", "{\"task\": \"x\", \"pass\": true", 2},
      {"not an object", "[1, 2]", 2},
      {"missing pass", "{\"task\": \"x\", \"version\": \"canary\"}", 2},
      {"missing task", "{\"pass\": true, \"version\": \"canary\"}", 2},
      {"pass as string", "{\"task\": \"x\", \"pass\": \"true\", \"version\": \"canary\"}", 2},
      {"pass as number", "{\"task\": \"x\", \"pass\": 1, \"version\": \"canary\"}", 2},
      {"unknown key", "{\"task\": \"x\", \"pass\": true, \"version\": \"canary\", \"sucess\": true}", 2},
      {"negative latency", "{\"task\": \"x\", \"pass\": true, \"version\": \"canary\", \"latency_ms\": -4}", 2},
      {"NaN", "{\"task\": \"x\", \"pass\": true, \"version\": \"canary\", \"latency_ms\": NaN}", 2},
      {"huge number", "{\"task\": \"x\", \"pass\": true, \"version\": \"canary\", \"cost\": 1e400}", 2},
      {"non-UTF-8", "{\"task\": \"x\xff\xfe\", \"pass\": true, \"version\": \"canary\"}", 2},
      {"task of 257 bytes", "{\"task\": \"" + std::string(257, 't') + "\", \"pass\": true, \"version\": \"canary\"}",
       2},
      {"empty task", "{\"task\": \"\", \"pass\": true, \"version\": \"canary\"}", 2},
      {"bad at", "{\"task\": \"x\", \"pass\": true, \"version\": \"canary\", \"at\": \"22/11/2026\"}", 2},
      {"tokens fraction", "{\"task\": \"x\", \"pass\": true, \"version\": \"canary\", \"tokens\": 2.5}", 2},
      {"bad track", "{\"task\": \"x\", \"pass\": true, \"version\": \"canary\", \"track\": \"a b\"}", 2},
      {"unrelated version", "", 2}, // filled below
      {"unknown version", "{\"task\": \"x\", \"pass\": true, \"version\": \"abcdef12\"}", 4},
  };
  for (auto b : bad) {
    if (std::string(b.what) == "unrelated version")
      b.line = "{\"task\": \"x\", \"pass\": true, \"version\": \"" + w.c + "\"}";
    CAPTURE(b.what);
    const std::string text = good + b.line + "\n" + good;
    auto r = w.rejected({"record", "--jsonl", "-"}, b.code, "line 3", text);
    CHECK(r.out.empty());
    auto file = w.cli.dir().file("bad.jsonl", text);
    w.rejected({"record", "--jsonl", file, "--json"}, b.code, "line 3");
  }
  CHECK(w.canary().first == 0);
}

TEST_CASE("record --jsonl --skip-invalid stores the valid lines and counts the rest") {
  World w;
  const std::string text = "{\"task\": \"v1\", \"pass\": true, \"version\": \"canary\"}\n"
                           "not json\n"
                           "{\"task\": \"v2\", \"pass\": \"yes\", \"version\": \"canary\"}\n"
                           "{\"task\": \"v3\", \"pass\": false, \"version\": \"canary\"}\n"
                           "{\"task\": \"v4\", \"pass\": true, \"version\": \"" +
                           w.c + "\"}\n";
  auto r = w.cli({"record", "--jsonl", "-", "--skip-invalid", "--json"}, text);
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.json() == summary(2, 0, 0, 3));
  CHECK(r.err.find("line 2") != std::string::npos);
  CHECK(r.err.find("line 3") != std::string::npos);
  CHECK(r.err.find("line 5") != std::string::npos);
  CHECK(w.canary() == std::pair<std::int64_t, std::int64_t>{2, 1});
  auto human = w.cli({"record", "--jsonl", "-", "--skip-invalid"}, text);
  CHECK(human.code == 0);
  CHECK(human.out.find("3 invalid") != std::string::npos);
}

TEST_CASE("record --jsonl: per-line tracks") {
  World w;
  auto x = w.cli.json({"--track", "ops", "version", "add", "--prompt", "p=" + w.cli.dir().file("x.txt", "x\n")});
  const std::string text = "{\"task\": \"k1\", \"pass\": true, \"version\": \"canary\"}\n"
                           "{\"task\": \"k1\", \"pass\": true, \"version\": \"stable\", \"track\": \"ops\"}\n";
  CHECK(w.record({"--jsonl", "-"}, text) == summary(2, 0, 0, 0));
  CHECK(w.canary().first == 1);
  // Stored on each line's own track: the same lines again are duplicates.
  CHECK(w.record({"--jsonl", "-"}, text) == summary(0, 2, 0, 0));
  CHECK(x["track"] == "ops");
}
