package api

import (
	"github.com/labstack/echo/v4"

	"github.com/vnntp/ledger/ledger"
)

// Idempotency keys are namespaced by the scope of the principal that sends them: the
// writer keeps (idempotency_keys.key) "<role>:<unit>:<Idempotency-Key>", with
// NationalScopeKey for a principal that sees every unit. Two officers of different
// districts that both name a request "qd-123-2024" therefore record two requests, and
// neither learns from a 409 which keys the other used; principals of the same role and
// unit share one namespace, so a request retried under another token of the same office
// is still recorded once. The events' metadata keeps the key as the client sent it.
//
// Keys recorded before this rule (bare, without a prefix) stay in the table and answer
// only a request sent without a principal (the ledger's own tools).

// NationalScopeKey stands for the scope "every unit" in a namespaced idempotency key; it
// cannot be a unit code, whose characters are [A-Za-z0-9._-].
const NationalScopeKey = "*"

// scopedKey is the key under which the writer keeps key, sent by p; "" stays "" (no key).
func scopedKey(p *ledger.Principal, key string) string {
	if key == "" || p == nil {
		return key
	}
	unit := p.Scope()
	if unit == "" {
		unit = NationalScopeKey
	}
	return string(p.Role) + ":" + unit + ":" + key
}

// newRequest is the writer request of client c for cmds: its principal, the metadata
// of c, and the Idempotency-Key key (raw; "" for none) namespaced by the principal's
// scope. Every write route builds its request here, so none can forget the scope.
func newRequest(c echo.Context, key string, atomic bool, cmds ...ledger.Command) *ledger.Request {
	p := principalOf(c)
	return &ledger.Request{Commands: cmds, Atomic: atomic, Key: scopedKey(p, key), Meta: meta(c, key), Principal: p}
}
