// The simulated tables of docs/gates.md ("Operating characteristics" and
// "Paired versus unpaired"), recomputed: every row of the document is run
// through simulate() with the settings its columns name, and every printed
// number must be what the simulation gives now. A change to the gate that
// moves a figure fails here until the document says so.
//
// The tables are printed, ready to paste, by
//   build/tests/kanari_tests -tc='simulate: the tables of docs/gates.md*' -s
// (a failing row prints the line it expected). About 10^8 gate
// evaluations and no store, so the PostgreSQL pass leaves it out.
#include "gate/simulate.hpp"
#include "util/strings.hpp"

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using namespace kanari;
using namespace kanari::gate;

namespace {

std::vector<std::string> doc_lines() {
  std::ifstream f(std::string(KANARI_SOURCE_DIR) + "/docs/gates.md");
  REQUIRE(f);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line))
    out.push_back(line);
  return out;
}

std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  for (auto& c : split(row, '|')) {
    const auto a = c.find_first_not_of(' ');
    const auto b = c.find_last_not_of(' ');
    out.push_back(a == std::string::npos ? "" : c.substr(a, b - a + 1));
  }
  // "| a | b |" splits into "", "a", "b", "".
  return std::vector<std::string>(out.begin() + 1, out.end() - 1);
}

std::string number(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

} // namespace

TEST_CASE("simulate: the tables of docs/gates.md are what the gate does") {
  int unpaired_rows = 0, paired_rows = 0;
  for (const auto& line : doc_lines()) {
    const bool pairing_table = line.starts_with("| paired |") || line.starts_with("| unpaired |");
    if (!line.starts_with("| threshold |") && !line.starts_with("| sequential |") && !pairing_table)
      continue;
    const auto c = cells(line);
    Policy p;
    SimulationConfig cfg{0.90, 0.0};
    cfg.trials = 10000;
    std::string expected;
    if (!pairing_table) {
      // | method | canary | eval every | P(PROMOTE) | P(ROLLBACK) | P(undecided) | mean tasks |
      REQUIRE(c.size() == 7);
      p.method = c[0] == "sequential" ? Method::sequential : Method::threshold;
      cfg.canary_rate = std::stod(c[1]);
      cfg.eval_every = std::stoll(c[2]);
      const auto r = simulate(p, cfg);
      REQUIRE(r.ok());
      expected = "| " + c[0] + " | " + c[1] + " | " + c[2] + " | " + number(r->p_promote, 3) + " | " +
                 number(r->p_rollback, 3) + " | " + number(r->p_undecided, 3) + " | " +
                 number(r->mean_tasks_to_verdict, 1) + " |";
      ++unpaired_rows;
    } else {
      // | paired / unpaired | method | paired_alpha | canary | P(ROLLBACK) | P(PROMOTE) | P(undecided) | mean tasks |
      REQUIRE(c.size() == 8);
      cfg.paired = c[0] == "paired";
      p.method = c[1] == "sequential" ? Method::sequential : Method::threshold;
      if (c[2] != "-")
        p.paired_alpha = std::stod(c[2]);
      cfg.canary_rate = std::stod(c[3]);
      const auto r = simulate(p, cfg);
      REQUIRE(r.ok());
      expected = "| " + c[0] + " | " + c[1] + " | " + c[2] + " | " + c[3] + " | " + number(r->p_rollback, 3) + " | " +
                 number(r->p_promote, 3) + " | " + number(r->p_undecided, 3) + " | " +
                 number(r->mean_tasks_to_verdict, 1) + " |";
      ++paired_rows;
    }
    std::printf("%s\n", expected.c_str());
    CHECK_MESSAGE(line == expected, "docs/gates.md has\n  " << line << "\nthe gate gives\n  " << expected);
  }
  CHECK(unpaired_rows == 16);
  CHECK(paired_rows >= 12);
}
