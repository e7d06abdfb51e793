// Hooks (docs/hooks.md) against a real HTTP server on 127.0.0.1 that the
// test starts (tests/http_recorder.hpp) and real commands: the outbox,
// the body and headers, the signature checked by Python's hmac, retries
// with backoff and their idempotency key, the bound on a hanging receiver,
// giving up after 24 h, a process killed between commit and delivery, and
// the secret kept out of the store.
#include "http_recorder.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <future>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace kanari::test;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct Hooked : TwoVersions {
  HttpRecorder server;

  void add_hook(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"hook", "add", name, "--url", server.url("/" + name)};
    args.insert(args.end(), extra.begin(), extra.end());
    cli.ok(args);
  }
  CliResult start() { return cli.ok({"canary", "start", "--version", b, "--percentage", "20"}); }
  CliResult rollback() { return cli({"canary", "rollback", "--reason", "bad answers"}); }
  json newest_event() { return cli.json({"history", "--limit", "1"})[0]; }
  json status() { return cli.json({"canary", "status"}); }
  json log() { return cli.json({"hook", "log"}); }
};

// HMAC-SHA256 of the file's bytes keyed by `secret`, by Python's hmac: an
// implementation that shares nothing with kanari's (OpenSSL).
std::string python_hmac(const std::string& secret, const std::string& body_file) {
  const std::string cmd = "/usr/bin/python3 -c 'import hmac, hashlib, sys; "
                          "print(hmac.new(sys.argv[1].encode(), open(sys.argv[2], \"rb\").read(), "
                          "hashlib.sha256).hexdigest())' '" +
                          secret + "' '" + body_file + "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[256] = {};
  const size_t n = std::fread(buf, 1, sizeof buf - 1, p);
  REQUIRE(::pclose(p) == 0);
  std::string out(buf, n);
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

// Running or sleeping: not gone, and not a zombie nobody has reaped yet.
bool process_exists(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line))
    return false;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z';
}

} // namespace

TEST_CASE("hook add, list and remove: validation, and events in the chain") {
  Hooked w;
  auto refused = [&](std::vector<std::string> args, int code, const std::string& message) {
    const auto before = store_snapshot(w.cli.state());
    auto r = w.cli(args);
    INFO(json(args).dump() << "\n" << r.err);
    CHECK(r.code == code);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(store_snapshot(w.cli.state()) == before);
  };
  const std::string url = w.server.url();
  refused({"hook", "add", "bad name", "--url", url}, 2, "[A-Za-z0-9._-]{1,64}");
  refused({"hook", "add", "h"}, 2, "exactly one of --url and --command");
  refused({"hook", "add", "h", "--url", url, "--command", "true"}, 2, "exactly one of --url and --command");
  refused({"hook", "add", "h", "--url", "ftp://example.com/x"}, 2, "http:// or https://");
  refused({"hook", "add", "h", "--url", "http:///path"}, 2, "names no host");
  refused({"hook", "add", "h", "--url", "http://a b/"}, 2, "spaces or control characters");
  refused({"hook", "add", "h", "--url", url, "--on", "rolledback"}, 2, "unknown action 'rolledback'");
  refused({"hook", "add", "h", "--url", url, "--on", ","}, 2, "--on names no action");
  refused({"hook", "add", "h", "--url", url, "--format", "xml"}, 2, "json or slack");
  refused({"hook", "add", "h", "--url", url, "--secret-env", "1X"}, 2, "environment variable");
  refused({"hook", "add", "h", "--command", "true", "--secret-env", "X"}, 2, "a command hook is not signed");
  refused({"hook", "add", "h", "--command", "  "}, 2, "--command is empty");
  refused({"hook", "remove", "nope"}, 4, "no hook named 'nope'");

  w.add_hook("chat", {"--on", "rolled_back, promoted,started", "--secret-env", "CHAT_SECRET"});
  refused({"hook", "add", "chat", "--command", "true"}, 5, "hook 'chat' exists");
  w.cli.ok({"hook", "add", "pager", "--command", "cat >/dev/null", "--all-tracks"});
  const json list = w.cli.json({"hook", "list"});
  REQUIRE(list.size() == 2);
  CHECK(list[0]["name"] == "chat");
  CHECK(list[0]["track"] == "default");
  CHECK(list[0]["url"] == url.substr(0, url.size() - 5) + "/chat");
  CHECK(list[0]["on"] == json({"promoted", "rolled_back", "started"}));
  CHECK(list[0]["secret_env"] == "CHAT_SECRET");
  CHECK(list[1]["track"].is_null());
  CHECK(list[1]["on"] == json({"promoted", "rolled_back"})); // the default
  CHECK(list[1]["command"] == "cat >/dev/null");

  const json added = w.newest_event();
  CHECK(added["action"] == "hook_added");
  CHECK(added["evidence"]["hook"] == "pager");
  w.cli.ok({"hook", "remove", "pager"});
  CHECK(w.newest_event()["action"] == "hook_removed");
  CHECK(w.cli.json({"hook", "list"}).size() == 1);
  CHECK(w.cli.json({"audit", "verify"})["ok"] == true);
}

TEST_CASE("a rollback is POSTed with the event as history prints it, and the headers the contract names") {
  Hooked w;
  w.add_hook("chat");
  w.start(); // `started` is not among the default actions
  auto r = w.rollback();
  REQUIRE(r.code == 0);
  CHECK(r.err.empty());
  REQUIRE(w.server.wait_for(1, 1s));
  const auto reqs = w.server.requests();
  REQUIRE(reqs.size() == 1);
  const auto& req = reqs[0];
  CHECK(req.method == "POST");
  CHECK(req.target == "/chat");
  CHECK(req.header("content-type") == "application/json");
  const json event = w.newest_event();
  CHECK(event["action"] == "rolled_back");
  CHECK(req.header("kanari-event") == event["hash"].get<std::string>());
  CHECK(req.header("kanari-action") == "rolled_back");
  CHECK(req.headers.count("kanari-signature") == 0);
  json expected = event;
  expected["store"] = w.cli.state();
  expected["kanari_version"] = KANARI_VERSION_STRING;
  CHECK(json::parse(req.body) == expected);
  CHECK(req.body == expected.dump()); // compact, keys in order

  // Delivered, logged, and nothing left to do.
  const json log = w.log();
  REQUIRE(log.size() == 1);
  CHECK(log[0]["ok"] == true);
  CHECK(log[0]["detail"] == "HTTP 200");
  CHECK(log[0]["event"] == event["hash"]);
  CHECK(w.status()["deliveries"]["pending"] == 0);
  CHECK(w.cli.ok({"hook", "deliver"}).out == "Nothing to deliver now.\n");
  CHECK(w.server.requests().size() == 1);
}

TEST_CASE("hooks get only their track's events and actions, or every track's with --all-tracks") {
  Hooked w;
  w.add("a.txt", "Other A.\n", "other");
  const std::string other_b = w.add("b.txt", "Other B.\n", "other");
  w.add_hook("mine", {"--on", "started,rolled_back"});
  w.add_hook("all", {"--all-tracks", "--on", "started"});
  w.cli.ok({"--track", "other", "canary", "start", "--version", other_b, "--percentage", "10"});
  w.cli.ok({"--track", "other", "canary", "pause"});
  w.start();
  REQUIRE(w.server.wait_for(3, 1s));
  std::multiset<std::string> got;
  for (const auto& r : w.server.requests())
    got.insert(r.target + " " + r.header("kanari-action") + " " + json::parse(r.body)["track"].get<std::string>());
  CHECK(got == std::multiset<std::string>{"/all started other", "/all started default", "/mine started default"});
}

TEST_CASE("the signature is HMAC-SHA256 of the exact body, as Python's hmac computes it") {
  Hooked w;
  const std::string secret = "s3cret-\xc3\xa9-value-71829";
  w.cli.env["CHAT_SECRET"] = secret;
  w.add_hook("chat", {"--secret-env", "CHAT_SECRET", "--format", "slack"});
  w.start();
  REQUIRE(w.rollback().code == 0);
  REQUIRE(w.server.wait_for(1, 1s));
  const auto req = w.server.requests().at(0);
  const std::string body_file = w.cli.dir().file("body", req.body);
  CHECK(req.header("kanari-signature") == "sha256=" + python_hmac(secret, body_file));
  CHECK(req.header("kanari-signature") != "sha256=" + python_hmac(secret + "x", body_file));
  // The Slack message names the track, the action, both versions and why.
  const std::string text = json::parse(req.body).at("text").get<std::string>();
  CHECK(json::parse(req.body).size() == 1);
  for (const std::string& part : {std::string("`default`"), std::string("rolled back"), w.b.substr(0, 12),
                                  w.a.substr(0, 12), std::string("bad answers")})
    CHECK_MESSAGE(text.find(part) != std::string::npos, part << " in: " << text);

  // The secret's value is nowhere in the store; its name is.
  const std::string bytes = store_snapshot(w.cli.state());
  CHECK(bytes.find("s3cret-") == std::string::npos);
  CHECK(bytes.find("CHAT_SECRET") != std::string::npos);

  // Without the variable nothing is sent unsigned: the delivery waits.
  w.cli.env.erase("CHAT_SECRET");
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "20"});
  auto r = w.rollback();
  CHECK(r.code == 0);
  CHECK(r.err.find("CHAT_SECRET is not set") != std::string::npos);
  CHECK(w.server.requests().size() == 1);
  CHECK(w.status()["deliveries"]["pending"] == 1);
}

TEST_CASE("a 500 or a closed connection is retried with backoff until taken, with the same idempotency key") {
  Hooked w;
  w.add_hook("chat");
  w.start();
  w.server.plan({{HttpRecorder::Mode::status, 500}, {HttpRecorder::Mode::close, 0}});
  auto r = w.rollback();
  CHECK(r.code == 0); // the transition stands
  CHECK(r.err.find("kanari: warning: hook 'chat'") != std::string::npos);
  CHECK(r.err.find("HTTP 500") != std::string::npos);
  CHECK(w.status()["state"] == "idle");
  json s = w.status()["deliveries"];
  CHECK(s["pending"] == 1);
  CHECK(s["recent"][0]["attempts"] == 1);
  CHECK(s["recent"][0]["last_error"].get<std::string>().rfind("HTTP 500", 0) == 0);

  // Not due before its backoff (30 s after the first failure).
  CHECK(w.cli.ok({"hook", "deliver"}).out == "Nothing to deliver now.\n");
  w.cli.clock.advance_ms(31'000);
  r = w.cli({"hook", "deliver"});
  CHECK(r.code == 3);
  CHECK(r.out.find("failed, will retry") != std::string::npos);
  // Then 60 s.
  w.cli.clock.advance_ms(31'000);
  CHECK(w.cli.ok({"hook", "deliver"}).out == "Nothing to deliver now.\n");
  w.cli.clock.advance_ms(30'000);
  CHECK(w.cli.ok({"hook", "deliver"}).out.find("delivered") != std::string::npos);

  const auto reqs = w.server.requests();
  REQUIRE(reqs.size() == 3);
  for (const auto& req : reqs) {
    CHECK(req.header("kanari-event") == reqs[0].header("kanari-event"));
    CHECK(req.body == reqs[0].body);
  }
  const json log = w.log();
  REQUIRE(log.size() == 3);
  CHECK(log[0]["ok"] == true);
  CHECK(log[1]["ok"] == false);
  CHECK(log[1]["detail"].get<std::string>().rfind("not delivered: ", 0) == 0);
  CHECK(log[2]["detail"].get<std::string>().rfind("HTTP 500", 0) == 0);
  CHECK(w.status()["deliveries"]["pending"] == 0);
}

TEST_CASE("a receiver that fails for 24 h is given up, and status and metrics say so") {
  Hooked w;
  w.add_hook("chat");
  w.start();
  w.server.plan({}, {HttpRecorder::Mode::status, 503});
  CHECK(w.rollback().code == 0);
  // Retried by later writing commands and by evaluate, each after its backoff.
  for (int i = 0; i < 6; ++i) {
    w.cli.clock.advance_ms(3'600'000);
    CHECK(w.cli.ok({"canary", "evaluate"}).code == 0);
  }
  CHECK(w.server.requests().size() == 7);
  CHECK(w.status()["deliveries"]["pending"] == 1);
  w.cli.clock.advance_ms(18 * 3'600'000LL + 1);
  auto r = w.cli({"--quiet", "hook", "deliver"});
  CHECK(r.code == 3);
  auto s = w.status()["deliveries"];
  CHECK(s["pending"] == 0);
  CHECK(s["failed"] == 1);
  CHECK(s["recent"][0]["state"] == "failed");
  CHECK(s["recent"][0]["hook"] == "chat");
  CHECK(s["recent"][0]["action"] == "rolled_back");
  const std::string metrics = w.cli.ok({"metrics"}).out;
  CHECK(metrics.find("kanari_hook_deliveries{hook=\"chat\",state=\"failed\"} 1") != std::string::npos);
  CHECK(metrics.find("kanari_hook_deliveries{hook=\"chat\",state=\"pending\"} 0") != std::string::npos);
  // Never again.
  w.cli.clock.advance_ms(3'600'000);
  CHECK(w.cli.ok({"hook", "deliver"}).out == "Nothing to deliver now.\n");
  CHECK(w.server.requests().size() == 8);
  // A command that gives up says so on stderr, even with --quiet (cron mails it).
  w.start();
  CHECK(w.rollback().code == 0);
  w.cli.clock.advance_ms(25 * 3'600'000LL);
  r = w.cli({"--quiet", "canary", "evaluate"});
  CHECK(r.err.find("kanari: error: hook 'chat'") != std::string::npos);
  CHECK(r.err.find("given up") != std::string::npos);
}

TEST_CASE("a hanging receiver costs a command at most 5 s and never delays another hook") {
  Hooked w;
  HttpRecorder fast; // a second receiver, which answers at once
  w.add_hook("slow");
  w.cli.ok({"hook", "add", "fast", "--url", fast.url("/fast")});
  w.start();
  w.server.plan({}, {HttpRecorder::Mode::hang, 0});
  const auto begin = std::chrono::steady_clock::now();
  auto done = std::async(std::launch::async, [&] { return w.rollback(); });
  CHECK(fast.wait_for(1, 2s)); // while the slow one still hangs
  CHECK(done.wait_for(0s) == std::future_status::timeout);
  const auto r = done.get();
  const auto took = std::chrono::steady_clock::now() - begin;
  CHECK(r.code == 0);
  CHECK(took < 7s);
  CHECK(took >= 4s);
  CHECK(r.err.find("timed out after 5 s") != std::string::npos);
  w.server.release();
  const json log = w.log();
  REQUIRE(log.size() == 2);
  for (const auto& a : log)
    CHECK(a["ok"] == (a["hook"] == "fast"));
}

TEST_CASE("a command hook gets the event on stdin and in its environment, and is killed at its timeout") {
  Hooked w;
  const std::string out = (w.cli.dir().path() / "stdin.json").string();
  const std::string env = (w.cli.dir().path() / "env.txt").string();
  w.cli.ok({"hook", "add", "script", "--on", "started", "--command",
            "cat > '" + out + "'; env | grep '^KANARI_' | sort > '" + env + "'"});
  w.start();
  const json event = w.newest_event();
  json expected = event;
  expected["store"] = w.cli.state();
  expected["kanari_version"] = KANARI_VERSION_STRING;
  CHECK(json::parse(read_file(out)) == expected);
  const std::string vars = read_file(env);
  CHECK(vars.find("KANARI_ACTION=started\n") != std::string::npos);
  CHECK(vars.find("KANARI_EVENT=" + event["hash"].get<std::string>() + "\n") != std::string::npos);
  CHECK(vars.find("KANARI_TRACK=default\n") != std::string::npos);

  // A failing command is retried; its output says why.
  w.cli.ok({"hook", "add", "broken", "--on", "paused", "--command", "echo no disk space >&2; exit 3"});
  auto r = w.cli({"canary", "pause"});
  CHECK(r.code == 0);
  CHECK(r.err.find("exit 3: no disk space") != std::string::npos);

  // One that hangs is killed, with what it started, after 5 s.
  const std::string pidfile = (w.cli.dir().path() / "pid").string();
  w.cli.ok({"hook", "add", "hangs", "--on", "resumed", "--command", "sleep 60 & echo $! > '" + pidfile + "'; wait"});
  const auto begin = std::chrono::steady_clock::now();
  r = w.cli({"canary", "resume"});
  CHECK(std::chrono::steady_clock::now() - begin < 7s);
  CHECK(r.code == 0);
  CHECK(r.err.find("killed after 5 s") != std::string::npos);
  const pid_t sleeper = std::stoi(read_file(pidfile));
  for (int i = 0; i < 50 && process_exists(sleeper); ++i)
    std::this_thread::sleep_for(20ms);
  CHECK_FALSE(process_exists(sleeper));
}

TEST_CASE("hook test sends a synthetic event now, and says when it is not taken") {
  Hooked w;
  w.add_hook("chat");
  auto r = w.cli.ok({"hook", "test", "chat"});
  CHECK(r.out.find("delivered") != std::string::npos);
  REQUIRE(w.server.requests().size() == 1);
  const json body = json::parse(w.server.requests()[0].body);
  CHECK(body["action"] == "test");
  CHECK(body["seq"] == 0);
  CHECK(w.server.requests()[0].header("kanari-event") == body["hash"].get<std::string>());
  w.server.plan({{HttpRecorder::Mode::status, 404}});
  r = w.cli({"hook", "test", "chat"});
  CHECK(r.code == 3);
  CHECK(r.err.find("HTTP 404") != std::string::npos);
  CHECK(w.cli({"hook", "test", "nope"}).code == 4);
  CHECK(w.log().size() == 2);
}

TEST_CASE("a process killed between its commit and the delivery: the next command delivers it") {
  Hooked w;
  w.add_hook("chat");
  w.start();
  w.server.plan({{HttpRecorder::Mode::hang, 0}});
  // The real binary, with the real clock.
  const std::string bin = KANARI_BINARY;
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::execl(bin.c_str(), bin.c_str(), "--state", w.cli.state().c_str(), "--quiet", "canary", "rollback",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  REQUIRE(w.server.wait_for(1, 10s)); // committed, and delivering
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  w.server.release();
  CHECK(w.status()["state"] == "idle");
  // Not while its claim may still be alive: the next command after that.
  kanari::FakeClock soon(kanari::SystemClock().now_ms() + 1'000);
  w.cli.clock_override = &soon;
  CHECK(w.cli.ok({"hook", "deliver"}).out == "Nothing to deliver now.\n");
  kanari::SystemClock real;
  kanari::FakeClock later(real.now_ms() + 36'000); // its 5 s budget and the 30 s margin
  w.cli.clock_override = &later;
  w.cli.ok({"hook", "deliver"});
  const auto reqs = w.server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[1].header("kanari-event") == reqs[0].header("kanari-event"));
  CHECK(reqs[1].header("kanari-event") == w.newest_event()["hash"].get<std::string>());
  CHECK(w.status()["deliveries"]["pending"] == 0);
}

TEST_CASE("canary wait --apply announces each transition it makes before it waits again") {
  Hooked w;
  w.add_hook("chat", {"--on", "step_advanced,promoted"});
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "5,100", "--min-samples", "3"});
  w.outcomes("canary", 3, 3);
  w.outcomes("stable", 3, 3);
  std::vector<size_t> seen_at_sleep;
  w.cli.on_sleep = [&](kanari::TimeMs) {
    seen_at_sleep.push_back(w.server.requests().size());
    w.outcomes("canary", 3, 3);
  };
  CHECK(w.cli({"canary", "wait", "--apply", "--interval", "10"}).code == 0);
  CHECK(seen_at_sleep == std::vector<size_t>{1}); // step_advanced, sent before the first sleep
  const auto reqs = w.server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].header("kanari-action") == "step_advanced");
  CHECK(reqs[1].header("kanari-action") == "promoted");
}

TEST_CASE("a hook's deliveries go in order, a refused one holds up no other, a down receiver holds up all") {
  Hooked w;
  w.add_hook("chat", {"--on", "started,paused,resumed"});
  w.server.plan({}, {HttpRecorder::Mode::status, 503}); // down
  w.start();
  w.cli.ok({"canary", "pause"});
  w.cli.ok({"canary", "resume"});
  // Down: each command tried its own event once, and each waits for its retry.
  CHECK(w.server.requests().size() == 3);
  w.cli.clock.advance_ms(3'600'000);
  // Up, but it refuses the `paused` event for good (a 400 is about this
  // event): the others still go, in order.
  w.server.plan({{HttpRecorder::Mode::status, 200}, {HttpRecorder::Mode::status, 400}});
  auto r = w.cli({"hook", "deliver"});
  CHECK(r.code == 3);
  const auto reqs = w.server.requests();
  REQUIRE(reqs.size() == 6);
  CHECK(reqs[3].header("kanari-action") == "started");
  CHECK(reqs[4].header("kanari-action") == "paused");
  CHECK(reqs[5].header("kanari-action") == "resumed");
  const json s = w.status()["deliveries"];
  CHECK(s["pending"] == 1);
  CHECK(s["recent"][0]["action"] == "paused");
  CHECK(s["recent"][0]["last_error"].get<std::string>().rfind("HTTP 400", 0) == 0);
}

TEST_CASE("right after a commit a command waits at most 5 s for a hook, however many deliveries it has queued") {
  Hooked w;
  w.add_hook("chat", {"--on", "started,paused,resumed"});
  w.server.plan({}, {HttpRecorder::Mode::status, 503});
  w.start();
  w.cli.ok({"canary", "pause"});
  w.cli.ok({"canary", "resume"});
  w.cli.clock.advance_ms(3'600'000); // all three due
  w.server.plan({}, {HttpRecorder::Mode::hang, 0});
  const auto begin = std::chrono::steady_clock::now();
  auto r = w.cli({"canary", "evaluate"});
  const auto took = std::chrono::steady_clock::now() - begin;
  w.server.release();
  CHECK(r.code == 0);
  CHECK(took < 7s);
  CHECK(w.server.requests().size() == 4); // the head of the queue, once
  // The two behind it were not attempted: their attempt counts are as before.
  const json s = w.status()["deliveries"];
  REQUIRE(s["recent"].size() == 3);
  CHECK(s["recent"][0]["attempts"] == 1); // resumed: its one attempt, from `canary resume`
  CHECK(s["recent"][1]["attempts"] == 1); // paused
  CHECK(s["recent"][2]["attempts"] == 2); // started: one before, and this one
  CHECK(s["recent"][2]["last_error"] == "timed out after 5 s");
}
