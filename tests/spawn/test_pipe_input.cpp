// `record --jsonl -` reading a real pipe (not a file redirected to stdin):
// kanari copies it to an unnamed temporary file first, so that its write
// transaction could read it again; what is stored is the same.
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari;
using nlohmann::json;

namespace {

// kanari with `cat |` in front of it: its standard input is a pipe.
test::Spawned piped(const std::vector<std::string>& args, const std::string& stdin_text) {
  return test::spawn_kanari_via({"sh", "-c", "cat | \"$0\" \"$@\""}, args, stdin_text);
}

} // namespace

TEST_CASE("binary: record --jsonl - from a pipe stores every line, or nothing with the bad line named") {
  test::TwoVersions w;
  const std::string db = w.cli.state() + "/kanari.db";
  std::string text;
  const int n = 30000; // about 2 MB: many pipe buffers
  for (int i = 0; i < n; ++i)
    text += json{{"task", "t-" + std::to_string(i)}, {"pass", i % 3 != 0}, {"version", i % 2 ? "stable" : w.a}}.dump() +
            "\n";

  auto bad = piped({"--state", w.cli.state(), "--json", "record", "--jsonl", "-"}, text + "{\"task\": \"x\"}\n");
  INFO(bad.err);
  CHECK(bad.code == 2);
  CHECK(bad.err.find("line " + std::to_string(n + 1) + ": missing \"pass\"") != std::string::npos);
  CHECK(test::sqlite_value(db, "SELECT count(*) FROM outcomes") == "0");

  auto good = piped({"--state", w.cli.state(), "--json", "record", "--jsonl", "-"}, text);
  INFO(good.err);
  REQUIRE(good.code == 0);
  CHECK(json::parse(good.out)["inserted"] == n);
  CHECK(test::sqlite_value(db, "SELECT count(*) FROM outcomes") == std::to_string(n));
  CHECK(test::sqlite_value(db, "SELECT count(*) FROM outcomes WHERE pass = 0") == std::to_string(n / 3));
}
