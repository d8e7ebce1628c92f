// Package pgstore is the PostgreSQL event store of the ledger (pgx/v5).
//
// Events live in the append-only table events, one row per event at a gapless position
// (migrations/). A Store reads through a connection pool and is safe for concurrent use.
// A WriterSession appends: it holds the writer lock (a session advisory lock, WriterLockKey) on
// one dedicated connection and writes every batch in one transaction on that connection,
// so that whoever appends is the process that holds the lock. The primary key on position
// fences a stale writer that lost its lock without noticing: it cannot commit a position
// that another writer already recorded (ErrFenced). Before it sends a batch, a Writer
// also checks that its positions continue the head one by one, so that no gap reaches
// the table.
//
// Store and Writer pass the conformance suite of internal/storetest, as the API tests'
// in-memory double does.
//
// Driver errors are translated here, once, by SQLSTATE and constraint name; callers see
// ledger errors (ledger.ErrNotFound, *ledger.Error) or wrapped driver errors, which
// ledger.Code maps to "internal".
package pgstore
