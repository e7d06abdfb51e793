// Nothing lost, windows by the time a task ran: late outcomes of an ended
// arm, backdated and future-dated outcomes, transition times that never go
// back, and `evaluate --all --apply` going on past a failing track.
#include "store/sqlite_shell.hpp"
#include "support.hpp"
#include "util/time.hpp"

#include <doctest/doctest.h>

using namespace kanari::test;
using nlohmann::json;

namespace {

// a is stable, b the canary of an open 50 % rollout started at the fake
// clock's time (2027-01-15T08:00:00Z).
struct Rollout {
  TwoVersions tv;
  Cli& cli = tv.cli;

  explicit Rollout(std::vector<std::string> extra = {}) {
    std::vector<std::string> start{"canary", "start", "--version", tv.b, "--percentage", "50"};
    start.insert(start.end(), extra.begin(), extra.end());
    cli.ok(start);
  }

  json record(std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin(), "record");
    return cli.json(args, in);
  }

  // A routed key for each arm.
  std::string key_for(const std::string& arm) {
    for (int i = 0; i < 500; ++i) {
      auto key = "user-" + std::to_string(i);
      if (cli.json({"route", "--key", key})["arm"] == arm)
        return key;
    }
    FAIL("no key routes to " << arm);
    return {};
  }

  std::int64_t status_n(const char* arm) { return cli.json({"canary", "status"})[arm]["n"].get<std::int64_t>(); }
};

json summary(std::int64_t inserted, std::int64_t late = 0, std::int64_t backdated = 0) {
  return {{"inserted", inserted}, {"duplicates", 0}, {"conflicts", 0},
          {"invalid", 0},         {"late", late},    {"backdated", backdated}};
}

std::string iso(kanari::TimeMs t) { return kanari::format_rfc3339(t); }

} // namespace

TEST_CASE("late outcomes: a task routed to the canary before a rollback is stored after it") {
  Rollout w;
  const auto key = w.key_for("canary");
  w.cli.ok({"route", "--key", key, "--task", "t-routed"});
  w.cli.ok({"canary", "rollback"});
  // By the routed assignment, and by version id, alone and in a batch.
  CHECK(w.record({"--task", "t-routed", "--fail"}) == summary(1, 1));
  CHECK(w.record({"--task", "t-by-id", "--fail", "--version", w.tv.b}) == summary(1, 1));
  const std::string lines = "{\"task\": \"j1\", \"pass\": false, \"version\": \"" + w.tv.b + "\"}\n" +
                            "{\"task\": \"j2\", \"pass\": true, \"version\": \"stable\"}\n";
  CHECK(w.record({"--jsonl", "-"}, lines) == summary(2, 1));
  // A retry is a duplicate, as for any other outcome.
  auto again = w.cli.json({"record", "--jsonl", "-"}, lines);
  CHECK(again["duplicates"] == 2);
  CHECK(again["inserted"] == 0);

  // The rollout's report shows them, apart from its windows.
  auto rep = w.cli.json({"report"});
  CHECK(rep["late"]["canary"]["n"] == 3);
  CHECK(rep["late"]["canary"]["pass"] == 0);
  CHECK(rep["arms"]["canary"]["n"] == 0);

  // A new rollout of the same version does not count the old one's late outcomes.
  w.cli.ok({"canary", "start", "--version", w.tv.b, "--percentage", "10"});
  CHECK(w.status_n("canary_stats") == 0);
  CHECK(w.record({"--task", "t-new", "--pass", "--version", "canary"}) == summary(1));
  CHECK(w.status_n("canary_stats") == 1);
}

TEST_CASE("late outcomes: the old stable's in-flight tasks after a promotion") {
  Rollout w;
  for (int i = 0; i < 10; ++i) {
    w.record({"--task", "c" + std::to_string(i), "--pass", "--version", "canary"});
    w.record({"--task", "s" + std::to_string(i), "--pass", "--version", "stable"});
  }
  w.cli.ok({"canary", "promote", "--full"});
  CHECK(w.cli.json({"canary", "status"})["stable"] == w.tv.b);
  CHECK(w.record({"--task", "old-stable-task", "--pass", "--version", w.tv.a}) == summary(1, 1));
  auto rep = w.cli.json({"report"});
  CHECK(rep["late"]["stable"]["n"] == 1);
  CHECK(rep["arms"]["stable"]["n"] == 10);
}

TEST_CASE("late outcomes are no top-up for a later rollout's baseline") {
  Rollout w;
  w.cli.ok({"canary", "rollback"});
  for (int i = 0; i < 3; ++i)
    CHECK(w.record({"--task", "late" + std::to_string(i), "--fail", "--version", w.tv.b}) == summary(1, 1));
  // b is rolled out again and promoted with one outcome of its own.
  w.cli.ok({"canary", "start", "--version", w.tv.b, "--percentage", "10"});
  CHECK(w.record({"--task", "b-ok", "--pass", "--version", "canary"}) == summary(1));
  w.cli.ok({"canary", "promote", "--full"});
  // Against c, b is the stable: its baseline is topped up from b's earlier
  // outcomes, which are the one counted outcome, not the three late ones.
  const auto c = w.tv.add("c.txt", "You are agent C.\n");
  w.cli.ok({"canary", "start", "--version", c, "--percentage", "10"});
  auto st = w.cli.json({"canary", "status"})["stable_stats"];
  CHECK(st["n"] == 1);
  CHECK(st["pass"] == 1);
}

TEST_CASE("late outcomes: a version never compared on the track is still refused") {
  Rollout w;
  const auto c = w.tv.add("c.txt", "You are agent C.\n");
  const auto before = store_snapshot(w.cli.state());
  auto r = w.cli({"record", "--task", "t", "--pass", "--version", c});
  CHECK(r.code == 2);
  CHECK(r.err.find("never was") != std::string::npos);
  CHECK(store_snapshot(w.cli.state()) == before);
}

TEST_CASE("backdated outcomes are stored but count in no window") {
  Rollout w;
  const kanari::TimeMs start = w.cli.clock.now_ms();
  CHECK(w.record({"--task", "old", "--fail", "--version", "canary", "--at", "2020-01-01T00:00:00Z"}) ==
        summary(1, 0, 1));
  CHECK(w.record({"--task", "olds", "--fail", "--version", "stable", "--at", iso(start - 1)}) == summary(1, 0, 1));
  CHECK(w.record({"--task", "edge", "--pass", "--version", "canary", "--at", iso(start)}) == summary(1));
  CHECK(w.status_n("canary_stats") == 1);
  CHECK(w.status_n("stable_stats") == 0);
  // The stored outcome is still a task's one outcome: a retry is a duplicate.
  auto again = w.cli.json({"record", "--task", "old", "--fail", "--version", "canary", "--at", "2020-01-01T00:00:00Z"});
  CHECK(again["duplicates"] == 1);
}

TEST_CASE("backdated outcomes: the canary's window is the current step") {
  TwoVersions tv;
  tv.cli.ok({"canary", "start", "--version", tv.b, "--steps", "10,50,100"});
  const kanari::TimeMs start = tv.cli.clock.now_ms();
  tv.cli.clock.advance_ms(60'000);
  tv.cli.ok({"canary", "promote"});
  const kanari::TimeMs step1 = tv.cli.clock.now_ms();
  auto rec = [&](const std::string& task, const std::string& version, kanari::TimeMs at) {
    return tv.cli.json({"record", "--task", task, "--pass", "--version", version, "--at", iso(at)});
  };
  CHECK(rec("c-in-step0", "canary", start + 1000) == summary(1, 0, 1));
  CHECK(rec("c-in-step1", "canary", step1) == summary(1));
  CHECK(rec("s-since-start", "stable", start + 1000) == summary(1));
  auto st = tv.cli.json({"canary", "status"});
  CHECK(st["canary_stats"]["n"] == 1);
  CHECK(st["stable_stats"]["n"] == 1);
  // The report's time axis covers the rollout, not the backdated outcome.
  tv.cli.ok({"record", "--task", "ancient", "--pass", "--version", "canary", "--at", "2020-01-01T00:00:00Z"});
  auto rep = tv.cli.json({"report"});
  CHECK(rep["from"].get<std::string>() >= iso(start).substr(0, 10));
  CHECK(rep["backdated"]["canary"]["n"] == 2);
}

TEST_CASE("an outcome dated more than 10 minutes ahead of the clock is refused") {
  Rollout w;
  const kanari::TimeMs now = w.cli.clock.now_ms();
  CHECK(w.record({"--task", "soon", "--pass", "--version", "canary", "--at", iso(now + 10 * 60'000)}) == summary(1));
  const auto before = store_snapshot(w.cli.state());
  for (const auto& at : {iso(now + 10 * 60'000 + 1), std::string("9999-12-31T23:59:59Z")}) {
    CAPTURE(at);
    auto r = w.cli({"record", "--task", "future", "--pass", "--version", "canary", "--at", at});
    CHECK(r.code == 2);
    CHECK(r.err.find("10 minutes") != std::string::npos);
    CHECK(r.out.empty());
    r = w.cli({"record", "--jsonl", "-"}, "{\"task\": \"ok\", \"pass\": true, \"version\": \"canary\"}\n"
                                          "{\"task\": \"future\", \"pass\": true, \"version\": \"canary\", \"at\": \"" +
                                              at + "\"}\n");
    CHECK(r.code == 2);
    CHECK(r.err.find("line 2") != std::string::npos);
  }
  CHECK(store_snapshot(w.cli.state()) == before);
}

TEST_CASE("a host with a slow clock never stores a transition before the track's last event") {
  TwoVersions tv;
  tv.cli.ok({"canary", "start", "--version", tv.b, "--steps", "10,50,100", "--policy",
             tv.cli.dir().file("p.json", R"({"min_samples": 50, "max_step_seconds": 3600, "on_timeout": "promote"})")});
  const kanari::TimeMs started = tv.cli.clock.now_ms();
  // The promoting host's clock is two hours slow.
  tv.cli.clock.set(started - 2 * 3600 * 1000);
  tv.cli.ok({"canary", "promote"});
  auto events = tv.cli.json({"history"});
  REQUIRE(events.size() >= 2);
  CHECK(events[0]["action"] == "step_advanced");
  CHECK(events[0]["at"] == iso(started));
  // Back on a correct clock a minute later: the step began at the rollout's
  // start, not two hours before it, so max_step_seconds has not passed.
  // An outcome the slow host records without a time was recorded in the
  // step it names, whatever that host's clock says: it counts.
  CHECK(tv.cli.json({"record", "--task", "on-slow-host", "--pass", "--version", "canary"}) == summary(1));
  CHECK(tv.cli.json({"canary", "status"})["canary_stats"]["n"] == 1);
  tv.cli.clock.set(started + 60'000);
  auto ev = tv.cli({"canary", "evaluate", "--apply", "--json"});
  CHECK(ev.code == 0);
  CHECK(ev.json()["verdict"] == "INSUFFICIENT_DATA");
  CHECK(ev.json()["applied"] == false);
  CHECK(tv.cli.json({"canary", "status"})["step"] == 1);
}

TEST_CASE("evaluate --all --apply: every track is evaluated, a failing one does not hide what was applied") {
  TwoVersions tv;
  // Track a is due to promote; track b's stored policy cannot be read.
  for (const char* track : {"ta", "tb"}) {
    const auto s = tv.add("s.txt", std::string("stable of ") + track + "\n", track);
    (void)s;
    const auto c = tv.add("c.txt", std::string("canary of ") + track + "\n", track);
    tv.cli.ok({"--track", track, "canary", "start", "--version", c, "--steps", "10,100", "--min-samples", "1"});
    tv.cli.ok({"--track", track, "record", "--task", "c", "--pass", "--version", "canary"});
    tv.cli.ok({"--track", track, "record", "--task", "s", "--pass", "--version", "stable"});
  }
  sqlite_value(tv.cli.state() + "/kanari.db",
               "UPDATE rollouts SET policy = '{\"min_samples\": \"ten\"}' WHERE track = 'tb'");

  auto r = tv.cli({"canary", "evaluate", "--all", "--apply"});
  INFO(r.out << r.err);
  CHECK(r.code == 3);
  CHECK(r.out.find("ta: PROMOTE (applied: advanced to step 2") != std::string::npos);
  CHECK(r.out.find("tb: ERROR") != std::string::npos);
  CHECK(r.err.find("track 'tb'") != std::string::npos);
  CHECK(tv.cli.json({"--track", "ta", "canary", "status"})["step"] == 1);

  // --json: one entry per track, the failed one with an error.
  tv.cli.ok({"--track", "ta", "record", "--task", "c2", "--pass", "--version", "canary"});
  r = tv.cli({"canary", "evaluate", "--all", "--apply", "--json"});
  CHECK(r.code == 3);
  auto all = r.json();
  REQUIRE(all.size() == 2);
  CHECK(all[0]["track"] == "ta");
  CHECK(all[0]["action"] == "promoted");
  CHECK(all[1]["track"] == "tb");
  CHECK(all[1]["error"].get<std::string>().find("policy") != std::string::npos);
  CHECK(all[1]["applied"] == false);
  // --quiet still names the failure on stderr.
  r = tv.cli({"canary", "evaluate", "--all", "--apply", "--quiet"});
  CHECK(r.code == 3);
  CHECK(r.out.empty());
  CHECK(r.err.find("track 'tb'") != std::string::npos);
}

TEST_CASE("evaluate --all: the exit code is the worst track's, 1 over 0") {
  TwoVersions tv;
  for (const char* track : {"good", "bad"}) {
    tv.add("s.txt", std::string("stable of ") + track + "\n", track);
    const auto c = tv.add("c.txt", std::string("canary of ") + track + "\n", track);
    tv.cli.ok({"--track", track, "canary", "start", "--version", c, "--percentage", "10", "--min-samples", "2"});
    for (int i = 0; i < 2; ++i) {
      tv.cli.ok({"--track", track, "record", "--task", "s" + std::to_string(i), "--pass", "--version", "stable"});
      tv.cli.ok({"--track", track, "record", "--task", "c" + std::to_string(i),
                 std::string(track) == "bad" ? "--fail" : "--pass", "--version", "canary"});
    }
  }
  auto r = tv.cli({"canary", "evaluate", "--all", "--json"});
  CHECK(r.code == 1);
  CHECK(r.json().size() == 2);
}

TEST_CASE("record --jsonl: a UTF-8 byte order mark at the start is accepted, task ids with NUL are not") {
  Rollout w;
  CHECK(w.record({"--jsonl", "-"}, "\xEF\xBB\xBF{\"task\": \"bom\", \"pass\": true, \"version\": \"canary\"}\n") ==
        summary(1));
  const auto before = store_snapshot(w.cli.state());
  auto r = w.cli({"record", "--jsonl", "-"}, "{\"task\": \"nul\\u0000\", \"pass\": true, \"version\": \"canary\"}\n");
  CHECK(r.code == 2);
  CHECK(r.err.find("NUL") != std::string::npos);
  // A BOM anywhere but the start is still an error.
  r = w.cli(
      {"record", "--jsonl", "-"},
      "{\"task\": \"x\", \"pass\": true, \"version\": \"canary\"}\n\xEF\xBB\xBF{\"task\": \"y\", \"pass\": true}\n");
  CHECK(r.code == 2);
  CHECK(r.err.find("line 2") != std::string::npos);
  CHECK(store_snapshot(w.cli.state()) == before);
}

TEST_CASE("route --keys DIR and record --jsonl DIR are usage errors") {
  Rollout w;
  const auto before = store_snapshot(w.cli.state());
  auto r = w.cli({"route", "--keys", w.cli.dir().str()});
  CHECK(r.code == 2);
  CHECK(r.err.find("is a directory") != std::string::npos);
  CHECK(r.out.empty());
  r = w.cli({"record", "--jsonl", w.cli.dir().str()});
  CHECK(r.code == 2);
  CHECK(r.err.find("is a directory") != std::string::npos);
  CHECK(store_snapshot(w.cli.state()) == before);
}

TEST_CASE(
    "late outcomes: a task routed under a rolled-back rollout belongs to it, not to a restart of the same canary") {
  Rollout w;
  const auto key = w.key_for("canary");
  w.cli.ok({"route", "--key", key, "--task", "t-r1"});
  w.cli.ok({"canary", "rollback"});
  w.cli.ok({"canary", "start", "--version", w.tv.b, "--percentage", "50"});
  CHECK(w.record({"--task", "t-r1", "--fail"}) == summary(1, 1));
  CHECK(w.status_n("canary_stats") == 0);
  auto rep = w.cli.json({"report", "--rollout", "1"});
  CHECK(rep["late"]["canary"]["n"] == 1);
}

TEST_CASE("late outcomes: a shadow rollout's mirrored task keeps both outcomes after the rollout ends") {
  for (const char* end : {"rollback", "promote"}) {
    CAPTURE(end);
    Rollout w({"--shadow"});
    CHECK(w.record({"--task", "t", "--pass", "--version", "canary"}) == summary(1));
    if (std::string(end) == "rollback")
      w.cli.ok({"canary", "rollback"});
    else
      w.cli.ok({"canary", "promote", "--full"});
    // The stable's outcome of the same task comes after the rollout ended:
    // stored (as the stable's, or as a late one of the old stable), not a conflict.
    auto r = w.record({"--task", "t", "--pass", "--version", w.tv.a});
    CHECK(r["inserted"] == 1);
    CHECK(r["conflicts"] == 0);
  }
}

TEST_CASE("evaluate --all: a damaged rollout row on one track does not stop the others") {
  TwoVersions tv;
  for (const char* track : {"ta", "tb"}) {
    tv.add("s.txt", std::string("stable of ") + track + "\n", track);
    const auto c = tv.add("c.txt", std::string("canary of ") + track + "\n", track);
    tv.cli.ok({"--track", track, "canary", "start", "--version", c, "--steps", "10,100", "--min-samples", "1"});
    tv.cli.ok({"--track", track, "record", "--task", "c", "--pass", "--version", "canary"});
    tv.cli.ok({"--track", track, "record", "--task", "s", "--pass", "--version", "stable"});
  }
  // Track ta's step points past its steps.
  sqlite_value(tv.cli.state() + "/kanari.db", "UPDATE rollouts SET step = 7 WHERE track = 'ta'");
  auto r = tv.cli({"canary", "evaluate", "--all", "--apply", "--json"});
  INFO(r.out << r.err);
  CHECK(r.code == 3);
  auto all = r.json();
  REQUIRE(all.size() == 2);
  CHECK(all[0]["track"] == "ta");
  CHECK(all[0].contains("error"));
  CHECK(all[1]["track"] == "tb");
  CHECK(all[1]["action"] == "advanced");
}
