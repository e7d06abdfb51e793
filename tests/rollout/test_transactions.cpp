// Every operation the command line and the C API call owns its
// transaction: it opens exactly one (evaluate_all one per track and one to
// list them) and calls the store only inside it, so that no caller has to
// know which of them write, and a backend can retry each as a whole.
#include "rollout/store_decorators.hpp"
#include "support.hpp"

#include "crypto/ed25519.hpp"
#include "report/metrics.hpp"
#include "report/report.hpp"
#include "rollout/audit.hpp"
#include "rollout/doctor.hpp"
#include "rollout/evaluate.hpp"
#include "rollout/ledger.hpp"
#include "rollout/lifecycle.hpp"
#include "rollout/routing.hpp"
#include "rollout/signatures.hpp"
#include "rollout/versions.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace kanari;
using namespace kanari::test;

namespace {

struct Checked {
  TempDir dir;
  std::unique_ptr<store::Store> real = open_test_store(dir.str() + "/state");
  TransactionCheck store{*real};
  FakeClock clock{1'800'000'000'000};
  rollout::Context ctx{store, clock, "tester"};

  // Runs `op`, which must open `transactions` transactions and call the
  // store only inside them; returns what it returned.
  template <typename Op> auto once(const char* what, Op op, int transactions = 1) {
    store.reset();
    auto r = op();
    INFO(what);
    CHECK(store.transactions() == transactions);
    std::string outside;
    for (const auto& name : store.outside)
      outside += name + " ";
    CHECK_MESSAGE(store.outside.empty(), "called outside a transaction: " << outside);
    return r;
  }

  std::string add(const std::string& text) {
    rollout::AddVersionInput in;
    in.track = "default";
    in.components.push_back(*core::make_component(core::ComponentKind::prompt, "system", text));
    auto r = once("add_version", [&] { return rollout::add_version(ctx, std::move(in)); });
    REQUIRE(r.ok());
    return r->id;
  }
};

rollout::OutcomeInput outcome(const std::string& task, std::optional<std::string> version) {
  rollout::OutcomeInput o;
  o.track = "default";
  o.task = task;
  o.version_ref = std::move(version);
  o.pass = true;
  return o;
}

} // namespace

TEST_CASE("transactions: every operation of the library opens its own and touches the store only inside it") {
  Checked c;
  auto& ctx = c.ctx;
  const std::string a = c.add("You are agent A.\n");
  const std::string b = c.add("You are agent B.\n");

  CHECK(*c.once("resolve_ref", [&] { return rollout::resolve_ref(ctx, "default", "stable"); }) == a);
  CHECK(*c.once("resolve_ref", [&] { return rollout::resolve_ref(ctx, "default", b.substr(0, 8)); }) == b);
  CHECK(c.once("list_versions", [&] { return rollout::list_versions(ctx, "default"); })->versions.size() == 2);
  CHECK(c.once("show_version", [&] { return rollout::show_version(ctx, b); })->record.id == b);
  CHECK(c.once("diff_versions", [&] { return rollout::diff_versions(ctx, a, b); })->components.size() == 1);
  CHECK(c.once("checkout_files", [&] { return rollout::checkout_files(ctx, b); })->files.size() == 2);

  const auto pem = read_file(std::string(KANARI_TEST_DATA) + "/keys/alice.pem");
  const auto key =
      crypto::ed25519_public_key_id(read_file(std::string(KANARI_TEST_DATA) + "/keys/alice.pub.pem"), "key");
  REQUIRE(key.ok());
  CHECK(c.once("sign_version", [&] { return rollout::sign_version(ctx, "default", b, pem, "key"); })->created);
  auto checks = c.once("verify_signatures", [&] { return rollout::verify_signatures(ctx, b, {*key}); });
  REQUIRE(checks.ok());
  CHECK(checks->at(0).state == rollout::SignatureState::valid);

  gate::Policy policy;
  policy.min_samples = 1;
  policy.require_signature = {*key};
  auto started = c.once("start_rollout", [&] {
    return rollout::start_rollout(ctx, {"default", b, {5000, 10000}, policy, 0, "test"});
  });
  REQUIRE(started.ok());
  auto expect = c.once("current_expectation", [&] { return rollout::current_expectation(ctx, "default"); });
  CHECK(expect->rollout == started->id);
  CHECK(expect->step == 0);

  CHECK(c.once("route_key", [&] { return rollout::route_key(ctx, "default", "user-1", std::string("t1")); }).ok());
  CHECK(c.once("route_key", [&] { return rollout::route_key(ctx, "default", "user-1", std::nullopt); }).ok());
  CHECK(c.once("load_routing_table", [&] { return rollout::load_routing_table(ctx, "default"); }).ok());
  CHECK(c.once("record_one", [&] { return rollout::record_one(ctx, outcome("t1", std::nullopt)); })->inserted == 1);
  std::istringstream lines(R"({"task": "t2", "pass": true, "version": "canary"})"
                           "\n"
                           R"({"task": "t3", "pass": true, "version": "stable"})"
                           "\n");
  CHECK(c.once("record_jsonl", [&] {
           return rollout::record_jsonl(ctx, lines, "default", rollout::InvalidLines::fail);
         })->inserted == 2);
  CHECK(c.once("record_batch", [&] {
           return rollout::record_batch(ctx, {outcome("t4", std::string("stable"))}, rollout::InvalidLines::fail);
         })->inserted == 1);
  CHECK(c.once("track_status", [&] { return rollout::track_status(ctx, "default"); })->rollout);
  CHECK(c.once("evaluate_track", [&] { return rollout::evaluate_track(ctx, "default", rollout::Apply::no); }).ok());

  rollout::TransitionInput in{"default", "test", *expect, nlohmann::json::object()};
  CHECK(c.once("pause", [&] { return rollout::pause(ctx, in); }).ok());
  CHECK(c.once("resume", [&] { return rollout::resume(ctx, in); }).ok());
  CHECK(c.once("approve", [&] { return rollout::approve(ctx, in); }).ok());
  CHECK(c.once("promote", [&] { return rollout::promote(ctx, in, false); })->step == 1);
  int tracks_seen = 0;
  auto all = c.once(
      "evaluate_all",
      [&] {
        return rollout::evaluate_all(ctx, rollout::Apply::yes, [&](const std::string&, const auto& ev) {
          CHECK(ev.ok());
          ++tracks_seen;
        });
      },
      2);
  CHECK(*all == 1);
  CHECK(tracks_seen == 1);
  if (!c.once("track_status", [&] { return rollout::track_status(ctx, "default"); })->rollout) {
    // evaluate --apply promoted it: start another to roll back.
    policy.require_signature.clear();
    const std::string c3 = c.add("You are agent C.\n");
    REQUIRE(c.once("start_rollout", [&] {
               return rollout::start_rollout(ctx, {"default", c3, {5000}, policy, 0, "test"});
             }).ok());
  }
  CHECK(c.once("rollback", [&] {
           return rollout::rollback(ctx, {"default", "test", {}, nlohmann::json::object()});
         }).ok());

  CHECK(c.once("track_history", [&] { return rollout::track_history(ctx, "default", 5); })->size() == 5);
  CHECK(c.once("check_audit_chain", [&] { return rollout::check_audit_chain(ctx, {}); })->problems.empty());
  CHECK(c.once("gather_report", [&] { return report::gather_report(ctx, "default", std::nullopt, 24); }).ok());
  CHECK(c.once("gather_metrics", [&] { return report::gather_metrics(ctx, {"default"}); }).ok());
  // doctor runs each phase in a read of its own (on PostgreSQL a
  // transaction is dead after any error): the blobs, the version list, each
  // version, and the events with the rows checked against them; the
  // backend's own check (verify()) opens its own.
  std::int64_t versions = 0;
  REQUIRE(c.real
              ->read([&]() -> Result<void> {
                c.real->for_each_version_id([&](const std::string&) { ++versions; });
                return {};
              })
              .ok());
  const auto doctor = c.once(
      "doctor", [&] { return rollout::doctor(ctx); }, 3 + static_cast<int>(versions));
  CHECK(doctor.problems.empty());
  CHECK(doctor.versions == versions);
}
