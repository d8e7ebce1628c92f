-- ledger_app is the role the application needs: it reads and appends, and nothing else.
-- Without UPDATE, DELETE or TRUNCATE grants, history cannot be changed through the
-- application's credentials even if the triggers were dropped.
--
-- The role is NOLOGIN; give the server a login role that is a member of it, e.g.
--   CREATE ROLE ledger_server LOGIN PASSWORD '...' IN ROLE ledger_app;
-- (or GRANT ledger_app TO ledger_server;) and put that role in LEDGER_DATABASE_URL.
-- Run `ledger migrate` as the owner of the schema: ledger_app may not create tables. It
-- may read goose_db_version, so that `ledger serve` finds the schema up to date.
--
-- Roles belong to the whole cluster, so several databases (the tests create one each,
-- concurrently) share this one; it is created only when missing and never dropped here.

-- +goose Up
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'ledger_app') THEN
        CREATE ROLE ledger_app NOLOGIN;
    END IF;
EXCEPTION
    -- Another database's migration created it between the check and CREATE ROLE.
    WHEN duplicate_object OR unique_violation THEN NULL;
END;
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO ledger_app;
GRANT SELECT, INSERT ON events, idempotency_keys TO ledger_app;
GRANT SELECT ON postings TO ledger_app;
GRANT SELECT ON goose_db_version TO ledger_app;

-- +goose Down
REVOKE ALL ON goose_db_version FROM ledger_app;
REVOKE ALL ON postings FROM ledger_app;
REVOKE ALL ON events, idempotency_keys FROM ledger_app;
REVOKE USAGE ON SCHEMA public FROM ledger_app;
