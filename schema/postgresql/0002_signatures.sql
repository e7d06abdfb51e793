-- kanari store on PostgreSQL, schema 2: Ed25519 signatures of versions, as
-- schema/sqlite/0002_signatures.sql.
CREATE TABLE signatures (
  version_id text COLLATE "C" NOT NULL REFERENCES versions(id),
  key_id     text COLLATE "C" NOT NULL,
  signature  text COLLATE "C" NOT NULL,
  signer     text COLLATE "C" NOT NULL,
  signed_at  bigint NOT NULL,
  PRIMARY KEY (version_id, key_id)
);
