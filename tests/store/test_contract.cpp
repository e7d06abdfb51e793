// The store contract (lib/store/store.hpp), driven through the interface
// alone. It runs against both backends: on SQLite in the default pass, on
// PostgreSQL in the postgresql/ pass (docs/testing.md), so whatever it
// asserts, both backends do.
#include "crypto/sha256.hpp"
#include "store/store.hpp"
#include "store/window_sums.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <stdexcept>

using namespace kanari;
using namespace kanari::test;

namespace {

struct Fixture {
  TempDir dir;
  std::string location = new_store_location(dir);
  std::unique_ptr<store::Store> s;
  Fixture() {
    bool created = false;
    auto r = store::open(location, store::OpenMode::create, &created);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().message));
    CHECK(created);
    s = std::move(*r);
  }
  void write(const std::function<void()>& fn) {
    REQUIRE(s->write([&]() -> Result<void> {
               fn();
               return {};
             }).ok());
  }
  // A version with one prompt of `text`; returns its id.
  std::string version(const std::string& text, const std::string& track = "default", TimeMs at = 1000) {
    const std::string sha = crypto::sha256_hex(text);
    const std::string id = crypto::sha256_hex("manifest " + text);
    store::VersionRecord v{id, "{\"m\":\"" + id + "\"}", "{}", std::nullopt, std::string("msg"), "me", at, {}};
    std::vector<core::Component> comps = {{core::ComponentKind::prompt, "system", sha, text.size(), text}};
    write([&] {
      s->insert_version(v, comps);
      s->add_track_version(track, id, at);
    });
    return id;
  }
  store::RolloutRecord rollout(const std::string& canary, const std::string& stable, bool shadow = false) {
    store::RolloutRecord r;
    r.track = "default";
    r.canary = canary;
    r.stable = stable;
    r.steps_bp = {1000, 5000, 10000};
    r.salt = std::string(32, 'a');
    r.shadow = shadow;
    r.policy = "{}";
    r.policy_sha256 = crypto::sha256_hex("{}");
    r.started_at = r.step_started_at = 2000;
    write([&] { r.id = s->insert_rollout(r); });
    return r;
  }
  store::OutcomeRecord outcome(const std::string& task, const std::string& version, store::Arm arm,
                               std::optional<std::int64_t> rollout, bool pass, std::optional<double> latency = {}) {
    return {"default",
            task,
            version,
            arm,
            rollout,
            rollout ? std::optional<std::int64_t>(0) : std::nullopt,
            pass,
            latency,
            std::nullopt,
            std::nullopt,
            std::nullopt,
            std::nullopt,
            3000,
            store::Counted::yes,
            {}};
  }
  store::InsertOutcome insert(const store::OutcomeRecord& o, store::TaskVersions tv = store::TaskVersions::one) {
    store::InsertOutcome r;
    write([&] { r = s->insert_outcome(o, tv); });
    return r;
  }
};

} // namespace

TEST_CASE("store contract: versions, blobs, tracks and prefixes") {
  Fixture f;
  const auto a = f.version("alpha");
  const auto b = f.version("beta", "other");
  REQUIRE(f.s->read([&]() -> Result<void> {
               auto v = f.s->get_version(a);
               REQUIRE(v);
               CHECK(v->author == "me");
               CHECK(v->message == "msg");
               CHECK_FALSE(v->label);
               REQUIRE(v->components.size() == 1);
               CHECK(v->components[0].name == "system");
               CHECK(f.s->get_blob(v->components[0].sha256) == "alpha");
               CHECK_FALSE(f.s->get_version(std::string(64, '0')));
               CHECK(f.s->version_ids_with_prefix(a.substr(0, 6), 10) == std::vector<std::string>{a});
               CHECK(f.s->version_ids_with_prefix("", 10).size() == 2);
               CHECK(f.s->version_tracks(b) == std::vector<std::string>{"other"});
               CHECK(f.s->track_has_version("default", a));
               CHECK_FALSE(f.s->track_has_version("default", b));
               CHECK(f.s->track_names() == std::vector<std::string>{"default", "other"});
               CHECK_FALSE(f.s->stable_of("default").value_or("").size());
               return {};
             })
              .ok());
  // Inserting the same version again changes nothing.
  bool again = true;
  f.write([&] { again = f.s->insert_version({a, "{}", "{}", {}, {}, "x", 1, {}}, {}); });
  CHECK_FALSE(again);
  f.write([&] { f.s->set_stable("default", a); });
  REQUIRE(f.s->read([&]() -> Result<void> {
               CHECK(f.s->stable_of("default") == a);
               return {};
             })
              .ok());
}

TEST_CASE("store contract: write() commits on success and rolls back on an error or an exception") {
  Fixture f;
  auto r = f.s->write([&]() -> Result<void> {
    f.s->ensure_track("rolled-back", 1);
    return conflict_error("no");
  });
  CHECK(r.error().code == ErrorCode::conflict);
  CHECK_THROWS_AS((void)f.s->write([&]() -> Result<void> {
    f.s->ensure_track("thrown", 1);
    throw std::runtime_error("boom");
  }),
                  std::runtime_error);
  f.write([&] { f.s->ensure_track("kept", 1); });
  REQUIRE(f.s->read([&]() -> Result<void> {
               CHECK(f.s->track_names() == std::vector<std::string>{"kept"});
               return {};
             })
              .ok());
  // The store is usable after each: a later write works.
  f.write([&] { f.s->ensure_track("later", 1); });
}

TEST_CASE("store contract: a second open rollout on a track is a constraint failure") {
  Fixture f;
  const auto a = f.version("a"), b = f.version("b"), c = f.version("c");
  f.write([&] { f.s->set_stable("default", a); });
  auto r1 = f.rollout(b, a);
  store::RolloutRecord r2 = r1;
  try {
    (void)f.s->write([&]() -> Result<void> {
      f.s->insert_rollout(r2);
      return {};
    });
    FAIL("a second open rollout was stored");
  } catch (const store::StoreFailure& e) {
    CHECK(e.kind() == store::FailureKind::constraint);
  }
  // The rollout's life: update, then a new one may open.
  r1.state = store::RolloutState::promoted;
  r1.ended_at = 5000;
  r1.step = 2;
  f.write([&] { f.s->update_rollout(r1); });
  auto r3 = f.rollout(c, b);
  REQUIRE(f.s->read([&]() -> Result<void> {
               CHECK(f.s->open_rollout("default")->id == r3.id);
               CHECK(f.s->latest_rollout("default")->id == r3.id);
               auto got = f.s->get_rollout(r1.id);
               REQUIRE(got);
               CHECK(got->state == store::RolloutState::promoted);
               CHECK(got->ended_at == 5000);
               CHECK(got->steps_bp == std::vector<std::int64_t>{1000, 5000, 10000});
               CHECK(f.s->last_rollout_with_arm("default", a)->id == r1.id);
               CHECK(f.s->last_rollout_with_arm("default", b)->id == r3.id);
               CHECK(f.s->tracks_with_open_rollouts() == std::vector<std::string>{"default"});
               std::vector<std::int64_t> ids;
               f.s->for_each_rollout_id([&](std::int64_t id) { ids.push_back(id); });
               CHECK(ids == std::vector<std::int64_t>{r1.id, r3.id});
               return {};
             })
              .ok());
}

TEST_CASE("store contract: outcomes are inserted once, repeats classified, windows aggregated") {
  Fixture f;
  const auto a = f.version("a"), b = f.version("b");
  f.write([&] { f.s->set_stable("default", a); });
  const auto r = f.rollout(b, a);
  using store::Arm;
  using store::InsertResult;
  CHECK(f.insert(f.outcome("t1", b, Arm::canary, r.id, true, 10.5)).result == InsertResult::inserted);
  CHECK(f.insert(f.outcome("t1", b, Arm::canary, r.id, true, 10.5)).result == InsertResult::duplicate);
  CHECK(f.insert(f.outcome("t1", b, Arm::canary, r.id, false, 10.5)).result == InsertResult::conflict);
  const auto other = f.insert(f.outcome("t1", a, Arm::stable, r.id, true));
  CHECK(other.result == InsertResult::other_version);
  CHECK(other.other_version == b);
  for (int i = 2; i <= 20; ++i)
    CHECK(f.insert(f.outcome("t" + std::to_string(i), b, Arm::canary, r.id, i % 4 != 0, i * 1.0)).result ==
          InsertResult::inserted);
  for (int i = 0; i < 5; ++i)
    f.insert(f.outcome("s" + std::to_string(i), a, Arm::stable, r.id, true));
  REQUIRE(f.s->read([&]() -> Result<void> {
               store::SampleQuery q;
               q.rollout_id = r.id;
               q.arm = Arm::canary;
               q.step = 0;
               q.track = "default";
               const auto s = f.s->sample_stats(q);
               CHECK(s.n == 20);
               CHECK(s.pass == 15); // t4, t8, t12, t16, t20 failed
               CHECK(s.latency_n == 20);
               CHECK(s.latency_p50_ms == 10.5); // nearest rank 10 of 2..20 and 10.5
               CHECK(s.latency_p95_ms == 19.0);
               q.arm = Arm::stable;
               q.step.reset();
               CHECK(f.s->sample_stats(q).n == 5);
               CHECK(f.s->count_outcomes("default") == 25);
               const auto span = f.s->rollout_outcome_span(r.id);
               CHECK(span.n == 25);
               std::int64_t seen = 0;
               f.s->for_each_rollout_outcome(r.id, {}, [&](const store::RolloutOutcome&) { ++seen; });
               CHECK(seen == 25);
               return {};
             })
              .ok());
  CHECK(f.s->verify().empty());
}

TEST_CASE("store contract: metrics are stored exactly, compared on repeats, and aggregated per sample") {
  Fixture f;
  const auto a = f.version("a"), b = f.version("b");
  f.write([&] { f.s->set_stable("default", a); });
  const auto r = f.rollout(b, a);
  using store::Arm;
  using store::InsertResult;
  auto with = [&](const std::string& task, const std::string& v, Arm arm, store::Metrics m, bool pass = true) {
    auto o = f.outcome(task, v, arm, r.id, pass);
    o.metrics = std::move(m);
    return o;
  };
  // 0.1 + 0.2 and 1e-300 read back to the same doubles.
  CHECK(f.insert(with("t1", b, Arm::canary, {{"calls", 0.1 + 0.2}, {"tiny", 1e-300}})).result ==
        InsertResult::inserted);
  CHECK(f.insert(with("t1", b, Arm::canary, {{"calls", 0.1 + 0.2}, {"tiny", 1e-300}})).result ==
        InsertResult::duplicate);
  CHECK(f.insert(with("t1", b, Arm::canary, {{"calls", 0.3}, {"tiny", 1e-300}})).result == InsertResult::conflict);
  CHECK(f.insert(with("t1", b, Arm::canary, {})).result == InsertResult::conflict);
  f.insert(with("t2", b, Arm::canary, {{"calls", 4}}, false));
  f.insert(with("t3", b, Arm::canary, {{"tiny", 0}}));
  f.insert(with("t4", b, Arm::canary, {{"calls", -2}, {"escalated", 1}}));
  f.insert(with("s1", a, Arm::stable, {{"calls", 1}}));
  REQUIRE(f.s->read([&]() -> Result<void> {
               store::SampleQuery q;
               q.rollout_id = r.id;
               q.arm = Arm::canary;
               q.step = 0;
               q.track = "default";
               q.metrics = {{"calls", true}, {"escalated", false}, {"pass", false}, {"absent", true}};
               const auto s = f.s->sample_stats(q);
               REQUIRE(s.metrics.size() == 4);
               const auto& calls = s.metrics[0];
               CHECK(calls.n == 3);
               CHECK(calls.nonzero == 3);
               CHECK(calls.max == 4);
               CHECK(calls.sum == doctest::Approx(0.1 + 0.2 + 4 - 2));
               CHECK(calls.p50 == 0.1 + 0.2); // -2, 0.3, 4: rank 2
               CHECK(calls.p99 == 4);
               CHECK(s.metrics[1].n == 1);
               CHECK(s.metrics[2].n == 4); // pass is on every outcome
               CHECK(s.metrics[2].nonzero == 3);
               CHECK(s.metrics[3].n == 0);
               std::vector<std::optional<double>> calls_seen;
               f.s->for_each_rollout_outcome(r.id, {"calls", "tiny"}, [&](const store::RolloutOutcome& o) {
                 REQUIRE(o.metrics.size() == 2);
                 calls_seen.push_back(o.metrics[0]);
                 if (o.metrics[1] && *o.metrics[1] != 0)
                   CHECK(*o.metrics[1] == 1e-300);
               });
               CHECK(calls_seen.size() == 5);
               return {};
             })
              .ok());
  CHECK(f.s->verify().empty());
}

TEST_CASE("store contract: the pairs of a shadow step") {
  Fixture f;
  const auto a = f.version("a"), b = f.version("b");
  f.write([&] { f.s->set_stable("default", a); });
  const auto r = f.rollout(b, a, /*shadow=*/true);
  using store::Arm;
  using store::TaskVersions;
  auto put = [&](const std::string& task, const std::string& v, Arm arm, bool pass, std::optional<double> latency) {
    f.insert(f.outcome(task, v, arm, r.id, pass, latency), TaskVersions::several);
  };
  // p1: both pass; p2: stable only; p3: canary only; p4: both fail;
  // c5: canary alone, s6: stable alone (not pairs).
  put("p1", a, Arm::stable, true, 100);
  put("p1", b, Arm::canary, true, 130);
  put("p2", a, Arm::stable, true, 100);
  put("p2", b, Arm::canary, false, std::nullopt);
  put("p3", a, Arm::stable, false, 90);
  put("p3", b, Arm::canary, true, 80);
  put("p4", a, Arm::stable, false, 10);
  put("p4", b, Arm::canary, false, 20);
  put("c5", b, Arm::canary, true, 5);
  put("s6", a, Arm::stable, true, 5);
  REQUIRE(f.s->read([&]() -> Result<void> {
               const auto p = f.s->paired_sample({r.id, 0, {"latency_ms", "pass"}});
               CHECK(p.pairs == 4);
               CHECK(p.both_pass == 1);
               CHECK(p.stable_only == 1);
               CHECK(p.canary_only == 1);
               CHECK(p.both_fail == 1);
               REQUIRE(p.metrics.size() == 2);
               auto latencies = p.metrics[0];
               std::sort(latencies.begin(), latencies.end());
               const std::vector<std::pair<double, double>> want = {{10, 20}, {90, 80}, {100, 130}};
               CHECK(latencies == want);
               CHECK(p.metrics[1].size() == 4);
               CHECK(f.s->paired_sample({r.id, 1, {}}).pairs == 0); // another step
               return {};
             })
              .ok());
}

TEST_CASE("store contract: in a shadow rollout a task has an outcome per version") {
  Fixture f;
  const auto a = f.version("a"), b = f.version("b");
  f.write([&] { f.s->set_stable("default", a); });
  const auto r = f.rollout(b, a, /*shadow=*/true);
  using store::Arm;
  using store::InsertResult;
  using store::TaskVersions;
  CHECK(f.insert(f.outcome("t", a, Arm::stable, r.id, true), TaskVersions::several).result == InsertResult::inserted);
  CHECK(f.insert(f.outcome("t", b, Arm::canary, r.id, false), TaskVersions::several).result == InsertResult::inserted);
  CHECK(f.insert(f.outcome("t", b, Arm::canary, r.id, false), TaskVersions::several).result == InsertResult::duplicate);
  CHECK(f.s->verify().empty());
}

TEST_CASE("store contract: assignments, events and the chain order") {
  Fixture f;
  f.write([&] {
    f.s->put_assignment("default", "task", {"v1", store::Arm::canary, 7}, 10);
    f.s->put_assignment("default", "task", {"v2", store::Arm::stable, std::nullopt}, 11);
    for (int i = 1; i <= 3; ++i)
      f.s->insert_event({i, 100 + i, "me", "act", i == 2 ? "other" : "default", std::nullopt, std::nullopt, "why", "{}",
                         "p" + std::to_string(i), "h" + std::to_string(i)});
  });
  REQUIRE(f.s->read([&]() -> Result<void> {
               auto a = f.s->get_assignment("default", "task");
               REQUIRE(a);
               CHECK(a->version_id == "v2");
               CHECK(a->arm == store::Arm::stable);
               CHECK_FALSE(a->rollout_id);
               CHECK_FALSE(f.s->get_assignment("default", "nope"));
               CHECK(f.s->last_event()->seq == 3);
               CHECK(f.s->last_event_time("default") == 103);
               CHECK_FALSE(f.s->last_event_time("none"));
               const auto evs = f.s->events("default", std::nullopt);
               REQUIRE(evs.size() == 2);
               CHECK(evs[0].seq == 3); // newest first
               CHECK(f.s->events("default", 1).size() == 1);
               std::vector<std::int64_t> seqs;
               f.s->for_each_event([&](const store::EventRecord& e) { seqs.push_back(e.seq); });
               CHECK(seqs == std::vector<std::int64_t>{1, 2, 3});
               return {};
             })
              .ok());
  // Events are append-only: a second event with a taken seq is refused.
  CHECK_THROWS_AS((void)f.s->write([&]() -> Result<void> {
    f.s->insert_event({3, 1, "x", "y", "default", std::nullopt, std::nullopt, "z", "{}", "p", "h"});
    return {};
  }),
                  store::StoreFailure);
}

TEST_CASE("store contract: rows copy to another store, keys and all, and the copy goes on numbering") {
  Fixture f;
  const auto a = f.version("a"), b = f.version("b");
  f.write([&] { f.s->set_stable("default", a); });
  const auto r = f.rollout(b, a);
  f.insert(f.outcome("t1", b, store::Arm::canary, r.id, true, 0.1));
  f.insert(f.outcome("t2", a, store::Arm::stable, r.id, false, 1e-300));
  CHECK_FALSE(f.s->is_empty());
  Fixture g; // of the same backend
  CHECK(g.s->is_empty());
  REQUIRE(f.s->read([&]() -> Result<void> {
               return g.s->write([&]() -> Result<void> {
                 for (const auto& t : store::tables()) {
                   std::vector<store::Row> rows;
                   f.s->for_each_row(t, [&](const store::Row& row) { rows.push_back(row); });
                   g.s->insert_rows(t, rows);
                 }
                 g.s->finish_copy();
                 return {};
               });
             })
              .ok());
  for (const auto& t : store::tables()) {
    std::vector<store::Row> from, to;
    f.s->for_each_row(t, [&](const store::Row& row) { from.push_back(row); });
    g.s->for_each_row(t, [&](const store::Row& row) { to.push_back(row); });
    CHECK_MESSAGE(from == to, t.name);
  }
  // Reals survive exactly; the next key follows the copied ones.
  CHECK(g.insert(g.outcome("t3", b, store::Arm::canary, r.id, true)).result == store::InsertResult::inserted);
  std::vector<store::Row> outcomes;
  const auto& table = *std::find_if(store::tables().begin(), store::tables().end(),
                                    [](const store::Table& t) { return std::string(t.name) == "outcomes"; });
  g.s->for_each_row(table, [&](const store::Row& row) { outcomes.push_back(row); });
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[1][8] == "1e-300");
  CHECK(std::stoll(*outcomes[2][0]) > std::stoll(*outcomes[1][0]));
  const auto info = g.s->info();
  CHECK(info.schema_version == 11);
  CHECK(info.backend == (on_postgresql() ? "postgresql" : "sqlite"));
  CHECK(g.s->verify().empty());
}

TEST_CASE("store contract: a batch of outcomes is stored as one by one would, repeats within it included") {
  // The same history on two stores: one takes the batch whole, the other
  // each outcome alone; results and stored rows must agree.
  Fixture whole, alone;
  std::vector<store::PendingOutcome> batch;
  std::string a, b;
  for (Fixture* f : {&whole, &alone}) {
    a = f->version("a");
    b = f->version("b");
    f->write([&] { f->s->set_stable("default", a); });
    f->write([&] { f->s->ensure_track("second", 1000); });
    const auto r = f->rollout(b, a);
    // Stored before the batch: t0 (canary, pass), t1 (stable).
    f->insert(f->outcome("t0", b, store::Arm::canary, r.id, true));
    f->insert(f->outcome("t1", a, store::Arm::stable, r.id, true));
    if (f == &whole) {
      // A backend may send runs of outcomes in one statement (SQLite: 32),
      // so the batch has runs in which every outcome is new, runs with a
      // task given twice, runs in which every task is taken, a taken task
      // amid new ones, one outcome of a task that may run on several
      // versions in between, and every ninth outcome on a second track.
      auto task_of = [](int i) {
        if (i == 40 || i == 41)
          return 2; // taken by the 3rd, then new on the second track
        if (i >= 64 && i < 96)
          return 64 + (i - 64) % 20;  // t64..t75 twice within a few outcomes
        return i < 130 ? i : i - 130; // t0..t69 again from the 130th on
      };
      for (int i = 0; i < 200; ++i) {
        const std::string task = "t" + std::to_string(task_of(i));
        const bool canary = i % 3 == 0;
        batch.push_back({f->outcome(task, canary ? b : a, canary ? store::Arm::canary : store::Arm::stable, r.id,
                                    i % 7 != 0, i % 5 ? std::optional<double>(i * 0.25) : std::nullopt),
                         i == 100 ? store::TaskVersions::several : store::TaskVersions::one});
        if (i % 2)
          batch.back().outcome.metrics = {{"calls", i * 0.5}, {"tab\tin_no_name", 1e-300}};
        if ((i % 9 == 4 && i != 40) || i == 41) {
          batch.back().outcome.track = "second";
          batch.back().outcome.rollout_id = batch.back().outcome.step = std::nullopt;
        }
      }
      batch.push_back({f->outcome("tab\tnew\\line\n", a, store::Arm::stable, r.id, true), store::TaskVersions::one});
    }
  }
  std::vector<store::InsertOutcome> got, want;
  whole.write([&] { got = whole.s->insert_outcomes(batch); });
  alone.write([&] {
    for (const auto& p : batch)
      want.push_back(alone.s->insert_outcome(p.outcome, p.versions));
  });
  REQUIRE(got.size() == want.size());
  int inserted = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("outcome " << i << " task " << batch[i].outcome.task);
    CHECK(static_cast<int>(got[i].result) == static_cast<int>(want[i].result));
    CHECK(got[i].other_version == want[i].other_version);
    inserted += got[i].result == store::InsertResult::inserted;
  }
  // What the contract says, worked out here: a task has one outcome on a
  // track, but may have one per version when it may run on several.
  std::map<std::pair<std::string, std::string>, std::set<std::string>> versions = {{{"default", "t0"}, {b}},
                                                                                   {{"default", "t1"}, {a}}};
  int expected = 0;
  for (const auto& p : batch) {
    auto& stored = versions[{p.outcome.track, p.outcome.task}];
    if (p.versions == store::TaskVersions::one ? stored.empty() : !stored.count(p.outcome.version_id)) {
      stored.insert(p.outcome.version_id);
      ++expected;
    }
  }
  CHECK(expected > 100);
  CHECK(inserted == expected);
  auto table = [](const char* name) {
    return *std::find_if(store::tables().begin(), store::tables().end(),
                         [&](const store::Table& t) { return std::string(t.name) == name; });
  };
  // Every column but the id (the batch may number its rows differently).
  auto rows = [&](Fixture& f, const char* name, size_t skip) {
    std::multiset<std::vector<std::optional<std::string>>> out;
    f.s->for_each_row(table(name), [&](const store::Row& row) { out.emplace(row.begin() + skip, row.end()); });
    return out;
  };
  CHECK(rows(whole, "outcomes", 1) == rows(alone, "outcomes", 1));
  // The window sums count what was inserted, and only that.
  CHECK(!rows(whole, "window_sums", 0).empty());
  CHECK(rows(whole, "window_sums", 0) == rows(alone, "window_sums", 0));
  CHECK(rows(whole, "window_buckets", 0) == rows(alone, "window_buckets", 0));
}

TEST_CASE("store contract: hooks, the outbox and the attempt log") {
  Fixture f;
  using store::DeliveryState;
  const store::HookRecord chat{"chat",
                               std::string("default"),
                               std::string("http://h/x"),
                               std::nullopt,
                               {"promoted", "rolled_back"},
                               "slack",
                               std::string("SECRET_VAR"),
                               5,
                               "me"};
  const store::HookRecord all{"all", std::nullopt, std::nullopt, std::string("cat"), {"started"}, "json", std::nullopt,
                              6,     "you"};
  f.write([&] {
    CHECK(f.s->insert_hook(chat));
    CHECK(f.s->insert_hook(all));
    CHECK_FALSE(f.s->insert_hook(chat)); // the name is taken
    for (std::int64_t seq = 1; seq <= 3; ++seq)
      f.s->insert_event({seq, 10 * seq, "me", "rolled_back", seq == 3 ? "other" : "default", std::nullopt, std::nullopt,
                         "r", "{}", "p", "h" + std::to_string(seq)});
  });
  std::vector<store::HookRecord> hooks;
  REQUIRE(f.s->read([&]() -> Result<void> {
               hooks = f.s->hooks();
               return {};
             })
              .ok());
  REQUIRE(hooks.size() == 2);
  CHECK(hooks[0].name == "all"); // by name
  CHECK_FALSE(hooks[0].track.has_value());
  CHECK(hooks[0].command == std::optional<std::string>("cat"));
  CHECK(hooks[1].actions == std::vector<std::string>{"promoted", "rolled_back"});
  CHECK(hooks[1].secret_env == std::optional<std::string>("SECRET_VAR"));
  CHECK(hooks[1].format == "slack");
  CHECK(hooks[1].created_by == "me");

  f.write([&] {
    for (std::int64_t seq = 1; seq <= 3; ++seq)
      f.s->insert_delivery({0, "chat", seq, DeliveryState::pending, 0, 10 * seq, 100 * seq, {}, {}, {}});
    f.s->insert_delivery({0, "chat", 1, DeliveryState::pending, 0, 0, 0, {}, {}, {}}); // again: ignored
    f.s->insert_delivery({0, "all", 2, DeliveryState::pending, 0, 20, 50, {}, {}, {}});
  });
  std::vector<store::DeliveryRecord> due;
  REQUIRE(f.s->read([&]() -> Result<void> {
               due = f.s->due_deliveries(200, 10);
               return {};
             })
              .ok());
  REQUIRE(due.size() == 3); // seq 1 and 2 of chat (100, 200) and all's (50), oldest id first
  CHECK(due[0].hook == "chat");
  CHECK(due[0].event_seq == 1);
  CHECK(due[0].next_attempt_at == 100);
  CHECK(due[2].hook == "all");
  f.write([&] {
    auto d = due[0];
    d.state = DeliveryState::failed;
    d.attempts = 4;
    d.last_attempt_at = 150;
    d.last_error = "HTTP 500";
    d.done_at = 160;
    CHECK_FALSE(f.s->update_delivery(d, 1)); // claimed by another since: attempts differ
    CHECK(f.s->update_delivery(d, 0));
    CHECK_FALSE(f.s->update_delivery(d, 4)); // no longer pending
    auto e = due[2];
    e.state = DeliveryState::delivered;
    e.attempts = 1;
    CHECK(f.s->update_delivery(e, 0));
    f.s->insert_hook_attempt({0, "chat", d.id, "h1", "rolled_back", "default", 150, 12, false, "HTTP 500"});
    f.s->insert_hook_attempt({0, "all", std::nullopt, "h9", "test", "default", 151, 3, true, "exit 0"});
  });
  REQUIRE(f.s->read([&]() -> Result<void> {
               CHECK(f.s->due_deliveries(1000, 10).size() == 2); // chat's seq 2 and 3
               CHECK(f.s->due_deliveries(1000, 1).size() == 1);
               const auto mine = f.s->undelivered(std::string("default"), 10);
               REQUIRE(mine.size() == 2); // newest first; not other's, not the delivered one
               CHECK(mine[0].event_seq == 2);
               CHECK(mine[1].state == DeliveryState::failed);
               CHECK(mine[1].attempts == 4);
               CHECK(mine[1].last_error == std::optional<std::string>("HTTP 500"));
               CHECK(mine[1].done_at == std::optional<TimeMs>(160));
               CHECK(f.s->undelivered(std::nullopt, 10).size() == 3);
               const auto counts = f.s->delivery_counts(std::nullopt);
               REQUIRE(counts.size() == 3);
               CHECK((counts[0].hook == "all" && counts[0].state == DeliveryState::delivered && counts[0].count == 1));
               CHECK((counts[1].hook == "chat" && counts[1].state == DeliveryState::failed && counts[1].count == 1));
               CHECK((counts[2].hook == "chat" && counts[2].state == DeliveryState::pending && counts[2].count == 2));
               CHECK(f.s->delivery_counts(std::string("other")).size() == 1);
               const auto log = f.s->hook_attempts(std::nullopt, 10);
               REQUIRE(log.size() == 2);
               CHECK(log[0].hook == "all"); // newest first
               CHECK_FALSE(log[0].delivery.has_value());
               CHECK(log[1].ok == false);
               CHECK(log[1].duration_ms == 12);
               CHECK(f.s->hook_attempts(std::string("chat"), 10).size() == 1);
               CHECK(f.s->get_event(2)->hash == "h2");
               CHECK_FALSE(f.s->get_event(9).has_value());
               return {};
             })
              .ok());
  f.write([&] {
    CHECK(f.s->remove_hook("chat"));
    CHECK_FALSE(f.s->remove_hook("chat"));
  });
  REQUIRE(f.s->read([&]() -> Result<void> {
               CHECK(f.s->hooks().size() == 1);
               CHECK(f.s->undelivered(std::nullopt, 10).empty());       // its deliveries went with it
               CHECK(f.s->hook_attempts(std::nullopt, 10).size() == 2); // the log stays
               return {};
             })
              .ok());
}

namespace {

// Whether `got` is within the buckets' relative error of `exact`.
bool near_exact(std::optional<double> got, std::optional<double> exact) {
  if (!got || !exact)
    return got.has_value() == exact.has_value();
  return std::fabs(*got - *exact) <= store::k_bucket_relative_error * std::fabs(*exact) * (1 + 1e-9);
}

bool same_mean(std::optional<double> got, std::optional<double> exact) {
  if (!got || !exact)
    return got.has_value() == exact.has_value();
  return std::fabs(*got - *exact) <= 1e-9 * std::max(1.0, std::fabs(*exact));
}

} // namespace

// A window read from its sums and buckets (docs/gates.md, "Large windows")
// against the same window read from its outcomes, over random outcomes:
// steps advanced and taken back, both arms, late and backdated ones,
// repeats, batches and single inserts, metrics on some outcomes only,
// negative values and zeros. Counts are equal, means equal but for
// rounding, percentiles within 0.5 %.
TEST_CASE("store contract: window sums give the exact computation's counts and means, and percentiles within 0.5 %") {
  Fixture f;
  const auto a = f.version("a"), b = f.version("b");
  f.write([&] { f.s->set_stable("default", a); });
  auto r = f.rollout(b, a);
  using store::Arm;
  std::mt19937_64 rng(20261205);
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  auto real = [&](double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); };
  int next_task = 0;
  auto random_outcome = [&](bool canary) {
    auto o = f.outcome("t" + std::to_string(next_task++), canary ? b : a, canary ? Arm::canary : Arm::stable, r.id,
                       chance(canary ? 0.8 : 0.9));
    o.step = r.step;
    if (chance(0.9))
      o.latency_ms = std::exp(real(0, 9)); // 1 ms to 2 h, log-spread
    if (chance(0.5))
      o.cost = real(0, 0.1);
    if (chance(0.5))
      o.tokens = std::uniform_int_distribution<std::int64_t>(0, 5000)(rng);
    if (chance(0.3))
      o.score = chance(0.1) ? 0.0 : real(-1, 1);
    if (chance(0.05))
      o.error = "timeout";
    if (chance(0.6))
      o.metrics.push_back({"calls", std::floor(real(0, 12))});
    if (chance(0.4))
      o.metrics.push_back({"delta", chance(0.2) ? 0.0 : real(-1e6, 1e6)});
    if (chance(0.5)) // a valid name that a PostgreSQL array literal reads as NULL unless quoted
      o.metrics.push_back({"null", real(1, 100)});
    if (chance(0.03))
      o.counted = chance(0.5) ? store::Counted::late : store::Counted::backdated;
    return o;
  };
  auto compare = [&](Arm arm, std::optional<std::int64_t> step) {
    store::SampleQuery q;
    q.rollout_id = r.id;
    q.arm = arm;
    q.step = step;
    q.track = "default";
    q.metrics = {{"calls", true}, {"delta", true},       {"null", true},
                 {"score", true}, {"latency_ms", false}, {"absent", true}};
    q.exact_up_to = std::numeric_limits<std::int64_t>::max();
    const auto exact = f.s->sample_stats(q);
    q.exact_up_to = 0;
    const auto sums = f.s->sample_stats(q);
    INFO("arm " << store::to_string(arm) << ", step " << (step ? std::to_string(*step) : "any") << ", rollout step "
                << r.step);
    CHECK_FALSE(exact.percentiles_from_buckets);
    CHECK(sums.percentiles_from_buckets == (exact.n > 0));
    CHECK(sums.n == exact.n);
    CHECK(sums.pass == exact.pass);
    CHECK(sums.errors == exact.errors);
    CHECK(sums.latency_n == exact.latency_n);
    CHECK(near_exact(sums.latency_p50_ms, exact.latency_p50_ms));
    CHECK(near_exact(sums.latency_p95_ms, exact.latency_p95_ms));
    CHECK(same_mean(sums.cost_mean, exact.cost_mean));
    CHECK(same_mean(sums.tokens_mean, exact.tokens_mean));
    REQUIRE(sums.metrics.size() == exact.metrics.size());
    for (size_t i = 0; i < exact.metrics.size(); ++i) {
      const auto &x = exact.metrics[i], &y = sums.metrics[i];
      INFO("metric " << q.metrics[i].name);
      CHECK(y.n == x.n);
      CHECK(y.nonzero == x.nonzero);
      if (x.n > 0)
        CHECK(y.max == x.max);
      CHECK(same_mean(y.mean(), x.mean()));
      CHECK(near_exact(y.p50, x.p50));
      CHECK(near_exact(y.p90, x.p90));
      CHECK(near_exact(y.p95, x.p95));
      CHECK(near_exact(y.p99, x.p99));
    }
    return exact.n;
  };
  // Steps 0, 1, 2, back to 1 (its window opens afresh) and 2 again.
  std::int64_t compared = 0;
  for (const std::int64_t step : {0, 1, 2, 1, 2}) {
    if (step != r.step) {
      r.step = step;
      f.write([&] { f.s->update_rollout(r); });
    }
    for (int round = 0; round < 3; ++round) {
      std::vector<store::PendingOutcome> batch;
      for (int i = 0; i < 150; ++i)
        batch.push_back({random_outcome(chance(0.3)), store::TaskVersions::one});
      batch.push_back(batch.front()); // a repeat within the batch counts once
      f.write([&] { f.s->insert_outcomes(batch); });
      for (int i = 0; i < 5; ++i)
        f.insert(random_outcome(chance(0.5)));
      f.insert(batch[3].outcome); // a repeat of a stored outcome
    }
    REQUIRE(f.s->read([&]() -> Result<void> {
                 compared += compare(Arm::canary, r.step);
                 compared += compare(Arm::stable, r.step);
                 compared += compare(Arm::stable, std::nullopt);
                 for (std::int64_t earlier = 0; earlier < r.step; ++earlier)
                   compared += compare(Arm::canary, earlier);
                 return {};
               })
                .ok());
  }
  CHECK(compared > 2000);
  CHECK(f.s->verify().empty());
}
