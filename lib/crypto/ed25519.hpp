// Ed25519 signatures through OpenSSL 3's EVP interface (EVP_DigestSign /
// EVP_DigestVerify with no digest: Ed25519 hashes the message itself).
//
// Keys leave this module only as their raw 32-byte public half, spelled
// "ed25519:" + 64 lowercase hex digits (a key id). A private key is read
// from PEM, used, and freed; nothing here writes it anywhere.
#pragma once

#include "util/result.hpp"
#include "util/strings.hpp" // is_ed25519_key_id

#include <memory>
#include <string>
#include <string_view>

namespace kanari::crypto {

class Ed25519PrivateKey {
public:
  // Parses a PEM private key (PKCS#8, as `openssl genpkey -algorithm
  // ed25519` writes it). Another algorithm, an encrypted key or malformed
  // PEM is a usage error naming `what`.
  static Result<Ed25519PrivateKey> from_pem(std::string_view pem, const std::string& what);

  ~Ed25519PrivateKey();
  Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept;
  Ed25519PrivateKey& operator=(Ed25519PrivateKey&&) noexcept;

  std::string key_id() const;                   // "ed25519:<hex of the public key>"
  std::string sign(std::string_view msg) const; // the 64-byte signature

private:
  struct Impl;
  explicit Ed25519PrivateKey(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

// The key id of a PEM public key (SubjectPublicKeyInfo, as `openssl pkey
// -pubout` writes it); usage error naming `what` otherwise.
Result<std::string> ed25519_public_key_id(std::string_view pem, const std::string& what);

// Whether `signature` (64 raw bytes) is the signature of `msg` by the key
// `key_id`. A malformed key id or signature is simply false.
bool ed25519_verify(std::string_view key_id, std::string_view msg, std::string_view signature);

// Hex codec for signatures; from_hex returns nullopt on odd length or a
// non-hex digit.
std::optional<std::string> from_hex(std::string_view hex);

} // namespace kanari::crypto
