// Package storetest holds the one contract every event store of the ledger must keep:
// Run, a conformance suite over the sequencer's store interface (ledger.WriterSession: Append,
// ReadFrom, ReadKeys) and the API's EventReader (Events, EventsRange, Event, LineEvents).
// Every implementation runs it: the PostgreSQL store (ledger/pgstore) and MemStore, the
// in-memory TEST DOUBLE the API's handler tests use. Because both pass the same suite,
// the double cannot drift from what it stands for; a behaviour the real store has and the
// suite does not cover is a missing test here, not a licence for the double to differ.
//
// The contract, as the suite checks it:
//   - Append stores a batch of events and idempotency key records in one transaction:
//     all of it or, on any error, nothing.
//   - The positions of a batch continue the head one by one (head+1, head+2, …); a gap,
//     a position already stored or a batch out of order is refused.
//   - An event id, an idempotency key and a State Treasury voucher (office, type, number,
//     date) are stored once; a second one is refused, the voucher as an invalid_argument
//     *ledger.Error on the field "voucher". So are rows the schema forbids: an empty type,
//     a money event without a positive amount, an event_id that is not a UUID, a key
//     record whose positions are not 1 ≤ first ≤ last, rejections that are not JSON.
//   - What is read back equals what was appended, field for field, and is a copy: the
//     caller may keep or change it without changing the store.
//   - ReadFrom and ReadKeys return fn's first error unwrapped.
//   - Events and LineEvents page with after and limit; a limit outside
//     1..EventsLimitMax means EventsLimitMax. EventsRange refuses an empty range or one
//     longer than EventsRangeMax with an invalid_argument *ledger.Error on "range".
//     Event returns ledger.ErrNotFound for an unknown id. LineEvents finds a transfer
//     from both of its lines.
//
// This package is for tests only: nothing in cmd/ledger may import it. It imports no
// adapter, so that the API's tests can use MemStore without depending on PostgreSQL.
package storetest
