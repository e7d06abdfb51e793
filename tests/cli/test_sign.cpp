// Signed versions through the CLI: version sign / verify, a policy's
// require_signature at canary start, and what the store keeps (never the
// private key).
#include "crypto/ed25519.hpp"
#include "crypto/sha256.hpp"
#include "store/sqlite_shell.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

#include <cstdlib>

using namespace kanari;
using namespace kanari::test;
using nlohmann::json;

namespace {

std::string key_path(const std::string& name) { return std::string(KANARI_TEST_DATA) + "/keys/" + name; }

constexpr const char* k_alice_id = "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr const char* k_bob_id = "ed25519:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";

std::string join(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args)
    out += (out.empty() ? "" : " ") + a;
  return out;
}

std::string db(const Cli& cli) { return cli.state() + "/kanari.db"; }

// A policy trusting `keys`, written next to the store.
std::string trust_policy(Cli& cli, const std::vector<std::string>& keys) {
  return cli.dir().file("policy.json", json{{"require_signature", keys}}.dump());
}

} // namespace

TEST_CASE("sign: version sign stores a signature openssl verifies, once per key, with an event") {
  TwoVersions w;
  auto j = w.cli.json({"version", "sign", w.b.substr(0, 8), "--key", key_path("alice.pem")});
  CHECK(j["id"] == w.b);
  CHECK(j["key"] == k_alice_id);
  CHECK(j["created"] == true);
  const std::string sig = j["signature"];
  REQUIRE(sig.size() == 128);

  // Ed25519 is deterministic: signing again finds the same signature.
  auto again = w.cli.json({"version", "sign", w.b, "--key", key_path("alice.pem")});
  CHECK(again["created"] == false);
  CHECK(again["signature"] == sig);
  CHECK(sqlite_value(db(w.cli), "SELECT count(*) FROM signatures") == "1");

  auto h = w.cli.json({"history"});
  CHECK(h[0]["action"] == "version_signed");
  CHECK(h[0]["version"] == w.b);
  CHECK(h[0]["evidence"]["key"] == k_alice_id);
  CHECK(h[0]["evidence"]["signature"] == sig);
  CHECK(h.size() == 2); // stable_set, version_signed: the repeat wrote nothing
  w.cli.ok({"audit", "verify"});

  // Anyone can check the signature without kanari (docs/security.md).
  const std::string msg = w.cli.dir().file("msg", "kanari-version-v1:" + w.b);
  const std::string sig_file = w.cli.dir().file("sig", *crypto::from_hex(sig));
  const std::string cmd = "openssl pkeyutl -verify -pubin -inkey " + shell_quote(key_path("alice.pub.pem")) +
                          " -rawin -in " + shell_quote(msg) + " -sigfile " + shell_quote(sig_file) + " >/dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  const std::string other = w.cli.dir().file("msg2", "kanari-version-v1:" + w.a);
  const std::string cmd2 = "openssl pkeyutl -verify -pubin -inkey " + shell_quote(key_path("alice.pub.pem")) +
                           " -rawin -in " + shell_quote(other) + " -sigfile " + shell_quote(sig_file) +
                           " >/dev/null 2>&1";
  CHECK(std::system(cmd2.c_str()) != 0);
}

TEST_CASE("sign: the private key never reaches the store") {
  TwoVersions w;
  w.cli.ok({"version", "sign", w.b, "--key", key_path("alice.pem")});
  w.cli.ok({"version", "sign", w.a, "--key", "-"}, read_file(key_path("alice.pem")));
  const std::string snapshot = store_snapshot(w.cli.state());
  const std::string seed_hex = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
  CHECK(snapshot.find(seed_hex) == std::string::npos);
  CHECK(snapshot.find(*crypto::from_hex(seed_hex)) == std::string::npos);
  const std::string pem = read_file(key_path("alice.pem"));
  const std::string body = pem.substr(pem.find('\n') + 1, 40); // base64 of the PKCS#8 key
  CHECK(snapshot.find(body) == std::string::npos);
  CHECK(snapshot.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("verify: exit 0 with a good signature by one of the keys, 1 otherwise") {
  TwoVersions w;
  auto none = w.cli({"version", "verify", w.b, "--pubkey", key_path("alice.pub.pem")});
  CHECK(none.code == 1);
  CHECK(none.err == "kanari: verify: " + w.b.substr(0, 12) + ": no signature by " + k_alice_id + "\n");

  w.cli.ok({"version", "sign", w.b, "--key", key_path("alice.pem")});
  auto good = w.cli({"version", "verify", w.b, "--pubkey", key_path("alice.pub.pem")});
  CHECK(good.code == 0);
  CHECK(good.out.find("Good signature on " + w.b.substr(0, 12) + " by " + k_alice_id) == 0);

  auto bob = w.cli({"version", "verify", w.b, "--pubkey", key_path("bob.pub.pem")});
  CHECK(bob.code == 1);
  auto either = w.cli(
      {"--json", "version", "verify", w.b, "--pubkey", key_path("bob.pub.pem"), "--pubkey", key_path("alice.pub.pem")});
  CHECK(either.code == 0);
  auto j = either.json();
  CHECK(j["ok"] == true);
  CHECK(j["keys"][0]["state"] == "missing");
  CHECK(j["keys"][1]["state"] == "valid");
  CHECK(j["keys"][1]["signer"] == "tester");

  // A signature edited in the store no longer verifies, and says so.
  sqlite_value(db(w.cli), "UPDATE signatures SET signature = '00' || substr(signature, 3)");
  auto bad = w.cli({"version", "verify", w.b, "--pubkey", key_path("alice.pub.pem")});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("BAD signature by " + std::string(k_alice_id)) != std::string::npos);
}

TEST_CASE("sign/verify: bad keys and refs are rejected with their exit code and nothing written") {
  TwoVersions w;
  const std::string before = store_snapshot(w.cli.state());
  struct Case {
    std::vector<std::string> args;
    int code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {{"version", "sign", w.b, "--key", key_path("p256.pem")}, 2, "is not an Ed25519 key"},
      {{"version", "sign", w.b, "--key", key_path("alice-encrypted.pem")}, 2, "an encrypted key is not supported"},
      {{"version", "sign", w.b, "--key", key_path("alice.pub.pem")}, 2, "is not a PEM private key"},
      {{"version", "sign", w.b, "--key", key_path("missing.pem")}, 2, "missing.pem"},
      {{"version", "sign", w.b}, 2, "--key is required"},
      {{"version", "sign", "ffffff", "--key", key_path("alice.pem")}, 4, "ffffff"},
      {{"version", "sign", "canary", "--key", key_path("alice.pem")}, 4, "canary"},
      {{"version", "verify", w.b, "--pubkey", key_path("alice.pem")}, 2, "is not a PEM public key"},
      {{"version", "verify", w.b, "--pubkey", key_path("p256.pub.pem")}, 2, "is not an Ed25519 public key"},
      {{"version", "verify", w.b}, 2, "--pubkey is required"},
      {{"version", "verify", "0000", "--pubkey", key_path("alice.pub.pem")}, 4, "0000"},
  };
  for (const auto& c : cases) {
    INFO("kanari " << join(c.args));
    auto r = w.cli(c.args);
    CHECK(r.code == c.code);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK(r.err.rfind("kanari: error: ", 0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
  }
  CHECK(store_snapshot(w.cli.state()) == before);
}

TEST_CASE("require_signature: canary start refuses an unsigned or untrusted version (exit 1)") {
  TwoVersions w;
  const std::string policy = trust_policy(w.cli, {k_alice_id});
  const std::vector<std::string> start = {"canary",       "start", "--version", w.b,
                                          "--percentage", "10",    "--policy",  policy};

  auto before = store_snapshot(w.cli.state());
  auto unsigned_start = w.cli(start);
  CHECK(unsigned_start.code == 1);
  CHECK(unsigned_start.err.find("is not signed by a trusted key") != std::string::npos);
  CHECK(unsigned_start.err.find("it has no signature") != std::string::npos);
  CHECK(store_snapshot(w.cli.state()) == before);

  w.cli.ok({"version", "sign", w.b, "--key", key_path("bob.pem")});
  before = store_snapshot(w.cli.state());
  auto untrusted = w.cli(start);
  CHECK(untrusted.code == 1);
  CHECK(untrusted.err.find(std::string("signed only by ") + k_bob_id) != std::string::npos);
  CHECK(store_snapshot(w.cli.state()) == before);

  w.cli.ok({"version", "sign", w.b, "--key", key_path("alice.pem")});
  auto st = w.cli.json(std::vector<std::string>(start.begin(), start.end()));
  CHECK(st["state"] == "active");
  auto h = w.cli.json({"history", "--limit", "1"});
  CHECK(h[0]["action"] == "started");
  CHECK(h[0]["evidence"]["signed_by"] == k_alice_id);
  CHECK(h[0]["evidence"]["policy"]["require_signature"] == json::array({k_alice_id}));
}

TEST_CASE("require_signature: a signature altered in the store is refused, not trusted") {
  TwoVersions w;
  w.cli.ok({"version", "sign", w.b, "--key", key_path("alice.pem")});
  // Someone with write access to the store swaps in bob's key id beside
  // alice's signature, hoping a policy that trusts bob will accept it.
  sqlite_value(db(w.cli), std::string("UPDATE signatures SET key_id = '") + k_bob_id + "'");
  auto r =
      w.cli({"canary", "start", "--version", w.b, "--percentage", "10", "--policy", trust_policy(w.cli, {k_bob_id})});
  CHECK(r.code == 1);
  CHECK(r.err.find("does not verify") != std::string::npos);
  CHECK(w.cli.json({"canary", "status"})["state"] == "idle");
}

TEST_CASE("require_signature: malformed policy values are usage errors") {
  TwoVersions w;
  for (const char* bad :
       {R"({"require_signature": []})", R"({"require_signature": "ed25519:00"})",
        R"({"require_signature": ["ed25519:D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A"]})",
        R"({"require_signature": [true]})"}) {
    CAPTURE(bad);
    auto r = w.cli(
        {"canary", "start", "--version", w.b, "--percentage", "10", "--policy", w.cli.dir().file("bad.json", bad)});
    CHECK(r.code == 2);
    CHECK(r.err.find("policy key 'require_signature") != std::string::npos);
  }
}

// SPEC 9.1: require_signature holds at every promotion step, not only at
// start. Someone with write access swaps the open rollout's canary for an
// unsigned version after a signed one was started; neither `canary promote`
// nor `evaluate --apply` moves it on, and nothing is written.
TEST_CASE("require_signature: every promotion re-checks the canary's signature (exit 1)") {
  TwoVersions w;
  w.cli.ok({"version", "sign", w.b, "--key", key_path("alice.pem")});
  const std::string policy =
      w.cli.dir().file("policy.json", json{{"require_signature", {k_alice_id}}, {"min_samples", 1}}.dump());
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "10,50,100", "--policy", policy});
  w.cli.ok({"record", "--task", "s1", "--pass", "--version", "stable"});
  const std::string c = w.add("c.txt", "You are agent C.\n"); // never signed
  sqlite_value(db(w.cli), "UPDATE rollouts SET canary = '" + c + "'");
  w.cli.ok({"record", "--task", "c1", "--pass", "--version", "canary"});

  const std::string before = store_snapshot(w.cli.state());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"canary", "promote"}, std::vector<std::string>{"canary", "promote", "--full"},
        std::vector<std::string>{"canary", "evaluate", "--apply"}}) {
    INFO("kanari " << join(args));
    auto r = w.cli(args);
    CHECK(r.code == 1);
    CHECK(r.err.rfind("kanari: error: cannot promote rollout 1: version " + c.substr(0, 12) +
                          " is not signed by a trusted key",
                      0) == 0);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
    CHECK(store_snapshot(w.cli.state()) == before);
  }
  // Without --apply, evaluate still says what the gate thinks.
  CHECK(w.cli.json({"canary", "evaluate"})["verdict"] == "PROMOTE");
  auto st = w.cli.json({"canary", "status"});
  CHECK(st["stable"] == w.a);
  CHECK(st["step"] == 0);

  // doctor names the swap.
  auto doc = w.cli({"doctor"});
  CHECK(doc.code == 1);
  CHECK(doc.err.find("rollout 1: its canary is " + c + " but its events say " + w.b) != std::string::npos);

  // Put back, the signed canary advances and ships, step by step.
  sqlite_value(db(w.cli), "UPDATE rollouts SET canary = '" + w.b + "'");
  w.cli.ok({"record", "--task", "c2", "--pass", "--version", "canary"});
  auto v = w.cli.json({"canary", "evaluate", "--apply"});
  CHECK(v["applied"] == true);
  CHECK(v["action"] == "advanced");
  w.cli.ok({"canary", "promote"});
  w.cli.ok({"canary", "promote"});
  CHECK(w.cli.json({"canary", "status"})["stable"] == w.b);
}

TEST_CASE("require_signature: a promotion whose stored policy cannot be read is refused (exit 1)") {
  TwoVersions w;
  w.cli.ok({"canary", "start", "--version", w.b, "--steps", "10,100"});
  SUBCASE("edited without its hash") {
    // Whoever edited it (to drop require_signature, say) left the hash as it was.
    sqlite_value(db(w.cli), "UPDATE rollouts SET policy = '{}'");
  }
  SUBCASE("not readable by this kanari") {
    sqlite_value(db(w.cli), "UPDATE rollouts SET policy = '{\"min_samples\":\"ten\"}',"
                            " policy_sha256 = '" +
                                crypto::sha256_hex(R"({"min_samples":"ten"})") + "'");
  }
  const std::string before = store_snapshot(w.cli.state());
  auto r = w.cli({"canary", "promote"});
  CHECK(r.code == 1);
  CHECK(r.err.rfind("kanari: error: cannot promote rollout 1: its stored policy ", 0) == 0);
  CHECK(store_snapshot(w.cli.state()) == before);
  // Rolling back stays possible.
  w.cli.ok({"canary", "rollback"});
}
