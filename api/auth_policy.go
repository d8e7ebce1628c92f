package api

import (
	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
)

// roleSet is a set of roles.
type roleSet uint8

const (
	officer roleSet = 1 << iota
	leader
	auditor
	admin

	everyone = officer | leader | auditor | admin
)

var roleBits = map[ledger.Role]roleSet{ledger.RoleOfficer: officer, ledger.RoleLeader: leader, ledger.RoleAuditor: auditor, ledger.RoleAdmin: admin}

// policy says who may call a route. Officers and leaders are further held to their unit
// subtree by the handlers (scope checks below); public routes need no token; the routes
// of mounted Pages authenticate their callers themselves (ownAuth).
type policy struct {
	public  bool
	ownAuth bool
	roles   roleSet
	// anonymous marks a route served to callers who have not authenticated (yet): it is
	// held to the unauthenticated share of in-flight slots, a small body and a short read
	// timeout (anonymousMiddleware), so that slow or large anonymous requests cannot
	// hold the slots of authenticated users.
	anonymous bool
}

func (p policy) allows(role ledger.Role) bool { return p.roles&roleBits[role] != 0 }

// routePolicies is the access policy of the API, in one place: "METHOD /route" → who
// may call it. Server.Mount adds the routes of Pages, which authenticate by themselves.
// A registered route missing from both is refused to everyone (403), and
// TestEveryRouteHasAPolicy names it: access is granted, never assumed.
var routePolicies = map[string]policy{
	"GET /healthz":      {public: true},
	"GET /readyz":       {public: true},
	"GET /openapi.yaml": {public: true, anonymous: true},
	"GET /metrics":      {public: true, anonymous: true},

	"POST /v1/catalog/programs":        {roles: admin},
	"POST /v1/catalog/projects":        {roles: admin},
	"POST /v1/catalog/units":           {roles: admin},
	"POST /v1/catalog/sources":         {roles: admin},
	"POST /v1/catalog/reorganizations": {roles: admin},
	// Deadlines are rules with a legal basis for the whole ledger, like reference data:
	// an admin records them (docs/domain.md, rule 7).
	"POST /v1/deadlines":  {roles: admin},
	"POST /v1/extensions": {roles: admin},
	// Targets are set by decisions for a scope, recorded like deadlines by an admin.
	"POST /v1/targets": {roles: admin},

	"POST /v1/allocations":   {roles: officer},
	"POST /v1/transfers":     {roles: officer},
	"POST /v1/carryovers":    {roles: officer},
	"POST /v1/cancellations": {roles: officer},
	"POST /v1/disbursements": {roles: officer},
	"POST /v1/settlements":   {roles: officer},
	"POST /v1/reversals":     {roles: officer},
	"POST /v1/batch":         {roles: officer},

	"POST /v1/contracts":                   {roles: officer},
	"POST /v1/contract-amendments":         {roles: officer},
	"POST /v1/advance-limits":              {roles: admin},
	"GET /v1/contracts":                    {roles: everyone}, // scoped: filtered to the subtree
	"GET /v1/contracts/:id":                {roles: everyone}, // scoped: 403 outside the subtree
	"POST /v1/reconciliations":             {roles: officer},  // scoped: the ledger's vouchers of the subtree
	"GET /v1/templates/disbursements.xlsx": {roles: everyone},

	"GET /v1/head":                  {roles: everyone},
	"GET /v1/catalog/programs":      {roles: everyone},
	"GET /v1/catalog/projects":      {roles: everyone},
	"GET /v1/catalog/units":         {roles: everyone},
	"GET /v1/catalog/sources":       {roles: everyone},
	"GET /v1/lines":                 {roles: everyone}, // scoped: filtered to the subtree
	"GET /v1/lines/:line_id":        {roles: everyone}, // scoped: 403 outside the subtree
	"GET /v1/lines/:line_id/events": {roles: everyone},
	"GET /v1/events":                {roles: everyone}, // scoped: filtered to the subtree
	"GET /v1/events/:id":            {roles: everyone}, // scoped: 403 outside the subtree

	// Progress reports: scoped, a unit filter outside the subtree is refused (403) and no
	// filter means the subtree's root (api/progress.go).
	"GET /v1/progress":             {roles: everyone},
	"GET /v1/progress.csv":         {roles: everyone},
	"GET /v1/progress.xlsx":        {roles: everyone},
	"GET /v1/progress/counterpart": {roles: everyone},

	// Whole-ledger checks and exports (api/audit.go): not scoped, so not for officers
	// and leaders. Checkpoints and their public keys say no more than GET /v1/head.
	"GET /v1/events/export":   {roles: auditor | admin},
	"GET /v1/verify":          {roles: auditor | admin},
	"GET /v1/checkpoints":     {roles: everyone},
	"GET /v1/checkpoints/key": {roles: everyone},

	"POST /v1/tokens":       {roles: admin},
	"GET /v1/tokens":        {roles: admin},
	"DELETE /v1/tokens/:id": {roles: admin},
}

// Scope checks. Each reads the catalog of the Balances read model, which knows every unit
// a committed event could name once it has caught up with the head (api/fresh.go).

// scopeOf returns the unit subtree the request's principal is held to, "" for none.
func scopeOf(c echo.Context) string {
	if p := principalOf(c); p != nil {
		return p.Scope()
	}
	return ""
}

// outOfScope is the refusal of a line outside the principal's subtree.
func outOfScope(field, scope string) error { return ledger.OutOfScope(field, scope) }

// lineInScope reports whether a principal held to scope reads line l ("" is everything):
// a line of its subtree or of a unit its subtree succeeds (ledger.LineReadable).
func lineInScope(cat *ledger.Catalog, l *ledger.Line, scope string) bool {
	return ledger.LineReadable(cat, l, scope)
}

// checkLineScope refuses line l (named field) when it lies outside the request's scope.
func (s *Server) checkLineScope(c echo.Context, l ledger.Line, field string) error {
	scope := scopeOf(c)
	if scope == "" {
		return nil
	}
	if err := s.freshBalances(c); err != nil {
		return err
	}
	ok := false
	s.cfg.Balances.Read(func(st *ledger.State) { ok = lineInScope(&st.Catalog, &l, scope) })
	if !ok {
		return outOfScope(field, scope)
	}
	return nil
}

// eventVisible reports whether a principal held to scope may see e: catalog events are
// reference data that every role reads; a money event is visible when any line it
// touches lies in the subtree (a transfer from the province to a district is seen by both).
// Access events (tokens created or revoked) are for auditors and admins only, as the
// list of tokens is.
func eventVisible(cat *ledger.Catalog, e *ledger.Event, scope string) bool {
	d := &e.Data
	if scope != "" && (e.Type == ledger.TypeTokenCreated || e.Type == ledger.TypeTokenRevoked) {
		return false
	}
	if scope == "" || d.Line == nil && d.From == nil && d.To == nil {
		return true
	}
	return d.Line != nil && lineInScope(cat, d.Line, scope) ||
		d.From != nil && lineInScope(cat, d.From, scope) ||
		d.To != nil && lineInScope(cat, d.To, scope)
}

// visibleEvents keeps the events the request's principal may see, in order. It first
// waits until the catalog has the last of them: events come from the store, which may be
// ahead of the projection, and a unit registered just before an event must not hide it.
func (s *Server) visibleEvents(c echo.Context, events []*ledger.Event) ([]*ledger.Event, error) {
	scope := scopeOf(c)
	if scope == "" || len(events) == 0 {
		return events, nil
	}
	if err := s.awaitPosition(c, s.cfg.Balances, "balances", events[len(events)-1].Position); err != nil {
		return nil, err
	}
	out := events[:0:0]
	s.cfg.Balances.Read(func(st *ledger.State) {
		for _, e := range events {
			if eventVisible(&st.Catalog, e, scope) {
				out = append(out, e)
			}
		}
	})
	return out, nil
}
