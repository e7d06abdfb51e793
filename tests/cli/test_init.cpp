// `kanari init` (SPEC §2, §3): where the store goes, what it prints, and that
// a second run changes nothing.
#include "store/store.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <map>
#include <sstream>
#include <sys/stat.h>

using namespace kanari;
using nlohmann::json;

namespace {

// The permission bits (with setuid, setgid and sticky) of `p`, following links.
unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Runs the CLI with a chosen environment, without test::Cli's --state.
test::CliResult run_with_env(std::vector<std::string> args, std::map<std::string, std::string> env) {
  std::istringstream in;
  std::ostringstream out, err;
  FakeClock clock{1'800'000'000'000};
  cli::Io io{in,
             out,
             err,
             [env](const std::string& name) -> std::optional<std::string> {
               auto it = env.find(name);
               return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
             },
             &clock,
             false,
             false,
             {}};
  int code = cli::run(args, io);
  return {code, out.str(), err.str()};
}

} // namespace

TEST_CASE("init: creates the store and says where" * doctest::test_suite("sqlite")) {
  test::Cli cli;
  auto r = cli.ok({"init"});
  CHECK(r.out == "Initialised an empty kanari store in " + cli.state() + "/kanari.db\n");
  CHECK(r.err.empty());
  CHECK(std::filesystem::is_regular_file(cli.state() + "/kanari.db"));
}

TEST_CASE("init: JSON output reports created then not created" * doctest::test_suite("sqlite")) {
  test::Cli cli;
  CHECK(cli.json({"init"}) == json{{"store", cli.state() + "/kanari.db"}, {"created", true}});
  CHECK(cli.json({"init"}) == json{{"store", cli.state() + "/kanari.db"}, {"created", false}});
  auto again = cli.ok({"init"});
  CHECK(again.out == "A kanari store already exists in " + cli.state() + "/kanari.db\n");
}

TEST_CASE("init: --quiet prints nothing") {
  test::Cli cli;
  auto r = cli.ok({"init", "--quiet"});
  CHECK(r.out.empty());
  CHECK(r.err.empty());
}

TEST_CASE("init: creates missing parent directories of --state") {
  test::TempDir dir;
  test::Cli cli((dir.path() / "a/b/c").string());
  cli.ok({"init"});
  CHECK(std::filesystem::exists(dir.path() / "a/b/c/kanari.db"));
}

TEST_CASE("init: creates the directory and every missing parent readable by its owner only") {
  test::TempDir dir;
  REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
  test::Cli cli((dir.path() / "a/b/c").string());
  cli.ok({"init"});
  CHECK(mode_of(dir.path() / "a") == 0700);
  CHECK(mode_of(dir.path() / "a/b") == 0700);
  CHECK(mode_of(dir.path() / "a/b/c") == 0700);
  CHECK(mode_of(dir.path() / "a/b/c/kanari.db") == 0600);
  CHECK(mode_of(dir.path()) == 0755);
}

TEST_CASE("init: never changes the mode of a directory that exists") {
  test::TempDir dir;
  const auto shared = dir.path() / "shared";
  std::filesystem::create_directory(shared);
  REQUIRE(::chmod(shared.c_str(), 02775) == 0);
  SUBCASE("given as --state") {
    test::Cli cli(shared.string());
    cli.ok({"init"});
    CHECK(mode_of(shared) == 02775);
    cli.ok({"init"});
    CHECK(mode_of(shared) == 02775);
  }
  SUBCASE("as a parent of --state") {
    test::Cli cli((shared / "store").string());
    cli.ok({"init"});
    CHECK(mode_of(shared) == 02775);
    // The new directory inherits the setgid bit, as the kernel decides.
    CHECK((mode_of(shared / "store") & 0777) == 0700);
  }
}

TEST_CASE("init: --state as a symbolic link to a sticky world-writable directory leaves both unchanged") {
  test::TempDir dir;
  const auto sticky = dir.path() / "sticky";
  std::filesystem::create_directory(sticky);
  REQUIRE(::chmod(sticky.c_str(), 01777) == 0);
  const auto link = dir.path() / "link";
  std::filesystem::create_directory_symlink(sticky, link);
  test::Cli cli(link.string());
  cli.ok({"init"});
  CHECK(mode_of(sticky) == 01777);
  CHECK(std::filesystem::is_symlink(link));
  CHECK(std::filesystem::is_regular_file(sticky / "kanari.db"));
}

TEST_CASE("init: works in an existing empty directory") {
  test::TempDir dir;
  test::Cli cli(dir.str());
  CHECK(cli.json({"init"})["created"] == true);
  CHECK(cli.json({"version", "list"}) == json::array());
}

TEST_CASE("init: KANARI_STATE selects the directory and --state overrides it") {
  test::TempDir dir;
  const auto from_env = (dir.path() / "env").string();
  const auto from_flag = (dir.path() / "flag").string();
  auto r = run_with_env({"init", "--json"}, {{"KANARI_STATE", from_env}});
  REQUIRE(r.code == 0);
  CHECK(r.json()["store"] == from_env + "/kanari.db");
  CHECK(std::filesystem::exists(from_env + "/kanari.db"));
  auto flag = run_with_env({"--state", from_flag, "init"}, {{"KANARI_STATE", from_env}});
  REQUIRE(flag.code == 0);
  CHECK(std::filesystem::exists(from_flag + "/kanari.db"));
  // Commands find the store through the environment too.
  auto list = run_with_env({"version", "list", "--json"}, {{"KANARI_STATE", from_env}});
  CHECK(list.code == 0);
  CHECK(list.out == "[]\n");
}

TEST_CASE("init: a state path under a regular file exits 3") {
  test::TempDir dir;
  auto file = dir.file("plain", "x");
  test::Cli cli(file + "/state");
  auto r = cli({"init"});
  CHECK(r.code == 3);
  CHECK(r.out.empty());
  CHECK(r.err.find("cannot create") != std::string::npos);
  CHECK(test::read_file(file) == "x");
}

TEST_CASE("init: the actor defaults to $USER and --actor overrides it") {
  test::TempDir dir;
  const auto state = dir.str();
  const auto prompt = dir.file("p.md", "x\n");
  REQUIRE(run_with_env({"--state", state, "init"}, {{"USER", "ada"}}).code == 0);
  REQUIRE(run_with_env({"--state", state, "version", "add", "--prompt", "p.md=" + prompt}, {{"USER", "ada"}}).code ==
          0);
  REQUIRE(run_with_env(
              {"--state", state, "--track", "t2", "--actor", "bot", "version", "add", "--prompt", "p.md=" + prompt},
              {{"USER", "ada"}})
              .code == 0);
  auto s = store::open(state, store::OpenMode::existing);
  REQUIRE(s.ok());
  auto ev = (*s)->events("default", std::nullopt);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].actor == "ada");
  auto ev2 = (*s)->events("t2", std::nullopt);
  REQUIRE(ev2.size() == 1);
  CHECK(ev2[0].actor == "bot");
}

TEST_CASE("init: --help and --version exit 0 on stdout") {
  test::Cli cli;
  auto help = cli({"--help"});
  CHECK(help.code == 0);
  CHECK(help.out.find("init") != std::string::npos);
  CHECK(help.out.find("version") != std::string::npos);
  auto sub = cli({"version", "add", "--help"});
  CHECK(sub.code == 0);
  CHECK(sub.out.find("--param") != std::string::npos);
  auto ver = cli({"--version"});
  CHECK(ver.code == 0);
  CHECK(ver.out.rfind("kanari ", 0) == 0);
  CHECK_FALSE(std::filesystem::exists(cli.state()));
}
