// The real kanari binary, spawned: what a shell user or CI step sees.
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari;
using nlohmann::json;

TEST_CASE("binary: --version prints the version and exits 0") {
  auto r = test::spawn_kanari({"--version"});
  CHECK(r.code == 0);
  CHECK(r.out.rfind("kanari ", 0) == 0);
  CHECK(r.out.find("0.") != std::string::npos);
}

TEST_CASE("binary: --help exits 0 and lists the commands") {
  auto r = test::spawn_kanari({"--help"});
  CHECK(r.code == 0);
  for (const char* cmd : {"init", "version", "canary", "route", "record", "history", "audit"})
    CHECK_MESSAGE(r.out.find(cmd) != std::string::npos, cmd);
  for (const char* opt : {"--state", "--track", "--json", "--quiet", "--actor"})
    CHECK_MESSAGE(r.out.find(opt) != std::string::npos, opt);
  auto v = test::spawn_kanari({"version", "--help"});
  CHECK(v.code == 0);
  for (const char* sub : {"add", "list", "show", "diff", "checkout"})
    CHECK_MESSAGE(v.out.find(sub) != std::string::npos, sub);
}

TEST_CASE("binary: a parse error exits 2 with a message on stderr only") {
  auto r = test::spawn_kanari({"version", "add", "--no-such-flag"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.rfind("kanari: error: ", 0) == 0);
  CHECK(r.err.find("--no-such-flag") != std::string::npos);
}

TEST_CASE("binary: a missing store exits 3") {
  test::TempDir dir;
  auto r = test::spawn_kanari({"--state", (dir.path() / "none").string(), "version", "list"});
  CHECK(r.code == 3);
  CHECK(r.err.find("kanari init") != std::string::npos);
}

TEST_CASE("binary: init add show list and checkout end to end") {
  test::TempDir dir;
  const auto state = new_store_location(dir);
  auto init = test::spawn_kanari({"--state", state, "init"});
  REQUIRE(init.code == 0);
  auto prompt = dir.file("backend.md", "You are a careful backend engineer.\n");
  auto add =
      test::spawn_kanari({"--state", state, "version", "add", "--prompt", "roles/backend.md=" + prompt, "--json"});
  REQUIRE(add.code == 0);
  auto a = json::parse(add.out); // exactly one JSON document
  CHECK(a["id"] == "4ead50708b785ca7983f8964dbe336066de45f93b0cb7f1bad2c6ef66a886a33");
  CHECK(a["became_stable"] == true);
  auto show = test::spawn_kanari({"--state", state, "--json", "version", "show", "4ead"});
  REQUIRE(show.code == 0);
  CHECK(json::parse(show.out)["components"][0]["name"] == "roles/backend.md");
  auto list = test::spawn_kanari({"--state", state, "version", "list"});
  REQUIRE(list.code == 0);
  CHECK(list.out.find("4ead50708b78  stable") != std::string::npos);
  const auto to = (dir.path() / "co").string();
  auto co = test::spawn_kanari({"--state", state, "version", "checkout", "stable", "--to", to});
  REQUIRE(co.code == 0);
  CHECK(test::read_file(to + "/roles/backend.md") == "You are a careful backend engineer.\n");
  CHECK(test::read_file(to + "/model.json") == "{}\n");
}

TEST_CASE("binary: a prompt read from stdin") {
  test::TempDir dir;
  const auto state = dir.str();
  REQUIRE(test::spawn_kanari({"--state", state, "init", "-q"}).code == 0);
  auto add =
      test::spawn_kanari({"--state", state, "version", "add", "--prompt", "qa.md=-", "--json"}, "no trailing newline");
  REQUIRE(add.code == 0);
  CHECK(json::parse(add.out)["components"][0]["sha256"] ==
        "a87e145c566174e542604777074a880d92565dba0519f8784002ba9dff6aece3");
}
