// Every way `init` and `version ...` can fail, with its exit code (SPEC
// §3.2), a message on stderr only, and the store left byte-for-byte as it
// was ("nothing was written").
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari;

namespace {

struct Fixture {
  test::Cli cli;
  std::string prompt, id;
  Fixture() {
    cli.ok({"init"});
    prompt = cli.dir().file("in/p.md", "hello\n");
    id = cli.json({"version", "add", "--prompt", "p.md=" + prompt})["id"];
  }
  std::string file(const std::string& name, const std::string& content) {
    return cli.dir().file("in/" + name, content);
  }

  // Runs args, expects `code`, no stdout, one error line on stderr naming
  // `mention`, and the store unchanged.
  void rejects(const std::vector<std::string>& args, int code, const std::string& mention = "") {
    const auto before = test::store_snapshot(cli.state());
    REQUIRE_FALSE(before.empty());
    auto r = cli(args);
    std::string shown;
    for (const auto& a : args)
      shown += a + " ";
    INFO("kanari " << shown << "\nstderr: " << r.err);
    CHECK(r.code == code);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("kanari: error: ", 0) == 0);
    if (!mention.empty())
      CHECK(r.err.find(mention) != std::string::npos);
    CHECK(test::store_snapshot(cli.state()) == before);
  }
};

const std::vector<std::vector<std::string>> k_store_commands = {
    {"version", "list"},
    {"version", "show", "stable"},
    {"version", "diff", "stable", "stable"},
    {"version", "checkout", "stable", "--to", "/tmp/kanari-should-not-exist"},
    {"version", "add", "--model", "m"},
};

} // namespace

TEST_CASE("errors: unknown flags and commands exit 2") {
  Fixture f;
  f.rejects({"version", "add", "--bogus"}, 2, "--bogus");
  f.rejects({"version", "add", "--prompt", "p.md=" + f.prompt, "--tmperature", "1"}, 2);
  f.rejects({"versoin", "list"}, 2);
  f.rejects({"version", "frobnicate"}, 2);
  f.rejects({}, 2);
  f.rejects({"version"}, 2);
}

TEST_CASE("errors: missing option values and arguments exit 2") {
  Fixture f;
  f.rejects({"version", "add", "--prompt"}, 2);
  f.rejects({"version", "add", "--model"}, 2);
  f.rejects({"version", "show"}, 2);
  f.rejects({"version", "diff", f.id}, 2);
  f.rejects({"version", "checkout", f.id}, 2, "--to");
  f.rejects({"--track"}, 2);
}

TEST_CASE("errors: bad NAME=FILE arguments exit 2") {
  Fixture f;
  f.rejects({"version", "add", "--prompt", f.prompt}, 2, "NAME=FILE");
  f.rejects({"version", "add", "--prompt", "=" + f.prompt}, 2, "NAME=FILE");
  f.rejects({"version", "add", "--tool", "t="}, 2, "NAME=FILE");
  f.rejects({"version", "add", "--file", "noequals"}, 2, "NAME=FILE");
  f.rejects({"version", "add", "--param", "novalue"}, 2, "KEY=VALUE");
  f.rejects({"version", "add", "--param", "=1"}, 2, "KEY=VALUE");
}

TEST_CASE("errors: missing or unreadable input files exit 2") {
  Fixture f;
  const auto missing = (f.cli.dir().path() / "no-such-file.md").string();
  f.rejects({"version", "add", "--prompt", "a.md=" + missing}, 2, "no-such-file.md");
  f.rejects({"version", "add", "--config", missing}, 2, "no-such-file.md");
  f.rejects({"version", "add", "--prompt", "a.md=" + f.cli.dir().str()}, 2, "directory");
}

TEST_CASE("errors: invalid tool JSON and config JSON exit 2") {
  Fixture f;
  f.rejects({"version", "add", "--tool", "t=" + f.file("bad.json", "{\"a\":")}, 2, "not valid JSON");
  f.rejects({"version", "add", "--tool", "t=" + f.file("arr.json", "[1]")}, 2, "JSON object");
  f.rejects({"version", "add", "--tool", "t=" + f.file("dup.json", R"({"a":1,"a":2})")}, 2, "more than once");
  f.rejects({"version", "add", "--tool", "t=" + f.file("nan.json", R"({"a":NaN})")}, 2);
  f.rejects({"version", "add", "--tool", "t=" + f.file("huge.json", R"({"a":1e400})")}, 2);
  f.rejects({"version", "add", "--tool", "t=" + f.file("utf8.json", "{\"a\":\"\xff\"}")}, 2);
  f.rejects({"version", "add", "--config", f.file("c.json", "[\"m\"]")}, 2, "JSON object");
  f.rejects({"version", "add", "--config", f.file("c2.json", "{} {}")}, 2, "not valid JSON");
}

TEST_CASE("errors: bad track names exit 2") {
  Fixture f;
  for (const std::string& track : {std::string("a/b"), std::string(""), std::string(65, 'x'), std::string("sp ace"),
                                   std::string("../up"), std::string("\xC3\xA9")}) {
    f.rejects({"--track", track, "version", "add", "--prompt", "p.md=" + f.prompt}, 2, "--track");
    f.rejects({"--track", track, "version", "list"}, 2, "--track");
  }
}

TEST_CASE("errors: nothing to add and bad component names exit 2") {
  Fixture f;
  f.rejects({"version", "add"}, 2, "nothing to add");
  f.rejects({"version", "add", "--label", "only metadata"}, 2, "nothing to add");
  f.rejects({"version", "add", f.prompt}, 2, "absolute path");
  f.rejects({"version", "add", "--prompt", "../up.md=" + f.prompt}, 2, "'..'");
  f.rejects({"version", "add", "--prompt", "a//b.md=" + f.prompt}, 2);
  f.rejects({"version", "add", "--prompt", "a.md=" + f.prompt, "--prompt", "./a.md=" + f.prompt}, 2, "twice");
  f.rejects({"version", "add", "--prompt", "x\xff.md=" + f.prompt}, 2, "UTF-8");
}

TEST_CASE("errors: a checkout whose component is named model.json exits 2") {
  Fixture f;
  auto model = f.cli.json({"version", "add", "--file", "model.json=" + f.prompt})["id"];
  const auto to = f.cli.dir().path() / "co";
  f.rejects({"version", "checkout", model, "--to", to.string()}, 2, "model");
  CHECK_FALSE(std::filesystem::exists(to));
}

TEST_CASE("errors: a checkout where one component's path is another's directory exits 2 and writes nothing") {
  // prompt `a` and file `a/b` cannot both be written. Components are sorted
  // file-before-prompt, so the clash is seen only if it is checked in both
  // directions (the directory first, then the file).
  Fixture f;
  auto v = f.cli.json({"version", "add", "--prompt", "a=" + f.prompt, "--file", "a/b=" + f.prompt})["id"];
  const auto to = f.cli.dir().path() / "co";
  f.rejects({"version", "checkout", v, "--to", to.string()}, 2, "cannot check out");
  CHECK_FALSE(std::filesystem::exists(to / "a"));
  auto w = f.cli.json({"version", "add", "--prompt", "x/y=" + f.prompt, "--file", "x=" + f.prompt})["id"];
  f.rejects({"version", "checkout", w, "--to", to.string()}, 2, "cannot check out");
}

TEST_CASE("errors: unknown refs exit 4 for show diff and checkout") {
  Fixture f;
  const std::string unknown = f.id[0] == 'f' ? "0000" : "ffff";
  f.rejects({"version", "show", unknown}, 4, unknown);
  f.rejects({"version", "diff", f.id, unknown}, 4, unknown);
  f.rejects({"version", "diff", "canary", f.id}, 4, "canary");
  f.rejects({"version", "checkout", unknown, "--to", (f.cli.dir().path() / "x").string()}, 4);
  f.rejects({"version", "show", "abc"}, 4, "at least 4");
  CHECK_FALSE(std::filesystem::exists(f.cli.dir().path() / "x"));
}

TEST_CASE("errors: a missing store exits 3 telling to run kanari init and creates nothing") {
  test::Cli cli; // not initialised
  for (const auto& args : k_store_commands) {
    auto r = cli(args);
    INFO(args[1] << ": " << r.err);
    CHECK(r.code == 3);
    CHECK(r.out.empty());
    CHECK(r.err.find("kanari init") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(cli.state()));
  }
  CHECK_FALSE(std::filesystem::exists("/tmp/kanari-should-not-exist"));
}

TEST_CASE("errors: a newer store schema exits 3 asking to upgrade" * doctest::test_suite("sqlite")) {
  Fixture f;
  test::sqlite_value(f.cli.state() + "/kanari.db", "PRAGMA user_version = 999");
  for (const auto& args : k_store_commands)
    f.rejects(args, 3, "upgrade");
  f.rejects({"init"}, 3, "upgrade");
}

TEST_CASE("errors: another application's SQLite file exits 3" * doctest::test_suite("sqlite")) {
  test::Cli cli;
  std::filesystem::create_directories(cli.state());
  test::sqlite_value(cli.state() + "/kanari.db", "CREATE TABLE t (x); PRAGMA application_id = 42");
  const auto before = test::store_snapshot(cli.state());
  for (auto args : k_store_commands) {
    auto r = cli(args);
    CHECK(r.code == 3);
    CHECK(r.err.find("not a kanari store") != std::string::npos);
  }
  auto init = cli({"init"});
  CHECK(init.code == 3);
  CHECK(test::store_snapshot(cli.state()) == before);
}

TEST_CASE("errors: a file that is not SQLite at all exits 3") {
  test::Cli cli;
  cli.dir().file("state/kanari.db", "this is not a database, it is a shopping list\n");
  const auto before = test::store_snapshot(cli.state());
  for (const auto& args : k_store_commands) {
    auto r = cli(args);
    INFO(r.err);
    CHECK(r.code == 3);
    CHECK(r.err.rfind("kanari: error: ", 0) == 0);
  }
  CHECK(test::store_snapshot(cli.state()) == before);
}
