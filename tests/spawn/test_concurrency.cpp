// Concurrent processes against one store (SPEC §7): the real binary,
// several copies started at the same instant. No outcome is lost or
// double-counted, and a transition happens exactly once.
//
// The children are forked first and held at a gate (a pipe they all read);
// closing the pipe releases them together, so they really overlap instead of
// running one after another as fast as fork allows.
#include "store/store.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>

using namespace kanari;
using kanari::test::Spawned;
using kanari::test::TempDir;
using nlohmann::json;

namespace {

struct Launch {
  std::vector<std::string> args;
  std::string stdin_path = "/dev/null";
};

// Runs every launch at once; returns their results in order.
std::vector<Spawned> run_together(const std::vector<Launch>& launches) {
  TempDir io;
  int gate[2];
  REQUIRE(::pipe2(gate, O_CLOEXEC) == 0);
  struct Child {
    pid_t pid;
    std::string out, err;
  };
  std::vector<Child> children;
  const std::string bin = KANARI_BINARY;
  for (size_t i = 0; i < launches.size(); ++i) {
    // Everything the child needs is built before fork.
    std::vector<std::string> args = launches[i].args;
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(bin.c_str()));
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    Child c{0, (io.path() / ("out" + std::to_string(i))).string(), (io.path() / ("err" + std::to_string(i))).string()};
    const std::string& in = launches[i].stdin_path;
    c.pid = ::fork();
    REQUIRE(c.pid >= 0);
    if (c.pid == 0) {
      ::close(gate[1]);
      char byte;
      while (::read(gate[0], &byte, 1) < 0) {
      } // EOF when the parent closes its end: go
      int fin = ::open(in.c_str(), O_RDONLY);
      int fout = ::open(c.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int ferr = ::open(c.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fin < 0 || fout < 0 || ferr < 0 || ::dup2(fin, 0) < 0 || ::dup2(fout, 1) < 0 || ::dup2(ferr, 2) < 0)
        ::_exit(127);
      ::execv(bin.c_str(), argv.data());
      ::_exit(127);
    }
    children.push_back(std::move(c));
  }
  ::close(gate[0]);
  ::close(gate[1]); // release them all
  std::vector<Spawned> results;
  for (auto& c : children) {
    int status = 0;
    REQUIRE(::waitpid(c.pid, &status, 0) == c.pid);
    results.push_back({WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), test::read_file(c.out),
                       test::read_file(c.err)});
  }
  return results;
}

struct Store {
  TempDir dir;
  std::string state = new_store_location(dir);
  std::string stable, candidate;

  Spawned kanari(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--state", state, "--actor", "tester"});
    return test::spawn_kanari(args, stdin_text);
  }
  Spawned ok(std::vector<std::string> args, const std::string& stdin_text = "") {
    auto r = kanari(std::move(args), stdin_text);
    INFO("stderr: " << r.err);
    REQUIRE(r.code == 0);
    return r;
  }

  // init, two versions, a rollout of the second at `steps`.
  explicit Store(const std::string& steps) {
    ok({"init"});
    stable =
        json::parse(ok({"version", "add", "--json", "--prompt", "system=" + dir.file("v1.txt", "one\n")}).out).at("id");
    candidate =
        json::parse(ok({"version", "add", "--json", "--prompt", "system=" + dir.file("v2.txt", "two\n")}).out).at("id");
    ok({"canary", "start", "--version", candidate, "--steps", steps});
  }

  Launch launch(std::vector<std::string> args, std::string stdin_path = "/dev/null") {
    args.insert(args.begin(), {"--state", state, "--actor", "tester"});
    return {std::move(args), std::move(stdin_path)};
  }

  std::unique_ptr<store::Store> open() {
    auto s = store::open(state, store::OpenMode::existing);
    REQUIRE(s.ok());
    return std::move(*s);
  }

  std::int64_t events_named(const std::string& action) {
    std::int64_t n = 0;
    for (const auto& e : open()->events("default", std::nullopt))
      n += e.action == action;
    return n;
  }

  void audit_verifies() {
    auto r = kanari({"audit", "verify"});
    INFO("audit verify: " << r.out << r.err);
    CHECK(r.code == 0);
  }
};

} // namespace

TEST_CASE("concurrency: 8 processes recording at once lose nothing and count nothing twice") {
  Store s("5,25,50");
  constexpr int k_procs = 8, k_own = 500, k_shared = 50;

  // The truth, computed from the same generator the files are written with.
  struct Truth {
    std::int64_t n = 0, pass = 0;
  } canary, stable;
  auto line = [](const std::string& task, bool on_canary, bool pass, int latency) {
    return json{{"task", task}, {"pass", pass}, {"version", on_canary ? "canary" : "stable"}, {"latency_ms", latency}}
        .dump();
  };
  auto count = [&](bool on_canary, bool pass) {
    auto& t = on_canary ? canary : stable;
    ++t.n;
    t.pass += pass;
  };
  std::vector<std::string> shared;
  for (int j = 0; j < k_shared; ++j) {
    shared.push_back(line("shared-" + std::to_string(j), j % 2 == 0, j % 3 != 0, j));
    count(j % 2 == 0, j % 3 != 0);
  }
  std::vector<Launch> launches;
  for (int p = 0; p < k_procs; ++p) {
    std::string text;
    // Half the processes send the shared tasks first, half last.
    if (p % 2 == 0)
      for (const auto& l : shared)
        text += l + "\n";
    for (int j = 0; j < k_own; ++j) {
      const bool on_canary = j % 4 == 0, pass = (j + p) % 3 != 0;
      text += line("p" + std::to_string(p) + "-t" + std::to_string(j), on_canary, pass, j) + "\n";
      count(on_canary, pass);
    }
    if (p % 2 == 1)
      for (const auto& l : shared)
        text += l + "\n";
    launches.push_back(
        s.launch({"record", "--jsonl", s.dir.file("in" + std::to_string(p) + ".jsonl", text), "--json"}));
  }

  const auto results = run_together(launches);
  std::int64_t inserted = 0, duplicates = 0;
  for (const auto& r : results) {
    INFO("stderr: " << r.err);
    REQUIRE(r.code == 0);
    const auto j = json::parse(r.out);
    CHECK(j.at("conflicts") == 0);
    CHECK(j.at("invalid") == 0);
    CHECK(j.at("inserted").get<std::int64_t>() + j.at("duplicates").get<std::int64_t>() == k_own + k_shared);
    inserted += j.at("inserted").get<std::int64_t>();
    duplicates += j.at("duplicates").get<std::int64_t>();
  }
  CHECK(inserted == k_procs * k_own + k_shared);
  CHECK(duplicates == (k_procs - 1) * k_shared);
  CHECK(s.open()->count_outcomes("default") == k_procs * k_own + k_shared);

  const auto status = json::parse(s.ok({"canary", "status", "--json"}).out);
  CHECK(status.at("canary_stats").at("n") == canary.n);
  CHECK(status.at("canary_stats").at("pass") == canary.pass);
  CHECK(status.at("stable_stats").at("n") == stable.n);
  CHECK(status.at("stable_stats").at("pass") == stable.pass);
  s.audit_verifies();
}

TEST_CASE("concurrency: 6 simultaneous `canary promote --from-step 0` advance exactly one step") {
  Store s("5,25,50");
  std::vector<Launch> launches(6, s.launch({"canary", "promote", "--from-step", "0"}));
  const auto results = run_together(launches);
  int won = 0, lost = 0;
  for (const auto& r : results) {
    INFO("exit " << r.code << " stderr: " << r.err);
    if (r.code == 0)
      ++won;
    else if (r.code == 5) {
      ++lost;
      CHECK(r.err.find("step") != std::string::npos);
    }
  }
  CHECK(won == 1);
  CHECK(lost == 5);
  auto r = s.open()->open_rollout("default");
  REQUIRE(r.has_value());
  CHECK(r->step == 1);
  CHECK(r->state == store::RolloutState::active);
  CHECK(s.events_named("step_advanced") == 1);
  s.audit_verifies();
}

TEST_CASE("concurrency: 6 simultaneous `canary evaluate --apply` on a PROMOTE verdict apply it once") {
  Store s("5,25,50");
  std::string text;
  for (int i = 0; i < 10; ++i) {
    text += json{{"task", "c" + std::to_string(i)}, {"pass", true}, {"version", "canary"}}.dump() + "\n";
    text += json{{"task", "s" + std::to_string(i)}, {"pass", true}, {"version", "stable"}}.dump() + "\n";
  }
  s.ok({"record", "--jsonl", "-"}, text);
  // Not applying: the gate says PROMOTE, and nothing moves.
  const auto dry = json::parse(s.ok({"canary", "evaluate", "--json"}).out);
  REQUIRE(dry.at("verdict") == "PROMOTE");
  CHECK(dry.at("applied") == false);

  std::vector<Launch> launches(6, s.launch({"canary", "evaluate", "--apply", "--json"}));
  const auto results = run_together(launches);
  int applied = 0, reported = 0;
  for (const auto& r : results) {
    INFO("exit " << r.code << " out: " << r.out << " stderr: " << r.err);
    REQUIRE(r.code == 0);
    const auto j = json::parse(r.out);
    if (j.at("applied") == true) {
      ++applied;
      CHECK(j.at("verdict") == "PROMOTE");
      CHECK(j.at("action") == "advanced");
      CHECK(j.at("step") == 1);
    } else {
      ++reported;
      CHECK(j.at("action") == "none");
      // The winner opened step 1, whose canary window is empty.
      CHECK(j.at("verdict") == "INSUFFICIENT_DATA");
      CHECK(j.at("canary").at("n") == 0);
    }
  }
  CHECK(applied == 1);
  CHECK(reported == 5);
  auto r = s.open()->open_rollout("default");
  REQUIRE(r.has_value());
  CHECK(r->step == 1);
  CHECK(s.events_named("step_advanced") == 1);
  s.audit_verifies();
}

TEST_CASE("concurrency: routing with --task while recording: every assignment and outcome lands") {
  Store s("50");
  // 4 processes each remember 1 assignment while 4 others import outcomes.
  std::vector<Launch> launches;
  for (int p = 0; p < 4; ++p)
    launches.push_back(
        s.launch({"route", "--key", "user-" + std::to_string(p), "--task", "routed-" + std::to_string(p), "--json"}));
  for (int p = 0; p < 4; ++p) {
    std::string text;
    for (int j = 0; j < 200; ++j)
      text += json{{"task", "r" + std::to_string(p) + "-" + std::to_string(j)}, {"pass", true}, {"version", "stable"}}
                  .dump() +
              "\n";
    launches.push_back(s.launch({"record", "--jsonl", s.dir.file("r" + std::to_string(p) + ".jsonl", text)}));
  }
  const auto results = run_together(launches);
  for (const auto& r : results) {
    INFO("stderr: " << r.err);
    CHECK(r.code == 0);
  }
  auto st = s.open();
  CHECK(st->count_outcomes("default") == 800);
  for (int p = 0; p < 4; ++p) {
    const auto a = st->get_assignment("default", "routed-" + std::to_string(p));
    REQUIRE(a.has_value());
    CHECK(a->version_id == json::parse(results[static_cast<size_t>(p)].out).at("version"));
  }
}

// Several hosts routing one new session at the same instant (docs/routing.md,
// "Sessions"): exactly one of them pins it, and every one of them serves
// the version that pin names. Each process is a host as far as the store
// is concerned: a connection of its own.
TEST_CASE("concurrency: hosts routing a new session at the same instant pin it once") {
  Store s("50");
  constexpr int k_rounds = 20, k_hosts = 4;
  for (int round = 0; round < k_rounds; ++round) {
    const std::string session = "race-" + std::to_string(round);
    std::vector<Launch> launches;
    for (int h = 0; h < k_hosts; ++h)
      launches.push_back(
          s.launch({"--json", "route", "--session", session, "--task", session + "-host" + std::to_string(h)}));
    const auto results = run_together(launches);
    int pinned = 0;
    std::set<std::string> versions, pinned_at;
    std::set<std::int64_t> requests;
    for (const auto& r : results) {
      INFO(session << ": " << r.err);
      REQUIRE(r.code == 0);
      const json j = json::parse(r.out);
      pinned += j.at("pinned").get<bool>();
      versions.insert(j.at("version").get<std::string>());
      pinned_at.insert(j.at("pinned_at").get<std::string>());
      requests.insert(j.at("requests").get<std::int64_t>());
    }
    CAPTURE(session);
    CHECK(pinned == 1);
    CHECK(versions.size() == 1);
    CHECK(pinned_at.size() == 1);
    CHECK(requests == std::set<std::int64_t>{1, 2, 3, 4}); // each host's request counted once
    const auto pin = s.open()->get_session("default", session);
    REQUIRE(pin);
    CHECK(pin->requests == k_hosts);
    CHECK(pin->version_id == *versions.begin());
  }
}
