-- read.line_progress keeps its columns, keys and indexes, but a row now sums the
-- postings of one commit on one line and effective date (carry-overs apart by the year
-- they go into), instead of one row per event: a bulk import of a thousand vouchers on a
-- line and day is one row, where it was a thousand rows, four index entries each — more
-- PostgreSQL work than appending the events themselves (docs/benchmarks.md, issue 18).
--
-- Every sum is unchanged. position is the last event folded into the row, and the events
-- of a commit share their recorded_at, so `position <= K` still gives the figures as known
-- at K for every K that ends a commit: every value of read.checkpoint, and the position
-- recorded by a time T, `SELECT max(position) FROM events WHERE recorded_at <= T`. A K
-- inside a commit names a state nobody could read (a commit is atomic); the rows of
-- that commit then count once its last row's position is reached.
--
-- The rows written before this migration stay one per event: they sum the same. `ledger
-- replay` rewrites them in the new grain.

-- +goose Up
COMMENT ON TABLE read.line_progress IS
    'Plan and disbursed changes of each line, one row per commit, line, effective date (and carry-over year); derived from events, rebuilt by ledger replay.';
COMMENT ON COLUMN read.line_progress.position IS
    'The last event position folded into the row: position <= K gives the figures as known at K for every K that ends a commit.';

-- +goose Down
COMMENT ON COLUMN read.line_progress.position IS NULL;
COMMENT ON TABLE read.line_progress IS NULL;
