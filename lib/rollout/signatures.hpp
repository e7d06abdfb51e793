// Signed versions (docs/security.md). A signature is Ed25519 over
//
//   "kanari-version-v1:" + version id        (ASCII, no newline)
//
// so it names exactly one content address and cannot be replayed as a
// signature of anything else. The store keeps the public key id and the
// signature; trust comes only from keys the caller brings (`version verify
// --pubkey`, a policy's require_signature), never from the store.
#pragma once

#include "rollout/context.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kanari::rollout {

std::string signature_message(const std::string& version_id);

struct SignResult {
  std::string version_id;
  std::string key_id;
  std::string signature; // hex
  bool created = false;  // false: this key had signed the version already
};

// Signs `version_id` with the Ed25519 private key in `private_pem` (named
// `what` in errors) and stores the signature, appending a `version_signed`
// event on `track`. The private key is used in memory only.
Result<SignResult> sign_version(Context& ctx, const std::string& track, const std::string& version_id,
                                std::string_view private_pem, const std::string& what);

enum class SignatureState { valid, missing, invalid };

struct SignatureCheck {
  std::string key_id;
  SignatureState state = SignatureState::missing;
  std::optional<store::SignatureRecord> record; // unless missing
};

// For each key id: whether the store holds a signature of the version by
// that key, and whether it verifies. Call inside a read or write.
std::vector<SignatureCheck> check_signatures(Context& ctx, const std::string& version_id,
                                             const std::vector<std::string>& key_ids);
// `version verify`: check_signatures in a read transaction of its own.
Result<std::vector<SignatureCheck>> verify_signatures(Context& ctx, const std::string& version_id,
                                                      const std::vector<std::string>& key_ids);

// require_signature at `canary start`: success naming the trusted key that
// signed, or a negative error (exit 1) saying what is missing.
Result<std::string> require_trusted_signature(Context& ctx, const std::string& version_id,
                                              const std::vector<std::string>& trusted);

} // namespace kanari::rollout
