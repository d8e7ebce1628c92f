// Package api is the HTTP interface of the ledger (docs/design.md §10): an echo server that
// decodes commands strictly, hands them to the single writer, and serves the head, the
// catalog, line balances and the event log. Errors are RFC 9457 problem details with a
// stable code; the code → status table lives in problem.go and nowhere else.
//
// Invariants: a request that fails is answered with a problem and stores nothing; a
// request retried with the same Idempotency-Key and the same body gets the original
// answer (with Idempotent-Replayed: true); no panic reaches a client as a dropped
// connection. The package depends on the ledger domain and the projections only, never
// on the store or NATS adapters: cmd/ledger wires those in through Writer and
// EventReader. openapi.yaml describes every route; a test keeps the two in step.
package api
