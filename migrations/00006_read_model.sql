-- The read model for SQL and BI tools (docs/design.md §7): the progress figures of the API
-- as plain rows to sum. It is derived from events and can be rebuilt at any time
-- (`ledger replay`); unlike events it is not append-only.
--
-- read.line_progress has one row per budget line a money event moves, with what the
-- event adds to the line's plan (allocations, transfers in, minus transfers out and
-- cancellations) and to its net disbursed (disbursements minus reversals). The unit's
-- province, district and commune and the project's top-level project are resolved once,
-- from the catalog, so that a GROUP BY needs no join. A line held above a level has NULL
-- at the levels below its unit (a province's own line has no district): group by
-- coalesce(district, unit) to report it in a row of its holder, as the API does.
--
-- Bitemporal, like the API: effective_date <= D is "as of D", position <= K is "as known
-- at position K". Bắc Kạn's published figure (478.93 of 760.80 billion đồng, 62.95 %):
--
--   SELECT sum(plan_delta) AS plan, sum(disbursed_delta) AS disbursed,
--          round(100.0 * sum(disbursed_delta) / sum(plan_delta), 2) AS rate_percent
--   FROM read.line_progress
--   WHERE province = '06' AND program = 'GNBV' AND effective_date <= '2024-05-31';
--
-- Carry-overs (capital of plan year Y approved for use in a later year) do not change
-- plan or disbursed; they are rows with carried > 0 and carried_into_year set, for the
-- execution-year basis.
--
-- read.checkpoint holds the last event position folded in; the writer updates it in the
-- same transaction as the rows, so the tables always show a whole prefix of the log.

-- +goose Up
CREATE SCHEMA read;

CREATE TABLE read.line_progress (
    position          bigint  NOT NULL,
    line              text    NOT NULL,
    program           text    NOT NULL,
    year              integer NOT NULL,
    source            text    NOT NULL,
    project           text    NOT NULL,
    top_project       text    NOT NULL,
    unit              text    NOT NULL,
    province          text    NULL,
    district          text    NULL,
    commune           text    NULL,
    effective_date    date    NOT NULL,
    plan_delta        bigint  NOT NULL,
    disbursed_delta   bigint  NOT NULL,
    carried_into_year integer NULL,
    carried           bigint  NOT NULL DEFAULT 0,
    -- A transfer never moves money within one line (the domain refuses from = to), so an
    -- event touches a line once.
    PRIMARY KEY (position, line)
);
CREATE INDEX line_progress_province ON read.line_progress (province, effective_date);
CREATE INDEX line_progress_district ON read.line_progress (district, effective_date);
CREATE INDEX line_progress_line ON read.line_progress (line, position);

-- The catalog with names, for reports: join on unit = units.id, project = projects.code.
CREATE TABLE read.programs (
    code     text   PRIMARY KEY,
    name     text   NOT NULL,
    position bigint NOT NULL
);
CREATE TABLE read.projects (
    program     text   NOT NULL,
    code        text   NOT NULL,
    name        text   NOT NULL,
    parent      text   NULL,
    top_project text   NOT NULL,
    position    bigint NOT NULL,
    PRIMARY KEY (program, code)
);
CREATE TABLE read.units (
    id       text   PRIMARY KEY,
    code     text   NOT NULL,
    name     text   NOT NULL,
    level    text   NOT NULL,
    parent   text   NULL,
    province text   NULL,
    district text   NULL,
    commune  text   NULL,
    position bigint NOT NULL
);
CREATE TABLE read.sources (
    code        text    PRIMARY KEY,
    name        text    NOT NULL,
    budget      text    NOT NULL,
    nature      text    NOT NULL,
    counterpart boolean NOT NULL,
    position    bigint  NOT NULL
);

CREATE TABLE read.checkpoint (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    position   bigint      NOT NULL CHECK (position >= 0),
    updated_at timestamptz NOT NULL
);
INSERT INTO read.checkpoint (position, updated_at) VALUES (0, now());

-- The server keeps the read model up to date and `ledger replay` rebuilds it, both with
-- the application's credentials.
GRANT USAGE ON SCHEMA read TO ledger_app;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA read TO ledger_app;

-- +goose Down
REVOKE ALL ON ALL TABLES IN SCHEMA read FROM ledger_app;
REVOKE USAGE ON SCHEMA read FROM ledger_app;
DROP SCHEMA read CASCADE;
