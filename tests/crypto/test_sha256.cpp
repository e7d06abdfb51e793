// SHA-256 against FIPS 180-2 test vectors, and the routing prefix hasher
// against values computed with Python's hashlib.
#include "crypto/sha256.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace kanari::crypto;

TEST_CASE("sha256: FIPS 180-2 vectors one-shot") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(sha256_hex(std::string(1'000'000, 'a')) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: binary input with NUL bytes is hashed in full") {
  const std::string with_nul("a\0b", 3);
  CHECK(sha256_hex(with_nul) != sha256_hex("a"));
  CHECK(sha256_hex(with_nul).size() == 64);
}

TEST_CASE("sha256: incremental hashing equals one-shot for any split") {
  const std::string msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  const Digest expected = sha256(msg);
  for (size_t cut = 0; cut <= msg.size(); cut += 7) {
    Sha256 h;
    h.update(std::string_view(msg).substr(0, cut));
    h.update(std::string_view(msg).substr(cut));
    CHECK(h.finish() == expected);
  }
  Sha256 million;
  const std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i)
    million.update(chunk);
  Digest d = million.finish();
  CHECK(to_hex(d.data(), d.size()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("sha256: a moved hasher keeps its state") {
  Sha256 a;
  a.update("ab");
  Sha256 b = std::move(a);
  b.update("c");
  CHECK(b.finish() == sha256("abc"));
}

TEST_CASE("sha256: to_hex is lowercase two digits per byte") {
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xa0, 0xff};
  CHECK(to_hex(bytes, 4) == "000fa0ff");
  CHECK(to_hex(bytes, 0).empty());
}

TEST_CASE("sha256: prefixed hasher gives the big-endian first 8 bytes of sha256 of prefix plus key") {
  PrefixedSha256 h("0123456789abcdef0123456789abcdef:");
  // Values from Python: int.from_bytes(hashlib.sha256(b"<prefix><key>").digest()[:8], "big")
  CHECK(h.first_u64("user-42") == 5659729524879663605ULL);
  CHECK(h.first_u64("") == 1027722732142609169ULL);
  CHECK(h.first_u64("\xC3\xA9") == 11974518875874887672ULL);
  // Reusing the hasher does not leak state between keys.
  CHECK(h.first_u64("user-42") == 5659729524879663605ULL);
  // And it agrees with the plain hash.
  Digest d = sha256("0123456789abcdef0123456789abcdef:user-42");
  std::uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i)
    v = (v << 8) | d[i];
  CHECK(v == 5659729524879663605ULL);
}

TEST_CASE("sha256: random_hex has the requested length and differs between calls") {
  std::set<std::string> seen;
  for (int i = 0; i < 8; ++i) {
    std::string s = random_hex(16);
    CHECK(s.size() == 32);
    CHECK(s.find_first_not_of("0123456789abcdef") == std::string::npos);
    seen.insert(s);
  }
  CHECK(seen.size() == 8);
  CHECK(random_hex(0).empty());
}
