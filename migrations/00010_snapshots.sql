-- Snapshots (docs/design.md, snapshots): the write model and the in-memory projections
-- folded up to a position, so that a server starts from the newest snapshot and the
-- events after it instead of replaying the whole log. A snapshot is derived data, never
-- a source of truth: it records the chain hash of the event at its position, the format
-- and type-layout fingerprint of the build that took it and a SHA-256 of its bytes, and a
-- server loads it only when all of these check; otherwise it logs why and ignores it.
--
-- The bytes are stored in chunks (PostgreSQL limits one bytea value to 1 GB); a snapshot
-- is written in one transaction, so a crash while taking one leaves none. Old snapshots
-- are deleted as new ones are taken: they are caches, not history.

-- +goose Up
CREATE TABLE snapshots (
    id          bigserial   PRIMARY KEY,
    position    bigint      NOT NULL CHECK (position >= 0),
    hash        bytea       NOT NULL CHECK (octet_length(hash) = 32),
    format      integer     NOT NULL,
    fingerprint bytea       NOT NULL CHECK (octet_length(fingerprint) = 32),
    checksum    bytea       NOT NULL CHECK (octet_length(checksum) = 32),
    size        bigint      NOT NULL CHECK (size >= 0),
    taken_at    timestamptz NOT NULL,
    duration_ms bigint      NOT NULL
);
CREATE INDEX snapshots_position ON snapshots (position DESC);

CREATE TABLE snapshot_chunks (
    snapshot_id bigint  NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    seq         integer NOT NULL CHECK (seq >= 0),
    data        bytea   NOT NULL,
    PRIMARY KEY (snapshot_id, seq)
);

GRANT SELECT, INSERT, DELETE ON snapshots, snapshot_chunks TO ledger_app;
GRANT USAGE ON SEQUENCE snapshots_id_seq TO ledger_app;

-- +goose Down
REVOKE ALL ON snapshots, snapshot_chunks, snapshots_id_seq FROM ledger_app;
DROP TABLE snapshot_chunks;
DROP TABLE snapshots;
