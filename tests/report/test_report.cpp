// `kanari report`: the numbers behind the charts (time buckets with Wilson
// bands, latency per arm, the step timeline from events with the gate's
// verdicts), the HTML page (self-contained, escaped, three charts drawn),
// the rollout it picks and its errors. check_html_report.sh renders the
// page in Chromium.
#include "report/report.hpp"
#include "scenario.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <regex>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

// The Wilson score interval, written out here independently of gate/stats.
std::pair<double, double> wilson(double pass, double n) {
  const double z = 1.959963984540054, p = pass / n, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {centre - half, centre + half};
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1))
    ++n;
  return n;
}

// The text of the element <svg ... id="ID" ...>...</svg>.
std::string chart(const std::string& html, const std::string& id) {
  auto start = html.find("id=\"" + id + "\"");
  REQUIRE(start != std::string::npos);
  auto end = html.find("</svg>", start);
  REQUIRE(end != std::string::npos);
  return html.substr(start, end - start);
}

} // namespace

TEST_CASE("report: bucket widths are round durations covering the span") {
  CHECK(report::bucket_width(0, 24) == 1000);
  CHECK(report::bucket_width(24'000, 24) == 1000);
  CHECK(report::bucket_width(24'001, 24) == 5000);
  CHECK(report::bucket_width(24 * 60'000, 24) == 60'000);
  CHECK(report::bucket_width(24 * 60'000 + 1, 24) == 5 * 60'000);
  CHECK(report::bucket_width(3LL * 24 * 3600'000, 24) == 3 * 3600'000);
  CHECK(report::bucket_width(100LL * 24 * 3600'000, 24) == 7LL * 24 * 3600'000);
  CHECK(report::bucket_width(365LL * 24 * 3600'000, 24) == 1'314'000'000); // beyond a week: span / n
  CHECK(report::bucket_width(1000, 1) == 1000);
}

TEST_CASE("report: pass rate over time per arm, bucketed, with Wilson 95 % bands") {
  ReportScenario s;
  s.finish();
  auto r = s.cli.json({"report"});
  CHECK(r["rollout"] == s.rollout);
  CHECK(r["state"] == "promoted");
  CHECK(r["canary"] == s.b);
  CHECK(r["stable"] == s.a);
  CHECK(r["bucket_seconds"] == 60); // 24 minutes in at most 24 buckets
  const auto& buckets = r["buckets"];
  CHECK(buckets.size() == 24);
  std::int64_t n[2] = {0, 0}, pass[2] = {0, 0};
  for (const auto& b : buckets) {
    int i = 0;
    for (const char* arm : {"canary", "stable"}) {
      const auto& a = b[arm];
      n[i] += a["n"].get<std::int64_t>();
      pass[i] += a["pass"].get<std::int64_t>();
      if (a["n"] == 0) {
        CHECK(a["wilson95"].is_null());
      } else {
        auto [lo, hi] = wilson(a["pass"].get<double>(), a["n"].get<double>());
        CHECK(a["wilson95"][0].get<double>() == doctest::Approx(lo).epsilon(1e-9));
        CHECK(a["wilson95"][1].get<double>() == doctest::Approx(hi).epsilon(1e-9));
        CHECK(a["pass_rate"].get<double>() == doctest::Approx(a["pass"].get<double>() / a["n"].get<double>()));
      }
      ++i;
    }
  }
  CHECK(n[0] == 35);
  CHECK(pass[0] == 33);
  CHECK(n[1] == 35);
  CHECK(pass[1] == 28);
  CHECK(r["arms"]["canary"]["n"] == 35);
  CHECK(r["arms"]["stable"]["pass"] == 28);
  CHECK(r["arms"]["canary"]["errors"] == 2);
  // The first outcomes (minute 2, every 30 s) fall into the bucket of minute 2.
  CHECK(buckets[0]["start"] == format_rfc3339(s.t0 + s.minute));
  CHECK(buckets[1]["canary"]["n"] == 2);
  CHECK(buckets[1]["stable"]["n"] == 2);
  CHECK(buckets[1]["stable"]["pass"] == 1); // task s0-0 failed
  // --buckets changes the resolution.
  auto coarse = s.cli.json({"report", "--buckets", "5"});
  CHECK(coarse["bucket_seconds"] == 300);
  CHECK(coarse["buckets"].size() == 5);
}

TEST_CASE("report: latency distribution per arm with nearest-rank percentiles") {
  ReportScenario s;
  s.finish();
  auto r = s.cli.json({"report"});
  std::vector<double> canary;
  for (int i = 0; i < 20; ++i)
    canary.push_back(100 + 10 * i);
  for (int i = 0; i < 15; ++i)
    canary.push_back(100 + 10 * i);
  std::sort(canary.begin(), canary.end());
  auto rank = [&](double p) { return canary[static_cast<std::size_t>(std::ceil(p * 35)) - 1]; };
  const auto& c = r["arms"]["canary"];
  CHECK(c["latency_n"] == 35);
  CHECK(c["latency_p50_ms"] == rank(0.50));
  CHECK(c["latency_p95_ms"] == rank(0.95));
  CHECK(c["latency_p99_ms"] == rank(0.99));
  const auto& bins = r["latency_bins_ms"];
  REQUIRE(bins.size() == 31);
  CHECK(bins.front() == 80); // the fastest stable task
  CHECK(bins.back() == 290); // the slowest canary task
  CHECK(r["latency_log_scale"] == true);
  std::int64_t total = 0;
  for (const auto& k : c["latency_histogram"])
    total += k.get<std::int64_t>();
  CHECK(total == 35);
  CHECK(r["arms"]["stable"]["latency_histogram"][0] == 2); // 80 ms twice
}

TEST_CASE("report: the step timeline and its markers come from the rollout's events") {
  ReportScenario s;
  s.finish();
  auto r = s.cli.json({"report"});
  const auto& tl = r["timeline"];
  REQUIRE(tl.size() == 2);
  CHECK(tl[0]["percentage"] == 50);
  CHECK(tl[0]["from"] == format_rfc3339(s.t0 + s.minute));
  CHECK(tl[0]["to"] == format_rfc3339(s.t0 + 15 * s.minute));
  CHECK(tl[1]["percentage"] == 100);
  CHECK(tl[1]["to"] == format_rfc3339(s.t0 + 25 * s.minute));
  const auto& m = r["markers"];
  std::vector<std::string> actions;
  for (const auto& x : m)
    actions.push_back(x["action"]);
  CHECK(actions == std::vector<std::string>{"started", "step_advanced", "paused", "resumed", "promoted"});
  CHECK(m[0]["verdict"].is_null());
  CHECK(m[1]["verdict"] == "PROMOTE"); // the gate acted
  CHECK(m[1]["percentage_after"] == 100);
  CHECK(m[2]["actor"] == s.evil_actor);
  CHECK(m[2]["verdict"].is_null()); // a person acted
  CHECK(m[4]["verdict"] == "PROMOTE");
  CHECK(m[4]["at"] == format_rfc3339(s.t0 + 25 * s.minute));

  // A rollback ends the timeline at 0 %.
  s.cli.clock.set(s.t0 + 30 * s.minute);
  s.cli.ok({"version", "add", "--prompt", "p=" + s.cli.dir().file("c.txt", "C\n")});
  auto c = s.cli.json({"version", "list"})[0]["id"].get<std::string>();
  s.cli.ok({"canary", "start", "--version", c, "--percentage", "10"});
  s.cli.clock.set(s.t0 + 31 * s.minute);
  s.cli.ok({"canary", "rollback", "--reason", "bad"});
  r = s.cli.json({"report"});
  CHECK(r["state"] == "rolled_back");
  CHECK(r["markers"].back()["action"] == "rolled_back");
  CHECK(r["markers"].back()["percentage_after"] == 0);
  CHECK(r["rollout"] == s.rollout + 1); // the latest by default
  CHECK(s.cli.json({"report", "--rollout", std::to_string(s.rollout)})["state"] == "promoted");
}

TEST_CASE("report: the HTML page draws three charts, escapes everything and fetches nothing") {
  ReportScenario s;
  s.finish();
  const auto file = (s.cli.dir().path() / "report.html").string();
  auto out = s.cli.ok({"report", "--html", file}).out;
  CHECK(out == "Wrote the report of rollout " + std::to_string(s.rollout) + " (promoted) to " + file + "\n");
  const std::string html = read_file(file);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html == s.cli.ok({"report", "--html", "-"}).out);

  // Self-contained: no URL, no attribute or CSS that would fetch anything, no script.
  CHECK(html.find("http://") == std::string::npos);
  CHECK(html.find("https://") == std::string::npos);
  for (const char* fetch :
       {" src=\"", " href=\"", "url(", "@import", "<link", "<script", "<iframe", "<img", "<object"}) {
    CAPTURE(fetch);
    CHECK(html.find(fetch) == std::string::npos);
  }
  // The actor and reason that are markup appear only as text.
  CHECK(html.find(s.evil_actor) == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("&lt;img src=x onerror=alert(2)&gt; &amp; &quot;quoted&quot; &#39;single&#39;") != std::string::npos);

  // Pass rate: both arms' dots (one per non-empty bucket), bands and lines; a step line.
  auto pass = chart(html, "chart-pass-rate");
  CHECK(count(pass, "class=\"band\"") == count(pass, "class=\"rate-dot\""));
  CHECK(count(pass, "<circle class=\"rate-dot\" fill=\"#d9480f\"") >= 10); // canary
  CHECK(count(pass, "<circle class=\"rate-dot\" fill=\"#1c7ed6\"") >= 10); // stable
  CHECK(count(pass, "<polyline class=\"rate-line\"") >= 2);
  CHECK(count(pass, "class=\"step-line\"") == 1);
  // Latency: a histogram per arm and p50/p95 lines.
  auto lat = chart(html, "chart-latency");
  CHECK(count(lat, "<path class=\"hist\"") == 2);
  CHECK(count(lat, "class=\"quantile\"") == 4);
  // Timeline: the traffic area and one marker per event.
  auto tl = chart(html, "chart-timeline");
  CHECK(count(tl, "<path class=\"traffic\"") == 1);
  CHECK(count(tl, "<g class=\"marker ") == 5);
  CHECK(count(tl, ">PROMOTE</text>") == 2);
  // The event log: a row per event.
  CHECK(count(html, "<tr class=\"event ") == 5);
}

TEST_CASE("report: a rollout with no outcomes still renders, with the charts saying so") {
  Cli cli;
  cli.ok({"init"});
  cli.ok({"version", "add", "--prompt", "p=" + cli.dir().file("a.txt", "A\n")});
  auto b = cli.json({"version", "add", "--prompt", "p=" + cli.dir().file("b.txt", "B\n")})["id"].get<std::string>();
  cli.ok({"canary", "start", "--version", b, "--percentage", "5"});
  auto html = cli.ok({"report", "--html", "-"}).out;
  CHECK(html.find("no outcomes recorded during this rollout") != std::string::npos);
  CHECK(html.find("no latency recorded during this rollout") != std::string::npos);
  auto j = cli.json({"report"});
  CHECK(j["state"] == "active");
  CHECK(j["ended_at"].is_null());
}

TEST_CASE("report: errors name the fix and write nothing") {
  ReportScenario s;
  auto r = s.cli({"--track", "empty", "report"});
  CHECK(r.code == 4);
  CHECK(r.err.find("track 'empty' has no rollouts yet") != std::string::npos);
  r = s.cli({"report", "--rollout", "99"});
  CHECK(r.code == 4);
  CHECK(r.err.find("no rollout 99") != std::string::npos);
  s.cli.ok({"--track", "other", "version", "add", "--prompt", "p=" + s.cli.dir().file("o.txt", "O\n")});
  r = s.cli({"--track", "other", "report", "--rollout", std::to_string(s.rollout)});
  CHECK(r.code == 4);
  CHECK(r.err.find("is on track 'default'") != std::string::npos);
  for (const char* bad : {"0", "501"}) {
    r = s.cli({"report", "--buckets", bad});
    CHECK(r.code == 2);
    CHECK(r.err.find("--buckets must be in [1, 500]") != std::string::npos);
  }
  r = s.cli({"report", "--rollout", "0"});
  CHECK(r.code == 2);
  const auto missing = (s.cli.dir().path() / "nope" / "r.html").string();
  r = s.cli({"report", "--html", missing});
  CHECK(r.code == 2);
  CHECK(r.err.find("does not exist") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(s.cli.dir().path() / "nope"));
  CHECK(r.out.empty());
}

TEST_CASE("report: the summary is a table of arms and a timeline") {
  ReportScenario s;
  s.finish();
  auto out = s.cli.ok({"report"}).out;
  CHECK(out.find("rollout  " + std::to_string(s.rollout) + " on track default, promoted") != std::string::npos);
  CHECK(std::regex_search(out, std::regex("\ncanary +35 +33 +94\\.3 % ")));
  CHECK(std::regex_search(out, std::regex("\n +3 +2027-01-15T08:15:00\\.000Z +step_advanced +100 +PROMOTE +tester")));
  CHECK(out.find("kanari report --html FILE") != std::string::npos);
}
