// A rollout with a history, for the report and metrics tests: two versions,
// a two-step rollout, outcomes spread over time with latencies, a step the
// gate advanced, a pause and resume by an actor whose name and reason are
// markup, more outcomes; finish() lets the gate promote it.
#pragma once

#include "support.hpp"
#include "util/time.hpp"

#include <doctest/doctest.h>

namespace kanari::test {

struct ReportScenario {
  static constexpr TimeMs t0 = 1'800'000'000'000; // 2027-01-15T08:00:00Z
  static constexpr TimeMs minute = 60'000;
  Cli cli;
  std::string a, b;
  std::int64_t rollout = 0;
  const std::string evil_actor = "<script>alert(1)</script>";
  const std::string evil_reason = "<img src=x onerror=alert(2)> & \"quoted\" 'single'";

  // Outcome i of a batch: canary tasks fail when i % 10 == 3, stable ones
  // when i % 5 == 0; latencies grow with i.
  static std::string lines(const std::string& prefix, const std::string& version, int count, TimeMs start, TimeMs every,
                           bool canary, bool all_pass = false) {
    std::string out;
    for (int i = 0; i < count; ++i) {
      const bool pass = all_pass || (canary ? i % 10 != 3 : i % 5 != 0);
      const double latency = canary ? 100 + 10 * i : 80 + 5 * i;
      out += "{\"task\":\"" + prefix + std::to_string(i) + "\",\"pass\":" + (pass ? "true" : "false") +
             ",\"version\":\"" + version + "\",\"latency_ms\":" + std::to_string(latency) + ",\"at\":\"" +
             format_rfc3339(start + i * every) + "\"" + (i == 7 ? ",\"error\":\"E42\"" : "") + "}\n";
    }
    return out;
  }

  ReportScenario() {
    cli.clock.set(t0);
    cli.ok({"init"});
    a = cli.json({"version", "add", "--prompt", "p=" + cli.dir().file("a.txt", "A\n")})["id"];
    b = cli.json({"version", "add", "--prompt", "p=" + cli.dir().file("b.txt", "B\n")})["id"];
    cli.clock.set(t0 + minute);
    rollout = cli.json({"canary", "start", "--version", b, "--steps", "50,100", "--reason", "try b"})["rollout"];
    // Step 0: canary 18/20, stable 16/20, from minute 2 every 30 s,
    // recorded after the last of them ran.
    cli.clock.set(t0 + 12 * minute);
    cli.ok({"record", "--jsonl", "-"}, lines("c0-", "canary", 20, t0 + 2 * minute, 30'000, true) +
                                           lines("s0-", "stable", 20, t0 + 2 * minute, 30'000, false));
    cli.clock.set(t0 + 15 * minute);
    auto ev = cli.json({"canary", "evaluate", "--apply"});
    REQUIRE(ev["action"] == "advanced");
    cli.clock.set(t0 + 16 * minute);
    cli.actor = evil_actor;
    cli.ok({"canary", "pause", "--reason", evil_reason});
    cli.ok({"canary", "resume", "--reason", evil_reason});
    cli.actor = "tester";
    // Step 1: canary 15/15, stable 12/15, from minute 17 every 20 s.
    cli.clock.set(t0 + 22 * minute);
    cli.ok({"record", "--jsonl", "-"}, lines("c1-", "canary", 15, t0 + 17 * minute, 20'000, true, true) +
                                           lines("s1-", "stable", 15, t0 + 17 * minute, 20'000, false));
  }

  void finish() {
    cli.clock.set(t0 + 25 * minute);
    auto ev = cli.json({"canary", "evaluate", "--apply"});
    REQUIRE(ev["action"] == "promoted");
  }
};

} // namespace kanari::test
