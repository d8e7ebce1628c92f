// Package api is the JSON API of the ledger (docs/design.md §10): an echo server that decodes
// commands strictly, hands them to the single writer, and serves the head, the catalog,
// line balances, the event log and the progress reports (laid out by package report).
// Access control is here: bearer tokens, roles and the route → roles table. Errors are
// RFC 9457 problem details with a stable code; the code → status table lives in
// problem.go and nowhere else. Pages that authenticate by themselves, such as the
// leaders' dashboard, are mounted beside the API (Server.Mount) behind the same
// middleware, and use its authentication through Server.Authenticate.
//
// Invariants: a request that fails is answered with a problem and stores nothing; a
// request retried with the same Idempotency-Key and the same body gets the original
// answer (with Idempotent-Replayed: true); no panic reaches a client as a dropped
// connection. The package depends on the ledger domain, the projections and report only,
// never on the store or NATS adapters nor on the dashboard: cmd/ledger wires the store in
// through Writer, EventReader and TokenStore, and mounts the dashboard. openapi.yaml
// describes every route, the dashboard's included; a test keeps the two in step.
package api
