#include "crypto/ed25519.hpp"

#include "crypto/sha256.hpp"
#include "util/strings.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <array>
#include <stdexcept>

namespace kanari::crypto {

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct BioDeleter {
  void operator()(BIO* p) const { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

constexpr size_t k_key_bytes = 32;
constexpr size_t k_signature_bytes = 64;

// Refuses to prompt for a passphrase: an encrypted key fails to load.
int no_passphrase(char*, int, int, void*) { return 0; }

BioPtr memory_bio(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio)
    throw std::runtime_error("OpenSSL: out of memory");
  return bio;
}

std::string public_key_id(EVP_PKEY* key) {
  std::array<unsigned char, k_key_bytes> raw{};
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(key, raw.data(), &len) != 1 || len != raw.size())
    throw std::runtime_error("OpenSSL: cannot read an Ed25519 public key");
  return std::string(k_ed25519_key_prefix) + to_hex(raw.data(), raw.size());
}

// Reads a key from PEM with `read` (PEM_read_bio_PrivateKey or
// PEM_read_bio_PUBKEY), never prompting for a passphrase.
template <typename Read>
Result<PkeyPtr> read_ed25519(std::string_view pem, Read read, std::string not_pem, std::string not_ed25519) {
  auto bio = memory_bio(pem);
  PkeyPtr key(read(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!key)
    return usage_error(std::move(not_pem));
  if (EVP_PKEY_is_a(key.get(), "ED25519") != 1)
    return usage_error(std::move(not_ed25519));
  return key;
}

} // namespace

struct Ed25519PrivateKey::Impl {
  PkeyPtr key;
};

Ed25519PrivateKey::Ed25519PrivateKey(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Ed25519PrivateKey::~Ed25519PrivateKey() = default;
Ed25519PrivateKey::Ed25519PrivateKey(Ed25519PrivateKey&&) noexcept = default;
Ed25519PrivateKey& Ed25519PrivateKey::operator=(Ed25519PrivateKey&&) noexcept = default;

Result<Ed25519PrivateKey> Ed25519PrivateKey::from_pem(std::string_view pem, const std::string& what) {
  auto key = read_ed25519(pem, PEM_read_bio_PrivateKey,
                          what + " is not a PEM private key (an encrypted key is not supported); create one with "
                                 "`openssl genpkey -algorithm ed25519 -out key.pem`",
                          what + " is not an Ed25519 key; create one with `openssl genpkey -algorithm ed25519 -out "
                                 "key.pem`");
  KANARI_TRY(key);
  return Ed25519PrivateKey(std::make_unique<Impl>(Impl{std::move(*key)}));
}

std::string Ed25519PrivateKey::key_id() const { return public_key_id(m_impl->key.get()); }

std::string Ed25519PrivateKey::sign(std::string_view msg) const {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string sig(k_signature_bytes, '\0');
  size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, m_impl->key.get(), nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) != 1 ||
      len != k_signature_bytes)
    throw std::runtime_error("OpenSSL: Ed25519 signing failed");
  return sig;
}

Result<std::string> ed25519_public_key_id(std::string_view pem, const std::string& what) {
  auto key = read_ed25519(pem, PEM_read_bio_PUBKEY,
                          what + " is not a PEM public key; export one with `openssl pkey -in key.pem -pubout -out "
                                 "pub.pem`",
                          what + " is not an Ed25519 public key");
  KANARI_TRY(key);
  return public_key_id(key->get());
}

std::optional<std::string> from_hex(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2)
    return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out[i] = static_cast<char>(hi * 16 + lo);
  }
  return out;
}

bool ed25519_verify(std::string_view key_id, std::string_view msg, std::string_view signature) {
  if (!is_ed25519_key_id(key_id) || signature.size() != k_signature_bytes)
    return false;
  auto raw = from_hex(key_id.substr(k_ed25519_key_prefix.size()));
  PkeyPtr key(EVP_PKEY_new_raw_public_key_ex(nullptr, "ED25519", nullptr,
                                             reinterpret_cast<const unsigned char*>(raw->data()), raw->size()));
  MdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      key && ctx && EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(msg.data()), msg.size()) == 1;
  ERR_clear_error();
  return ok;
}

} // namespace kanari::crypto
