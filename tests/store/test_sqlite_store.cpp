// The SQLite store as a user meets it: created by `kanari init` with the
// right permissions and pragmas, refused when it is missing, foreign or
// newer, append-only for events, and the Store interface's round trips.
// The file is inspected with the sqlite3 shell (tests/store/sqlite_shell.hpp).
#include "core/manifest.hpp"
#include "store/migrations.hpp"
#include "store/sqlite_shell.hpp"
#include "store/store.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sys/stat.h>

using namespace kanari;
using kanari::test::sqlite_shell;
using kanari::test::sqlite_value;
using nlohmann::json;

namespace {

std::string db_file(const std::string& state) { return state + "/" + store::k_db_file; }

unsigned mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return static_cast<unsigned>(st.st_mode) & 0777u;
}

std::unique_ptr<store::Store> open_store(const std::string& state) {
  auto s = store::open(state, store::OpenMode::existing);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  return std::move(*s);
}

std::unique_ptr<store::Store> init_store(const std::string& state) {
  bool created = false;
  auto s = store::open(state, store::OpenMode::create, &created);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
  CHECK(created);
  return std::move(*s);
}

store::VersionRecord version_of(const core::Manifest& m, TimeMs at) {
  store::VersionRecord v;
  v.id = core::version_id(m);
  v.manifest = core::canonical_manifest(m);
  v.model = "{}";
  v.author = "tester";
  v.created_at = at;
  v.components = m.components;
  return v;
}

core::Manifest one_prompt(const std::string& name, const std::string& text) {
  auto c = core::make_component(core::ComponentKind::prompt, name, text);
  REQUIRE(c.ok());
  auto m = core::make_manifest({*c}, json::object());
  REQUIRE(m.ok());
  return *m;
}

// Takes a store's ledger back to schemas 1 and 2, as kanari 0.1 created it.
constexpr const char* k_ledger_to_schema_2 = R"(
    DROP TABLE window_buckets;
    DROP TABLE window_sums;
    ALTER TABLE rollouts DROP COLUMN window_sums;
    DROP TABLE session_requests;
    DROP TABLE sessions;
    CREATE TABLE outcomes_v2 (
      id INTEGER PRIMARY KEY, track_no INTEGER NOT NULL, task TEXT NOT NULL, version_no INTEGER NOT NULL,
      canary INTEGER NOT NULL CHECK (canary IN (0, 1)), rollout_id INTEGER, step INTEGER,
      pass INTEGER NOT NULL CHECK (pass IN (0, 1)), latency_ms REAL, cost REAL, tokens INTEGER, score REAL,
      error TEXT, at INTEGER NOT NULL, UNIQUE (track_no, task, version_no));
    INSERT INTO outcomes_v2 SELECT id, track_no, task, version_no, canary, rollout_id, step, pass, latency_ms,
      cost, tokens, score, error, at FROM outcomes;
    DROP TABLE outcomes;
    ALTER TABLE outcomes_v2 RENAME TO outcomes;
    CREATE INDEX outcomes_window ON outcomes(rollout_id, canary, step);
    CREATE INDEX outcomes_by_version ON outcomes(version_no, track_no, id);
    ALTER TABLE rollouts DROP COLUMN first_outcome;
    ALTER TABLE rollouts DROP COLUMN step_first_outcome;
    ALTER TABLE rollouts DROP COLUMN shadow_steps;
    DROP TABLE hook_attempts;
    DROP TABLE deliveries;
    DROP TABLE hooks;
)";

} // namespace

TEST_CASE("store: init applies every migration and sets user_version application_id and WAL") {
  test::Cli cli;
  cli.ok({"init"});
  const auto db = db_file(cli.state());
  const auto& migrations = store::sqlite_migrations();
  REQUIRE_FALSE(migrations.empty());
  CHECK(sqlite_value(db, "PRAGMA user_version") == std::to_string(migrations.back().number));
  CHECK(sqlite_value(db, "PRAGMA application_id") == std::to_string(0x4B4E5231)); // "KNR1"
  CHECK(sqlite_value(db, "PRAGMA journal_mode") == "wal");
  CHECK(
      sqlite_value(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master WHERE type = 'table' "
                       "ORDER BY name)") ==
      "assignments,blobs,components,deliveries,events,hook_attempts,hooks,outcomes,rollouts,session_requests,sessions,"
      "signatures,track_versions,tracks,versions,window_buckets,window_sums");
  CHECK(sqlite_value(db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'") == "2");
}

TEST_CASE("store: migrations are numbered densely from 1") {
  const auto& migrations = store::sqlite_migrations();
  for (size_t i = 0; i < migrations.size(); ++i) {
    CHECK(migrations[i].number == static_cast<int>(i + 1));
    CHECK(std::string(migrations[i].name)
              .rfind(std::string(4 - std::to_string(i + 1).size(), '0') + std::to_string(i + 1) + "_", 0) == 0);
  }
}

TEST_CASE("store: a schema-1 store is upgraded in place, its data kept") {
  test::Cli cli;
  cli.ok({"init"});
  const std::string id = cli.json({"version", "add", "--prompt", "a.md=" + cli.dir().file("a.md", "hello\n")})["id"];
  // Take the store back to what kanari 0.1 with schema 1 wrote.
  const auto db = db_file(cli.state());
  sqlite_value(db, std::string(k_ledger_to_schema_2) + "DROP TABLE signatures; PRAGMA user_version = 1;");
  CHECK(cli.json({"version", "list"})[0]["id"] == id);
  CHECK(sqlite_value(db, "PRAGMA user_version") == std::to_string(store::sqlite_migrations().back().number));
  CHECK(sqlite_value(db, "SELECT count(*) FROM signatures") == "0");
  cli.ok({"audit", "verify"});
}

// Schema 3 rebuilt the ledger around a (task, track, slot) key. A store
// that schema 2 wrote, with ordinary and shadow outcomes, comes out of the
// migration with the very rows, the slots kanari itself writes, and the
// indexes of a new store; and the ledger's rules still hold on it.
TEST_CASE("store: a schema-2 ledger is rebuilt by migration 3 with the slots kanari writes") {
  test::TwoVersions w;
  const auto db = db_file(w.cli.state());
  auto path = w.cli.dir().file("c.md", "You are agent C.\n");
  w.cli.ok({"--track", "shadowed", "version", "add", "--prompt", "system=" + w.cli.dir().file("s.md", "S\n")});
  const std::string shadow_canary =
      w.cli.json({"--track", "shadowed", "version", "add", "--prompt", "system=" + path})["id"];
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "50"});
  w.cli.ok({"--track", "shadowed", "canary", "start", "--version", shadow_canary, "--percentage", "50", "--shadow"});
  std::string text;
  for (int i = 0; i < 6; ++i) {
    text +=
        json{{"task", "t" + std::to_string(i)}, {"pass", i % 2 == 0}, {"version", i < 3 ? "stable" : "canary"}}.dump() +
        "\n";
    for (std::string v : {"stable", "canary"})
      text += json{{"task", "s" + std::to_string(i)},
                   {"pass", true},
                   {"version", v},
                   {"track", "shadowed"},
                   {"latency_ms", 10 + i}}
                  .dump() +
              "\n";
  }
  REQUIRE(w.cli.json({"record", "--jsonl", "-"}, text)["inserted"] == 18);
  const std::string rows_sql = "SELECT id, track_no, task, version_no, canary, rollout_id, step, pass, latency_ms,"
                               " cost, tokens, score, error, at, slot FROM outcomes ORDER BY id";
  const std::string rows = sqlite_value(db, rows_sql);
  CHECK(sqlite_value(db, "SELECT count(*) FROM outcomes WHERE slot <> 0") == "12");
  const std::string index_sql = "SELECT name || ': ' || coalesce(sql, '') FROM sqlite_master"
                                " WHERE tbl_name = 'outcomes' ORDER BY name";
  const std::string indexes = sqlite_value(db, index_sql);
  const json status = w.cli.json({"canary", "status"});
  const json shadow_status = w.cli.json({"--track", "shadowed", "canary", "status"});
  REQUIRE(status["canary_stats"]["n"] == 3);
  REQUIRE(shadow_status["canary_stats"]["n"] == 6);

  sqlite_value(db, std::string(k_ledger_to_schema_2) + "PRAGMA user_version = 2;");
  REQUIRE(sqlite_value(db, "SELECT count(*) FROM pragma_table_info('outcomes') WHERE name = 'slot'") == "0");

  w.cli.ok({"canary", "status"}); // opening the store migrates it, through migration 3 to the latest
  CHECK(sqlite_value(db, "PRAGMA user_version") == std::to_string(kanari::store::sqlite_migrations().back().number));
  CHECK(sqlite_value(db, rows_sql) == rows);
  CHECK(sqlite_value(db, index_sql) == indexes);
  // The gate's windows, now ranges of outcomes_by_version, hold the same.
  CHECK(w.cli.json({"canary", "status"}) == status);
  CHECK(w.cli.json({"--track", "shadowed", "canary", "status"}) == shadow_status);
  w.cli.ok({"doctor"});
  // The rules, after: every line again is a duplicate, and the ordinary
  // track still refuses a second version of a task.
  CHECK(w.cli.json({"record", "--jsonl", "-"}, text)["duplicates"] == 18);
  auto r = w.cli.json({"record", "--task", "t0", "--pass", "--version", "canary"});
  CHECK(r["conflicts"] == 1);
}

// A schema-2 ledger that breaks SPEC §3 (edited by hand: one task, two
// versions, outside any shadow rollout) cannot get schema 3's unique index:
// the migration fails with exit 3 and the file is left as it was.
TEST_CASE("store: migration 3 refuses a hand-edited ledger and changes nothing") {
  test::TwoVersions w;
  const auto db = db_file(w.cli.state());
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "50"});
  w.cli.ok({"record", "--task", "t1", "--pass", "--version", "canary"});
  sqlite_value(db, std::string(k_ledger_to_schema_2) +
                       "PRAGMA user_version = 2; PRAGMA wal_checkpoint(TRUNCATE);"
                       "INSERT INTO outcomes (track_no, task, version_no, canary, pass, at)"
                       " SELECT track_no, task, (SELECT no FROM versions WHERE id = '" +
                       w.a +
                       "'), 0, 1, at"
                       " FROM outcomes;");
  const std::string before = test::store_snapshot(w.cli.state());
  auto r = w.cli({"canary", "status"});
  CHECK(r.code == 3);
  CHECK(r.err.find("UNIQUE constraint failed: outcomes.task") != std::string::npos);
  CHECK(test::store_snapshot(w.cli.state()) == before);
  CHECK(sqlite_value(db, "PRAGMA user_version") == "2");
}

TEST_CASE("store: the store file is 0600 and its directory 0700") {
  test::Cli cli;
  ::umask(022);
  cli.ok({"init"});
  CHECK(mode_of(cli.state()) == 0700u);
  CHECK(mode_of(db_file(cli.state())) == 0600u);
}

TEST_CASE("store: init is idempotent and a second run changes no byte") {
  test::Cli cli;
  auto first = cli.json({"init"});
  CHECK(first["created"] == true);
  CHECK(first["store"] == db_file(cli.state()));
  cli.ok({"version", "add", "--prompt", "a.md=" + cli.dir().file("a.md", "hello\n")});
  const auto before = test::store_snapshot(cli.state());
  REQUIRE_FALSE(before.empty());
  auto second = cli.json({"init"});
  CHECK(second["created"] == false);
  auto human = cli.ok({"init"});
  CHECK(human.out.find("already exists") != std::string::npos);
  CHECK(test::store_snapshot(cli.state()) == before);
}

TEST_CASE("store: opening a missing store fails with exit 3 and creates nothing") {
  test::TempDir dir;
  const auto state = (dir.path() / "nowhere").string();
  auto s = store::open(state, store::OpenMode::existing);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ErrorCode::operational);
  CHECK(s.error().message.find("kanari init") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(state));
}

TEST_CASE("store: a store with a newer schema is refused with a message to upgrade") {
  test::Cli cli;
  cli.ok({"init"});
  sqlite_value(db_file(cli.state()), "PRAGMA user_version = 999");
  const auto before = test::store_snapshot(cli.state());
  auto s = store::open(cli.state(), store::OpenMode::existing);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ErrorCode::operational);
  CHECK(s.error().message.find("999") != std::string::npos);
  CHECK(s.error().message.find("upgrade") != std::string::npos);
  CHECK(test::store_snapshot(cli.state()) == before);
}

TEST_CASE("store: an SQLite database of another application is refused") {
  test::TempDir dir;
  const auto state = dir.str();
  sqlite_value(db_file(state), "CREATE TABLE t (x); PRAGMA application_id = 1234");
  const auto before = test::store_snapshot(state);
  auto s = store::open(state, store::OpenMode::existing);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code == ErrorCode::operational);
  CHECK(s.error().message.find("not a kanari store") != std::string::npos);
  CHECK(test::store_snapshot(state) == before);
}

TEST_CASE("store: an unmarked SQLite database with tables of its own is not taken over") {
  // application_id 0 and user_version 0, as most SQLite files are: kanari
  // must not add its tables to someone else's database.
  test::TempDir dir;
  const auto state = dir.str();
  sqlite_value(db_file(state), "CREATE TABLE people (name TEXT); INSERT INTO people VALUES ('ada')");
  const auto before = test::store_snapshot(state);
  {
    auto s = store::open(state, store::OpenMode::existing);
    CHECK_FALSE(s.ok());
    if (!s.ok())
      CHECK(s.error().code == ErrorCode::operational);
  }
  CHECK(sqlite_value(db_file(state), "SELECT count(*) FROM sqlite_master WHERE name = 'versions'") == "0");
  CHECK(test::store_snapshot(state) == before);
}

TEST_CASE("store: events are append-only for anyone with the sqlite3 shell") {
  test::Cli cli;
  cli.ok({"init"});
  cli.ok({"version", "add", "--prompt", "a.md=" + cli.dir().file("a.md", "hello\n")});
  const auto db = db_file(cli.state());
  REQUIRE(sqlite_value(db, "SELECT count(*) FROM events") == "1");
  auto update = sqlite_shell(db, "UPDATE events SET reason = 'forged'");
  CHECK(update.code != 0);
  CHECK(update.out.find("append-only") != std::string::npos);
  auto del = sqlite_shell(db, "DELETE FROM events");
  CHECK(del.code != 0);
  CHECK(del.out.find("append-only") != std::string::npos);
  CHECK(sqlite_value(db, "SELECT count(*) FROM events WHERE reason <> 'forged'") == "1");
}

TEST_CASE("store: foreign keys are enforced on kanari's connection") {
  test::Cli cli;
  cli.ok({"init"});
  auto s = open_store(cli.state());
  CHECK_THROWS_AS((void)s->write([&]() -> Result<void> {
    s->ensure_track("default", 1);
    s->set_stable("default", std::string(64, 'a')); // no such version
    return {};
  }),
                  store::StoreFailure);
  CHECK_FALSE(s->stable_of("default").has_value()); // rolled back with the failure
}

// Schema 8 rebuilt blobs as a rowid table: in a WITHOUT ROWID table,
// finding one blob read the records of others whole (a 3-byte prompt beside
// a 200 MB file took 0.7 s and 200 MB). The rebuild drops the table the
// components refer to, so it runs with foreign keys off; they must be back
// on afterwards, on the connection the store goes on with.
TEST_CASE("store: a schema-7 store gets its blobs in a rowid table, references and foreign keys intact") {
  test::Cli cli;
  cli.ok({"init"});
  const std::string id = cli.json({"version", "add", "--prompt", "a.md=" + cli.dir().file("a.md", "hello\n"), "--file",
                                   "b.bin=" + cli.dir().file("b.bin", std::string("\0\1\2", 3))})["id"];
  const auto db = db_file(cli.state());
  sqlite_value(db, "PRAGMA foreign_keys = OFF; BEGIN; DROP TABLE window_buckets; DROP TABLE window_sums; "
                   "ALTER TABLE rollouts DROP COLUMN window_sums; DROP TABLE session_requests; DROP TABLE sessions; "
                   "CREATE TABLE blobs_old (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID; "
                   "INSERT INTO blobs_old SELECT sha256, data FROM blobs; DROP TABLE blobs; "
                   "ALTER TABLE blobs_old RENAME TO blobs; PRAGMA user_version = 7; COMMIT;");
  REQUIRE(sqlite_value(db, "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = 'blobs'") == "1");

  auto s = open_store(cli.state()); // migrates
  CHECK(sqlite_value(db, "PRAGMA user_version") == std::to_string(store::sqlite_migrations().back().number));
  CHECK(sqlite_value(db, "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = 'blobs'") == "0");
  CHECK(sqlite_value(db, "SELECT count(*) FROM blobs") == "2");
  CHECK(sqlite_value(db, "PRAGMA foreign_key_check").empty());
  CHECK_THROWS_AS((void)s->write([&]() -> Result<void> {
    s->ensure_track("default", 1);
    s->set_stable("default", std::string(64, 'a')); // no such version
    return {};
  }),
                  store::StoreFailure);
  s.reset();
  CHECK(cli.ok({"version", "cat", id, "a.md"}).out == "hello\n");
  CHECK(cli.ok({"version", "cat", id, "b.bin"}).out == std::string("\0\1\2", 3));
  cli.ok({"doctor"});
}

TEST_CASE("store: a version round-trips with its components and blobs") {
  test::TempDir dir;
  auto s = init_store(dir.str());
  auto m = one_prompt("roles/a.md", std::string("bin\0ary\r\n", 9));
  auto rec = version_of(m, 1000);
  rec.label = "first";
  bool inserted = false;
  REQUIRE(s->write([&]() -> Result<void> {
             inserted = s->insert_version(rec, m.components);
             return {};
           }).ok());
  CHECK(inserted);
  auto got = s->get_version(rec.id);
  REQUIRE(got.has_value());
  CHECK(got->manifest == rec.manifest);
  CHECK(got->label == std::optional<std::string>("first"));
  CHECK_FALSE(got->message.has_value());
  CHECK(got->created_at == 1000);
  REQUIRE(got->components.size() == 1);
  CHECK(got->components[0].name == "roles/a.md");
  CHECK(got->components[0].bytes == 9);
  CHECK(s->get_blob(m.components[0].sha256) == std::optional<std::string>(std::string("bin\0ary\r\n", 9)));
  // Inserting the same id again is a no-op.
  REQUIRE(s->write([&]() -> Result<void> {
             inserted = s->insert_version(rec, m.components);
             return {};
           }).ok());
  CHECK_FALSE(inserted);
  CHECK_FALSE(s->get_version(std::string(64, '0')).has_value());
}

TEST_CASE("store: prefix lookup returns exactly the ids starting with the prefix") {
  test::TempDir dir;
  auto s = init_store(dir.str());
  std::vector<std::string> ids;
  REQUIRE(s->write([&]() -> Result<void> {
             for (int i = 0; i < 40; ++i) {
               auto m = one_prompt("p.md", std::to_string(i));
               s->insert_version(version_of(m, i), m.components);
               ids.push_back(core::version_id(m));
             }
             return {};
           }).ok());
  for (const auto& id : ids) {
    for (size_t len : {4u, 7u, 64u}) {
      auto prefix = id.substr(0, len);
      auto found = s->version_ids_with_prefix(prefix, 100);
      size_t expected = 0;
      for (const auto& other : ids)
        expected += other.rfind(prefix, 0) == 0 ? 1 : 0;
      CHECK(found.size() == expected);
      for (const auto& f : found)
        CHECK(f.rfind(prefix, 0) == 0);
    }
  }
  CHECK(s->version_ids_with_prefix("ffff", 100).size() <= 1);
}

TEST_CASE("store: track versions are listed newest first and the first stable sticks") {
  test::TempDir dir;
  auto s = init_store(dir.str());
  auto m1 = one_prompt("p.md", "1"), m2 = one_prompt("p.md", "2");
  REQUIRE(s->write([&]() -> Result<void> {
             s->insert_version(version_of(m1, 10), m1.components);
             s->insert_version(version_of(m2, 20), m2.components);
             CHECK(s->add_track_version("t", core::version_id(m1), 10));
             CHECK(s->add_track_version("t", core::version_id(m2), 20));
             CHECK_FALSE(s->add_track_version("t", core::version_id(m1), 30));
             s->set_stable("t", core::version_id(m1));
             return {};
           }).ok());
  auto tv = s->track_versions("t");
  REQUIRE(tv.size() == 2);
  CHECK(tv[0].version_id == core::version_id(m2));
  CHECK(tv[1].version_id == core::version_id(m1));
  CHECK(s->stable_of("t") == std::optional<std::string>(core::version_id(m1)));
  CHECK_FALSE(s->stable_of("other").has_value());
  CHECK(s->track_has_version("t", core::version_id(m2)));
  CHECK_FALSE(s->track_has_version("other", core::version_id(m2)));
  CHECK(s->version_tracks(core::version_id(m1)) == std::vector<std::string>{"t"});
}

TEST_CASE("store: a failed write transaction leaves nothing behind") {
  test::TempDir dir;
  auto s = init_store(dir.str());
  auto m = one_prompt("p.md", "x");
  auto r = s->write([&]() -> Result<void> {
    s->insert_version(version_of(m, 1), m.components);
    return usage_error("changed my mind");
  });
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "changed my mind");
  CHECK_FALSE(s->get_version(core::version_id(m)).has_value());
  CHECK_FALSE(s->get_blob(m.components[0].sha256).has_value());
}

// Schema 4's CHECK (excluded IN (0, 1, 2)) made SQLite build a temporary
// index of the list for every outcome inserted (OpenEphemeral in the
// INSERT's program): half the instructions of an import. Schema 11 states
// it as three comparisons, which refuse the same values.
namespace {
const char* const k_insert_outcome =
    "INSERT INTO outcomes (track_no, task, version_no, canary, rollout_id, step, pass, at, slot, excluded)"
    " VALUES (1, 'x', 1, 0, NULL, NULL, 1, 1, 0, ";
std::string insert_outcome_program(const std::string& db) {
  return sqlite_value(db, std::string("EXPLAIN ") + k_insert_outcome + "1)");
}
// Runs SQL that writes sqlite_master: the sqlite3 shell of SQLite 3.42 and
// later refuses that (defensive mode) unless told otherwise.
void write_schema_text(const std::string& db, const std::string& sql) {
  const std::string cmd = "sqlite3 -batch -cmd '.dbconfig defensive off' " + kanari::test::shell_quote(db) + " " +
                          kanari::test::shell_quote(sql) + " >/dev/null 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
}
} // namespace

TEST_CASE("store: inserting an outcome builds no temporary index, and excluded is still 0, 1 or 2") {
  test::TwoVersions w;
  const auto db = db_file(w.cli.state());
  CHECK(insert_outcome_program(db).find("OpenEphemeral") == std::string::npos);
  for (const std::string bad : {"3", "-1", "1.5", "'one'", "NULL"}) {
    INFO("excluded = " << bad);
    CHECK(sqlite_shell(db, std::string(k_insert_outcome) + bad + ")").code != 0);
  }
  CHECK(sqlite_shell(db, std::string(k_insert_outcome) + "2)").code == 0);
  CHECK(sqlite_value(db, "SELECT excluded FROM outcomes WHERE task = 'x'") == "2");
}

TEST_CASE("store: a schema-10 store gets the cheaper check on excluded, its outcomes kept") {
  test::TwoVersions w;
  w.outcomes("stable", 3, 4);
  const auto db = db_file(w.cli.state());
  // Back to schema 10's text of the table, as the stores it wrote hold it.
  const auto cookie = std::stoll(sqlite_value(db, "PRAGMA schema_version"));
  write_schema_text(db, "BEGIN; PRAGMA writable_schema = ON; UPDATE sqlite_master SET sql = replace(sql,"
                        " 'CHECK (excluded = 0 OR excluded = 1 OR excluded = 2)', 'CHECK (excluded IN (0, 1, 2))')"
                        " WHERE name = 'outcomes'; PRAGMA writable_schema = OFF; PRAGMA schema_version = " +
                            std::to_string(cookie + 1) + "; PRAGMA user_version = 10; COMMIT;");
  REQUIRE(insert_outcome_program(db).find("OpenEphemeral") != std::string::npos);

  auto r = w.cli.json({"record", "--task", "after", "--version", "stable", "--pass"}); // migrates
  CHECK(r["inserted"] == 1);
  CHECK(sqlite_value(db, "PRAGMA user_version") == std::to_string(store::sqlite_migrations().back().number));
  CHECK(insert_outcome_program(db).find("OpenEphemeral") == std::string::npos);
  CHECK(sqlite_value(db, "SELECT count(*) FROM outcomes") == "5");
  CHECK(sqlite_value(db, "PRAGMA integrity_check") == "ok");
  CHECK(sqlite_shell(db, std::string(k_insert_outcome) + "3)").code != 0);
  w.cli.ok({"doctor"});
}

// A batch goes 32 outcomes to a statement and tells the stored rows from
// the refused ones by their ids, the largest plus one. Past the largest id
// SQLite picks ids at random; a hand-edited store that holds it still
// records a batch as one by one would.
TEST_CASE("store: a batch with repeats is recorded into a store that holds the largest outcome id") {
  test::TwoVersions w;
  w.outcomes("stable", 3, 4); // task-0 .. task-3
  const auto db = db_file(w.cli.state());
  REQUIRE(sqlite_shell(db, "UPDATE outcomes SET id = 9223372036854775807 WHERE task = 'task-3'").code == 0);
  std::string lines;
  for (int i = 0; i < 100; ++i) // task-0 .. task-3 again amid new tasks, new-0 .. new-9 twice but new-3
    lines += R"({"task": ")" + (i % 25 == 3 ? "task-" + std::to_string(i / 25) : "new-" + std::to_string(i % 90)) +
             R"(", "version": "stable", "pass": true})" + "\n";
  auto r = w.cli({"record", "--jsonl", "-", "--json"}, lines);
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto j = r.json();
  CHECK(j["inserted"] == 87); // new-0 .. new-89 but new-28, -53, -78
  CHECK(j["duplicates"] == 12);
  CHECK(j["conflicts"] == 1); // task-0 failed the first time
  CHECK(sqlite_value(db, "SELECT count(*) FROM outcomes") == "91");
  CHECK(sqlite_value(db, "PRAGMA integrity_check") == "ok");
}
