-- Signed checkpoints (docs/hash-chain.md): every K events or T seconds the writer signs
-- (position, hash, time) with an Ed25519 key. A rewrite of history that recomputes every
-- hash passes the chain check but not the checkpoint check, as long as the private key
-- and copies of the checkpoints stay off the database host.
--
-- signing_keys holds every public key that ever signed, so that checkpoints signed
-- before a key rotation stay verifiable; key_id is the first 8 bytes of SHA-256 of the
-- public key, in hex. Both tables are append-only, like events.

-- +goose Up
CREATE TABLE signing_keys (
    key_id     text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{16}$'),
    public_key bytea       NOT NULL UNIQUE CHECK (octet_length(public_key) = 32),
    created_at timestamptz NOT NULL
);

CREATE TABLE checkpoints (
    position  bigint      NOT NULL CHECK (position > 0),
    hash      bytea       NOT NULL CHECK (octet_length(hash) = 32),
    signed_at timestamptz NOT NULL,
    key_id    text        NOT NULL REFERENCES signing_keys (key_id),
    signature bytea       NOT NULL CHECK (octet_length(signature) = 64),
    PRIMARY KEY (position, key_id)
);

CREATE TRIGGER signing_keys_immutable_row BEFORE UPDATE OR DELETE ON signing_keys
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change('signing keys are permanent: old checkpoints must stay verifiable');
CREATE TRIGGER signing_keys_immutable_truncate BEFORE TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change('signing keys are permanent: old checkpoints must stay verifiable');
CREATE TRIGGER checkpoints_immutable_row BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change('checkpoints are immutable');
CREATE TRIGGER checkpoints_immutable_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change('checkpoints are immutable');

GRANT SELECT, INSERT ON signing_keys, checkpoints TO ledger_app;

-- +goose Down
REVOKE ALL ON signing_keys, checkpoints FROM ledger_app;
DROP TABLE checkpoints;
DROP TABLE signing_keys;
