// Package checker is the referee of the fault tests and of the end-to-end tests: it
// records every write a test sends (its idempotency key, its body and whether the server
// acknowledged it, refused it, or left its outcome unknown), retries the unknown ones with
// the same key, and at the end reads the whole store and reports what a ledger of record
// must never do: lose an acknowledged event, store a request twice, store an event nobody
// asked for, leave a gap in the positions, break the hash chain, let a line's available
// balance fall below zero, create or destroy money, or serve projections that differ from
// a rebuild of the store.
//
// Its invariants are stated on the fields of ledger.LineBalance in Check's doc comment.
// A Recorder is safe for concurrent use; a Report is a value to read once the run ended.
package checker
