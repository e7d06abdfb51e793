// Events through the real CLI: every state change writes exactly one event
// with its actor, reason and evidence; `history` lists a track's events
// newest first, with --limit and the SPEC §3.1 JSON fields.
#include "support.hpp"

#include <doctest/doctest.h>

#include <regex>

using namespace kanari::test;
using nlohmann::json;

namespace {

struct World : TwoVersions {

  json history(const std::string& track = "default") { return cli.json({"--track", track, "history"}); }

  // Runs `args`, which must succeed, and returns the one event it wrote.
  json one_event(const std::vector<std::string>& args) {
    const auto before = history().size();
    cli.ok(args);
    auto h = history();
    REQUIRE(h.size() == before + 1);
    return h[0];
  }
};

} // namespace

TEST_CASE("history: every state change writes exactly one event with actor, reason and evidence") {
  World w;
  auto h = w.history();
  REQUIRE(h.size() == 1);
  CHECK(h[0]["action"] == "stable_set");
  CHECK(h[0]["version"] == w.a);
  CHECK(h[0]["actor"] == "tester");
  CHECK(h[0]["rollout"].is_null());
  // Adding a second version changes no state: no event.
  CHECK(w.history().size() == 1);

  auto e = w.one_event({"canary", "start", "--version", w.b, "--steps", "10,50,100", "--reason", "try B"});
  CHECK(e["action"] == "started");
  CHECK(e["reason"] == "try B");
  CHECK(e["version"] == w.b);
  CHECK(e["rollout"].is_number_integer());
  CHECK(e["evidence"]["stable"] == w.a);
  CHECK(e["evidence"]["steps"] == json::array({10, 50, 100}));
  CHECK(std::regex_match(e["evidence"]["policy_sha256"].get<std::string>(), std::regex("[0-9a-f]{64}")));
  const auto rollout = e["rollout"];

  struct Step {
    std::vector<std::string> args;
    const char* action;
  };
  const std::vector<Step> steps = {
      {{"canary", "pause", "--reason", "r-pause"}, "paused"},
      {{"canary", "resume", "--reason", "r-resume"}, "resumed"},
      {{"canary", "approve", "--reason", "r-approve"}, "approved"},
      {{"canary", "promote", "--reason", "r-promote"}, "step_advanced"},
  };
  for (const auto& s : steps) {
    CAPTURE(s.action);
    e = w.one_event(s.args);
    CHECK(e["action"] == s.action);
    CHECK(e["actor"] == "tester");
    CHECK(e["reason"] == "r-" + s.args[1]);
    CHECK(e["rollout"] == rollout);
    CHECK(e["version"] == w.b);
    CHECK(e["track"] == "default");
    CHECK(e["evidence"].is_object());
  }
  CHECK(e["evidence"]["to_step"] == 1);
  CHECK(e["evidence"]["to_percentage"] == 50);

  e = w.one_event({"canary", "promote", "--full", "--reason", "ship it"});
  CHECK(e["action"] == "promoted");
  CHECK(e["reason"] == "ship it");
  CHECK(e["evidence"]["new_stable"] == w.b);

  e = w.one_event({"canary", "start", "--version", w.a, "--percentage", "5"});
  CHECK(e["reason"] == "canary started"); // a default reason when none is given
  e = w.one_event({"canary", "rollback", "--reason", "worse"});
  CHECK(e["action"] == "rolled_back");
  CHECK(e["version"] == w.a);

  // A rejected command writes nothing.
  auto before = w.history();
  CHECK(w.cli({"canary", "rollback"}).code == 5);
  CHECK(w.history() == before);
}

TEST_CASE("history: newest first, --limit, JSON fields, human form") {
  World w;
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "10"});
  w.cli.clock.advance_ms(90'000);
  w.cli.ok({"canary", "pause"});
  w.cli.ok({"canary", "resume"});
  auto h = w.history();
  REQUIRE(h.size() == 4);
  for (size_t i = 0; i + 1 < h.size(); ++i)
    CHECK(h[i]["seq"].get<std::int64_t>() > h[i + 1]["seq"].get<std::int64_t>());
  CHECK(h[3]["seq"] == 1);
  for (const auto& e : h) {
    for (const char* key :
         {"seq", "at", "actor", "action", "track", "rollout", "version", "reason", "evidence", "hash"})
      CHECK_MESSAGE(e.contains(key), "event lacks \"" << key << "\": " << e.dump());
    CHECK(std::regex_match(e["hash"].get<std::string>(), std::regex("[0-9a-f]{64}")));
  }
  // The clock the command ran with, in RFC 3339 UTC.
  CHECK(h[3]["at"].get<std::string>().rfind("2027-01-15T08:00:00", 0) == 0);
  CHECK(h[0]["at"].get<std::string>().rfind("2027-01-15T08:01:30", 0) == 0);
  CHECK(h[0]["hash"] != h[1]["hash"]);

  auto two = w.cli.json({"history", "--limit", "2"});
  REQUIRE(two.size() == 2);
  CHECK(two[0] == h[0]);
  CHECK(two[1] == h[1]);
  CHECK(w.cli.json({"history", "--limit", "100"}) == h);

  auto human = w.cli.ok({"history", "--limit", "1"}).out;
  CHECK(human.find("resumed") != std::string::npos);
  CHECK(human.find("tester") != std::string::npos);
  CHECK(human.find("paused") == std::string::npos);

  for (const char* bad : {"0", "-1", "abc"}) {
    CAPTURE(bad);
    auto r = w.cli({"history", std::string("--limit=") + bad});
    CHECK(r.code == 2);
    CHECK(r.out.empty());
  }
}

TEST_CASE("history: per track") {
  World w;
  const auto x = w.add("x.txt", "x\n", "ops");
  const auto y = w.add("y.txt", "y\n", "ops");
  w.cli.ok({"--track", "ops", "canary", "start", "--version", y, "--percentage", "50"});
  auto ops = w.history("ops");
  REQUIRE(ops.size() == 2);
  CHECK(ops[0]["action"] == "started");
  CHECK(ops[1]["action"] == "stable_set");
  CHECK(ops[1]["version"] == x);
  for (const auto& e : ops)
    CHECK(e["track"] == "ops");
  auto def = w.history();
  REQUIRE(def.size() == 1);
  CHECK(def[0]["track"] == "default");
  // One chain over the store: seqs are global, so the tracks interleave.
  CHECK(ops[0]["seq"] == 3); // 1 stable_set default, 2 stable_set ops, 3 started ops
  CHECK(w.history("nobody").empty());
  CHECK(w.cli.ok({"--track", "nobody", "history"}).out.find("No events") != std::string::npos);
}

TEST_CASE("history: --actor is recorded (real binary)") {
  World w;
  auto r = spawn_kanari({"--state", w.cli.state(), "--actor", "alice", "canary", "start", "--version", w.b,
                         "--percentage", "10", "--reason", "from the binary"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto e = w.history()[0];
  CHECK(e["actor"] == "alice");
  CHECK(e["reason"] == "from the binary");
  // Global options after the subcommand work too.
  r = spawn_kanari({"canary", "pause", "--state", w.cli.state(), "--actor", "bob"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  CHECK(w.history()[0]["actor"] == "bob");
}
