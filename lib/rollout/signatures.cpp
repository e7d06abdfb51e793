#include "rollout/signatures.hpp"

#include "crypto/ed25519.hpp"
#include "crypto/sha256.hpp"
#include "rollout/audit.hpp"

namespace kanari::rollout {

std::string signature_message(const std::string& version_id) { return "kanari-version-v1:" + version_id; }

Result<SignResult> sign_version(Context& ctx, const std::string& track, const std::string& version_id,
                                std::string_view private_pem, const std::string& what) {
  KANARI_TRY(validate_track_name(track));
  auto key = crypto::Ed25519PrivateKey::from_pem(private_pem, what);
  KANARI_TRY(key);
  const std::string sig = key->sign(signature_message(version_id));
  SignResult out{version_id, key->key_id(),
                 crypto::to_hex(reinterpret_cast<const std::uint8_t*>(sig.data()), sig.size()), false};
  auto result = ctx.store.write([&]() -> Result<void> {
    if (!ctx.store.get_version(version_id))
      return not_found_error("no version " + version_id);
    const TimeMs now = ctx.clock.now_ms();
    out.created = ctx.store.insert_signature({version_id, out.key_id, out.signature, ctx.actor, now});
    if (out.created) {
      ctx.store.ensure_track(track, now);
      append_event(ctx, {"version_signed",
                         track,
                         std::nullopt,
                         version_id,
                         "version signed",
                         {{"key", out.key_id}, {"signature", out.signature}}});
    }
    return {};
  });
  KANARI_TRY(result);
  return out;
}

std::vector<SignatureCheck> check_signatures(Context& ctx, const std::string& version_id,
                                             const std::vector<std::string>& key_ids) {
  const auto stored = ctx.store.signatures(version_id);
  const std::string msg = signature_message(version_id);
  std::vector<SignatureCheck> out;
  for (const auto& key : key_ids) {
    SignatureCheck c{key, SignatureState::missing, std::nullopt};
    for (const auto& s : stored) {
      if (s.key_id != key)
        continue;
      auto raw = crypto::from_hex(s.signature);
      c.state = raw && crypto::ed25519_verify(key, msg, *raw) ? SignatureState::valid : SignatureState::invalid;
      c.record = s;
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::vector<SignatureCheck>> verify_signatures(Context& ctx, const std::string& version_id,
                                                      const std::vector<std::string>& key_ids) {
  std::vector<SignatureCheck> checks;
  KANARI_TRY(ctx.store.read([&]() -> Result<void> {
    checks = check_signatures(ctx, version_id, key_ids);
    return {};
  }));
  return checks;
}

Result<std::string> require_trusted_signature(Context& ctx, const std::string& version_id,
                                              const std::vector<std::string>& trusted) {
  std::vector<std::string> invalid;
  for (const auto& c : check_signatures(ctx, version_id, trusted)) {
    if (c.state == SignatureState::valid)
      return c.key_id;
    if (c.state == SignatureState::invalid)
      invalid.push_back(c.key_id);
  }
  const std::string short_id = version_id.substr(0, 12);
  if (!invalid.empty())
    return negative_error("version " + short_id + " carries a signature by trusted key " + invalid.front() +
                          " that does not verify (the store was altered); run `kanari doctor`");
  const auto others = ctx.store.signatures(version_id);
  return negative_error(
      "version " + short_id + " is not signed by a trusted key (the policy's require_signature lists " +
      std::to_string(trusted.size()) + (trusted.size() == 1 ? " key" : " keys") +
      (others.empty() ? "; it has no signature"
                      : "; it is signed only by " + others.front().key_id + (others.size() > 1 ? " and others" : "")) +
      "); sign it with `kanari version sign " + short_id + " --key KEY.pem`");
}

} // namespace kanari::rollout
