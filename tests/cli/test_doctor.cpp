// kanari doctor: a healthy store passes; each kind of damage is found and
// named, every mismatch on its own line, exit 1.
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <fstream>

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
                 "events verified.\n");
  auto j = d.w.cli.json({"doctor"});
  CHECK(j == json{{"ok", true}, {"blobs", 2}, {"versions", 2}, {"signatures", 1}, {"events", 3}, {"problems", json::array()}});
  CHECK(store_snapshot(d.w.cli.state()) == before);
}

TEST_CASE("doctor: a blob whose content changed") {
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

TEST_CASE("doctor: a component row pointing elsewhere, and a missing blob") {
  Damaged d;
  sqlite_value(d.db, "UPDATE components SET bytes = bytes + 1 WHERE version_id = '" + d.w.a + "'");
  sqlite_value(d.db, "DELETE FROM blobs WHERE sha256 = (SELECT sha256 FROM components WHERE version_id = '" + d.w.b +
                         "')");
  auto p = d.problems();
  CHECK(has(p, "version " + d.w.a + ": its component rows and model configuration hash to "));
  CHECK(has(p, "version " + d.w.a + ": prompt 'system' is recorded as 18 bytes but its blob has 17"));
  CHECK(has(p, "version " + d.w.b + ": prompt 'system' has no content (blob "));
  CHECK(has(p, "database: foreign key: a row of table components"));
}

TEST_CASE("doctor: a signature and an event that were edited") {
  Damaged d;
  sqlite_value(d.db, "UPDATE signatures SET signature = 'ff' || substr(signature, 3)");
  sqlite_value(d.db, "DROP TRIGGER events_no_update; UPDATE events SET reason = 'nothing to see' WHERE seq = 2");
  auto p = d.problems();
  CHECK(p.size() == 2);
  CHECK(has(p, "version " + d.w.b + ": the signature by ed25519:d75a98"));
  CHECK(has(p, "events: event 2 (version_signed) was changed"));
}

TEST_CASE("doctor: a damaged database page is reported by the integrity check") {
  Damaged d;
  // Enough outcomes for the ledger's indexes to span many pages, all of it
  // checkpointed into the main file.
  std::string lines;
  for (int i = 0; i < 3000; ++i)
    lines += R"({"task":"t)" + std::to_string(i) + R"(","pass":true,"version":"stable"})" "\n";
  d.w.cli.ok({"record", "--jsonl", "-"}, lines);
  sqlite_value(d.db, "PRAGMA wal_checkpoint(TRUNCATE)");
  const auto page_size = std::stol(sqlite_value(d.db, "PRAGMA page_size"));
  const auto root = std::stol(sqlite_value(d.db, "SELECT rootpage FROM sqlite_master WHERE name = 'outcomes_by_version'"));
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
// outcomes recorded in shadow rollouts (schema/0003_ledger_by_task.sql), so
// doctor checks it: a second outcome of one version, written by hand with
// another slot, is found.
TEST_CASE("doctor: two outcomes of one task for one version") {
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
