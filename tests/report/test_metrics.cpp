// `kanari metrics`: the Prometheus text format (escaping, HELP/TYPE before
// each family, values) and that the numbers are those of `canary status`
// and of the ledger; --output is written atomically. The format is also
// checked by an independent parser in check_metrics.py.
#include "report/metrics.hpp"
#include "scenario.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <regex>
#include <sstream>
#include <sys/stat.h>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

// name{labels} -> value, parsed with a regex independent of the renderer.
std::map<std::string, double> samples(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  static const std::regex sample(R"(^([a-z_]+)(\{[^}]*\})? (\S+)$)");
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0)
      continue;
    std::smatch m;
    REQUIRE_MESSAGE(std::regex_match(line, m, sample), line);
    out[m[1].str() + m[2].str()] = std::stod(m[3].str());
  }
  return out;
}

} // namespace

TEST_CASE("metrics: label values and help text are escaped as the text format requires") {
  CHECK(report::escape_label_value("plain") == "plain");
  CHECK(report::escape_label_value("a\\b") == "a\\\\b");
  CHECK(report::escape_label_value("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(report::escape_label_value("two\nlines") == "two\\nlines");
  CHECK(report::escape_help("a\\b \"q\"\nc") == "a\\\\b \"q\"\\nc"); // quotes stay in help
  CHECK(report::format_value(0) == "0");
  CHECK(report::format_value(42) == "42");
  CHECK(report::format_value(0.1) == "0.1");
  CHECK(report::format_value(0.9) == "0.9");
  CHECK(report::format_value(2.0 / 3.0) == "0.6666666666666666");
  CHECK(report::format_value(1800000060.5) == "1800000060.5");
  CHECK(report::format_value(std::nan("")) == "NaN");
  CHECK(report::format_value(INFINITY) == "+Inf");
  CHECK(report::format_value(-INFINITY) == "-Inf");

  std::vector<report::MetricFamily> fams = {
      {"kanari_x", "gauge", "Help with \\ and\nnewline.", {{{{"track", "t\"1\""}, {"arm", "a\\b\nc"}}, 1.5}}},
      {"kanari_empty", "gauge", "No samples: left out.", {}}};
  CHECK(report::exposition_text(fams) == "# HELP kanari_x Help with \\\\ and\\nnewline.\n"
                                         "# TYPE kanari_x gauge\n"
                                         "kanari_x{track=\"t\\\"1\\\"\",arm=\"a\\\\b\\nc\"} 1.5\n");
}

TEST_CASE("metrics: every family has HELP and TYPE before its samples, names are kanari_*") {
  ReportScenario s;
  auto text = s.cli.ok({"metrics"}).out;
  std::istringstream in(text);
  std::string line, family;
  std::set<std::string> seen;
  while (std::getline(in, line)) {
    CAPTURE(line);
    if (line.rfind("# HELP ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
      CHECK(seen.insert(family).second); // each family once, contiguous
      REQUIRE(std::getline(in, line));
      CHECK(line.rfind("# TYPE " + family + " ", 0) == 0);
      continue;
    }
    CHECK(std::regex_match(line, std::regex("kanari_[a-z_]+(\\{.*\\})? -?[0-9.e+-]+")));
    CHECK(line.rfind(family, 0) == 0);
  }
  CHECK(seen.size() >= 12);
  CHECK(text.back() == '\n');
}

TEST_CASE("metrics: values are those of canary status and of the ledger") {
  ReportScenario s;
  auto status = s.cli.json({"canary", "status"});
  auto m = samples(s.cli.ok({"metrics"}).out);
  const std::string t = "track=\"default\"";
  // Gate window: the numbers `canary status` shows.
  for (const char* arm : {"canary", "stable"}) {
    CAPTURE(arm);
    const auto& st = status[std::string(arm) + "_stats"];
    const std::string l = "{" + t + ",arm=\"" + arm + "\"}";
    CHECK(m.at("kanari_gate_outcomes" + l) == st["n"].get<double>());
    CHECK(m.at("kanari_gate_passes" + l) == st["pass"].get<double>());
    CHECK(m.at("kanari_gate_pass_rate" + l) == doctest::Approx(st["pass_rate"].get<double>()).epsilon(1e-12));
    const std::string q = "{" + t + ",arm=\"" + arm + "\",quantile=\"";
    CHECK(m.at("kanari_gate_latency_seconds" + q + "0.5\"}") * 1000 ==
          doctest::Approx(st["latency_p50_ms"].get<double>()));
    CHECK(m.at("kanari_gate_latency_seconds" + q + "0.95\"}") * 1000 ==
          doctest::Approx(st["latency_p95_ms"].get<double>()));
  }
  CHECK(status["canary_stats"]["n"] == 15); // the current step only
  // Ledger totals: every outcome ever, per arm (35 each, 3 + 6 failures, an error per batch).
  CHECK(m.at("kanari_outcomes_total{" + t + ",arm=\"canary\"}") == 35);
  CHECK(m.at("kanari_outcome_passes_total{" + t + ",arm=\"canary\"}") == 33);
  CHECK(m.at("kanari_outcomes_total{" + t + ",arm=\"stable\"}") == 35);
  CHECK(m.at("kanari_outcome_passes_total{" + t + ",arm=\"stable\"}") == 28);
  CHECK(m.at("kanari_outcome_errors_total{" + t + ",arm=\"canary\"}") == 2);
  // Rollout state and percentage.
  CHECK(m.at("kanari_rollout_state{" + t + ",state=\"active\"}") == 1);
  CHECK(m.at("kanari_rollout_state{" + t + ",state=\"idle\"}") == 0);
  CHECK(m.at("kanari_rollout_state{" + t + ",state=\"paused\"}") == 0);
  CHECK(m.at("kanari_rollout_percentage{" + t + "}") == status["percentage"].get<double>());
  CHECK(m.at("kanari_rollout_percentage{" + t + "}") == 100);
  CHECK(m.at("kanari_rollout_step{" + t + "}") == 1);
  CHECK(m.at("kanari_rollout_steps{" + t + "}") == 2);
  CHECK(m.at("kanari_rollout_step_started_timestamp_seconds{" + t + "}") == (s.t0 + 15 * s.minute) / 1000.0);
  CHECK(m.count("kanari_rollout_info{" + t + ",rollout=\"" + std::to_string(s.rollout) + "\",stable=\"" + s.a +
                "\",canary=\"" + s.b + "\"}") == 1);
  CHECK(m.count("kanari_stable_info{" + t + ",version=\"" + s.a + "\"}") == 1);

  // Paused, then idle after the promotion: no gate window, percentage 0.
  s.cli.ok({"canary", "pause"});
  m = samples(s.cli.ok({"metrics"}).out);
  CHECK(m.at("kanari_rollout_state{" + t + ",state=\"paused\"}") == 1);
  s.cli.ok({"canary", "resume"});
  s.finish();
  m = samples(s.cli.ok({"metrics"}).out);
  CHECK(m.at("kanari_rollout_state{" + t + ",state=\"idle\"}") == 1);
  CHECK(m.at("kanari_rollout_percentage{" + t + "}") == 0);
  CHECK(m.count("kanari_gate_outcomes{" + t + ",arm=\"canary\"}") == 0);
  CHECK(m.count("kanari_stable_info{" + t + ",version=\"" + s.b + "\"}") == 1);
  CHECK(m.at("kanari_outcomes_total{" + t + ",arm=\"canary\"}") == 35); // counters keep counting
}

TEST_CASE("metrics: every track by default, one with --track, an unknown track exits 4") {
  ReportScenario s;
  s.cli.ok({"--track", "other", "version", "add", "--prompt", "p=" + s.cli.dir().file("o.txt", "O\n")});
  auto all = samples(s.cli.ok({"metrics"}).out);
  CHECK(all.count("kanari_rollout_state{track=\"other\",state=\"idle\"}") == 1);
  CHECK(all.count("kanari_rollout_state{track=\"default\",state=\"active\"}") == 1);
  CHECK(all.at("kanari_tracks") == 2);
  auto one = samples(s.cli.ok({"metrics", "--track", "other"}).out);
  CHECK(one.at("kanari_tracks") == 1);
  CHECK(one.count("kanari_rollout_state{track=\"other\",state=\"idle\"}") == 1);
  CHECK(one.count("kanari_rollout_state{track=\"default\",state=\"active\"}") == 0);
  // An empty store still says something.
  Cli empty;
  empty.ok({"init"});
  CHECK(empty.ok({"metrics"}).out ==
        "# HELP kanari_tracks Tracks exported (every track in the store, or the one asked for).\n"
        "# TYPE kanari_tracks gauge\nkanari_tracks 0\n");
  auto r = s.cli({"metrics", "--track", "nope"});
  CHECK(r.code == 4);
  CHECK(r.err.find("track 'nope' is not in the store") != std::string::npos);
  CHECK(r.out.empty());
}

TEST_CASE("metrics: --output writes the file atomically, readable by the collector") {
  ReportScenario s;
  const auto dir = s.cli.dir().path() / "textfile";
  std::filesystem::create_directories(dir);
  const auto file = (dir / "kanari.prom").string();
  s.cli.dir().file("textfile/kanari.prom", "old content\n");
  auto r = s.cli.ok({"metrics", "--output", file});
  CHECK(r.out == "Wrote " + std::to_string(samples(read_file(file)).size()) + " samples to " + file + "\n");
  CHECK(read_file(file) == s.cli.ok({"metrics"}).out);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  // Nothing else is left in the directory (no temporary file).
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
  auto j = s.cli.json({"metrics", "--output", file});
  CHECK(j["output"] == file);
  CHECK(j["samples"].get<std::size_t>() == samples(read_file(file)).size());
  CHECK(s.cli.ok({"metrics", "--output", file, "-q"}).out.empty());
}

TEST_CASE("metrics: a bad --output exits 2 and writes nothing") {
  ReportScenario s;
  const auto missing = (s.cli.dir().path() / "no-such-dir" / "kanari.prom").string();
  auto r = s.cli({"metrics", "--output", missing});
  CHECK(r.code == 2);
  CHECK(r.err.find("kanari: error: --output file") != std::string::npos);
  CHECK(r.err.find("does not exist") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(s.cli.dir().path() / "no-such-dir"));
  r = s.cli({"metrics", "--output", s.cli.dir().str()});
  CHECK(r.code == 2);
  CHECK(r.err.find("is a directory") != std::string::npos);
}

TEST_CASE("metrics: --json prints the families") {
  ReportScenario s;
  auto j = s.cli.json({"metrics"});
  REQUIRE(j.is_array());
  bool found = false;
  for (const auto& f : j)
    if (f["name"] == "kanari_rollout_percentage") {
      CHECK(f["type"] == "gauge");
      CHECK(f["samples"][0]["labels"]["track"] == "default");
      CHECK(f["samples"][0]["value"] == 100);
      found = true;
    }
  CHECK(found);
}
