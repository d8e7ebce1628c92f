// Package natsbus distributes the committed events of the ledger on NATS JetStream
// (docs/design.md §8): an embedded nats-server for single-host installs, the LEDGER stream,
// the Relay that publishes every committed event from PostgreSQL to the stream, and the
// Follower that feeds a read replica from it.
//
// Invariants:
//   - PostgreSQL is the source of truth; the stream is a copy. The Relay only appends,
//     in position order, and every message carries Nats-Expected-Last-Sequence =
//     position − 1, so stream sequence == ledger position: no gap and no duplicate can
//     enter. A lost stream is rebuilt from PostgreSQL; a stream that is ahead of
//     PostgreSQL or holds other events is reported, never deleted.
//   - The stream denies delete and purge: nothing published is ever removed by this
//     package.
//   - The Follower applies events strictly in order and checks each one against the
//     hash chain (position == stream sequence, prev_hash == the previous hash, hash ==
//     SHA-256(prev_hash || canonical bytes)); it never skips one.
//
// Subjects are ledger.ev.<province>.<district>.<type> (see Subject), so a consumer can
// take one province, one district or one event type with a filter such as
// ledger.ev.062.*.> or ledger.ev.*.*.funds_disbursed.
package natsbus
