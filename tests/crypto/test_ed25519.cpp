// Ed25519 through OpenSSL's EVP interface, against RFC 8032 §7.1.
#include "crypto/ed25519.hpp"
#include "support.hpp"

#include <doctest/doctest.h>

using namespace kanari;

namespace {

std::string key_file(const std::string& name) {
  return test::read_file(std::string(KANARI_TEST_DATA) + "/keys/" + name);
}

std::string bytes(std::string_view hex) { return *crypto::from_hex(hex); }

constexpr const char* k_alice_id = "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr const char* k_bob_id = "ed25519:3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
// RFC 8032 §7.1 TEST 1 (empty message) and TEST 2 (the byte 0x72).
constexpr const char* k_sig1 =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
    "1cf9b46bd25bf5f0595bbe24655141438e7a100b";
constexpr const char* k_sig2 = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f36"
                               "13d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

} // namespace

TEST_CASE("ed25519: RFC 8032 test vectors sign and verify") {
  auto alice = crypto::Ed25519PrivateKey::from_pem(key_file("alice.pem"), "alice");
  REQUIRE(alice.ok());
  CHECK(alice->key_id() == k_alice_id);
  CHECK(alice->sign("") == bytes(k_sig1));
  CHECK(crypto::ed25519_verify(k_alice_id, "", bytes(k_sig1)));

  auto bob = crypto::Ed25519PrivateKey::from_pem(key_file("bob.pem"), "bob");
  REQUIRE(bob.ok());
  CHECK(bob->key_id() == k_bob_id);
  CHECK(bob->sign("\x72") == bytes(k_sig2));
  CHECK(crypto::ed25519_verify(k_bob_id, "\x72", bytes(k_sig2)));
}

TEST_CASE("ed25519: a changed message, signature or key does not verify") {
  std::string sig = bytes(k_sig2);
  CHECK_FALSE(crypto::ed25519_verify(k_bob_id, "\x73", sig));
  CHECK_FALSE(crypto::ed25519_verify(k_alice_id, "\x72", sig));
  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    std::string bad = sig;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    CHECK_FALSE(crypto::ed25519_verify(k_bob_id, "\x72", bad));
  }
  CHECK_FALSE(crypto::ed25519_verify(k_bob_id, "\x72", sig.substr(0, 63)));
  CHECK_FALSE(crypto::ed25519_verify(k_bob_id, "\x72", sig + "x"));
  CHECK_FALSE(
      crypto::ed25519_verify("ed25519:3D4017C3E843895A92B70AA74D1B7EBC9C982CCF2EC4968CC0CD55F12AF4660C", "\x72", sig));
  CHECK_FALSE(crypto::ed25519_verify("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "\x72", sig));
  CHECK_FALSE(crypto::ed25519_verify("ed25519:", "\x72", sig));
}

TEST_CASE("ed25519: public keys from PEM, wrong algorithms and encrypted keys are usage errors") {
  auto pub = crypto::ed25519_public_key_id(key_file("alice.pub.pem"), "alice.pub.pem");
  REQUIRE(pub.ok());
  CHECK(*pub == k_alice_id);

  struct Case {
    const char* file;
    bool private_key;
    const char* message;
  };
  for (const Case& c :
       {Case{"p256.pem", true, "not an Ed25519 key"},
        Case{"alice-encrypted.pem", true, "not a PEM private key (an encrypted key is not supported)"},
        Case{"alice.pub.pem", true, "not a PEM private key"}, Case{"p256.pub.pem", false, "not an Ed25519 public key"},
        Case{"alice.pem", false, "not a PEM public key"}, Case{"README.md", false, "not a PEM public key"},
        Case{"README.md", true, "not a PEM private key"}}) {
    CAPTURE(c.file);
    const std::string pem = key_file(c.file);
    Error e = c.private_key ? crypto::Ed25519PrivateKey::from_pem(pem, c.file).error()
                            : crypto::ed25519_public_key_id(pem, c.file).error();
    CHECK(e.code == ErrorCode::usage);
    CHECK(e.message.find(c.message) != std::string::npos);
    CHECK(e.message.find(c.file) == 0);
  }
}

TEST_CASE("ed25519: key ids and hex") {
  CHECK(is_ed25519_key_id(k_alice_id));
  CHECK_FALSE(is_ed25519_key_id(std::string(k_alice_id) + "0"));
  CHECK_FALSE(is_ed25519_key_id(std::string(k_alice_id).substr(0, 71)));
  CHECK_FALSE(is_ed25519_key_id("ED25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
  CHECK(crypto::from_hex("00ff7F") == std::string("\x00\xff\x7f", 3));
  CHECK_FALSE(crypto::from_hex("0").has_value());
  CHECK_FALSE(crypto::from_hex("0g").has_value());
}
