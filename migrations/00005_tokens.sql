-- Access tokens (docs/operations.md, "Tokens"). A token is a random bearer
-- secret; only its SHA-256 hash is stored, so a copy of this table does not let anyone in.
-- A token is never deleted or edited: it is revoked (revoked_at set once), and it stops
-- working at expires_at. Every creation and revocation is also written to token_audit,
-- an append-only log, in the same transaction.
--
-- Roles: officer (writes and reads within its unit subtree), leader (reads within its
-- subtree), auditor (reads everything), admin (catalog writes, tokens, reads everything).
-- unit is the root of the subtree an officer or leader is held to; NULL means every unit.

-- +goose Up
CREATE TABLE tokens (
    id         uuid        PRIMARY KEY,
    -- hash is SHA-256 of the whole token string as the client sends it ("ldg_…").
    hash       bytea       NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
    name       text        NOT NULL CHECK (name <> '' AND length(name) <= 64),
    role       text        NOT NULL CHECK (role IN ('officer', 'leader', 'auditor', 'admin')),
    unit       text        NULL CHECK (unit IS NULL OR role IN ('officer', 'leader')),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    revoked_at timestamptz NULL CHECK (revoked_at IS NULL OR revoked_at >= created_at)
);

CREATE TABLE token_audit (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL,
    action     text        NOT NULL CHECK (action IN ('created', 'revoked')),
    token_id   uuid        NOT NULL REFERENCES tokens (id),
    name       text        NOT NULL,
    role       text        NOT NULL,
    unit       text        NULL,
    expires_at timestamptz NOT NULL,
    -- actor is who did it: "<token name> (<role>)" through the API, "cli (<os user>)"
    -- through `ledger token`.
    actor      text        NOT NULL CHECK (actor <> '')
);
CREATE INDEX token_audit_token_id ON token_audit (token_id, seq);

-- The only change a token row may ever see is its revocation, once. Everything else
-- (renaming, widening a role or a unit, extending expiry, un-revoking) is refused.
-- +goose StatementBegin
CREATE FUNCTION tokens_only_revoke() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL
       OR NEW.revoked_at IS NULL
       OR (NEW.id, NEW.hash, NEW.name, NEW.role, NEW.unit, NEW.created_at, NEW.expires_at)
          IS DISTINCT FROM (OLD.id, OLD.hash, OLD.name, OLD.role, OLD.unit, OLD.created_at, OLD.expires_at) THEN
        RAISE EXCEPTION 'a token may only be revoked, once'
            USING HINT = 'create a new token instead of changing one';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER tokens_only_revoke BEFORE UPDATE ON tokens
    FOR EACH ROW EXECUTE FUNCTION tokens_only_revoke();
CREATE TRIGGER tokens_no_delete BEFORE DELETE ON tokens
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change('tokens are never deleted: revoke them');
CREATE TRIGGER tokens_no_truncate BEFORE TRUNCATE ON tokens
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change('tokens are never deleted: revoke them');
CREATE TRIGGER token_audit_immutable_row BEFORE UPDATE OR DELETE ON token_audit
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change('the token audit log is append-only');
CREATE TRIGGER token_audit_immutable_truncate BEFORE TRUNCATE ON token_audit
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change('the token audit log is append-only');

-- The application creates, reads and revokes tokens: UPDATE only on revoked_at.
GRANT SELECT, INSERT ON tokens TO ledger_app;
GRANT UPDATE (revoked_at) ON tokens TO ledger_app;
GRANT SELECT, INSERT ON token_audit TO ledger_app;

-- +goose Down
REVOKE ALL ON token_audit FROM ledger_app;
REVOKE ALL ON tokens FROM ledger_app;
DROP TABLE token_audit;
DROP TABLE tokens;
DROP FUNCTION tokens_only_revoke();
