-- The event store: the ledger of record. One row per event, gapless positions from 1,
-- each chained to the one before it by its hash (docs/hash-chain.md). The data and
-- metadata columns hold the canonical JSON that was hashed (jsonb re-parses it, so
-- verifiers re-canonicalize what they read back); the typed columns copy the parts of it
-- that auditors filter and sum on with plain SQL.

-- +goose Up
CREATE TABLE events (
    position       bigint      PRIMARY KEY CHECK (position > 0),
    id             uuid        NOT NULL UNIQUE,
    type           text        NOT NULL CHECK (type <> ''),
    effective_date date        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    -- amount is NULL for catalog events; money events carry a positive amount and the
    -- type gives the direction.
    amount         bigint      CHECK (amount > 0),
    -- line is the canonical id program:year:source:project:unit of the line the event
    -- debits or credits first (data.line, or data.from for a transfer).
    line           text,
    -- counter_line is the line a transfer credits (data.to).
    counter_line   text,
    -- original_id is the disbursement a settlement or reversal refers to (data.event_id).
    original_id    uuid,
    voucher_office text,
    voucher_type   text,
    voucher_number text,
    voucher_date   date,
    data           jsonb       NOT NULL,
    metadata       jsonb       NOT NULL,
    prev_hash      bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash           bytea       NOT NULL CHECK (octet_length(hash) = 32)
);

CREATE INDEX events_line_position ON events (line, position);
CREATE INDEX events_counter_line_position ON events (counter_line, position) WHERE counter_line IS NOT NULL;
CREATE INDEX events_original_id ON events (original_id) WHERE original_id IS NOT NULL;
-- recorded_at resolves "as known at" a time to the last position recorded by then.
CREATE INDEX events_recorded_at ON events (recorded_at);
-- A State Treasury voucher is accepted once (docs/domain.md, rule 5). The sequencer checks it in
-- memory; this index is the backstop. The store maps a violation of it, by name, to an
-- invalid_argument error on the field "voucher": do not rename it.
CREATE UNIQUE INDEX events_voucher_key ON events (voucher_office, voucher_type, voucher_number, voucher_date)
    WHERE voucher_number IS NOT NULL;

-- An idempotency key maps to one request body forever; the primary key is the backstop of
-- the sequencer's in-memory set. rejections is the JSON array of the commands a
-- non-atomic batch refused, NULL when none.
CREATE TABLE idempotency_keys (
    key            text   PRIMARY KEY,
    request_hash   bytea  NOT NULL CHECK (octet_length(request_hash) = 32),
    first_position bigint NOT NULL,
    last_position  bigint NOT NULL,
    rejections     jsonb  NULL,
    CHECK (first_position > 0 AND last_position >= first_position)
);
-- The sequencer reads the keys recorded after a position on start and after a failed
-- commit.
CREATE INDEX idempotency_keys_first_position ON idempotency_keys (first_position, key);

-- Immutability in the database itself, not only in the application: a mistake is
-- corrected by a reversing event, never by editing history. TG_ARGV[0] is the message.
-- A superuser can still disable triggers (ALTER TABLE ... DISABLE TRIGGER, or
-- session_replication_role = replica); the hash chain and the signed checkpoints detect
-- what such a person changes.
-- +goose StatementBegin
CREATE FUNCTION ledger_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0]
        USING HINT = 'the ledger is append-only; ' || TG_OP || ' on ' || TG_TABLE_NAME || ' is never allowed';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER events_immutable_row BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change('events are immutable: record a reversing event');
CREATE TRIGGER events_immutable_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change('events are immutable: record a reversing event');
CREATE TRIGGER idempotency_keys_immutable_row BEFORE UPDATE OR DELETE ON idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change('idempotency keys are permanent: a key maps to one request forever');
CREATE TRIGGER idempotency_keys_immutable_truncate BEFORE TRUNCATE ON idempotency_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change('idempotency keys are permanent: a key maps to one request forever');

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE events;
DROP FUNCTION ledger_reject_change();
