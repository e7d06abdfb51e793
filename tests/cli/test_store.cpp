// kanari store info / store copy (docs/cli.md), on whichever backend the
// suite runs on (tests/support.hpp), copying to and from SQLite.
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari::test;
using nlohmann::json;

namespace {

// A store with history on two tracks: versions, a signature-free rollout
// promoted through its steps, one rolled back, outcomes, an assignment.
struct Busy {
  TwoVersions w;
  Busy() {
    auto& cli = w.cli;
    cli.ok({"canary", "start", "--version", w.b, "--steps", "10,50"});
    std::string batch;
    for (int i = 0; i < 30; ++i)
      batch += R"({"task":"t)" + std::to_string(i) + R"(","pass":true,"latency_ms":)" + std::to_string(100 + i) +
               ".5,\"version\":\"" + (i % 2 ? "canary" : "stable") + "\"}\n";
    cli.ok({"record", "--jsonl", "-"}, batch);
    cli.ok({"route", "--key", "user-1", "--task", "routed-1"});
    cli.ok({"canary", "promote"});
    cli.ok({"canary", "promote"});
    w.add("c", "third\n", "other");
    const auto c = w.add("d", "fourth\n", "other");
    cli.ok({"--track", "other", "canary", "start", "--version", c, "--percentage", "20"});
    cli.ok({"--track", "other", "record", "--task", "o1", "--pass", "--version", "canary"});
    cli.ok({"--track", "other", "canary", "rollback", "--reason", "test"});
  }
};

} // namespace

TEST_CASE("store info: backend, location, schema version, chain head and counts") {
  Busy b;
  auto j = b.w.cli.json({"store", "info"});
  CHECK(j["backend"] == (on_postgresql() ? "postgresql" : "sqlite"));
  CHECK(j["schema_version"] == 11);
  CHECK(j["counts"]["outcomes"] == 31);
  CHECK(j["counts"]["rollouts"] == 2);
  CHECK(j["counts"]["versions"] == 4);
  CHECK(j["counts"]["assignments"] == 1);
  const auto head = b.w.cli.json({"audit", "verify"})["head"];
  CHECK(j["chain_head"] == head);
  const auto text = b.w.cli.ok({"store", "info"}).out;
  CHECK(text.find("schema version: 11") != std::string::npos);
  CHECK(text.find("outcomes") != std::string::npos);
}

TEST_CASE("store copy: to SQLite and back keeps every row, the chain head and what commands show") {
  Busy b;
  auto& cli = b.w.cli;
  TempDir dir;
  const std::string copy1 = (dir.path() / "copy1").string();
  const auto j = cli.json({"store", "copy", "--to", copy1});
  CHECK(j["created"] == true);
  CHECK(j["rows"]["outcomes"] == 31);
  CHECK(j["rows"]["events"] == cli.json({"store", "info"})["counts"]["events"]);
  const auto head = cli.json({"audit", "verify"})["head"];
  CHECK(j["chain_head"] == head);

  // And back into a new store of the suite's backend.
  Cli c1(copy1);
  Cli c2; // a new location of the suite's backend, not initialised
  c1.ok({"store", "copy", "--to", c2.state()});
  for (Cli* c : {&c1, &c2}) {
    CHECK(c->json({"audit", "verify"})["head"] == head);
    CHECK(c->ok({"doctor"}).code == 0);
    for (const char* track : {"default", "other"}) {
      CHECK(c->json({"--track", track, "canary", "status"}) == cli.json({"--track", track, "canary", "status"}));
      CHECK(c->json({"--track", track, "version", "list"}) == cli.json({"--track", track, "version", "list"}));
      CHECK(c->json({"--track", track, "history"}) == cli.json({"--track", track, "history"}));
    }
    CHECK(c->json({"report", "--track", "default"}) == cli.json({"report", "--track", "default"}));
    // Routing: the salt came along, and so did the routed task.
    CHECK(c->json({"route", "--key", "user-7"}) == cli.json({"route", "--key", "user-7"}));
  }
  // The copy keeps working: a new outcome gets the next id and counts.
  c2.ok({"record", "--task", "after-copy", "--pass", "--version", "stable"});
  CHECK(c2.json({"store", "info"})["counts"]["outcomes"] == 32);
  c2.ok({"version", "add", "--prompt", "p=" + c2.dir().file("e.md", "fifth\n"), "-q"});
  CHECK(c2.ok({"doctor"}).code == 0);
}

TEST_CASE("store copy: a destination with data is refused (exit 5), the store itself (exit 2), nothing written") {
  Busy b;
  auto& cli = b.w.cli;
  TwoVersions other;
  const auto before = store_snapshot(other.cli.state());
  auto r = cli({"store", "copy", "--to", other.cli.state()});
  CHECK(r.code == 5);
  CHECK(r.err.find("holds a kanari store with data") != std::string::npos);
  CHECK(store_snapshot(other.cli.state()) == before);

  r = cli({"store", "copy", "--to", cli.state()});
  CHECK(r.code == 2);

  // An initialised, empty store is a fine destination.
  Cli empty;
  empty.ok({"init"});
  cli.ok({"store", "copy", "--to", empty.state()});
  CHECK(empty.json({"audit", "verify"})["head"] == cli.json({"audit", "verify"})["head"]);
}

TEST_CASE("store copy: a source with no store exits 3 and creates nothing") {
  Cli cli;
  TempDir dir;
  const std::string to = (dir.path() / "to").string();
  auto r = cli({"store", "copy", "--to", to});
  CHECK(r.code == 3);
  CHECK(r.err.find("kanari init") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(to));
}
