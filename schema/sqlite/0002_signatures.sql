-- kanari store, schema 2: Ed25519 signatures of versions (docs/security.md).
-- Only the public key and the signature are kept; the private key never
-- reaches the store. A signature is checked against the key each time it is
-- trusted (`canary start` with require_signature, `version verify`,
-- `doctor`), so a row written by hand proves nothing by itself.

CREATE TABLE signatures (
  version_id TEXT NOT NULL REFERENCES versions(id),
  key_id     TEXT NOT NULL,             -- "ed25519:" + hex of the public key
  signature  TEXT NOT NULL,             -- hex of the 64-byte signature
  signer     TEXT NOT NULL,             -- the actor who ran `version sign`
  signed_at  INTEGER NOT NULL,
  PRIMARY KEY (version_id, key_id)
) WITHOUT ROWID;
