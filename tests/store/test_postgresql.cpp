// What only a PostgreSQL store has (docs/operations.md, "Many hosts"): a
// URI for a location, credentials kept out of output, a schema shared by
// many hosts, a server that goes away. These run in the PostgreSQL pass
// only (the "postgresql" suite; tests/CMakeLists.txt), on the throwaway
// server scripts/test.sh starts; every other suite runs there too.
#include "store/sqlite_shell.hpp"
#include "store/migrations.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <mutex>
#include <sstream>
#include <fstream>
#include <map>
#include <set>
#include <signal.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace kanari::test;
using nlohmann::json;

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// The URI of a new, empty schema with every connection parameter spelled
// out, the password included, as a careless operator would write it.
std::string uri_with_password(const std::string& password) {
  const std::string schema = "kanari_pw_" + std::to_string(::getpid());
  run_postgresql(postgresql_base_uri(), "DROP SCHEMA IF EXISTS " + schema + " CASCADE; CREATE SCHEMA " + schema);
  return with_search_path("postgresql://" + env("PGUSER") + ":" + password + "@" + env("PGHOST") + ":" + env("PGPORT") +
                              "/" + env("PGDATABASE"),
                          schema);
}

} // namespace

TEST_SUITE("postgresql") {

  TEST_CASE("postgresql: init creates the store in the URI's schema, once, and says where") {
    REQUIRE(on_postgresql());
    Cli cli;
    auto r = cli.ok({"init"});
    CHECK(r.out == "Initialised an empty kanari store in " + cli.state() + "\n");
    CHECK(cli.json({"init"})["created"] == false);
    CHECK(sqlite_value(cli.state(), "SELECT max(version) FROM kanari_schema") ==
          std::to_string(kanari::store::postgresql_migrations().back().number));
    CHECK(sqlite_value(
              cli.state(),
              "SELECT count(*) FROM information_schema.tables WHERE table_schema ="
              " current_schema() AND table_name IN ('outcomes', 'events', 'rollouts', 'hooks', 'deliveries')") == "5");
    const auto info = cli.json({"store", "info"});
    CHECK(info["backend"] == "postgresql");
    CHECK(info["location"] == cli.state());
    CHECK(info["server"].get<std::string>().starts_with("PostgreSQL "));
  }

  TEST_CASE("postgresql: a missing store, a foreign schema and a newer schema exit 3 and change nothing") {
    REQUIRE(on_postgresql());
    Cli cli;
    auto r = cli({"version", "list"});
    CHECK(r.code == 3);
    CHECK(r.err.find("no kanari store at postgresql://") != std::string::npos);
    CHECK(r.err.find("kanari init") != std::string::npos);
    CHECK(store_snapshot(cli.state()).empty());

    // A schema with tables of another application is not taken over.
    run_postgresql(cli.state(), "CREATE TABLE invoices (id int)");
    const auto before = store_snapshot(cli.state());
    r = cli({"init"});
    CHECK(r.code == 3);
    CHECK(r.err.find("has tables of its own") != std::string::npos);
    CHECK(store_snapshot(cli.state()) == before);

    // A store written by a newer kanari.
    Cli newer;
    newer.ok({"init"});
    run_postgresql(newer.state(), "INSERT INTO kanari_schema (version) VALUES (99)");
    r = newer({"version", "list"});
    CHECK(r.code == 3);
    CHECK(r.err.find("newer than this kanari understands") != std::string::npos);
    CHECK(newer({"init"}).code == 3);

    // A search_path that names no schema.
    Cli nowhere(with_search_path(postgresql_base_uri(), "no_such_schema"));
    r = nowhere({"init"});
    CHECK(r.code == 3);
    CHECK(r.err.find("no current schema") != std::string::npos);
  }

  TEST_CASE("postgresql: a password in the URI never appears in output or errors") {
    REQUIRE(on_postgresql());
    const std::string password = env("PGPASSWORD");
    REQUIRE_MESSAGE(!password.empty(), "the test server's password (PGPASSWORD, set by pg_virtualenv)");
    Cli cli(uri_with_password(password));
    cli.env["KANARI_STATE"] = cli.state();
    std::vector<CliResult> seen;
    seen.push_back(cli.ok({"init"}));
    seen.push_back(cli.ok({"init", "--json"}));
    seen.push_back(cli.ok({"store", "info"}));
    seen.push_back(cli.ok({"store", "info", "--json"}));
    seen.push_back(cli({"canary", "promote"})); // exit 5: no store state to promote
    TempDir dir;
    seen.push_back(cli.ok({"store", "copy", "--to", (dir.path() / "copy").string()}));
    // A wrong password: the connection is refused, and neither password is shown.
    Cli wrong(uri_with_password("wrong-" + password));
    seen.push_back(wrong({"version", "list"}));
    CHECK(seen.back().code == 3);
    CHECK(seen.back().err.find("password authentication failed") != std::string::npos);
    for (const auto& r : seen) {
      CHECK(r.out.find(password) == std::string::npos);
      CHECK(r.err.find(password) == std::string::npos);
      CHECK(r.out.find("wrong-") == std::string::npos);
      CHECK(r.err.find("wrong-") == std::string::npos);
    }
    CHECK(seen[2].out.find(":***@") != std::string::npos);
    CHECK(seen[0].out.find(":***@") != std::string::npos);
    // Nor in the store itself.
    CHECK(store_snapshot(cli.state()).find(password) == std::string::npos);
  }

  TEST_CASE("postgresql: events are append-only, and an edit made with the triggers off is caught") {
    REQUIRE(on_postgresql());
    TwoVersions w;
    w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "20"});
    CHECK_THROWS(run_postgresql(w.cli.state(), "UPDATE events SET reason = 'forged' WHERE seq = 1"));
    CHECK_THROWS(run_postgresql(w.cli.state(), "DELETE FROM events WHERE seq = 1"));
    run_postgresql(w.cli.state(), "ALTER TABLE events DISABLE TRIGGER USER;"
                                  " UPDATE events SET reason = 'forged' WHERE seq = 2;"
                                  " ALTER TABLE events ENABLE TRIGGER USER");
    auto r = w.cli({"audit", "verify"});
    CHECK(r.code == 1);
    CHECK(w.cli({"doctor"}).code == 1);
  }

  TEST_CASE("postgresql: two hosts sharing one URI route every key alike") {
    REQUIRE(on_postgresql());
    TwoVersions w;
    w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "30"});
    // The second "host": its own working directory, the same URI, a separate
    // process.
    TempDir host2;
    std::string keys;
    for (int i = 0; i < 500; ++i)
      keys += "user-" + std::to_string(i) + "\n";
    const auto local = w.cli.ok({"route", "--keys", "-"}, keys).out;
    const auto remote =
        spawn_kanari_via({"env", "-C", host2.str()}, {"--state", w.cli.state(), "route", "--keys", "-"}, keys);
    REQUIRE(remote.code == 0);
    CHECK(remote.out == local);
    CHECK(local.find("canary") != std::string::npos);
    CHECK(local.find("stable") != std::string::npos);
  }

  TEST_CASE("postgresql: 8 recorders and 4 `evaluate --all --apply` loops on two hosts count everything once") {
    REQUIRE(on_postgresql());
    TwoVersions w;
    auto& cli = w.cli;
    const std::string other_a = w.add("oa", "other a\n", "other");
    const std::string other_b = w.add("ob", "other b\n", "other");
    // Small windows, so that evaluators promote while recorders record.
    TempDir dir;
    const std::string policy = dir.file("p.json", R"({"min_samples": 5})");
    cli.ok({"canary", "start", "--version", w.b, "--steps", "5,25,50,100", "--policy", policy});
    cli.ok({"--track", "other", "canary", "start", "--version", other_b, "--steps", "10,50,100", "--policy", policy});
    TempDir host_a, host_b;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
    std::atomic<std::int64_t> inserted{0}, unexpected{0};
    std::mutex m;
    std::string first_unexpected;
    auto note = [&](const std::string& what, const Spawned& r) {
      if (unexpected++ == 0) {
        std::lock_guard lock(m);
        first_unexpected = what + " -> exit " + std::to_string(r.code) + ": " + r.err;
      }
    };
    std::vector<std::thread> threads;
    const std::map<std::string, std::pair<std::string, std::string>> arms = {{"default", {w.a, w.b}},
                                                                             {"other", {other_a, other_b}}};
    for (int p = 0; p < 8; ++p)
      threads.emplace_back([&, p] {
        const std::string host = (p % 2 ? host_a : host_b).str();
        const std::string track = p % 2 ? "other" : "default";
        for (int k = 0; std::chrono::steady_clock::now() < deadline || k < 2; ++k) {
          std::string batch;
          for (int n = 0; n < 25; ++n)
            batch += R"({"task":"p)" + std::to_string(p) + "-" + std::to_string(k) + "-" + std::to_string(n) +
                     R"(","pass":true,"track":")" + track + "\",\"version\":\"" +
                     (n % 2 ? arms.at(track).first : arms.at(track).second) + "\"}\n";
          // The version named by id is an arm, or a late arm after promotion:
          // never refused.
          auto r = spawn_kanari_via({"env", "-C", host}, {"--state", cli.state(), "--json", "record", "--jsonl", "-"},
                                    batch);
          if (r.code != 0) {
            note("record", r);
            continue;
          }
          inserted += json::parse(r.out)["inserted"].get<std::int64_t>();
        }
      });
    for (int e = 0; e < 4; ++e)
      threads.emplace_back([&, e] {
        const std::string host = (e % 2 ? host_a : host_b).str();
        while (std::chrono::steady_clock::now() < deadline) {
          auto r = spawn_kanari_via({"env", "-C", host},
                                    {"--state", cli.state(), "canary", "evaluate", "--all", "--apply", "--quiet"});
          if (r.code != 0 && r.code != 1)
            note("evaluate", r);
        }
      });
    for (auto& t : threads)
      t.join();
    INFO(first_unexpected);
    CHECK(unexpected == 0);
    // Every outcome a recorder was told it stored, and no other.
    CHECK(sqlite_value(cli.state(), "SELECT count(*) FROM outcomes") == std::to_string(inserted.load()));
    CHECK(sqlite_value(cli.state(), "SELECT count(*) FROM (SELECT task, track_no, version_no FROM outcomes"
                                    " GROUP BY 1, 2, 3 HAVING count(*) > 1) d") == "0");
    // Each rollout went through each step once: its step_advanced events go
    // 0->1, 1->2, ... without a repeat.
    for (const char* track : {"default", "other"}) {
      const auto steps =
          sqlite_value(cli.state(), std::string("SELECT string_agg(evidence::json->>'to_step', ',' ORDER BY seq)"
                                                " FROM events WHERE track = '") +
                                        track + "' AND action = 'step_advanced'");
      INFO(track << " steps: " << steps);
      std::set<std::string> seen;
      std::istringstream in(steps);
      for (std::string s; std::getline(in, s, ',');)
        CHECK(seen.insert(s).second);
    }
    CHECK(cli.json({"audit", "verify"})["ok"] == true);
    CHECK(cli.ok({"doctor"}).code == 0);
  }

  TEST_CASE("postgresql: the server restarted mid-import exits 3, writes nothing, and a re-run succeeds") {
    REQUIRE(on_postgresql());
    // The cluster serving the tests: pg_lsclusters' line with its port.
    const auto clusters = [] {
      FILE* p = ::popen("pg_lsclusters -h 2>/dev/null", "r");
      std::string out;
      char buf[512];
      while (p && std::fgets(buf, sizeof buf, p))
        out += buf;
      if (p)
        ::pclose(p);
      return out;
    }();
    std::string version, name;
    {
      std::istringstream in(clusters);
      for (std::string v, n, port, rest; in >> v >> n >> port && std::getline(in, rest);)
        if (port == env("PGPORT")) {
          version = v;
          name = n;
        }
    }
    REQUIRE_MESSAGE(!name.empty(), "no cluster on port " << env("PGPORT") << " in pg_lsclusters:\n" << clusters);

    TwoVersions w;
    TempDir dir;
    const std::string jsonl = (dir.path() / "big.jsonl").string();
    {
      std::ofstream f(jsonl);
      for (int i = 0; i < 200000; ++i)
        f << "{\"task\":\"t-" << i << "\",\"pass\":true,\"version\":\"stable\"}\n";
    }
    // The import stops half-way in the server, where a trigger sleeps on
    // the row of task t-100000, and the server restarts under it then: mid-import
    // however fast the import is. (A sleep is no lock wait, so the store's
    // lock_timeout does not end it first.)
    sqlite_value(w.cli.state(),
                 "CREATE FUNCTION hold_import() RETURNS trigger LANGUAGE plpgsql AS $$"
                 " BEGIN IF NEW.task = 't-100000' THEN PERFORM pg_sleep(600); END IF; RETURN NEW; END $$;"
                 " CREATE TRIGGER hold_import BEFORE INSERT ON outcomes"
                 " FOR EACH ROW EXECUTE FUNCTION hold_import()");
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      const int fd = ::open("/dev/null", O_WRONLY);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::execl(KANARI_BINARY, "kanari", "--state", w.cli.state().c_str(), "record", "--jsonl", jsonl.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    bool held = false;
    for (int i = 0; i < 1200 && !held; ++i) {
      held = sqlite_value(w.cli.state(), "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
                                         " AND query LIKE 'COPY outcomes%'") != "0";
      if (!held)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK_MESSAGE(held, "the import did not reach task t-100000 within a minute");
    const std::string restart = "pg_ctlcluster " + version + " " + name + " restart -m fast >/dev/null 2>&1";
    CHECK(std::system(restart.c_str()) == 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 3);
    sqlite_value(w.cli.state(), "DROP TRIGGER hold_import ON outcomes; DROP FUNCTION hold_import()");
    CHECK(sqlite_value(w.cli.state(), "SELECT count(*) FROM outcomes") == "0");
    auto again = w.cli.json({"record", "--jsonl", jsonl});
    CHECK(again["inserted"] == 200000);
    CHECK(w.cli.ok({"doctor"}).code == 0);
  }

} // TEST_SUITE
