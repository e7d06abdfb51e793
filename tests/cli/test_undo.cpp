// `canary undo`: the one command that takes back a bad promotion
// (docs/cli.md, docs/operations.md "At 3 AM").
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari::test;
using nlohmann::json;

namespace {

// Refused with `code` and one error line, nothing written.
void refused(Cli& cli, std::vector<std::string> args, int code, const std::string& message) {
  const auto before = store_snapshot(cli.state());
  auto r = cli(args);
  INFO(json(args).dump() << "\n" << r.err);
  CHECK(r.code == code);
  CHECK(r.err.find(message) != std::string::npos);
  CHECK(r.out.empty());
  CHECK(store_snapshot(cli.state()) == before);
}

} // namespace

TEST_CASE("canary undo makes the promoted rollout's stable the stable again, once") {
  TwoVersions w;
  refused(w.cli, {"canary", "undo"}, 4, "has never had a rollout");
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "20"});
  refused(w.cli, {"canary", "undo"}, 5, "is open; `kanari canary rollback`");
  w.cli.ok({"canary", "promote", "--full"});
  CHECK(w.cli.json({"canary", "status"})["stable"] == w.b);
  refused(w.cli, {"canary", "undo", "--rollout", "7"}, 5, "latest rollout is 1, not 7");

  const json r = w.cli.json({"canary", "undo", "--reason", "pager: wrong refunds"});
  CHECK(r == json{{"track", "default"}, {"undone", 1}, {"stable", w.a}, {"previous_stable", w.b}});
  const json st = w.cli.json({"canary", "status"});
  CHECK(st["stable"] == w.a);
  CHECK(w.cli.json({"route", "--key", "user-1"})["version"] == w.a);
  const json e = w.cli.json({"history", "--limit", "1"})[0];
  CHECK(e["action"] == "stable_set");
  CHECK(e["version"] == w.a);
  CHECK(e["reason"] == "pager: wrong refunds");
  CHECK(e["evidence"]["undo_of"] == 1);
  CHECK(e["evidence"]["previous_stable"] == w.b);
  CHECK(w.cli.json({"doctor"})["ok"] == true);

  refused(w.cli, {"canary", "undo"}, 5, "the stable has changed since rollout 1");
  w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "20"});
  w.cli.ok({"canary", "rollback"});
  refused(w.cli, {"canary", "undo"}, 5, "was rolled_back, not promoted");
}
