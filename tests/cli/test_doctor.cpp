// kanari doctor: a healthy store passes; each kind of damage is found and
// named, every mismatch on its own line, exit 1.
#include "core/manifest.hpp"
#include "crypto/sha256.hpp"
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <fstream>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

std::string key_path(const std::string& name) { return std::string(KANARI_TEST_DATA) + "/keys/" + name; }

struct Damaged {
  TwoVersions w;
  std::string db;
  std::string blob_a; // sha256 of a's prompt

  Damaged() : db(w.cli.state() + "/kanari.db") {
    w.cli.ok({"version", "sign", w.b, "--key", key_path("alice.pem")});
    w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "50"});
    blob_a = w.cli.json({"version", "show", w.a})["components"][0]["sha256"];
  }

  // Runs doctor, which must fail, and returns its problems.
  std::vector<std::string> problems() {
    auto r = w.cli({"--json", "doctor"});
    CHECK(r.code == 1);
    auto j = r.json();
    CHECK(j["ok"] == false);
    const auto list = j["problems"].get<std::vector<std::string>>();
    // Each problem is also one stderr line.
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == static_cast<long>(list.size()));
    return list;
  }
};

bool has(const std::vector<std::string>& problems, const std::string& text) {
  for (const auto& p : problems)
    if (p.find(text) != std::string::npos)
      return true;
  return false;
}

} // namespace

TEST_CASE("doctor: a healthy store passes, and doctor writes nothing") {
  Damaged d;
  const std::string before = store_snapshot(d.w.cli.state());
  auto r = d.w.cli({"doctor"});
  CHECK(r.code == 0);
  CHECK(r.out == "Store healthy: database integrity ok, 2 blobs and 2 version ids re-hashed, 1 signatures and 3 "
                 "events verified, 1 rollouts checked against their events.\n");
  auto j = d.w.cli.json({"doctor"});
  CHECK(j == json{{"ok", true},
                  {"blobs", 2},
                  {"versions", 2},
                  {"signatures", 1},
                  {"events", 3},
                  {"rollouts", 1},
                  {"problems", json::array()}});
  CHECK(store_snapshot(d.w.cli.state()) == before);
}

TEST_CASE("doctor: a blob whose content changed" * doctest::test_suite("sqlite")) {
  Damaged d;
  sqlite_value(d.db, "UPDATE blobs SET data = CAST('You are agent Z.\n' AS BLOB) WHERE sha256 = '" + d.blob_a + "'");
  auto p = d.problems();
  CHECK(p.size() == 1);
  CHECK(has(p, "blob " + d.blob_a + ": its content hashes to "));
}

TEST_CASE("doctor: a version whose manifest, components or model were edited") {
  Damaged d;
  sqlite_value(d.db, "UPDATE versions SET manifest = replace(manifest, 'system', 'System') WHERE id = '" + d.w.a + "'");
  sqlite_value(d.db, "UPDATE versions SET model = '{\"model\":\"gpt-x\"}' WHERE id = '" + d.w.b + "'");
  auto p = d.problems();
  CHECK(p.size() == 2);
  CHECK(has(p, "version " + d.w.a + ": its stored manifest hashes to "));
  CHECK(has(p, "version " + d.w.b + ": its component rows and model configuration hash to "));
}

TEST_CASE("doctor: a component row pointing elsewhere, and a missing blob" * doctest::test_suite("sqlite")) {
  Damaged d;
  sqlite_value(d.db, "UPDATE components SET bytes = bytes + 1 WHERE version_id = '" + d.w.a + "'");
  sqlite_value(d.db,
               "DELETE FROM blobs WHERE sha256 = (SELECT sha256 FROM components WHERE version_id = '" + d.w.b + "')");
  auto p = d.problems();
  CHECK(has(p, "version " + d.w.a + ": its component rows and model configuration hash to "));
  CHECK(has(p, "version " + d.w.a + ": prompt 'system' is recorded as 18 bytes but its blob has 17"));
  CHECK(has(p, "version " + d.w.b + ": prompt 'system' has no content (blob "));
  CHECK(has(p, "database: foreign key: a row of table components"));
}

TEST_CASE("doctor: a signature and an event that were edited" * doctest::test_suite("sqlite")) {
  Damaged d;
  sqlite_value(d.db, "UPDATE signatures SET signature = 'ff' || substr(signature, 3)");
  sqlite_value(d.db, "DROP TRIGGER events_no_update; UPDATE events SET reason = 'nothing to see' WHERE seq = 2");
  auto p = d.problems();
  CHECK(p.size() == 2);
  CHECK(has(p, "version " + d.w.b + ": the signature by ed25519:d75a98"));
  CHECK(has(p, "events: event 2 (version_signed) was changed"));
}

TEST_CASE("doctor: a damaged database page is reported by the integrity check" * doctest::test_suite("sqlite")) {
  Damaged d;
  // Enough outcomes for the ledger's indexes to span many pages, all of it
  // checkpointed into the main file.
  std::string lines;
  for (int i = 0; i < 3000; ++i)
    lines += R"({"task":"t)" + std::to_string(i) +
             R"(","pass":true,"version":"stable"})"
             "\n";
  d.w.cli.ok({"record", "--jsonl", "-"}, lines);
  sqlite_value(d.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  const auto page_size = std::stol(sqlite_value(d.db, "PRAGMA page_size"));
  const auto root =
      std::stol(sqlite_value(d.db, "SELECT rootpage FROM sqlite_master WHERE name = 'outcomes_by_version'"));
  {
    std::fstream f(d.db, std::ios::in | std::ios::out | std::ios::binary);
    REQUIRE(f);
    f.seekp((root - 1) * page_size);
    const std::string garbage(static_cast<size_t>(page_size), '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  }
  auto p = d.problems();
  REQUIRE_FALSE(p.empty());
  CHECK(p.front().rfind("database: ", 0) == 0);
}

// Schema 3 leaves (track, task, version) unique to kanari's own lookup for
// outcomes recorded in shadow rollouts (schema/sqlite/0003_ledger_by_task.sql), so
// doctor checks it: a second outcome of one version, written by hand with
// another slot, is found.
TEST_CASE("doctor: two outcomes of one task for one version" * doctest::test_suite("sqlite")) {
  TwoVersions w;
  const std::string db = w.cli.state() + "/kanari.db";
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "50", "--shadow"});
  w.cli.ok({"record", "--task", "task-1", "--pass", "--version", "canary"});
  w.cli.ok({"doctor"});
  sqlite_value(db, "INSERT INTO outcomes (track_no, task, version_no, canary, pass, at, slot)"
                   " SELECT track_no, task, version_no, canary, 0, at, 0 FROM outcomes");
  auto r = w.cli({"doctor"});
  CHECK(r.code == 1);
  CHECK(r.err.find("outcomes: task 'task-1' (rowid 1) has two outcomes for one version") != std::string::npos);
}

// SPEC 9.1: a rollout row is what its events made it. Each column written
// by hand after `canary start` is named, with the value its events give.
TEST_CASE("doctor: a rollout row that disagrees with its events") {
  Damaged d;
  const std::string c = d.w.add("c.txt", "You are agent C.\n"); // never signed, never started
  const std::string policy = sqlite_value(d.db, "SELECT policy FROM rollouts WHERE id = 1");
  struct Case {
    std::string sql;
    std::string names;
  };
  const std::vector<Case> cases = {
      {"UPDATE rollouts SET canary = '" + c + "'", "rollout 1: its canary is " + c + " but its events say " + d.w.b},
      {"UPDATE rollouts SET stable = '" + c + "'", "rollout 1: its stable is " + c + " but its events say " + d.w.a},
      {"UPDATE rollouts SET steps = '[1000]'", "rollout 1: its steps are [10] but its events say [50]"},
      {"UPDATE rollouts SET salt = '" + std::string(32, '0') + "'",
       "rollout 1: its salt is " + std::string(32, '0') + " but its events say "},
      {"UPDATE rollouts SET shadow = 1", "rollout 1: its shadow flag is true but its events say false"},
      {"UPDATE rollouts SET shadow_steps = 1", "rollout 1: its shadow steps are 1 but its events say 0"},
      {"UPDATE rollouts SET state = 'paused'", "rollout 1: its state is paused but its events say active"},
      {"UPDATE rollouts SET step = 1", "rollout 1: its step is 1 but its events say 0"},
      {"UPDATE rollouts SET approved_step = 0", "rollout 1: its approved step is 0 but its events say none"},
  };
  SUBCASE("each column") {
    for (const auto& k : cases) {
      CAPTURE(k.sql);
      sqlite_value(d.db, "BEGIN; CREATE TABLE saved AS SELECT * FROM rollouts; " + k.sql + "; COMMIT");
      auto p = d.problems();
      CHECK(p.size() == 1);
      CHECK(has(p, k.names));
      sqlite_value(d.db, "DELETE FROM rollouts; INSERT INTO rollouts SELECT * FROM saved; DROP TABLE saved");
      d.w.cli.ok({"doctor"});
    }
  }

  SUBCASE("the policy, rehashed so that policy_sha256 matches") {
    const std::string forged = R"({"min_samples":1})";
    sqlite_value(d.db,
                 "UPDATE rollouts SET policy = '" + forged + "', policy_sha256 = '" + crypto::sha256_hex(forged) + "'");
    auto p = d.problems();
    CHECK(p.size() == 2);
    CHECK(has(p, "rollout 1: its policy is not the one its started event (event 3) recorded"));
    CHECK(has(p, "rollout 1: its policy_sha256 is " + crypto::sha256_hex(forged) + " but its events say " +
                     crypto::sha256_hex(policy)));
  }
  SUBCASE("a row no started event created") {
    sqlite_value(d.db, "INSERT INTO rollouts (track, canary, stable, steps, step, state, salt, shadow, policy,"
                       " policy_sha256, started_at, step_started_at)"
                       " SELECT track, '" +
                           c +
                           "', stable, steps, 0, 'rolled_back', salt, shadow, policy,"
                           " policy_sha256, started_at, step_started_at FROM rollouts");
    auto p = d.problems();
    CHECK(p.size() == 1);
    CHECK(has(p, "rollout 2: no started event created it"));
  }
  SUBCASE("a started rollout whose row was deleted") {
    sqlite_value(d.db, "DELETE FROM rollouts");
    auto p = d.problems();
    CHECK(p.size() == 1);
    CHECK(has(p, "rollout 1: event 3 started it, but the store has no such rollout"));
  }
  SUBCASE("a steps column that is not JSON") {
    sqlite_value(d.db, "UPDATE rollouts SET steps = 'garbage'");
    auto p = d.problems();
    CHECK(has(p, "rollout 1: its steps column is not a JSON array"));
  }
}

// The attack of issue 13: a signed canary is started under require_signature,
// then the row's canary is swapped for an unsigned version. Promotion refuses
// it (tests/cli/test_sign.cpp); doctor names both the swap and, when the
// promotion happened before this check existed, the event that shipped it.
TEST_CASE("doctor: a canary swapped after start, and a track stable set by hand") {
  Damaged d;
  const std::string c = d.w.add("c.txt", "You are agent C.\n");
  sqlite_value(d.db, "UPDATE rollouts SET canary = '" + c + "'");
  auto p = d.problems();
  CHECK(has(p, "rollout 1: its canary is " + c + " but its events say " + d.w.b));

  // An older kanari promoted the swapped canary: the promoted event names it.
  sqlite_value(d.db, "UPDATE rollouts SET canary = '" + d.w.b + "'");
  d.w.cli.ok({"canary", "promote", "--full"});
  d.w.cli.ok({"doctor"});
  sqlite_value(d.db, "UPDATE tracks SET stable = '" + c + "'");
  p = d.problems();
  CHECK(p.size() == 1);
  CHECK(has(p, "track 'default': its stable is " + c + " but its events say " + d.w.b));
}

TEST_CASE("doctor: a rollout event naming another version than the rollout's canary") {
  Damaged d;
  const std::string c = d.w.add("c.txt", "You are agent C.\n");
  // What kanari before the promotion check wrote after the swap: the promoted
  // event names the swapped canary and the track's stable follows it.
  sqlite_value(d.db, "UPDATE rollouts SET canary = '" + c + "'");
  d.w.cli.ok({"canary", "promote", "--full"}); // no require_signature in this rollout's policy
  auto p = d.problems();
  CHECK(has(p, "rollout 1: event 4 (promoted) names version " + c + ", not its canary " + d.w.b));
}

// SPEC 9.1: the evidence stored in a row is the exact canonical JSON that
// was hashed. A duplicate key hashes like the original under a lenient
// parse while SQLite's JSON functions read the forged value.
TEST_CASE("doctor: event evidence rewritten with a duplicate key" * doctest::test_suite("sqlite")) {
  Damaged d;
  sqlite_value(d.db, "DROP TRIGGER events_no_update; UPDATE events SET evidence = '{\"salt\":\"" +
                         std::string(32, '0') + "\",' || substr(evidence, 2) WHERE seq = 3");
  CHECK(sqlite_value(d.db, "SELECT json_extract(evidence, '$.salt') FROM events WHERE seq = 3") ==
        std::string(32, '0'));
  auto p = d.problems();
  CHECK(has(p, "events: event 3 (started): its stored evidence is not the canonical JSON that was hashed"));
  CHECK(has(p, "has the key 'salt' more than once"));
}

// SPEC 9.1: a stored policy this build cannot read is named, whether its
// hash was updated with it or not.
TEST_CASE("doctor: a stored policy this build cannot read") {
  Damaged d;
  SUBCASE("a key this build refuses") {
    const std::string forged = R"({"min_samples":"ten"})";
    sqlite_value(d.db,
                 "UPDATE rollouts SET policy = '" + forged + "', policy_sha256 = '" + crypto::sha256_hex(forged) + "'");
    auto p = d.problems();
    CHECK(has(p, "rollout 1: its stored policy cannot be read by this kanari: policy key 'min_samples'"));
  }
  SUBCASE("a duplicate key") {
    const std::string forged = R"({"min_samples":1,"min_samples":10})";
    sqlite_value(d.db,
                 "UPDATE rollouts SET policy = '" + forged + "', policy_sha256 = '" + crypto::sha256_hex(forged) + "'");
    auto p = d.problems();
    CHECK(has(p, "rollout 1: its stored policy cannot be read by this kanari: "));
    CHECK(has(p, "more than once"));
  }
  SUBCASE("not JSON") {
    sqlite_value(d.db,
                 "UPDATE rollouts SET policy = 'garbage', policy_sha256 = '" + crypto::sha256_hex("garbage") + "'");
    auto p = d.problems();
    CHECK(has(p, "rollout 1: its stored policy cannot be read by this kanari: "));
  }
  SUBCASE("a hash that does not match") {
    sqlite_value(d.db, "UPDATE rollouts SET policy_sha256 = '" + std::string(64, 'a') + "'");
    auto p = d.problems();
    CHECK(p.size() == 2);
    CHECK(has(p, "rollout 1: its stored policy hashes to "));
    CHECK(has(p, "rollout 1: its policy_sha256 is " + std::string(64, 'a') + " but its events say "));
  }
}

// SPEC 9.1: a component name `version add` would refuse, in a version whose
// id, manifest, rows and blob are otherwise all consistent (what an attacker
// writes to make `version checkout` write outside its target).
TEST_CASE("doctor: a component name version add would refuse" * doctest::test_suite("sqlite")) {
  for (const std::string name : {"../../x", "/abs/x", "a//b", "./x"}) {
    CAPTURE(name);
    Damaged d;
    const std::string content = "You are agent X.\n";
    core::Component comp{core::ComponentKind::prompt, name, crypto::sha256_hex(content), content.size(), content};
    const core::Manifest m{{comp}, json::object()};
    const std::string id = core::version_id(m);
    sqlite_value(d.db, "INSERT INTO blobs (sha256, data) VALUES ('" + comp.sha256 + "', CAST('" + content +
                           "' AS BLOB)); INSERT INTO versions (id, manifest, model, author, created_at) VALUES ('" +
                           id + "', '" + core::canonical_manifest(m) +
                           "', '{}', 'mallory', 0);"
                           " INSERT INTO components (version_id, kind, name, sha256, bytes) VALUES ('" +
                           id + "', 'prompt', '" + name + "', '" + comp.sha256 + "', " +
                           std::to_string(content.size()) +
                           ");"
                           " INSERT INTO track_versions (track, version_id, added_at) VALUES ('default', '" +
                           id + "', 0)");
    auto p = d.problems();
    CHECK(p.size() == 1);
    CHECK(has(p, "version " + id + ": prompt '" + name + "' has a name `version add` refuses"));
  }
}

// docs/gates.md, "Large windows": the sums a large window is read from
// must agree with the outcomes counted in it.
TEST_CASE("doctor: window sums that disagree with the outcomes they sum") {
  Damaged d;
  d.w.cli.ok({"record", "--task", "c1", "--pass", "--version", "canary"});
  d.w.cli.ok({"record", "--task", "c2", "--fail", "--version", "canary"});
  d.w.cli.ok({"record", "--task", "s1", "--pass", "--version", "stable"});
  d.w.cli.ok({"doctor"});
  sqlite_value(d.db, "UPDATE window_sums SET n = n + 1 WHERE canary = 1");
  auto p = d.problems();
  CHECK(p.size() == 1);
  CHECK(has(p, "window sums: rollout 1, canary arm, step 0: 2 counted outcomes, but the sums hold 3"));
  sqlite_value(d.db, "UPDATE window_sums SET n = n - 1 WHERE canary = 1; DELETE FROM window_sums WHERE canary = 0");
  p = d.problems();
  CHECK(p.size() == 1);
  CHECK(has(p, "window sums: rollout 1, stable arm, step 0: 1 counted outcomes, but the sums hold 0"));
}
