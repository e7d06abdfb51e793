// A store kanari may not write (SPEC §9.1): on a read-only file system, in a
// directory the user cannot write, and a kanari.db made 0444. Every
// read-only command works, a write fails with one clear line, and a read
// leaves nothing behind that breaks later writes.
//
// The tests run as root in CI, and root ignores permission bits. So a
// read-only file system is a real one: the command runs in its own mount
// namespace (`unshare -m`) where the store directory is bind-mounted
// read-only; and a read-only directory is read by an unprivileged user
// (`setpriv` to uid/gid 65534). A test whose tool the kernel or the machine
// refuses says so and checks nothing.
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include "kanari/kanari.h"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

using namespace kanari::test;
namespace fs = std::filesystem;

namespace {

constexpr int k_nobody = 65534;

// A store with history worth reading: two versions, a rollout at 30 % with
// outcomes on both arms, an evaluation applied.
struct Store {
  Cli cli;
  std::string a, b;
  Store() {
    cli.ok({"init"});
    a = cli.json({"version", "add", "--prompt", "system=" + cli.dir().file("a.txt", "You are A.\n")})["id"];
    b = cli.json({"version", "add", "--prompt", "system=" + cli.dir().file("b.txt", "You are B.\n")})["id"];
    cli.ok({"canary", "start", "--version", b, "--percentage", "30"});
    for (int i = 0; i < 6; ++i) {
      cli.ok({"record", "--task", "s" + std::to_string(i), "--pass", "--version", "stable", "--latency-ms", "12"});
      cli.ok({"record", "--task", "c" + std::to_string(i), "--pass", "--version", "canary", "--latency-ms", "15"});
    }
    cli.ok({"canary", "evaluate", "--apply"});
  }
  std::string db() const { return cli.state() + "/kanari.db"; }
};

// The commands SPEC §9.1 names as read-only, each with what it must print.
struct ReadCommand {
  std::vector<std::string> args;
  std::string expect; // a substring of stdout
};

std::vector<ReadCommand> read_commands(const Store& s) {
  return {
      {{"version", "list"}, s.a.substr(0, 12)},
      {{"version", "show", "stable"}, s.a},
      {{"version", "diff", "stable", "canary"}, "You are B."},
      {{"canary", "status"}, "active"},
      {{"canary", "evaluate"}, "INSUFFICIENT_DATA"},
      {{"history"}, "started"},
      {{"audit", "verify"}, ""},
      {{"doctor"}, "healthy"},
      {{"report"}, ""},
      {{"metrics"}, "kanari_rollout_state"},
  };
}

// Runs every read command through `wrapper` against `state`; each must exit
// 0 and print what it should.
void check_reads(const Store& s, const std::vector<std::string>& wrapper, const std::string& state) {
  for (const auto& c : read_commands(s)) {
    std::vector<std::string> args = {"--state", state};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = spawn_kanari_via(wrapper, args);
    CAPTURE(c.args[0] + (c.args.size() > 1 ? " " + c.args[1] : ""));
    INFO("stderr: " << r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find(c.expect) != std::string::npos);
    CHECK(r.err.find("error") == std::string::npos);
  }
}

// A write to a read-only store: exit 3, one line that says why.
void check_write_refused(const std::vector<std::string>& wrapper, const std::string& state) {
  auto r = spawn_kanari_via(wrapper, {"--state", state, "record", "--task", "new", "--pass", "--version", "stable"});
  INFO("stderr: " << r.err);
  CHECK(r.code == 3);
  CHECK(r.err.rfind("kanari: error: ", 0) == 0);
  CHECK(r.err.find("read-only") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
}

// `unshare -m sh -c 'mount --bind -o ro DIR DIR; exec kanari ...'`: the
// store's directory is read-only for that one command (and only there: the
// namespace's mounts are private to it).
std::vector<std::string> read_only_mount(const std::string& dir) {
  return {"unshare", "-m", "sh", "-c", "mount --bind -o ro \"$1\" \"$1\" || exit 99; shift; exec \"$@\"", "sh", dir};
}

bool can_mount_read_only(const std::string& dir) {
  const std::string cmd = "unshare -m sh -c " +
                          shell_quote("mount --bind -o ro " + shell_quote(dir) + " " + shell_quote(dir) +
                                      " && ! touch " + shell_quote(dir + "/probe")) +
                          " >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

std::vector<std::string> as_nobody() {
  return {"setpriv", "--reuid=" + std::to_string(k_nobody), "--regid=" + std::to_string(k_nobody), "--clear-groups"};
}

bool can_drop_privileges() {
  return ::geteuid() == 0 &&
         std::system("setpriv --reuid=65534 --regid=65534 --clear-groups true >/dev/null 2>&1") == 0;
}

// Hands the store's temporary directory to uid/gid 65534, so that user owns
// the store as its creator would.
void give_to_nobody(Store& s) {
  fs::permissions(s.cli.dir().path(), fs::perms(0755));
  for (const auto& e : fs::recursive_directory_iterator(s.cli.dir().path()))
    REQUIRE(::lchown(e.path().c_str(), k_nobody, k_nobody) == 0);
  REQUIRE(::chown(s.cli.dir().path().c_str(), k_nobody, k_nobody) == 0);
}

mode_t mode_of(const std::string& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

} // namespace

TEST_CASE("read-only store: every read-only command works on a read-only file system") {
  Store s;
  if (!can_mount_read_only(s.cli.state())) {
    MESSAGE("skipped: this kernel does not let us mount in a new mount namespace (unshare -m + mount --bind -o ro)");
    return;
  }
  const auto ro = read_only_mount(s.cli.state());
  const std::string before = store_snapshot(s.cli.state());

  SUBCASE("a closed store (no -wal): opened immutable") {
    REQUIRE_FALSE(fs::exists(s.db() + "-wal"));
    check_reads(s, ro, s.cli.state());
    check_write_refused(ro, s.cli.state());
    CHECK(store_snapshot(s.cli.state()) == before);
  }

  SUBCASE("a path SQLite needs escaped in a URI") {
    // Read-only without a -wal goes through a file: URI; '?', '#' and '%' in
    // the path must not end it or be decoded.
    TempDir copy;
    const std::string odd = (copy.path() / "a b?c#d%41e").string();
    fs::create_directory(odd);
    fs::copy_file(s.db(), odd + "/kanari.db");
    auto r = spawn_kanari_via(read_only_mount(odd), {"--state", odd, "version", "list"});
    INFO("stderr: " << r.err);
    CHECK(r.code == 0);
    CHECK(r.out.find(s.a.substr(0, 12)) != std::string::npos);
  }

  SUBCASE("a live store (-wal and -shm, changes not yet checkpointed): read through them") {
    // A handle keeps the store open, so its -wal holds outcomes that are
    // not in kanari.db yet; the read-only view must see them.
    kanari_store* h = nullptr;
    REQUIRE(kanari_open(s.cli.state().c_str(), "live", 0, &h) == KANARI_OK);
    for (int i = 0; i < 5; ++i) {
      const std::string task = "live" + std::to_string(i);
      kanari_outcome o{};
      o.task = task.c_str();
      o.pass = 1;
      o.version = "stable";
      REQUIRE(kanari_record(h, &o, nullptr) == KANARI_OK);
    }
    REQUIRE(fs::file_size(s.db() + "-wal") > 0);
    REQUIRE(fs::exists(s.db() + "-shm"));
    check_reads(s, ro, s.cli.state());
    auto st = spawn_kanari_via(ro, {"--state", s.cli.state(), "canary", "status", "--json"});
    REQUIRE(st.code == 0);
    CHECK(nlohmann::json::parse(st.out)["stable_stats"]["n"] == 11); // 6 by the CLI, 5 only in the -wal
    check_write_refused(ro, s.cli.state());

    SUBCASE("a copy with the -wal but without the -shm is refused, not read stale") {
      TempDir copy;
      fs::copy_file(s.db(), copy.path() / "kanari.db");
      fs::copy_file(s.db() + "-wal", copy.path() / "kanari.db-wal");
      auto r = spawn_kanari_via(read_only_mount(copy.str()), {"--state", copy.str(), "canary", "status"});
      INFO("stderr: " << r.err);
      CHECK(r.code == 3);
      CHECK(r.err.find("kanari.db-wal holds committed changes") != std::string::npos);
    }
    kanari_close(h);
  }
}

TEST_CASE("read-only store: every read-only command works in a directory the user cannot write") {
  if (!can_drop_privileges()) {
    MESSAGE("skipped: needs root and setpriv to read the store as an unprivileged user");
    return;
  }
  Store s;
  give_to_nobody(s);
  fs::permissions(s.cli.state(), fs::perms(0555));
  const std::string before = store_snapshot(s.cli.state());
  check_reads(s, as_nobody(), s.cli.state());
  check_write_refused(as_nobody(), s.cli.state());
  CHECK(store_snapshot(s.cli.state()) == before);
  CHECK_FALSE(fs::exists(s.db() + "-shm"));
  fs::permissions(s.cli.state(), fs::perms(0700));
}

TEST_CASE("read-only store: a read of a 0444 kanari.db leaves nothing that blocks later writes") {
  if (!can_drop_privileges()) {
    MESSAGE("skipped: needs root and setpriv to use the store as an unprivileged user");
    return;
  }
  Store s;
  give_to_nobody(s);
  const std::string state = s.cli.state();
  fs::permissions(s.db(), fs::perms(0444));
  auto r = spawn_kanari_via(as_nobody(), {"--state", state, "canary", "status"});
  INFO("stderr: " << r.err);
  REQUIRE(r.code == 0);
  // SQLite made the -shm with kanari.db's 0444 and left it (a read-only
  // connection cannot clean up); kanari gives it back its owner's write bit.
  REQUIRE(fs::exists(s.db() + "-shm"));
  CHECK((mode_of(s.db() + "-shm") & 0600) == 0600);
  fs::permissions(s.db(), fs::perms(0600));
  r = spawn_kanari_via(as_nobody(), {"--state", state, "record", "--task", "after", "--pass", "--version", "stable"});
  INFO("stderr: " << r.err);
  CHECK(r.code == 0);
  r = spawn_kanari_via(as_nobody(), {"--state", state, "doctor"});
  CHECK(r.code == 0);

  SUBCASE("doctor reports a -shm the user cannot write") {
    // Left by another user (here root) with no write bit for ours: SQLite
    // can still read through it, but every write fails. It used to pass
    // doctor as healthy.
    fs::permissions(s.db(), fs::perms(0444));
    REQUIRE(spawn_kanari_via(as_nobody(), {"--state", state, "history"}).code == 0); // leaves -wal and -shm
    fs::permissions(s.db(), fs::perms(0600));
    REQUIRE(fs::exists(s.db() + "-shm"));
    REQUIRE(::chown((s.db() + "-shm").c_str(), 0, 0) == 0);
    fs::permissions(s.db() + "-shm", fs::perms(0644));
    auto d = spawn_kanari_via(as_nobody(), {"--state", state, "doctor"});
    INFO("doctor stderr: " << d.err);
    CHECK(d.code == 1);
    CHECK(d.err.find("kanari.db-shm cannot be written by this user") != std::string::npos);
    auto w = spawn_kanari_via(as_nobody(),
                              {"--state", state, "record", "--task", "blocked", "--pass", "--version", "stable"});
    CHECK(w.code == 3);
  }
}
