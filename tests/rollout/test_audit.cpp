// The audit log's hash chain (SPEC §7): `audit verify` accepts an intact
// chain and, after someone edits kanari.db with the sqlite3 shell, exits 1
// naming the first changed, removed or reordered event. The chain is also
// recomputed here from `history --json` alone, as an outside auditor would.
#include "support.hpp"

#include "crypto/sha256.hpp"
#include "rollout/audit.hpp"
#include "store/sqlite_shell.hpp"
#include "store/store.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

// Five events: 1 stable_set, 2 started, 3 paused, 4 resumed, 5 rolled_back.
struct World : TwoVersions {
  World() {
    cli.ok({"canary", "start", "--version", b, "--steps", "10,50"});
    cli.ok({"canary", "pause", "--reason", "look at it"});
    cli.ok({"canary", "resume"});
    cli.ok({"canary", "rollback", "--reason", "worse"});
  }

  // Runs SQL against the store with the sqlite3 shell; returns its exit status.
  int sql(const std::string& statements, bool drop_triggers = true) {
    std::string script = drop_triggers ? "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete;\n" : "";
    auto file = cli.dir().file("tamper.sql", script + statements + "\n");
    auto cmd = "sqlite3 -bail '" + cli.state() + "/kanari.db' < '" + file + "' > /dev/null 2>&1";
    return std::system(cmd.c_str());
  }

  CliResult verify() { return cli({"audit", "verify"}); }
};

void check_broken(const CliResult& r, const std::string& names) {
  INFO("stderr: " << r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find(names) != std::string::npos);
}

} // namespace

TEST_CASE("audit: an intact chain verifies") {
  World w;
  auto r = w.verify();
  INFO(r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("5 events") != std::string::npos);
  auto j = w.cli.json({"audit", "verify"});
  CHECK(j["ok"] == true);
  CHECK(j["events"] == 5);
  CHECK(j["problems"].empty());
}

TEST_CASE("audit: an empty store verifies") {
  Cli cli;
  cli.ok({"init"});
  CHECK(cli.json({"audit", "verify"})["events"] == 0);
}

TEST_CASE("audit: the chain can be recomputed from history --json (SPEC 7)") {
  World w;
  auto h = w.cli.json({"history"});
  REQUIRE(h.size() == 5);
  std::string prev(64, '0');
  for (auto it = h.rbegin(); it != h.rend(); ++it) {
    json body = *it;
    body.erase("hash");
    // nlohmann keeps keys sorted and dumps compactly: canonical for these values.
    CHECK((*it)["hash"] == crypto::sha256_hex(prev + body.dump()));
    prev = (*it)["hash"].get<std::string>();
  }
}

TEST_CASE("audit: the store refuses to change or delete events while its triggers stand") {
  World w;
  CHECK(w.sql("UPDATE events SET reason = 'x' WHERE seq = 3;", false) != 0);
  CHECK(w.sql("DELETE FROM events WHERE seq = 3;", false) != 0);
  CHECK(w.verify().code == 0);
}

TEST_CASE("audit: a changed reason is named" * doctest::test_suite("sqlite")) {
  World w;
  REQUIRE(w.sql("UPDATE events SET reason = 'all fine' WHERE seq = 3;") == 0);
  check_broken(w.verify(), "event 3 (paused) was changed");
  auto j = w.cli({"audit", "verify", "--json"});
  CHECK(j.code == 1);
  CHECK(j.json()["ok"] == false);
  REQUIRE(j.json()["problems"].size() == 1);
  CHECK(j.json()["problems"][0].get<std::string>().find("event 3") != std::string::npos);
}

TEST_CASE("audit: changed actor, evidence, time or hash are named" * doctest::test_suite("sqlite")) {
  World w;
  SUBCASE("actor") {
    REQUIRE(w.sql("UPDATE events SET actor = 'mallory' WHERE seq = 4;") == 0);
    check_broken(w.verify(), "event 4");
  }
  SUBCASE("evidence") {
    REQUIRE(w.sql("UPDATE events SET evidence = json_set(evidence, '$.salt', 'x') WHERE seq = 2;") == 0);
    check_broken(w.verify(), "event 2");
  }
  SUBCASE("time") {
    REQUIRE(w.sql("UPDATE events SET at = at + 1 WHERE seq = 1;") == 0);
    check_broken(w.verify(), "event 1");
  }
  SUBCASE("the last event's hash") {
    REQUIRE(w.sql("UPDATE events SET hash = '" + std::string(64, 'a') + "' WHERE seq = 5;") == 0);
    check_broken(w.verify(), "event 5");
  }
}

TEST_CASE("audit: a removed middle event is named" * doctest::test_suite("sqlite")) {
  World w;
  REQUIRE(w.sql("DELETE FROM events WHERE seq = 3;") == 0);
  check_broken(w.verify(), "event 3 is missing");
}

TEST_CASE("audit: a removal hidden by renumbering is named" * doctest::test_suite("sqlite")) {
  World w;
  REQUIRE(w.sql("DELETE FROM events WHERE seq = 3; UPDATE events SET seq = seq - 1 WHERE seq > 3;") == 0);
  check_broken(w.verify(), "event 3 ");
}

TEST_CASE("audit: two swapped events are named" * doctest::test_suite("sqlite")) {
  World w;
  REQUIRE(w.sql("UPDATE events SET seq = -1 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3;"
                " UPDATE events SET seq = 3 WHERE seq = -1;") == 0);
  auto r = w.verify();
  check_broken(r, "event 2 ");
  CHECK(r.err.find("event 3") == std::string::npos); // the first break only
}

TEST_CASE("audit: a changed event with a recomputed hash still breaks the next link" * doctest::test_suite("sqlite")) {
  World w;
  // The forger rewrites event 3's reason and recomputes its own hash.
  std::optional<store::EventRecord> third;
  {
    bool created = false;
    auto s = store::open(w.cli.state(), store::OpenMode::create, &created);
    REQUIRE(s.ok());
    (*s)->for_each_event([&](const store::EventRecord& e) {
      if (e.seq == 3)
        third = e;
    });
  }
  REQUIRE(third);
  third->reason = "nothing to see";
  const auto forged = rollout::event_hash(third->prev_hash, *third);
  REQUIRE(w.sql("UPDATE events SET reason = 'nothing to see', hash = '" + forged + "' WHERE seq = 3;") == 0);
  check_broken(w.verify(), "event 4 does not follow");
}

TEST_CASE("audit: verify prints the head, an anchor saved earlier catches events cut from the end" *
          doctest::test_suite("sqlite")) {
  World w;
  const std::string head = w.cli.json({"history", "--limit", "1"})[0]["hash"];
  CHECK(w.cli.json({"audit", "verify"})["head"] == head);
  CHECK(w.verify().out.find("head " + head) != std::string::npos);
  CHECK(w.cli({"audit", "verify", "--anchor", head}).code == 0);

  // New events keep the old anchor in the chain.
  const std::string c = w.add("c.txt", "You are agent C.\n");
  w.cli.ok({"canary", "start", "--version", c, "--percentage", "10"});
  CHECK(w.cli({"audit", "verify", "--anchor", head}).code == 0);
  const std::string newer = w.cli.json({"audit", "verify"})["head"];
  CHECK(newer != head);

  // Someone cuts the newest event: the rest still verifies on its own
  // (docs/security.md), but not against the anchor saved before the cut.
  REQUIRE(w.sql("DELETE FROM events WHERE seq = 6;") == 0);
  CHECK(w.verify().code == 0);
  check_broken(w.cli({"audit", "verify", "--anchor", newer}), "no event has the hash " + newer);
  CHECK(w.cli({"audit", "verify", "--anchor", head}).code == 0);
}

TEST_CASE("audit: --anchor takes a 64-hex event hash") {
  World w;
  for (const std::string& bad : {std::string("abc"), std::string(64, 'G'), std::string(63, 'a')}) {
    auto r = w.cli({"audit", "verify", "--anchor", bad});
    CHECK(r.code == 2);
    CHECK(r.err.find("--anchor takes an event hash") != std::string::npos);
  }
}

// SPEC 9.1: the stored evidence must be exactly the canonical JSON the chain
// hashed. Parsed leniently, a duplicate key (the last one wins) or added
// whitespace hashes like the original, while SQLite's JSON functions, and
// anyone reading the row, see something else.
TEST_CASE("audit: evidence that is not the canonical JSON that was hashed is a break" * doctest::test_suite("sqlite")) {
  World w;
  const std::string db = w.cli.state() + "/kanari.db";
  SUBCASE("a duplicate key in front of the real one") {
    REQUIRE(w.sql("UPDATE events SET evidence = '{\"salt\":\"forged\",' || substr(evidence, 2) WHERE seq = 2;") == 0);
    CHECK(sqlite_value(db, "SELECT json_extract(evidence, '$.salt') FROM events WHERE seq = 2") == "forged");
    auto r = w.verify();
    check_broken(r, "event 2 (started): its stored evidence is not the canonical JSON that was hashed");
    check_broken(r, "has the key 'salt' more than once");
  }
  SUBCASE("whitespace") {
    REQUIRE(w.sql("UPDATE events SET evidence = '{ ' || substr(evidence, 2) WHERE seq = 3;") == 0);
    check_broken(w.verify(), "event 3 (paused): its stored evidence is not the canonical JSON that was hashed");
  }
  SUBCASE("keys out of order") {
    const json evidence = json::parse(sqlite_value(db, "SELECT evidence FROM events WHERE seq = 4"));
    std::string reversed;
    for (auto it = evidence.items().begin(); it != evidence.items().end(); ++it)
      reversed = json(it.key()).dump() + ":" + it.value().dump() + (reversed.empty() ? "" : ",") + reversed;
    REQUIRE(w.sql("UPDATE events SET evidence = '{" + reversed + "}' WHERE seq = 4;") == 0);
    check_broken(w.verify(), "event 4 (resumed): its stored evidence is not the canonical JSON");
  }
}
