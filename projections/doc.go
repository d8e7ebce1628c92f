// Package projections folds committed events into read models: Balances (catalog and
// line balances, the same fold as the write model) and Progress (plan, disbursed and rate
// by any grouping, as of any business date and any ledger position).
//
// Invariants: the folds are pure and deterministic. Fed the same events in position
// order, in any batch sizes, they reach the same state, whether live (after each commit)
// or rebuilt from position 1, and a report computed at position P is the same bytes
// whenever it is computed. The package imports only the domain (ledger): the fan-out
// behind the writer (Fanout), a replica's follower and the offline tools all feed it.
package projections
