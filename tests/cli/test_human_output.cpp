// Human output as an operator sees it: aligned tables; colour only when
// stdout is a terminal and NO_COLOR is unset and TERM is not dumb; a
// progress bar on a terminal's stderr for long imports and simulations, and
// never with --json or --quiet; --quiet prints nothing but errors.
#include "support.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace kanari::test;

namespace {

// Every reading of the clock is `step_ms` later than the last: long work
// without sleeping.
class SteppingClock final : public kanari::Clock {
public:
  SteppingClock(kanari::TimeMs start, kanari::TimeMs step_ms) : m_now(start), m_step(step_ms) {}
  kanari::TimeMs now_ms() const override { return m_now += m_step; }

private:
  mutable kanari::TimeMs m_now;
  kanari::TimeMs m_step;
};

bool has_escape(const std::string& s) { return s.find('\033') != std::string::npos; }

struct World {
  Cli cli;
  std::string a, b;
  World() {
    cli.ok({"init"});
    a = cli.json({"version", "add", "--prompt", "p=" + cli.dir().file("a.txt", "A\n"), "--label", "first"})["id"];
    b = cli.json({"version", "add", "--prompt", "p=" + cli.dir().file("b.txt", "B\n")})["id"];
    cli.ok({"canary", "start", "--version", b, "--steps", "50,100"});
  }
};

} // namespace

TEST_CASE("human output: version list is an aligned table") {
  World w;
  auto out = w.cli.ok({"version", "list"}).out;
  std::istringstream lines(out);
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  CHECK(header == "ID            ROLE    CREATED                   LABEL");
  CHECK(first.rfind(w.b.substr(0, 12) + "  canary  ", 0) == 0);
  CHECK(second.rfind(w.a.substr(0, 12) + "  stable  ", 0) == 0);
  CHECK(second.substr(second.size() - 5) == "first");
  // Every row's third column starts where the header's does.
  CHECK(first.find("2027-") == header.find("CREATED"));
  CHECK(second.find("2027-") == header.find("CREATED"));
}

TEST_CASE("human output: colour on a terminal only, never with NO_COLOR, TERM=dumb or --json") {
  World w;
  const std::vector<std::vector<std::string>> commands = {
      {"version", "list"}, {"canary", "status"}, {"history"}, {"canary", "evaluate"}};
  for (const auto& args : commands) {
    CAPTURE(args[0]);
    CHECK_FALSE(has_escape(w.cli.ok(args).out)); // not a terminal
    w.cli.out_tty = true;
    CHECK(has_escape(w.cli.ok(args).out));
    w.cli.env["NO_COLOR"] = "1";
    CHECK_FALSE(has_escape(w.cli.ok(args).out));
    w.cli.env["NO_COLOR"] = "";
    CHECK(has_escape(w.cli.ok(args).out));
    w.cli.env["TERM"] = "dumb";
    CHECK_FALSE(has_escape(w.cli.ok(args).out));
    w.cli.env.clear();
    auto with_json = args;
    with_json.push_back("--json");
    CHECK_FALSE(has_escape(w.cli.ok(with_json).out));
    w.cli.out_tty = false;
  }
  // The roles are coloured: stable green, canary yellow.
  w.cli.out_tty = true;
  auto out = w.cli.ok({"version", "list"}).out;
  CHECK(out.find("\033[32mstable\033[0m") != std::string::npos);
  CHECK(out.find("\033[33mcanary\033[0m") != std::string::npos);
}

TEST_CASE("human output: the error prefix is coloured only on a terminal's stderr") {
  Cli cli;
  auto r = cli({"version", "list"});
  CHECK(r.code == 3);
  CHECK(r.err.rfind("kanari: error: no kanari store", 0) == 0);
  cli.err_tty = true;
  r = cli({"version", "list"});
  CHECK(r.err.rfind("\033[1;31mkanari: error:\033[0m no kanari store", 0) == 0);
  cli.env["NO_COLOR"] = "yes";
  CHECK_FALSE(has_escape(cli({"version", "list"}).err));
}

TEST_CASE("human output: --quiet prints nothing on stdout for any command") {
  World w;
  const std::string jsonl = w.cli.dir().file("o.jsonl", "{\"task\":\"q1\",\"pass\":true,\"version\":\"stable\"}\n");
  const std::vector<std::vector<std::string>> commands = {
      {"init"},
      {"version", "add", "--prompt", "p=" + w.cli.dir().file("c.txt", "C\n")},
      {"version", "list"},
      {"version", "show", "stable"},
      {"version", "diff", "stable", "canary"},
      {"version", "checkout", "stable", "--to", (w.cli.dir().path() / "co").string()},
      {"canary", "status"},
      {"canary", "pause"},
      {"canary", "resume"},
      {"canary", "approve"},
      {"route", "--key", "user-1", "--task", "t1"},
      {"record", "--task", "t1", "--pass"},
      {"record", "--jsonl", jsonl},
      {"canary", "evaluate"},
      {"canary", "promote"},
      {"history"},
      {"audit", "verify"},
      {"simulate", "--stable-rate", "0.9", "--canary-rate", "0.9", "--trials", "10"},
      {"canary", "rollback"},
  };
  for (auto args : commands) {
    CAPTURE(args[0]);
    args.push_back("--quiet");
    auto r = w.cli.ok(args);
    CHECK(r.out == "");
    // A rollback is the one thing --quiet still reports, on stderr.
    CHECK(r.err == (args[1] == "rollback" ? "kanari: track 'default' rolled back: by tester\n" : ""));
  }
  // Errors still go to stderr.
  auto r = w.cli({"version", "show", "ffff", "-q"});
  CHECK(r.code == 4);
  CHECK(r.err.find("kanari: error:") != std::string::npos);
}

TEST_CASE("human output: a progress bar for a long simulation on a terminal only") {
  SteppingClock clock(1'800'000'000'000, 1);
  Cli cli;
  cli.clock_override = &clock;
  const std::vector<std::string> sim = {"simulate", "--stable-rate", "0.9", "--canary-rate", "0.8", "--trials", "2000"};
  cli.err_tty = true;
  auto r = cli.ok(sim);
  CHECK(r.err.find("\rkanari: simulating [") != std::string::npos);
  CHECK(r.err.find("] 100 %  2000/2000 trials\033[K\n") != std::string::npos);
  CHECK(r.out.find("P(PROMOTE)") != std::string::npos); // the result itself is on stdout

  for (const char* flag : {"--json", "--quiet"}) {
    CAPTURE(flag);
    auto args = sim;
    args.push_back(flag);
    CHECK(cli.ok(args).err == "");
  }
  cli.err_tty = false;
  CHECK(cli.ok(sim).err == "");
}

TEST_CASE("human output: a progress bar over the bytes of a long JSONL import") {
  SteppingClock clock(1'800'000'000'000, 10);
  Cli cli;
  cli.clock_override = &clock;
  cli.ok({"init"});
  cli.ok({"version", "add", "--prompt", "p=" + cli.dir().file("a.txt", "A\n")});
  std::string lines;
  for (int i = 0; i < 70000; ++i)
    lines += "{\"task\":\"t" + std::to_string(i) + "\",\"pass\":true,\"version\":\"stable\"}\n";
  const auto file = cli.dir().file("big.jsonl", lines);
  cli.err_tty = true;
  auto r = cli.ok({"record", "--jsonl", file});
  CHECK(r.err.find("\rkanari: importing [") != std::string::npos); // drawn at line 65536, mid-file
  CHECK(r.err.find(" 100 %  ") != std::string::npos);
  CHECK(r.err.find("MiB/") != std::string::npos);
  CHECK(r.err.find(", 70000 lines\033[K\n") != std::string::npos);
  CHECK(r.out.find("Recorded 70000 outcomes") != std::string::npos);

  // The same import with --json (duplicates now): no bar; stdout is the one JSON document.
  r = cli.ok({"record", "--jsonl", file, "--json"});
  CHECK(r.err == "");
  CHECK(r.json()["duplicates"] == 70000);
}
