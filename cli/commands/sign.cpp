// kanari version sign / version verify: Ed25519 signatures of versions
// (docs/security.md).
#include "commands.hpp"

#include "core/manifest.hpp"
#include "crypto/ed25519.hpp"
#include "rollout/signatures.hpp"
#include "util/time.hpp"

namespace kanari::cli {

namespace {

using nlohmann::json;

struct SignOptions {
  std::string ref;
  std::string key;
};

Result<int> run_sign(const SignOptions& o, Context& ctx) {
  auto pem = read_input(ctx, o.key, "--key");
  KANARI_TRY(pem);
  auto id = resolve(ctx, o.ref);
  KANARI_TRY(id);
  auto r = rollout::sign_version(**ctx.lib(), ctx.g.track, *id, *pem, "--key '" + o.key + "'");
  KANARI_TRY(r);
  if (ctx.g.json) {
    ctx.print_json({{"id", r->version_id}, {"key", r->key_id}, {"signature", r->signature}, {"created", r->created}});
  } else {
    ctx.human() << (r->created ? "Signed " : "Already signed ") << r->version_id.substr(0, core::k_short_id_length)
                << " with " << r->key_id << "\n";
  }
  return 0;
}

struct VerifyOptions {
  std::string ref;
  std::vector<std::string> pubkeys;
};

std::string_view state_name(rollout::SignatureState s) {
  switch (s) {
  case rollout::SignatureState::valid: return "valid";
  case rollout::SignatureState::missing: return "missing";
  case rollout::SignatureState::invalid: return "invalid";
  }
  return "?";
}

Result<int> run_verify(const VerifyOptions& o, Context& ctx) {
  std::vector<std::string> keys;
  for (const auto& path : o.pubkeys) {
    auto pem = read_input(ctx, path, "--pubkey");
    KANARI_TRY(pem);
    auto key = crypto::ed25519_public_key_id(*pem, "--pubkey '" + path + "'");
    KANARI_TRY(key);
    keys.push_back(*key);
  }
  auto id = resolve(ctx, o.ref);
  KANARI_TRY(id);
  auto lib = ctx.lib();
  KANARI_TRY(lib);
  auto verified = rollout::verify_signatures(**lib, *id, keys);
  KANARI_TRY(verified);
  const auto& checks = *verified;
  bool any_valid = false;
  json arr = json::array();
  for (const auto& c : checks) {
    any_valid = any_valid || c.state == rollout::SignatureState::valid;
    json j = {{"key", c.key_id}, {"state", state_name(c.state)}};
    if (c.record) {
      j["signer"] = c.record->signer;
      j["signed_at"] = format_rfc3339(c.record->signed_at);
    }
    arr.push_back(std::move(j));
  }
  const std::string short_id = id->substr(0, core::k_short_id_length);
  if (ctx.g.json) {
    ctx.print_json({{"id", *id}, {"ok", any_valid}, {"keys", arr}});
  } else {
    for (const auto& c : checks)
      if (c.state == rollout::SignatureState::valid)
        ctx.human() << "Good signature on " << short_id << " by " << c.key_id << " (signed by " << c.record->signer
                    << " at " << format_rfc3339(c.record->signed_at) << ")\n";
  }
  if (any_valid)
    return 0;
  for (const auto& c : checks)
    ctx.err << "kanari: verify: " << short_id << ": "
            << (c.state == rollout::SignatureState::missing ? "no signature by " : "BAD signature by ") << c.key_id
            << (c.state == rollout::SignatureState::invalid ? " (the store was altered; run `kanari doctor`)" : "")
            << "\n";
  return 1;
}

} // namespace

void setup_version_signing(CLI::App& version, Registry& reg) {
  auto sign = std::make_shared<SignOptions>();
  auto* s = version.add_subcommand("sign", "Sign a version with an Ed25519 private key (only the public key and the "
                                           "signature are stored)");
  s->add_option("REF", sign->ref, "id, unique prefix (4+ hex chars), stable or canary")->required();
  s->add_option("--key", sign->key, "PEM private key file (openssl genpkey -algorithm ed25519); - reads stdin")
      ->required();
  reg.on(s, sign, run_sign);

  auto verify = std::make_shared<VerifyOptions>();
  auto* v = version.add_subcommand("verify", "Check a version's signature by a public key; exit 1 unless one of the "
                                             "keys has a valid signature");
  v->add_option("REF", verify->ref, "id, unique prefix (4+ hex chars), stable or canary")->required();
  v->add_option("--pubkey", verify->pubkeys,
                "PEM public key file (openssl pkey -pubout); repeat to accept any of "
                "several keys")
      ->required();
  reg.on(v, verify, run_verify);
}

} // namespace kanari::cli
