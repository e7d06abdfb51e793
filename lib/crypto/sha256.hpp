// SHA-256 through OpenSSL 3's EVP interface. <openssl/...> appears only in
// crypto/; everything above sees byte arrays and hex strings.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace kanari::crypto {

using Digest = std::array<std::uint8_t, 32>;

Digest sha256(std::string_view data);
std::string sha256_hex(std::string_view data);
std::string to_hex(const std::uint8_t* data, size_t n);

// Incremental hashing for streams (blobs, long inputs).
class Sha256 {
public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view data);
  Digest finish();

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// Hashes `prefix + key` for many keys with one fixed prefix, as routing does
// (`salt + ":" + key`). The prefix's state is computed once and copied per
// key, and no allocation happens per call.
class PrefixedSha256 {
public:
  explicit PrefixedSha256(std::string_view prefix);
  ~PrefixedSha256();
  PrefixedSha256(PrefixedSha256&&) noexcept;
  PrefixedSha256& operator=(PrefixedSha256&&) noexcept;
  PrefixedSha256(const PrefixedSha256&) = delete;
  PrefixedSha256& operator=(const PrefixedSha256&) = delete;

  // The first 8 bytes of SHA-256(prefix + key), big-endian.
  std::uint64_t first_u64(std::string_view key) const;

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

// HMAC-SHA256 of `data` keyed by `key`, in lowercase hex (the signature of
// a hook's request, docs/hooks.md).
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

// Cryptographically random bytes (RAND_bytes); throws on failure, which only
// happens when the OS has no entropy source.
std::string random_hex(size_t bytes);

} // namespace kanari::crypto
