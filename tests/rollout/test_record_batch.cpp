// record_batch (typed outcomes, as kanari_record_batch hands them over) and
// record_jsonl (`record --jsonl`) are one path: the same outcomes store the
// same rows with the same summary, and their errors differ only in naming
// the outcome's index or the line's number.
#include "rollout/store_decorators.hpp"
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include "rollout/ledger.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

struct Ledger {
  TwoVersions w;
  std::unique_ptr<store::Store> store;
  rollout::Context ctx;

  Ledger() : store(start(w)), ctx{*store, w.cli.clock, "tester"} {}

  static std::unique_ptr<store::Store> start(TwoVersions& w) {
    w.cli.ok({"canary", "start", "--version", w.b, "--percentage", "50"});
    return open_test_store(w.cli.state());
  }

  std::string db() const { return w.cli.state() + "/" + store::k_db_file; }
  std::string outcomes() const { return sqlite_value(db(), "SELECT * FROM outcomes ORDER BY id"); }
  std::string count() const { return sqlite_value(db(), "SELECT count(*) FROM outcomes"); }
};

rollout::OutcomeInput outcome(const std::string& task, const std::string& version, bool pass) {
  rollout::OutcomeInput o;
  o.track = "default";
  o.task = task;
  o.version_ref = version;
  o.pass = pass;
  return o;
}

// The batch, with every field used, a duplicate and a conflict.
std::vector<rollout::OutcomeInput> batch(TimeMs now) {
  std::vector<rollout::OutcomeInput> b;
  b.push_back(outcome("t-1", "canary", true));
  b.back().latency_ms = 12.5;
  b.back().cost = 0.001;
  b.back().tokens = 42;
  b.back().score = -0.25;
  b.back().at = now + 60'000; // clock skew: allowed up to 10 minutes
  b.push_back(outcome("t-2", "stable", false));
  b.back().error = "timeout";
  b.back().score = 1e-300;
  b.push_back(outcome("t-1", "canary", true)); // a retry: a duplicate
  b.back().latency_ms = 12.5;
  b.back().cost = 0.001;
  b.back().tokens = 42;
  b.back().score = -0.25;
  b.back().at = now + 60'000;                  // clock skew: allowed up to 10 minutes
  b.push_back(outcome("t-2", "stable", true)); // another result: a conflict
  b.push_back(outcome("t-\xC3\xBC", "stable", true));
  b.back().at = now - 3'600'000; // before the rollout: backdated
  return b;
}

// The same outcomes as `record --jsonl` lines, written out by hand.
std::string as_jsonl() {
  return R"({"task": "t-1", "version": "canary", "pass": true, "latency_ms": 12.5, "cost": 0.001, "tokens": 42, )"
         R"("score": -0.25, "at": "2027-01-15T08:01:00Z"})"
         "\n"
         R"({"task": "t-2", "version": "stable", "pass": false, "error": "timeout", "score": 1e-300})"
         "\n"
         R"({"task": "t-1", "version": "canary", "pass": true, "latency_ms": 12.5, "cost": 0.001, "tokens": 42, )"
         R"("score": -0.25, "at": "2027-01-15T08:01:00Z"})"
         "\n"
         R"({"task": "t-2", "version": "stable", "pass": true})"
         "\n"
         "{\"task\": \"t-\xC3\xBC\", \"version\": \"stable\", \"pass\": true, \"at\": \"2027-01-15T07:00:00Z\"}\n";
}

json summary_json(const rollout::RecordSummary& s) {
  return {{"inserted", s.inserted},   {"late", s.late},       {"backdated", s.backdated}, {"duplicates", s.duplicates},
          {"conflicts", s.conflicts}, {"invalid", s.invalid}, {"notes", s.notes}};
}

} // namespace

TEST_CASE("record_batch stores exactly what record_jsonl stores for the same outcomes") {
  Ledger typed, lines;
  const TimeMs now = typed.w.cli.clock.now_ms();
  REQUIRE(now == 1'800'000'000'000); // the JSONL above is written for this time

  auto from_batch = rollout::record_batch(typed.ctx, batch(now), rollout::InvalidLines::fail);
  std::istringstream text(as_jsonl());
  auto from_jsonl = rollout::record_jsonl(lines.ctx, text, "default", rollout::InvalidLines::fail);
  REQUIRE(from_batch.ok());
  REQUIRE(from_jsonl.ok());
  CHECK(summary_json(*from_batch) == summary_json(*from_jsonl));
  CHECK(from_batch->inserted == 3);
  CHECK(from_batch->duplicates == 1);
  CHECK(from_batch->conflicts == 1);
  CHECK(from_batch->backdated == 1);
  CHECK(typed.outcomes() == lines.outcomes());
}

TEST_CASE("record_batch: an error names the outcome's index, and the batch stores nothing") {
  Ledger l;
  auto b = batch(l.w.cli.clock.now_ms());
  const auto before = l.count();

  SUBCASE("an unknown version (exit 4)") {
    b[2].version_ref = "ffffffff";
    auto r = rollout::record_batch(l.ctx, b, rollout::InvalidLines::fail);
    REQUIRE(!r.ok());
    CHECK(r.error().code == ErrorCode::not_found);
    CHECK(r.error().message.starts_with("outcome 2: no version matches 'ffffffff'"));
    CHECK(r.error().message.ends_with("; nothing was recorded"));
  }
  SUBCASE("an invalid field (exit 2)") {
    b[1].score = NAN;
    auto r = rollout::record_batch(l.ctx, b, rollout::InvalidLines::fail);
    REQUIRE(!r.ok());
    CHECK(r.error().code == ErrorCode::usage);
    CHECK(r.error().message == "outcome 1: score must be a finite number; nothing was recorded");
  }
  CHECK(l.count() == before);
}

TEST_CASE("record_batch: skipped outcomes are counted and named by index, the rest stored") {
  Ledger l;
  auto b = batch(l.w.cli.clock.now_ms());
  b[1].task = "";
  auto r = rollout::record_batch(l.ctx, b, rollout::InvalidLines::skip);
  REQUIRE(r.ok());
  CHECK(r->invalid == 1);
  CHECK(r->inserted == 3); // outcome 3 is no conflict now: the task has no other outcome
  CHECK(r->conflicts == 0);
  CHECK(mentions(json(r->notes), "outcome 1: a task id must be 1 to 256 bytes, got 0 bytes (skipped)"));
}

TEST_CASE("record_jsonl: an error names the line, and the file stores nothing") {
  Ledger l;
  const auto before = l.count();
  std::istringstream text(R"({"task": "a", "pass": true, "version": "stable"})"
                          "\n\n"
                          R"({"task": "b", "pass": true, "version": "ffffffff"})"
                          "\n");
  auto r = rollout::record_jsonl(l.ctx, text, "default", rollout::InvalidLines::fail);
  REQUIRE(!r.ok());
  CHECK(r.error().code == ErrorCode::not_found);
  CHECK(r.error().message.starts_with("line 3: no version matches 'ffffffff'"));
  CHECK(r.error().message.ends_with("; nothing was recorded (fix the line, or pass --skip-invalid)"));
  CHECK(l.count() == before);
}
