#include "crypto/sha256.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace kanari::crypto {

namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

struct MdDeleter {
  void operator()(EVP_MD* p) const { EVP_MD_free(p); }
};

// Fetched once: EVP_get_digestbyname-style implicit fetches on every call
// cost a lock and a lookup.
const EVP_MD* sha256_md() {
  static const std::unique_ptr<EVP_MD, MdDeleter> md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  if (!md)
    throw std::runtime_error("OpenSSL: SHA256 is not available");
  return md.get();
}

MdCtxPtr new_ctx() {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex2(ctx.get(), sha256_md(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
  return ctx;
}

} // namespace

Digest sha256(std::string_view data) {
  Digest d;
  unsigned len = 0;
  if (EVP_Digest(data.data(), data.size(), d.data(), &len, sha256_md(), nullptr) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  return d;
}

std::string to_hex(const std::uint8_t* data, size_t n) {
  static const char k_digits[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = k_digits[data[i] >> 4];
    out[2 * i + 1] = k_digits[data[i] & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Digest d = sha256(data);
  return to_hex(d.data(), d.size());
}

struct Sha256::Impl {
  MdCtxPtr ctx = new_ctx();
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view data) {
  if (EVP_DigestUpdate(m_impl->ctx.get(), data.data(), data.size()) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 update failed");
}

Digest Sha256::finish() {
  Digest d;
  unsigned len = 0;
  if (EVP_DigestFinal_ex(m_impl->ctx.get(), d.data(), &len) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 final failed");
  return d;
}

struct PrefixedSha256::Impl {
  MdCtxPtr base = new_ctx();
  MdCtxPtr work = MdCtxPtr(EVP_MD_CTX_new());
};

PrefixedSha256::PrefixedSha256(std::string_view prefix) : m_impl(std::make_unique<Impl>()) {
  if (!m_impl->work || EVP_DigestUpdate(m_impl->base.get(), prefix.data(), prefix.size()) != 1)
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
}
PrefixedSha256::~PrefixedSha256() = default;
PrefixedSha256::PrefixedSha256(PrefixedSha256&&) noexcept = default;
PrefixedSha256& PrefixedSha256::operator=(PrefixedSha256&&) noexcept = default;

std::uint64_t PrefixedSha256::first_u64(std::string_view key) const {
  EVP_MD_CTX* w = m_impl->work.get();
  Digest d;
  unsigned len = 0;
  if (EVP_MD_CTX_copy_ex(w, m_impl->base.get()) != 1 || EVP_DigestUpdate(w, key.data(), key.size()) != 1 ||
      EVP_DigestFinal_ex(w, d.data(), &len) != 1)
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | d[static_cast<size_t>(i)];
  return v;
}

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  // HMAC() takes a NULL key as "no key" rather than an empty one.
  static const unsigned char k_empty = 0;
  const auto* k = key.empty() ? &k_empty : reinterpret_cast<const unsigned char*>(key.data());
  if (!HMAC(sha256_md(), k, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &n))
    throw std::runtime_error("OpenSSL: HMAC-SHA256 failed");
  return to_hex(out, n);
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    throw std::runtime_error("OpenSSL: RAND_bytes failed");
  return to_hex(reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size());
}

} // namespace kanari::crypto
