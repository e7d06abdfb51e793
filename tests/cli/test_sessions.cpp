// Sessions pinned for their lifetime (docs/routing.md, "Sessions"):
// conversations of several turns across a percentage change, a promotion,
// a rollback under both policies and a new rollout, with the fake clock
// driving TTLs and drain deadlines; `session show|end|list`; `record
// --session`; what status, metrics and report show; bad input refused with
// nothing written. Runs on both backends.
#include "support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>

using kanari::test::Cli;
using kanari::test::TwoVersions;
using nlohmann::json;

namespace {

constexpr kanari::TimeMs k_second = 1000;

struct Sessions {
  TwoVersions w;
  Cli& cli = w.cli;

  json route(const std::string& session, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"route", "--session", session};
    args.insert(args.end(), extra.begin(), extra.end());
    return cli.json(args);
  }
  // Routes sessions prefix0..prefix{n-1}; returns each one's version.
  std::map<std::string, std::string> route_all(const std::string& prefix, int n) {
    std::map<std::string, std::string> out;
    for (int i = 0; i < n; ++i) {
      const std::string s = prefix + std::to_string(i);
      out[s] = route(s)["version"].get<std::string>();
    }
    return out;
  }
  std::string policy(const std::string& text) { return cli.dir().file("policy.json", text); }
  json status() { return cli.json({"canary", "status"}); }
};

int count_of(const std::map<std::string, std::string>& versions, const std::string& v) {
  int n = 0;
  for (const auto& [s, version] : versions)
    n += version == v;
  return n;
}

} // namespace

TEST_CASE("sessions: a conversation keeps its version across a percentage change and a promotion") {
  Sessions t;
  const std::string a = t.w.a, b = t.w.b;
  t.cli.ok({"canary", "start", "--version", b, "--steps", "10,50,100"});
  const auto first = t.route_all("conv-", 200);
  const int on_canary = count_of(first, b);
  CHECK(on_canary > 5);
  CHECK(on_canary < 40); // about 10 %

  // Turn 2 at 50 %: every conversation keeps its version.
  t.cli.ok({"canary", "promote"});
  for (const auto& [s, version] : first) {
    const json r = t.route(s);
    CHECK(r["version"] == version);
    CHECK(r["pinned"] == false);
    CHECK(r["moved"] == false);
    CHECK(r["requests"] == 2);
    CHECK(r["arm"] == (version == b ? "canary" : "stable"));
  }
  // Keys are not pinned: at 50 % more of the same ids go to the canary.
  int keys_on_canary = 0;
  for (const auto& [s, version] : first)
    keys_on_canary += t.cli.json({"route", "--key", s})["version"] == b;
  CHECK(keys_on_canary > on_canary + 30);
  // New conversations are routed at the new percentage.
  const auto second = t.route_all("new-", 200);
  CHECK(count_of(second, b) > 60);
  CHECK(count_of(second, b) < 140);

  // The step's session requests: its 200 old turns and 200 new ones.
  json st = t.status();
  const json& served = st["sessions"]["requests"];
  CHECK(served["canary"].get<int>() == on_canary + count_of(second, b));
  CHECK(served["stable"].get<int>() == 400 - on_canary - count_of(second, b));
  CHECK(served["previous"] == 0);
  CHECK(st["sessions"]["pinned"]["canary"] == on_canary + count_of(second, b));
  CHECK(st["percentage"] == 50);

  // Promotion: the old stable's conversations keep it until they end.
  t.cli.ok({"canary", "promote", "--full"});
  for (const auto& [s, version] : first) {
    const json r = t.route(s);
    CHECK(r["version"] == version);
    CHECK(r["moved"] == false);
    CHECK(r["arm"] == (version == a ? "previous" : "stable"));
  }
  CHECK(t.route("after-promotion")["version"] == b);
  st = t.status();
  CHECK(st["sessions"]["pinned"]["previous"] == count_of(first, a) + count_of(second, a));
  CHECK(st["sessions"]["pinned"]["stable"] == on_canary + count_of(second, b) + 1);
  CHECK(st["sessions"]["pinned"]["canary"] == 0);

  // Ending one lets its next route pin it afresh, on the new stable.
  std::string old_stable_session;
  for (const auto& [s, version] : first)
    if (version == a && old_stable_session.empty())
      old_stable_session = s;
  REQUIRE_FALSE(old_stable_session.empty());
  t.cli.ok({"session", "end", old_stable_session});
  const json again = t.route(old_stable_session);
  CHECK(again["version"] == b);
  CHECK(again["pinned"] == true);
  CHECK(again["moved"] == false);
}

TEST_CASE("sessions: a rollback cuts the canary's sessions, whose next route moves them to the stable") {
  Sessions t;
  const std::string a = t.w.a, b = t.w.b;
  t.cli.ok({"canary", "start", "--version", b, "--percentage", "50"});
  const auto turns = t.route_all("s", 40);
  const int cut = count_of(turns, b);
  REQUIRE(cut > 5);
  t.cli.ok({"canary", "rollback", "--reason", "bad canary"});

  const json ev = t.cli.json({"history", "--limit", "1"})[0];
  CHECK(ev["action"] == "rolled_back");
  CHECK(ev["evidence"]["sessions"]["pinned"] == cut);
  CHECK(ev["evidence"]["sessions"]["on_rollback"] == "cut");
  json st = t.status();
  CHECK(st["sessions"]["pinned"]["previous"] == cut);
  CHECK(st["sessions"]["draining"] == 0);

  for (const auto& [s, version] : turns) {
    if (version == b)
      CHECK(t.cli.json({"session", "show", s})["state"] == "cut");
    const json r = t.route(s);
    CHECK(r["version"] == a);
    CHECK(r["arm"] == "stable");
    CHECK(r["moved"] == (version == b));
    CHECK(r["moved_from"] == (version == b ? json(b) : json(nullptr)));
    CHECK(r["pinned"] == (version == b));
    // Told once: the next turn is an ordinary one.
    const json next = t.route(s);
    CHECK(next["moved"] == false);
    CHECK(next["version"] == a);
  }
  const json shown = t.cli.json({"session", "show", turns.begin()->first});
  CHECK(shown["state"] == "active");
  CHECK(t.cli.ok({"route", "--session", "s0"}).out.find("\tmoved") == std::string::npos);
}

TEST_CASE("sessions: drain keeps the canary's sessions until drain_seconds, through a new rollout") {
  Sessions t;
  const std::string a = t.w.a, b = t.w.b;
  const std::string c = t.w.add("c.txt", "You are agent C.\n");
  t.cli.ok({"canary", "start", "--version", b, "--percentage", "50", "--policy",
            t.policy(R"({"on_rollback": "drain", "drain_seconds": 600})")});
  const auto turns = t.route_all("d", 40);
  const int draining = count_of(turns, b);
  REQUIRE(draining > 5);
  t.cli.ok({"canary", "rollback"});
  const kanari::TimeMs rolled_back = t.cli.clock.now_ms();
  json st = t.status();
  CHECK(st["sessions"]["draining"] == draining);
  CHECK(st["sessions"]["pinned"]["previous"] == draining);
  CHECK(t.cli.json({"history", "--limit", "1"})[0]["evidence"]["sessions"]["on_rollback"] == "drain");

  // New sessions get the stable at once; draining ones keep the canary.
  t.cli.clock.advance_ms(300 * k_second);
  CHECK(t.route("fresh-after-rollback")["version"] == a);
  for (const auto& [s, version] : turns) {
    const json r = t.route(s);
    CHECK(r["version"] == version);
    CHECK(r["moved"] == false);
    if (version == b) {
      CHECK(r["state"] == "draining");
      CHECK(r["arm"] == "previous");
      CHECK(r["drain_until"] == t.cli.json({"session", "show", s})["drain_until"]);
    }
  }

  // A new rollout meanwhile: its canary takes new sessions, not draining ones.
  t.cli.ok({"canary", "start", "--version", c, "--percentage", "100"});
  CHECK(t.route("fresh-in-new-rollout")["version"] == c);
  for (const auto& [s, version] : turns)
    CHECK(t.route(s)["version"] == version);
  st = t.status();
  CHECK(st["sessions"]["requests"]["previous"] == draining);
  CHECK(st["sessions"]["requests"]["stable"] == 40 - draining);
  CHECK(st["sessions"]["requests"]["canary"] == 1);
  CHECK(st["sessions"]["served_percentage"]["canary"] == doctest::Approx(100.0 / 41).epsilon(1e-3));
  CHECK(t.cli.json({"session", "list", "--arm", "previous"}).size() == static_cast<size_t>(draining));

  // Past the deadline, each draining session's next route moves it to the
  // stable (not to the new canary), with "moved": true.
  t.cli.clock.set(rolled_back + 600 * k_second);
  CHECK(t.status()["sessions"]["draining"] == 0);
  for (const auto& [s, version] : turns) {
    const json r = t.route(s);
    CHECK(r["version"] == a);
    CHECK(r["moved"] == (version == b));
  }
}

TEST_CASE("sessions: a pin idle past session_ttl_seconds is over, and each route refreshes it") {
  Sessions t;
  // With no rollout open a pin gets the default TTL of an hour.
  const json idle = t.route("no-rollout");
  CHECK(t.cli.json({"session", "show", "no-rollout"})["ttl_seconds"] == 3600);
  CHECK(idle["arm"] == "stable");

  t.cli.ok({"canary", "start", "--version", t.w.b, "--percentage", "50", "--policy",
            t.policy(R"({"session_ttl_seconds": 60})")});
  // The pin made before the rollout holds it, though half the keys moved.
  CHECK(t.route("no-rollout")["version"] == t.w.a);
  std::string on_canary;
  for (int i = 0; on_canary.empty(); ++i)
    if (t.route("t" + std::to_string(i))["version"] == t.w.b)
      on_canary = "t" + std::to_string(i);
  // Four turns 50 s apart: 150 s in all, never 60 s idle.
  for (int turn = 0; turn < 3; ++turn) {
    t.cli.clock.advance_ms(50 * k_second);
    const json r = t.route(on_canary);
    CHECK(r["pinned"] == false);
    CHECK(r["version"] == t.w.b);
  }
  CHECK(t.cli.json({"session", "show", on_canary})["state"] == "active");
  // Idle exactly its TTL it lives; a millisecond longer it is over.
  t.cli.clock.advance_ms(60 * k_second);
  CHECK(t.cli.json({"session", "show", on_canary})["state"] == "active");
  CHECK(t.cli.json({"session", "list", "--arm", "canary"}).size() == 1);
  t.cli.clock.advance_ms(1);
  CHECK(t.cli.json({"session", "show", on_canary})["state"] == "expired");
  CHECK(t.cli.json({"session", "list"}).size() == 1); // no-rollout's hour is not over
  const json after = t.route(on_canary);
  CHECK(after["pinned"] == true);
  CHECK(after["version"] == t.w.b); // routed afresh, the same bucket
  CHECK(after["moved"] == false);
  CHECK(after["requests"] == 1);

  // An expired session that gets another version is told so.
  t.cli.ok({"canary", "rollback"});
  t.cli.clock.advance_ms(3601 * k_second);
  const json moved = t.route(on_canary);
  CHECK(moved["version"] == t.w.a);
  CHECK(moved["moved"] == true);
  CHECK(moved["moved_from"] == t.w.b);
  // With no rollout open a new pin takes the TTL of the track's latest one.
  CHECK(t.cli.json({"session", "show", on_canary})["ttl_seconds"] == 60);
}

TEST_CASE("sessions: a cut session that expires meanwhile goes to the stable, not to a newer canary") {
  Sessions t;
  const std::string c = t.w.add("c.txt", "You are agent C.\n");
  t.cli.ok({"canary", "start", "--version", t.w.b, "--percentage", "100", "--policy",
            t.policy(R"({"session_ttl_seconds": 60})")});
  CHECK(t.route("conv")["version"] == t.w.b);
  t.cli.ok({"canary", "rollback"});
  t.cli.clock.advance_ms(120 * k_second);
  t.cli.ok({"canary", "start", "--version", c, "--percentage", "100"});
  const json r = t.route("conv");
  CHECK(r["version"] == t.w.a);
  CHECK(r["moved"] == true);
  CHECK(r["moved_from"] == t.w.b);
  // moved is said once; moved_from stays on the pin, for a runtime whose
  // reply was lost to compare against.
  const json next = t.route("conv");
  CHECK(next["moved"] == false);
  CHECK(next["moved_from"] == t.w.b);
  CHECK(next["version"] == t.w.a);
  CHECK(t.route("brand-new")["version"] == c);
  // Pinned afresh after it expires again (the same version), it keeps the
  // news of its last move; ended, it starts over with none.
  t.cli.ok({"canary", "rollback"});
  t.cli.clock.advance_ms(3601 * k_second);
  const json again = t.route("conv");
  CHECK(again["pinned"] == true);
  CHECK(again["moved"] == false);
  CHECK(again["version"] == t.w.a);
  CHECK(again["moved_from"] == t.w.b);
  t.cli.ok({"session", "end", "conv"});
  CHECK(t.route("conv")["moved_from"].is_null());
}

TEST_CASE("sessions: undo, evaluate --apply and drain_seconds 0 release the pins they take out") {
  Sessions t;
  SUBCASE("canary undo cuts the pins of the version it takes back") {
    t.cli.ok({"canary", "start", "--version", t.w.b, "--percentage", "100"});
    CHECK(t.route("u1")["version"] == t.w.b);
    t.cli.ok({"canary", "promote", "--full"});
    CHECK(t.route("u2")["version"] == t.w.b); // pinned to b as the stable
    t.cli.ok({"canary", "undo"});
    for (const char* s : {"u1", "u2"}) {
      const json r = t.route(s);
      CHECK(r["version"] == t.w.a);
      CHECK(r["moved"] == true);
    }
    CHECK(t.cli.json({"history", "--limit", "1"})[0]["evidence"]["sessions"]["pinned"] == 2);
  }
  SUBCASE("a rollback by canary evaluate --apply drains as the policy says") {
    t.cli.ok({"canary", "start", "--version", t.w.b, "--percentage", "100", "--min-samples", "3", "--policy",
              t.policy(R"({"on_rollback": "drain", "drain_seconds": 120})")});
    CHECK(t.route("e1")["version"] == t.w.b);
    t.w.outcomes("stable", 3, 3);
    t.w.outcomes("canary", 0, 3);
    CHECK(t.cli({"canary", "evaluate", "--apply"}).code == 1); // ROLLBACK, applied
    const json r = t.route("e1");
    CHECK(r["version"] == t.w.b);
    CHECK(r["state"] == "draining");
    t.cli.clock.advance_ms(120 * k_second);
    const json moved = t.route("e1");
    CHECK(moved["version"] == t.w.a);
    CHECK(moved["moved"] == true);
  }
  SUBCASE("drain_seconds 0 moves them on their next route, as cut does") {
    t.cli.ok({"canary", "start", "--version", t.w.b, "--percentage", "100", "--policy",
              t.policy(R"({"on_rollback": "drain", "drain_seconds": 0})")});
    CHECK(t.route("z1")["version"] == t.w.b);
    t.cli.ok({"canary", "rollback"});
    CHECK(t.status()["sessions"]["draining"] == 0);
    const auto human = t.cli.ok({"route", "--session", "z1"}).out;
    CHECK(human == "z1\tstable\t" + t.w.a + "\tmoved\n");
  }
}

TEST_CASE("sessions: in a shadow step a session is served the stable and mirrored, and keeps the stable after") {
  Sessions t;
  t.cli.ok({"canary", "start", "--version", t.w.b, "--steps", "shadow:100,100"});
  const json r = t.route("sh");
  CHECK(r["version"] == t.w.a);
  CHECK(r["arm"] == "stable");
  CHECK(r["shadow"] == true);
  CHECK(t.cli.ok({"route", "--session", "sh"}).out == "sh\tstable\t" + t.w.a + "\tshadow\n");
  CHECK(t.status()["sessions"]["requests"]["stable"] == 2);
  t.cli.ok({"canary", "promote"}); // the live step at 100 %: new sessions get the canary
  const json live = t.route("sh");
  CHECK(live["version"] == t.w.a);
  CHECK(live["shadow"] == false);
  CHECK(t.route("sh-new")["version"] == t.w.b);
}

TEST_CASE("sessions: show, end and list") {
  Sessions t;
  CHECK(t.cli({"session", "show", "nobody"}).code == 4);
  CHECK(t.cli({"session", "end", "nobody"}).code == 4);
  CHECK(t.cli.json({"session", "list"}).empty());
  t.cli.ok({"canary", "start", "--version", t.w.b, "--percentage", "50"});
  const auto turns = t.route_all("l", 30);
  const json all = t.cli.json({"session", "list"});
  CHECK(all.size() == 30);
  const json canary = t.cli.json({"session", "list", "--arm", "canary"});
  CHECK(canary.size() == static_cast<size_t>(count_of(turns, t.w.b)));
  for (const auto& s : canary)
    CHECK(s["version"] == t.w.b);
  CHECK(t.cli.json({"session", "list", "--arm", "stable", "--limit", "3"}).size() == 3);
  CHECK(t.cli.json({"session", "list", "--arm", "previous"}).empty());

  const json ended = t.cli.json({"session", "end", "l0"});
  CHECK(ended["ended_now"] == true);
  CHECK(ended["state"] == "ended");
  CHECK(t.cli.json({"session", "end", "l0"})["ended_now"] == false);
  CHECK(t.cli.json({"session", "list"}).size() == 29);
  CHECK(t.cli.json({"session", "show", "l0"})["ended_at"].is_string());
  const auto human = t.cli.ok({"session", "list"}).out;
  CHECK(human.find("SESSION") != std::string::npos);
  CHECK(human.find("l1 ") != std::string::npos);
  CHECK(t.cli.ok({"session", "show", "l1"}).out.find("pinned as") != std::string::npos);
}

TEST_CASE("sessions: record --session records against the pinned version") {
  Sessions t;
  const std::string a = t.w.a, b = t.w.b;
  t.cli.ok({"canary", "start", "--version", b, "--percentage", "50"});
  const auto turns = t.route_all("r", 20);
  int canary = 0, stable = 0, task = 0;
  for (const auto& [s, version] : turns) {
    t.cli.ok({"record", "--task", "task-" + std::to_string(task++), "--session", s, "--pass"});
    (version == b ? canary : stable) += 1;
  }
  json st = t.status();
  CHECK(st["canary_stats"]["n"] == canary);
  CHECK(st["stable_stats"]["n"] == stable);
  // JSON Lines take "session" too.
  const std::string s0 = turns.begin()->first;
  const json batch =
      t.cli.json({"record", "--jsonl", "-"}, "{\"task\": \"jl-1\", \"pass\": true, \"session\": \"" + s0 + "\"}\n");
  CHECK(batch["inserted"] == 1);
  CHECK(t.status()["canary_stats"]["n"].get<int>() + t.status()["stable_stats"]["n"].get<int>() == 21);

  CHECK(t.cli({"record", "--task", "x", "--session", "never-routed", "--pass"}).code == 4);
  CHECK(t.cli({"record", "--task", "x", "--session", s0, "--version", "stable", "--pass"}).code == 2);

  // After a promotion an old-stable session's tasks are late outcomes of
  // the rollout it was pinned in, counted in no window of the next one.
  t.cli.ok({"canary", "promote", "--full"});
  const std::string c = t.w.add("c.txt", "You are agent C.\n");
  t.cli.ok({"canary", "start", "--version", c, "--percentage", "50"});
  std::string on_a;
  for (const auto& [s, version] : turns)
    if (version == a)
      on_a = s;
  REQUIRE_FALSE(on_a.empty());
  const json late = t.cli.json({"record", "--task", "late-1", "--session", on_a, "--pass"});
  CHECK(late["late"] == 1);
  st = t.status();
  CHECK(st["canary_stats"]["n"] == 0);
  // The baseline is b's (the stable now): its outcomes as the canary, topped
  // up to min_samples (10); a's late outcome is in no window.
  // (b's outcomes: its sessions' tasks and jl-1 when s0 is one of them.)
  const int on_b = canary + (turns.begin()->second == b ? 1 : 0);
  CHECK(st["stable_stats"]["n"] == std::min(on_b, 10));
}

TEST_CASE("sessions: status, metrics and report show pins and the share each arm served") {
  Sessions t;
  t.cli.ok({"canary", "start", "--version", t.w.b, "--steps", "10,60"});
  const auto turns = t.route_all("m", 50);
  const int on_canary = count_of(turns, t.w.b);
  t.cli.ok({"canary", "promote"});
  for (const auto& [s, version] : turns)
    t.route(s);
  const std::string text = t.cli.ok({"canary", "status"}).out;
  CHECK(text.find("sessions " + std::to_string(50 - on_canary) + " pinned to stable, " + std::to_string(on_canary) +
                  " to canary") != std::string::npos);
  CHECK(text.find("of 50 session requests this step (configured: 60 % canary)") != std::string::npos);

  const std::string prom = t.cli.ok({"metrics"}).out;
  CHECK(prom.find("kanari_sessions_pinned{track=\"default\",arm=\"canary\"} " + std::to_string(on_canary)) !=
        std::string::npos);
  CHECK(prom.find("kanari_session_requests{track=\"default\",arm=\"canary\"} " + std::to_string(on_canary)) !=
        std::string::npos);
  CHECK(prom.find("kanari_sessions_draining{track=\"default\"} 0") != std::string::npos);

  const json rep = t.cli.json({"report"});
  REQUIRE(rep["timeline"].size() == 2);
  CHECK(rep["timeline"][0]["session_requests"]["canary"] == on_canary);
  CHECK(rep["timeline"][1]["session_requests"]["canary"] == on_canary);
  CHECK(rep["timeline"][1]["session_requests"]["stable"] == 50 - on_canary);
  const std::string html = t.cli.ok({"report", "--html", "-"}).out;
  CHECK(html.find("Session requests per step") != std::string::npos);
}

TEST_CASE("sessions: bad session ids and policies are refused with exit 2 and nothing written") {
  Sessions t;
  t.cli.ok({"canary", "start", "--version", t.w.b, "--percentage", "50"});
  t.route("ok");
  const std::string before = kanari::test::store_snapshot(t.cli.state());
  const std::vector<std::vector<std::string>> bad = {
      {"route", "--session", ""},
      {"route", "--session", std::string(257, 's')},
      {"route", "--session", std::string("a\0b", 3)},
      {"route", "--session", "\xff\xfe"},
      {"route", "--session", "x", "--key", "k"},
      {"route", "--session", "x", "--keys", "-"},
      {"route", "--session", "x", "--task", ""},
      {"session", "show", ""},
      {"session", "end", std::string(300, 'e')},
      {"session", "list", "--arm", "blue"},
      {"session", "list", "--limit", "0"},
      {"record", "--task", "t", "--pass", "--session", ""},
  };
  for (const auto& args : bad) {
    const auto r = t.cli(args);
    INFO(args[0] << " " << args[1] << " " << args.size() << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find('\n') == r.err.size() - 1); // one line
  }
  CHECK(kanari::test::store_snapshot(t.cli.state()) == before);
  CHECK(t.cli({"route", "--session", std::string(256, 's')}).code == 0);

  // Negative, zero and fractional TTLs, and drain times, in a policy.
  t.cli.ok({"canary", "rollback"});
  const std::string idle = kanari::test::store_snapshot(t.cli.state());
  for (const char* policy :
       {R"({"session_ttl_seconds": -1})", R"({"session_ttl_seconds": 0})", R"({"session_ttl_seconds": 2.5})",
        R"({"drain_seconds": -1})", R"({"on_rollback": "keep"})"}) {
    const auto r = t.cli({"canary", "start", "--version", t.w.b, "--percentage", "5", "--policy", t.policy(policy)});
    INFO(policy << ": " << r.err);
    CHECK(r.code == 2);
  }
  CHECK(kanari::test::store_snapshot(t.cli.state()) == idle);
}
