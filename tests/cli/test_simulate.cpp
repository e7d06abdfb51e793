// `kanari simulate` through the real CLI (SPEC §6.4): a collapse is rolled
// back nearly always, the counts add up, a seed reproduces its output, and
// bad rates are refused. It needs no store.
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari::test;
using nlohmann::json;

namespace {

CliResult simulate(std::vector<std::string> extra) {
  Cli cli; // never initialised: simulate must not need a store
  std::vector<std::string> args{"simulate"};
  args.insert(args.end(), extra.begin(), extra.end());
  return cli(args);
}

json simulate_json(std::vector<std::string> extra) {
  extra.push_back("--json");
  auto r = simulate(extra);
  INFO("stderr: " << r.err);
  REQUIRE(r.code == 0);
  return r.json();
}

} // namespace

TEST_CASE("simulate: a canary at 0.5 against 0.9 is rolled back nearly always") {
  auto j = simulate_json({"--stable-rate", "0.9", "--canary-rate", "0.5", "--trials", "2000"});
  CHECK(j["trials"] == 2000);
  CHECK(j["method"] == "threshold");
  CHECK(j["promote"].get<std::int64_t>() + j["rollback"].get<std::int64_t>() + j["undecided"].get<std::int64_t>() ==
        2000);
  CHECK(j["p_rollback"].get<double>() > 0.97);
  CHECK(j["p_promote"].get<double>() < 0.02);
  CHECK(j["p_promote"].get<double>() + j["p_rollback"].get<double>() + j["p_undecided"].get<double>() ==
        doctest::Approx(1.0));
  CHECK(j["p_rollback"].get<double>() == doctest::Approx(j["rollback"].get<double>() / 2000.0));
  // The first look is at min_samples canary tasks.
  CHECK(j["mean_tasks_to_verdict"].get<double>() >= 10.0);
  CHECK(j["mean_tasks_to_verdict"].get<double>() < 20.0);
}

TEST_CASE("simulate: an equal canary is mostly promoted, sequential rarely rolls it back") {
  auto t = simulate_json({"--stable-rate", "0.9", "--canary-rate", "0.9", "--trials", "2000"});
  CHECK(t["p_promote"].get<double>() > 0.6);
  auto s = simulate_json({"--stable-rate", "0.9", "--canary-rate", "0.9", "--trials", "500", "--method", "sequential"});
  CHECK(s["method"] == "sequential");
  CHECK(s["p_rollback"].get<double>() < 0.05);
  CHECK(s["p_rollback"].get<double>() < t["p_rollback"].get<double>());
}

TEST_CASE("simulate: the same seed gives the same output, another seed another") {
  const std::vector<std::string> args{"--stable-rate", "0.9",  "--canary-rate", "0.8",
                                      "--trials",      "1000", "--seed",        "42"};
  auto a = simulate(args);
  auto b = simulate(args);
  REQUIRE(a.code == 0);
  CHECK(a.out == b.out);
  CHECK(simulate_json(args) == simulate_json(args));
  auto other = args;
  other.back() = "43";
  auto c = simulate_json(other);
  auto d = simulate_json(args);
  CHECK((c["promote"] != d["promote"] || c["gate_evaluations"] != d["gate_evaluations"]));
  // Human output names the three probabilities.
  CHECK(a.out.find("P(PROMOTE)") != std::string::npos);
  CHECK(a.out.find("P(ROLLBACK)") != std::string::npos);
}

TEST_CASE("simulate: policy flags reach the gate") {
  auto loose =
      simulate_json({"--stable-rate", "0.9", "--canary-rate", "0.7", "--trials", "1000", "--max-regression", "0.5"});
  auto strict = simulate_json({"--stable-rate", "0.9", "--canary-rate", "0.7", "--trials", "1000"});
  CHECK(loose["policy"]["max_regression"] == 0.5);
  CHECK(loose["p_rollback"].get<double>() < strict["p_rollback"].get<double>());
  auto every = simulate_json(
      {"--stable-rate", "0.9", "--canary-rate", "0.9", "--trials", "200", "--eval-every", "10", "--min-samples", "20"});
  CHECK(every["eval_every"] == 10);
  CHECK(every["policy"]["min_samples"] == 20);
  CHECK(every["mean_tasks_to_verdict"].get<double>() >= 20.0);
}

TEST_CASE("simulate: invalid input exits 2") {
  const std::vector<std::vector<std::string>> bad = {
      {"--stable-rate", "1.5", "--canary-rate", "0.5"},
      {"--stable-rate", "0.9", "--canary-rate", "-0.1"},
      {"--stable-rate", "abc", "--canary-rate", "0.5"},
      {"--stable-rate", "nan", "--canary-rate", "0.5"},
      {"--stable-rate", "0.9", "--canary-rate", "inf"},
      {"--stable-rate", "0.9"},
      {"--canary-rate", "0.9"},
      {"--stable-rate", "0.9", "--canary-rate", "0.5", "--trials", "0"},
      {"--stable-rate", "0.9", "--canary-rate", "0.5", "--trials", "-5"},
      {"--stable-rate", "0.9", "--canary-rate", "0.5", "--eval-every", "0"},
      {"--stable-rate", "0.9", "--canary-rate", "0.5", "--method", "magic"},
      {"--stable-rate", "0.9", "--canary-rate", "0.5", "--min-samples", "0"},
  };
  for (const auto& args : bad) {
    CAPTURE(json(args).dump());
    auto r = simulate(args);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("kanari: error: ") != std::string::npos);
  }
}
