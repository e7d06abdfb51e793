// The ledger's rules (SPEC §3 `record`) against a model of them: outcomes are
// unique per (track, task, version), a repeat with the same fields is a
// duplicate, with other fields a conflict, and a task carries outcomes of two
// versions only when recorded in a shadow rollout.
//
// Schema 3 checks these in two ways (schema/sqlite/0003_ledger_by_task.sql): on a
// track that never had a shadow rollout, by the unique index alone; on one
// that had, by a lookup first. Random JSONL batches with repeated tasks go to
// one track of each kind through three rollouts, and the summaries and the
// stored rows must be the model's.
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <set>

#include <map>
#include <algorithm>
#include <random>

using namespace kanari::test;
using nlohmann::json;

namespace {

struct Fields {
  bool pass;
  std::optional<int> latency;
  bool operator==(const Fields&) const = default;
};

// SPEC §3 as a map: (track, task) -> version -> fields.
struct Model {
  std::map<std::pair<std::string, std::string>, std::map<std::string, Fields>> rows;
  // (track, task) -> the versions of the shadow rollouts it was recorded in:
  // a mirrored task ran on both, so the other's outcome may come later.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> mirrored;
  std::map<std::string, int> seen; // per track: each kind of result, "other version" apart

  // Returns "inserted", "duplicates" or "conflicts".
  std::string record(const std::string& track, const std::string& task, const std::string& version, Fields f,
                     bool shadow, const std::set<std::string>& arms) {
    auto& versions = rows[{track, task}];
    if (auto it = versions.find(version); it != versions.end()) {
      ++seen[track + (it->second == f ? " duplicate" : " conflict")];
      return it->second == f ? "duplicates" : "conflicts";
    }
    auto& mirror = mirrored[{track, task}];
    const bool ran_beside = mirror.count(version) > 0;
    if (!versions.empty() && !shadow && !ran_beside) {
      ++seen[track + " other version"];
      return "conflicts";
    }
    ++seen[track + (versions.empty() ? " inserted" : " second version")];
    versions.emplace(version, f);
    if (shadow)
      mirror.insert(arms.begin(), arms.end());
    return "inserted";
  }

  std::string dump() const {
    std::string out;
    for (const auto& [key, versions] : rows)
      for (const auto& [version, f] : versions)
        out += key.first + "|" + key.second + "|" + version + "|" + (f.pass ? "1" : "0") + "|" +
               (f.latency ? std::to_string(*f.latency) + ".0" : "") + "\n";
    return out;
  }
};

struct Ledger {
  Cli cli;
  Model model;
  std::mt19937 rng{20261123};
  std::map<std::string, std::string> ids;

  Ledger() {
    cli.ok({"init"});
    for (std::string name : {"a", "b", "c"}) {
      auto path = cli.dir().file(name + ".txt", "You are agent " + name + ".\n");
      ids[name] = cli.json({"version", "add", "--prompt", "system=" + path})["id"];
      cli.ok({"--track", "mixed", "version", "add", "--prompt", "system=" + path});
    }
  }

  void start(const std::string& track, const std::string& canary, bool shadow) {
    std::vector<std::string> args{"--track", track, "canary", "start", "--version", ids[canary], "--percentage", "50"};
    if (shadow)
      args.push_back("--shadow");
    cli.ok(args);
  }

  // One JSONL batch of 40 lines on `track`, tasks drawn from 12 so that
  // they repeat within the batch and across batches.
  void batch(const std::string& track, const std::string& stable, const std::string& canary, bool shadow) {
    std::string text;
    json expected{{"inserted", 0}, {"duplicates", 0}, {"conflicts", 0}, {"invalid", 0}, {"late", 0}, {"backdated", 0}};
    for (int i = 0; i < 40; ++i) {
      const std::string task = "t" + std::to_string(rng() % 12);
      const std::string version = ids[rng() % 2 ? stable : canary];
      Fields f{rng() % 4 != 0, rng() % 2 ? std::optional(7) : std::nullopt};
      json line{{"task", task}, {"pass", f.pass}, {"version", version}, {"track", track}};
      if (f.latency)
        line["latency_ms"] = *f.latency;
      text += line.dump() + "\n";
      auto& count = expected[model.record(track, task, version, f, shadow, {ids[stable], ids[canary]})];
      count = count.get<int>() + 1;
    }
    INFO("track " << track << ", stable " << stable << ", canary " << canary << (shadow ? ", shadow" : ""));
    CHECK(cli.json({"record", "--jsonl", "-"}, text) == expected);
  }

  std::string stored() {
    return sqlite_value(cli.state() + "/kanari.db",
                        "SELECT t.name || '|' || o.task || '|' || v.id || '|' || o.pass || '|' ||"
                        " coalesce(CAST(CAST(o.latency_ms AS INTEGER) AS TEXT) || '.0', '') FROM outcomes o JOIN "
                        "tracks t ON t.no = o.track_no"
                        " JOIN versions v ON v.no = o.version_no ORDER BY t.name, o.task, v.id");
  }
};

} // namespace

TEST_CASE("ledger rules: random batches agree with the model with and without shadow history") {
  Ledger l;
  // `default` never has a shadow rollout; `mixed` starts with one.
  l.start("default", "b", false);
  l.start("mixed", "b", true);
  for (int i = 0; i < 5; ++i) {
    l.batch("default", "a", "b", false);
    l.batch("mixed", "a", "b", true);
  }
  // Second rollouts, both ordinary: a canary c against stable a.
  l.cli.ok({"canary", "rollback"});
  l.cli.ok({"--track", "mixed", "canary", "rollback"});
  l.start("default", "c", false);
  l.start("mixed", "c", false);
  for (int i = 0; i < 5; ++i) {
    l.batch("default", "a", "c", false);
    l.batch("mixed", "a", "c", false);
  }
  // c promoted; then b again, in a shadow rollout on `mixed` only.
  l.cli.ok({"canary", "promote"});
  l.cli.ok({"--track", "mixed", "canary", "promote"});
  l.start("default", "b", false);
  l.start("mixed", "b", true);
  for (int i = 0; i < 5; ++i) {
    l.batch("default", "c", "b", false);
    l.batch("mixed", "c", "b", true);
  }
  CHECK(l.stored() + "\n" == l.model.dump());
  // Every kind of result happened on both tracks, and a second version
  // only on the track with shadow rollouts.
  for (std::string track : {"default", "mixed"})
    for (std::string kind : {" inserted", " duplicate", " conflict", " other version"}) {
      INFO(track << kind);
      CHECK(l.model.seen[track + kind] > 0);
    }
  CHECK(l.model.seen["default second version"] == 0);
  CHECK(l.model.seen["mixed second version"] > 0);
  l.cli.ok({"doctor"});
}

// The windows' percentiles (SPEC §6: nearest rank, the value at rank
// ceil(p * n)) for every window size from 1 to 40, latencies recorded in a
// shuffled order with repeats and outcomes without a latency among them.
TEST_CASE("ledger: p50 and p95 are the nearest-rank values of the window") {
  Cli cli;
  cli.ok({"init"});
  const std::string a = cli.json({"version", "add", "--prompt", "s=" + cli.dir().file("a.txt", "a\n")})["id"];
  const std::string b = cli.json({"version", "add", "--prompt", "s=" + cli.dir().file("b.txt", "b\n")})["id"];
  cli.ok({"canary", "start", "--version", b, "--percentage", "50"});
  std::mt19937 rng(7);
  std::vector<double> seen;
  for (int n = 1; n <= 40; ++n) {
    const double latency = static_cast<double>(rng() % 30) + (rng() % 2 ? 0.5 : 0.0);
    std::string text =
        json{{"task", "t" + std::to_string(n)}, {"pass", true}, {"version", "canary"}, {"latency_ms", latency}}.dump() +
        "\n";
    text += json{{"task", "u" + std::to_string(n)}, {"pass", true}, {"version", "canary"}}.dump() + "\n";
    REQUIRE(cli.json({"record", "--jsonl", "-"}, text)["inserted"] == 2);
    seen.push_back(latency);
    auto sorted = seen;
    std::sort(sorted.begin(), sorted.end());
    auto rank = [&](int pct) { return sorted[static_cast<size_t>((pct * n + 99) / 100 - 1)]; };
    auto stats = cli.json({"canary", "status"})["canary_stats"];
    INFO("n = " << n);
    CHECK(stats["n"] == 2 * n);
    CHECK(stats["latency_p50_ms"].get<double>() == rank(50));
    CHECK(stats["latency_p95_ms"].get<double>() == rank(95));
  }
}
