// Cron, CI and many tracks (docs/cli.md): --quiet's one rollback line on
// stderr, `canary wait`, `track list`, the --all forms of status, pause,
// resume, rollback and history, the transition metrics, and the default
// actor.
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <pwd.h>
#include <set>
#include <sstream>
#include <unistd.h>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

struct Fleet : TwoVersions {

  // Starts a rollout of a fresh version on `track` (its first version
  // becomes its stable); returns the rollout id.
  std::int64_t start(const std::string& track, const std::string& steps = "10,100") {
    if (track != "default")
      add("stable.txt", "You are the stable agent of " + track + ".\n", track);
    const auto canary = add("canary.txt", "You are the new agent of " + track + ".\n", track);
    return cli
        .json({"--track", track, "canary", "start", "--version", canary, "--steps", steps, "--min-samples",
               "3"})["rollout"]
        .get<std::int64_t>();
  }
};

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

} // namespace

// ---- --quiet ----

TEST_CASE("--quiet: an applied ROLLBACK prints one line on stderr and nothing on stdout") {
  Fleet f;
  f.start("default");
  f.outcomes("canary", 0, 3);
  f.outcomes("stable", 3, 3);
  SUBCASE("evaluate --all --apply, the cron line") {
    auto r = f.cli({"canary", "evaluate", "--all", "--apply", "--quiet"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    REQUIRE(lines(r.err).size() == 1);
    CHECK(r.err.rfind("kanari: track 'default' rolled back: gate ROLLBACK: pass rate: canary 0/3", 0) == 0);
  }
  SUBCASE("evaluate --apply") {
    auto r = f.cli({"canary", "evaluate", "--apply", "-q"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    REQUIRE(lines(r.err).size() == 1);
    CHECK(r.err.rfind("kanari: track 'default' rolled back: gate ROLLBACK: ", 0) == 0);
  }
  SUBCASE("the line is the reason the event recorded") {
    auto r = f.cli({"canary", "evaluate", "--apply", "-q"});
    const auto event = f.cli.json({"history", "--limit", "1"})[0];
    REQUIRE(event["action"] == "rolled_back");
    CHECK(r.err == "kanari: track 'default' rolled back: " + event["reason"].get<std::string>() + "\n");
  }
  SUBCASE("a ROLLBACK not applied is no news: nothing printed") {
    auto r = f.cli({"canary", "evaluate", "--all", "--quiet"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.empty());
  }
  SUBCASE("without --quiet the news is on stdout, not stderr") {
    auto r = f.cli({"canary", "evaluate", "--all", "--apply"});
    CHECK(r.code == 1);
    CHECK(r.out.find("rolled back") != std::string::npos);
    CHECK(r.err.empty());
  }
}

TEST_CASE("--quiet: a PROMOTE or a HOLD applied by cron prints nothing at all") {
  Fleet f;
  f.start("default");
  f.outcomes("canary", 3, 3);
  f.outcomes("stable", 3, 3);
  auto r = f.cli({"canary", "evaluate", "--all", "--apply", "--quiet"});
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(r.err.empty());
  CHECK(f.cli.json({"canary", "status"})["step"] == 1);
}

TEST_CASE("--quiet: canary rollback says so on stderr, with the reason or the actor") {
  Fleet f;
  f.start("default");
  SUBCASE("with --reason") {
    auto r = f.cli({"canary", "rollback", "--reason", "pager: wrong refunds", "-q"});
    CHECK(r.code == 0);
    CHECK(r.out.empty());
    CHECK(r.err == "kanari: track 'default' rolled back: pager: wrong refunds\n");
  }
  SUBCASE("without") {
    auto r = f.cli({"canary", "rollback", "-q"});
    CHECK(r.code == 0);
    CHECK(r.err == "kanari: track 'default' rolled back: by tester\n");
  }
}

// ---- canary wait ----

TEST_CASE("canary wait: a rollout that has ended answers at once") {
  Fleet f;
  const auto id = f.start("default");
  SUBCASE("promoted: exit 0") {
    f.cli.ok({"canary", "promote", "--full"});
    auto r = f.cli({"canary", "wait", "--json"});
    CHECK(r.code == 0);
    CHECK(f.cli.sleeps.empty());
    auto j = r.json();
    CHECK(j["result"] == "promoted");
    CHECK(j["rollout"] == id);
    CHECK(j["state"] == "promoted");
    CHECK(j["canary"] == f.cli.json({"canary", "status"})["stable"]);
    CHECK(j["actor"] == "tester");
    CHECK(j["waited_seconds"] == 0);
    CHECK(j["ended_at"] == "2027-01-15T08:00:00.000Z");
    auto human = f.cli({"canary", "wait"});
    CHECK(human.code == 0);
    CHECK(human.out == "Rollout " + std::to_string(id) + " promoted: " + j["canary"].get<std::string>().substr(0, 12) +
                           " is now the stable of track 'default'\n");
  }
  SUBCASE("rolled back: exit 1") {
    f.cli.ok({"canary", "rollback", "--reason", "bad"});
    auto r = f.cli({"canary", "wait", "--json"});
    CHECK(r.code == 1);
    CHECK(f.cli.sleeps.empty());
    CHECK(r.json()["result"] == "rolled_back");
    CHECK(r.json()["reason"] == "bad");
    auto q = f.cli({"canary", "wait", "--quiet"});
    CHECK(q.code == 1);
    CHECK(q.out.empty());
    CHECK(q.err == "kanari: track 'default' rolled back: bad\n");
  }
  SUBCASE("--rollout names an earlier one: the latest open one is not waited for") {
    f.cli.ok({"canary", "rollback"});
    f.cli.ok({"canary", "start", "--version", f.b, "--percentage", "10"});
    auto r = f.cli({"canary", "wait", "--rollout", std::to_string(id), "--json"});
    CHECK(r.code == 1);
    CHECK(r.json()["rollout"] == id);
  }
}

TEST_CASE("canary wait: the default is the open rollout, else the latest") {
  Fleet f;
  const auto first = f.start("default");
  f.cli.ok({"canary", "rollback"});
  auto r = f.cli({"canary", "wait", "--json"});
  CHECK(r.code == 1);
  CHECK(r.json()["rollout"] == first);
  const auto second =
      f.cli.json({"canary", "start", "--version", f.b, "--percentage", "10"})["rollout"].get<std::int64_t>();
  f.cli.on_sleep = [&](TimeMs) { f.cli.ok({"canary", "promote"}); };
  auto w = f.cli({"canary", "wait", "--json"});
  CHECK(w.code == 0);
  CHECK(w.json()["rollout"] == second);
}

TEST_CASE("canary wait: times out with exit 6, polling every interval until the deadline") {
  Fleet f;
  f.start("default", "5,25,50,100");
  auto r = f.cli({"canary", "wait", "--timeout", "100", "--interval", "30", "--json"});
  CHECK(r.code == 6);
  CHECK(f.cli.sleeps == std::vector<TimeMs>{30'000, 30'000, 30'000, 10'000});
  CHECK(f.cli.clock.now_ms() == 1'800'000'000'000 + 100'000);
  auto j = r.json();
  CHECK(j["result"] == "timed_out");
  CHECK(j["state"] == "active");
  CHECK(j["ended_at"].is_null());
  CHECK(j["reason"].is_null());
  CHECK(j["waited_seconds"] == 100);
  CHECK(j["steps"] == json::array({"5", "25", "50", "100"}));
  CHECK(r.err.find("kanari: error: rollout 1 on track 'default' has not ended after 100 s (active, step 1/4 at 5 %)") ==
        0);
  SUBCASE("the default timeout is an hour, the default interval 30 s") {
    f.cli.sleeps.clear();
    CHECK(f.cli({"canary", "wait", "-q"}).code == 6);
    CHECK(f.cli.sleeps.size() == 120);
    CHECK(f.cli.sleeps.front() == 30'000);
  }
  SUBCASE("fractions of a second") {
    f.cli.sleeps.clear();
    CHECK(f.cli({"canary", "wait", "--timeout", "1", "--interval", "0.25"}).code == 6);
    CHECK(f.cli.sleeps == std::vector<TimeMs>{250, 250, 250, 250});
  }
}

TEST_CASE("canary wait: a staged rollout is done only when its last step is promoted") {
  Fleet f;
  const auto id = f.start("default", "5,25,50,100");
  int polls = 0;
  // Another process (a person, cron) moves the rollout while wait sleeps.
  f.cli.on_sleep = [&](TimeMs) {
    switch (++polls) {
    case 2: f.cli.ok({"canary", "pause"}); break;
    case 3: f.cli.ok({"canary", "resume"}); break;
    default: f.cli.ok({"canary", "promote"}); break; // 1: step 2; 4: step 3; 5: step 4; 6: promoted
    }
  };
  auto r = f.cli({"canary", "wait", "--interval", "60"});
  CHECK(r.code == 0);
  INFO(r.out);
  const std::string n = std::to_string(id);
  auto l = lines(r.out);
  REQUIRE(l.size() == 7);
  CHECK(l[0].rfind("Waiting for rollout " + n + " on track 'default' (canary ", 0) == 0);
  CHECK(l[0].find("): active, step 1/4 at 5 %; timeout 3600 s") != std::string::npos);
  CHECK(l[1] == "Rollout " + n + ": active, step 2/4 at 25 %");
  CHECK(l[2] == "Rollout " + n + ": paused, step 2/4 at 25 %");
  CHECK(l[3] == "Rollout " + n + ": active, step 2/4 at 25 %");
  CHECK(l[4] == "Rollout " + n + ": active, step 3/4 at 50 %");
  CHECK(l[5] == "Rollout " + n + ": active, step 4/4 at 100 %");
  CHECK(l[6].find("promoted") != std::string::npos);
}

TEST_CASE("canary wait: a staged rollout rolled back after a step advanced exits 1") {
  Fleet f;
  f.start("default", "5,25,50,100");
  int polls = 0;
  f.cli.on_sleep = [&](TimeMs) {
    if (++polls == 1)
      f.cli.ok({"canary", "promote"});
    else {
      f.cli.actor = "cron";
      f.cli.ok({"canary", "rollback", "--reason", "cron saw it fail"});
      f.cli.actor = "tester";
    }
  };
  auto r = f.cli({"canary", "wait", "--json"});
  CHECK(r.code == 1);
  auto j = r.json();
  CHECK(j["result"] == "rolled_back");
  CHECK(j["step"] == 1);
  CHECK(j["actor"] == "cron");
  CHECK(j["reason"] == "cron saw it fail");
  CHECK(j["waited_seconds"] == 60);
}

TEST_CASE("canary wait --apply: evaluates every interval and acts on the verdict") {
  Fleet f;
  f.start("default", "5,25,100");
  SUBCASE("promotes through every step") {
    f.outcomes("canary", 3, 3);
    f.outcomes("stable", 3, 3);
    // The agents keep recording: each new step gets its canary outcomes.
    f.cli.on_sleep = [&](TimeMs) { f.outcomes("canary", 3, 3); };
    f.cli.actor = "ci";
    auto r = f.cli({"canary", "wait", "--apply", "--interval", "10", "--json"});
    CHECK(r.code == 0);
    auto j = r.json();
    CHECK(j["result"] == "promoted");
    CHECK(j["evaluations"] == 3);
    CHECK(j["actor"] == "ci");
    CHECK(f.cli.sleeps.size() == 2);
  }
  SUBCASE("rolls back, with --quiet one line on stderr and nothing on stdout") {
    f.outcomes("canary", 0, 3);
    f.outcomes("stable", 3, 3);
    auto r = f.cli({"canary", "wait", "--apply", "--quiet"});
    CHECK(r.code == 1);
    CHECK(r.out.empty());
    REQUIRE(lines(r.err).size() == 1);
    CHECK(r.err.rfind("kanari: track 'default' rolled back: gate ROLLBACK: ", 0) == 0);
    CHECK(f.cli.sleeps.empty());
  }
  SUBCASE("without --apply nothing is evaluated") {
    f.outcomes("canary", 0, 3);
    f.outcomes("stable", 3, 3);
    auto r = f.cli({"canary", "wait", "--timeout", "60", "--json"});
    CHECK(r.code == 6);
    CHECK(r.json()["evaluations"] == 0);
    CHECK(f.cli.json({"canary", "status"})["state"] == "active");
  }
}

TEST_CASE("canary wait: bad flags exit 2, a missing rollout 4, before any waiting") {
  Fleet f;
  SUBCASE("a track without a rollout") {
    auto r = f.cli({"canary", "wait"});
    CHECK(r.code == 4);
    CHECK(r.err == "kanari: error: track 'default' has no rollout to wait for; start one with `kanari canary "
                   "start`\n");
  }
  f.start("default");
  for (const auto& bad : std::vector<std::pair<std::string, std::string>>{{"--timeout", "0"},
                                                                          {"--timeout", "-5"},
                                                                          {"--timeout", "abc"},
                                                                          {"--timeout", "2592001"},
                                                                          {"--interval", "0"},
                                                                          {"--interval", "0.0001"},
                                                                          {"--rollout", "0"},
                                                                          {"--rollout", "x"}}) {
    const std::string& flag = bad.first; // clang lets no structured binding into CAPTURE's lambda
    const std::string& value = bad.second;
    CAPTURE(flag);
    CAPTURE(value);
    auto r = f.cli({"canary", "wait", flag, value});
    CHECK(r.code == 2);
    CHECK(lines(r.err).size() == 1);
    CHECK(r.err.find(flag) != std::string::npos);
  }
  CHECK(f.cli.sleeps.empty());
  SUBCASE("an unknown rollout") {
    auto r = f.cli({"canary", "wait", "--rollout", "99"});
    CHECK(r.code == 4);
    CHECK(r.err.rfind("kanari: error: no rollout 99", 0) == 0);
  }
  SUBCASE("a rollout of another track than --track") {
    const auto other = f.start("other");
    CHECK(f.cli({"--track", "default", "canary", "wait", "--rollout", std::to_string(other)}).code == 2);
    f.cli.ok({"--track", "other", "canary", "rollback"});
    CHECK(f.cli({"canary", "wait", "--rollout", std::to_string(other)}).code == 1); // no --track: its own
  }
}

// ---- track list ----

TEST_CASE("track list: every track with its stable, state, rollout, canary and percentage") {
  Fleet f;
  SUBCASE("an empty store") {
    Cli empty;
    empty.ok({"init"});
    CHECK(empty.json({"track", "list"}) == json::array());
    CHECK(empty.ok({"track", "list"}).out == "No tracks yet: `kanari version add` creates one.\n");
  }
  const auto id = f.start("beta", "5,25,100");
  f.cli.ok({"--track", "beta", "canary", "pause"});
  auto j = f.cli.json({"track", "list"});
  REQUIRE(j.size() == 2);
  CHECK(j[0] == json{{"track", "beta"},
                     {"stable", f.cli.json({"--track", "beta", "canary", "status"})["stable"]},
                     {"state", "paused"},
                     {"rollout", id},
                     {"canary", f.cli.json({"--track", "beta", "canary", "status"})["canary"]},
                     {"percentage", 5}});
  CHECK(j[1] == json{{"track", "default"},
                     {"stable", f.a},
                     {"state", "idle"},
                     {"rollout", nullptr},
                     {"canary", nullptr},
                     {"percentage", nullptr}});
  auto h = lines(f.cli.ok({"track", "list"}).out);
  REQUIRE(h.size() == 3);
  CHECK(h[0].rfind("TRACK", 0) == 0);
  CHECK(h[1].find("paused") != std::string::npos);
  CHECK(h[1].find("step 1/3 at 5 %") != std::string::npos);
  CHECK(h[2].find("idle") != std::string::npos);
}

// ---- --all ----

TEST_CASE("canary status --all: every track's status object, in name order") {
  Fleet f;
  f.start("beta");
  auto j = f.cli.json({"canary", "status", "--all"});
  REQUIRE(j.size() == 2);
  CHECK(j[0] == f.cli.json({"--track", "beta", "canary", "status"}));
  CHECK(j[1] == f.cli.json({"canary", "status"}));
  auto h = f.cli.ok({"canary", "status", "--all"}).out;
  CHECK(h.find("track    beta") < h.find("track    default"));
  CHECK(f.cli({"--track", "beta", "canary", "status", "--all"}).code == 2);
}

TEST_CASE("canary rollback --all: the kill switch rolls back every open rollout, each with its event") {
  Fleet f;
  f.start("alpha");
  f.start("beta");
  f.cli.ok({"--track", "beta", "canary", "pause"});
  // default stays idle
  const auto before = f.cli.json({"history", "--all"}).size();
  f.cli.actor = "oncall";
  auto r = f.cli({"canary", "rollback", "--all", "--reason", "pager", "--json"});
  CHECK(r.code == 0);
  auto j = r.json();
  REQUIRE(j.size() == 2);
  CHECK(j[0]["track"] == "alpha");
  CHECK(j[0]["state"] == "idle");
  CHECK(j[1]["track"] == "beta");
  auto events = f.cli.json({"history", "--all"});
  CHECK(events.size() == before + 2);
  for (int i : {0, 1}) {
    CHECK(events[i]["action"] == "rolled_back");
    CHECK(events[i]["actor"] == "oncall");
    CHECK(events[i]["reason"] == "pager");
  }
  CHECK(events[0]["track"] == "beta");
  CHECK(events[1]["track"] == "alpha");
  for (const auto& t : f.cli.json({"track", "list"}))
    CHECK(t["state"] == "idle");
  SUBCASE("nothing left to do: exit 0") {
    auto again = f.cli({"canary", "rollback", "--all"});
    CHECK(again.code == 0);
    CHECK(again.out == "No track has an open rollout.\n");
  }
}

TEST_CASE("canary rollback --all: human lines, and --quiet's one line per track") {
  Fleet f;
  const auto a = f.start("alpha");
  const auto b = f.start("beta");
  SUBCASE("human") {
    auto r = f.cli({"canary", "rollback", "--all"});
    CHECK(r.code == 0);
    auto l = lines(r.out);
    REQUIRE(l.size() == 2);
    CHECK(l[0].rfind("alpha: rolled back rollout " + std::to_string(a) + " (canary ", 0) == 0);
    CHECK(l[1].rfind("beta: rolled back rollout " + std::to_string(b) + " (canary ", 0) == 0);
  }
  SUBCASE("quiet") {
    auto r = f.cli({"canary", "rollback", "--all", "-q", "--reason", "kill"});
    CHECK(r.out.empty());
    CHECK(r.err == "kanari: track 'alpha' rolled back: kill\nkanari: track 'beta' rolled back: kill\n");
  }
  SUBCASE("--track and --from-step are refused with --all") {
    CHECK(f.cli({"--track", "alpha", "canary", "rollback", "--all"}).code == 2);
    CHECK(f.cli({"canary", "rollback", "--all", "--from-step", "0"}).code == 2);
    CHECK(f.cli.json({"track", "list"})[0]["state"] == "active");
  }
}

// A track whose transition fails (here the database refuses it) does not
// stop the kill switch: the others are rolled back, the failure is named,
// and the exit code is 3.
TEST_CASE("canary rollback --all goes on past a track that fails" * doctest::test_suite("sqlite")) {
  Fleet f;
  f.start("alpha");
  f.start("beta");
  f.start("gamma");
  sqlite_value(f.cli.state() + "/kanari.db", "CREATE TRIGGER refuse_beta BEFORE UPDATE ON rollouts WHEN "
                                             "NEW.track = 'beta' BEGIN SELECT RAISE(ABORT, 'refused'); END");
  SUBCASE("json") {
    auto r = f.cli({"canary", "rollback", "--all", "--json"});
    CHECK(r.code == 3);
    auto j = r.json();
    REQUIRE(j.size() == 3);
    CHECK(j[0]["track"] == "alpha");
    CHECK(j[0]["state"] == "idle");
    CHECK(j[1]["track"] == "beta");
    CHECK(j[1]["exit_code"] == 3);
    CHECK(j[1]["error"].get<std::string>().find("refused") != std::string::npos);
    CHECK(j[2]["track"] == "gamma");
    CHECK(j[2]["state"] == "idle");
    CHECK(r.err.rfind("kanari: error: track 'beta': ", 0) == 0);
  }
  SUBCASE("human") {
    auto r = f.cli({"canary", "rollback", "--all"});
    CHECK(r.code == 3);
    auto l = lines(r.out);
    REQUIRE(l.size() == 3);
    CHECK(l[1] == "beta: ERROR (nothing changed)");
  }
  auto tracks = f.cli.json({"track", "list"});
  CHECK(tracks[0]["state"] == "idle");
  CHECK(tracks[1]["state"] == "active");
  CHECK(tracks[3]["state"] == "idle");
}

TEST_CASE("canary pause --all and resume --all act on the rollouts in the other state only") {
  Fleet f;
  f.start("alpha");
  f.start("beta");
  f.cli.ok({"--track", "beta", "canary", "pause"});
  auto p = f.cli({"canary", "pause", "--all", "--json"});
  CHECK(p.code == 0);
  REQUIRE(p.json().size() == 1);
  CHECK(p.json()[0]["track"] == "alpha");
  CHECK(p.json()[0]["state"] == "paused");
  CHECK(f.cli({"canary", "pause", "--all"}).out == "No track has an active rollout.\n");
  auto r = f.cli({"canary", "resume", "--all", "--json"});
  CHECK(r.code == 0);
  REQUIRE(r.json().size() == 2);
  for (const auto& t : f.cli.json({"track", "list"}))
    if (t["track"] != "default")
      CHECK(t["state"] == "active");
  CHECK(f.cli({"canary", "resume", "--all"}).out == "No track has a paused rollout.\n");
}

TEST_CASE("history --all: every track's events merged, newest first, --limit across them") {
  Fleet f;
  f.start("alpha");
  f.start("beta");
  f.cli.ok({"--track", "alpha", "canary", "pause"});
  auto all = f.cli.json({"history", "--all"});
  REQUIRE(all.size() >= 6);
  for (size_t i = 1; i < all.size(); ++i)
    CHECK(all[i - 1]["seq"].get<std::int64_t>() > all[i]["seq"].get<std::int64_t>());
  std::set<std::string> tracks;
  for (const auto& e : all)
    tracks.insert(e["track"].get<std::string>());
  CHECK(tracks == std::set<std::string>{"alpha", "beta", "default"});
  CHECK(all.size() == f.cli.json({"history"}).size() + f.cli.json({"--track", "alpha", "history"}).size() +
                          f.cli.json({"--track", "beta", "history"}).size());
  auto three = f.cli.json({"history", "--all", "--limit", "3"});
  REQUIRE(three.size() == 3);
  CHECK(three[0] == all[0]);
  CHECK(three[2] == all[2]);
  CHECK(three[0]["action"] == "paused");
  auto h = lines(f.cli.ok({"history", "--all", "--limit", "2"}).out);
  REQUIRE(h.size() == 3);
  CHECK(h[0].find("TRACK") != std::string::npos);
  CHECK(h[1].find("alpha") != std::string::npos);
}

// ---- metrics ----

TEST_CASE("metrics: transitions per track and action, their last times, and the last verdict") {
  Fleet f;
  f.start("default", "10,50,100");
  f.outcomes("canary", 3, 3);
  f.outcomes("stable", 3, 3);
  f.cli.clock.advance_ms(60'000);
  f.cli.ok({"canary", "evaluate", "--apply"}); // PROMOTE: step_advanced
  const std::string text = f.cli.ok({"metrics"}).out;
  CHECK(text.find("# TYPE kanari_transitions_total counter\n") != std::string::npos);
  CHECK(text.find("kanari_transitions_total{track=\"default\",action=\"started\"} 1\n") != std::string::npos);
  CHECK(text.find("kanari_transitions_total{track=\"default\",action=\"step_advanced\"} 1\n") != std::string::npos);
  CHECK(text.find("kanari_transitions_total{track=\"default\",action=\"stable_set\"} 1\n") != std::string::npos);
  CHECK(text.find("kanari_transitions_total{track=\"default\",action=\"rolled_back\"} 0\n") != std::string::npos);
  CHECK(
      text.find("kanari_last_transition_timestamp_seconds{track=\"default\",action=\"step_advanced\"} 1800000060\n") !=
      std::string::npos);
  CHECK(text.find("kanari_last_transition_timestamp_seconds{track=\"default\",action=\"started\"} 1800000000\n") !=
        std::string::npos);
  CHECK(text.find("kanari_last_transition_timestamp_seconds{track=\"default\",action=\"rolled_back\"}") ==
        std::string::npos);
  CHECK(text.find("kanari_last_verdict{track=\"default\",verdict=\"PROMOTE\"} 1\n") != std::string::npos);
  CHECK(text.find("kanari_last_verdict{track=\"default\",verdict=\"ROLLBACK\"} 0\n") != std::string::npos);
  CHECK(text.find("kanari_last_verdict{track=\"default\",verdict=\"HOLD\"} 0\n") != std::string::npos);

  // A rollback by the gate: the last verdict turns.
  f.outcomes("canary", 0, 3);
  f.cli.clock.advance_ms(60'000);
  CHECK(f.cli({"canary", "evaluate", "--apply"}).code == 1);
  const std::string after = f.cli.ok({"metrics"}).out;
  CHECK(after.find("kanari_transitions_total{track=\"default\",action=\"rolled_back\"} 1\n") != std::string::npos);
  CHECK(after.find("kanari_last_verdict{track=\"default\",verdict=\"PROMOTE\"} 0\n") != std::string::npos);
  CHECK(after.find("kanari_last_verdict{track=\"default\",verdict=\"ROLLBACK\"} 1\n") != std::string::npos);

  // A transition by hand carries no verdict: the last one stays.
  f.cli.ok({"canary", "start", "--version", f.b, "--percentage", "10"});
  f.cli.ok({"canary", "rollback"});
  const std::string manual = f.cli.ok({"metrics"}).out;
  CHECK(manual.find("kanari_transitions_total{track=\"default\",action=\"rolled_back\"} 2\n") != std::string::npos);
  CHECK(manual.find("kanari_last_verdict{track=\"default\",verdict=\"ROLLBACK\"} 1\n") != std::string::npos);
}

TEST_CASE("metrics: no last verdict for a track the gate never acted on") {
  Fleet f;
  const std::string text = f.cli.ok({"metrics"}).out;
  CHECK(text.find("kanari_last_verdict") == std::string::npos);
  CHECK(text.find("kanari_transitions_total{track=\"default\",action=\"stable_set\"} 1\n") != std::string::npos);
}

// ---- the default actor ----

TEST_CASE("the default actor: $USER, else the login name of the uid, else uid:N") {
  Fleet f;
  f.start("default");
  f.cli.actor = ""; // no --actor
  SUBCASE("$USER") {
    f.cli.env["USER"] = "alice";
    f.cli.ok({"canary", "pause"});
    CHECK(f.cli.json({"history", "--limit", "1"})[0]["actor"] == "alice");
  }
  SUBCASE("no $USER: the password database's name of the process's uid") {
    std::string expected = "uid:" + std::to_string(::getuid());
    if (const passwd* pw = ::getpwuid(::getuid()))
      expected = pw->pw_name;
    f.cli.env["USER"] = ""; // set but empty counts as unset
    f.cli.ok({"canary", "pause"});
    CHECK(f.cli.json({"history", "--limit", "1"})[0]["actor"] == expected);
    CHECK(expected != "unknown");
  }
  SUBCASE("a uid without an entry") {
    const unsigned long nobody_has = 3'999'999'001;
    REQUIRE(::getpwuid(static_cast<uid_t>(nobody_has)) == nullptr);
    CHECK(cli::default_actor([](const std::string&) { return std::nullopt; }, nobody_has) == "uid:3999999001");
    CHECK(cli::default_actor([](const std::string&) { return std::optional<std::string>("bob"); }, nobody_has) ==
          "bob");
  }
}
