package api

import (
	"context"
	"errors"

	"github.com/google/uuid"
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

var roleBits = map[string]roleSet{RoleOfficer: officer, RoleLeader: leader, RoleAuditor: auditor, RoleAdmin: admin}

// policy says who may call a route. Officers and leaders are further held to their unit
// subtree by the handlers (scope checks below); public routes need no token.
type policy struct {
	public bool
	roles  roleSet
}

func (p policy) allows(role string) bool { return p.roles&roleBits[role] != 0 }

// routePolicies is the access policy, in one place: "METHOD /route" → who may call it.
// A registered route missing here is refused to everyone (403), and
// TestEveryRouteHasAPolicy names it: access is granted, never assumed.
var routePolicies = map[string]policy{
	"GET /healthz":      {public: true},
	"GET /readyz":       {public: true},
	"GET /openapi.yaml": {public: true},

	"POST /v1/catalog/programs": {roles: admin},
	"POST /v1/catalog/projects": {roles: admin},
	"POST /v1/catalog/units":    {roles: admin},
	"POST /v1/catalog/sources":  {roles: admin},

	"POST /v1/allocations":   {roles: officer},
	"POST /v1/transfers":     {roles: officer},
	"POST /v1/carryovers":    {roles: officer},
	"POST /v1/cancellations": {roles: officer},
	"POST /v1/disbursements": {roles: officer},
	"POST /v1/settlements":   {roles: officer},
	"POST /v1/reversals":     {roles: officer},
	"POST /v1/batch":         {roles: officer},

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

	// The leaders' dashboard (api/dashboard*.go): public to the bearer middleware, which
	// cannot read a cookie; every page and the event stream authenticate by the session
	// cookie (dashboardAuth) and show only the reader's scope, for every role.
	"GET /":                  {public: true},
	"GET /dashboard/trend":   {public: true},
	"GET /dashboard/lines":   {public: true},
	"GET /dashboard/line":    {public: true},
	"GET /dashboard/events":  {public: true},
	"GET /dashboard/app.css": {public: true},
	"GET /dashboard/app.js":  {public: true},
	"GET /signin":            {public: true},
	"POST /signin":           {public: true},
	"POST /signout":          {public: true},

	"POST /v1/tokens":       {roles: admin},
	"GET /v1/tokens":        {roles: admin},
	"DELETE /v1/tokens/:id": {roles: admin},
}

// Scope checks. Each reads the catalog of the Balances read model, which knows every unit
// a committed event could name once it has caught up with the head (api/fresh.go).

// scopeOf returns the unit subtree the request's principal is held to, "" for none.
func scopeOf(c echo.Context) string {
	if p := principalOf(c); p != nil {
		return p.scope()
	}
	return ""
}

// outOfScope is the refusal of a line outside the principal's subtree.
func outOfScope(field, scope string) error {
	return errForbidden(field, "outside the unit subtree "+scope+" this token may use")
}

// lineInScope reports whether line l lies in the subtree scope ("" is everything).
func lineInScope(cat *ledger.Catalog, l *ledger.Line, scope string) bool {
	return scope == "" || l != nil && cat.IsUnitWithin(l.Unit, scope)
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
func eventVisible(cat *ledger.Catalog, e *ledger.Event, scope string) bool {
	d := &e.Data
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

// authorizeCommands checks that every line the commands debit or credit lies in the
// request's scope, both sides of a transfer, and for a settlement or a reversal the line
// of the disbursement it corrects (read from the store: the write model does not keep
// event → line for callers). prefix is the field prefix of each command ("" for a single
// write, "commands[i]" for a batch, given by fieldOf).
func (s *Server) authorizeCommands(c echo.Context, cmds []ledger.Command, fieldOf func(i int) string) error {
	scope := scopeOf(c)
	if scope == "" {
		return nil
	}
	type named struct {
		line  ledger.Line
		field string
	}
	var lines []named
	for i, cmd := range cmds {
		at := func(f string) string {
			if p := fieldOf(i); p != "" {
				return p + "." + f
			}
			return f
		}
		switch cmd := cmd.(type) {
		case *ledger.Allocate:
			lines = append(lines, named{cmd.Line, at("line")})
		case *ledger.Transfer:
			lines = append(lines, named{cmd.From, at("from")}, named{cmd.To, at("to")})
		case *ledger.CarryOver:
			lines = append(lines, named{cmd.Line, at("line")})
		case *ledger.Cancel:
			lines = append(lines, named{cmd.Line, at("line")})
		case *ledger.Disburse:
			lines = append(lines, named{cmd.Line, at("line")})
		case *ledger.SettleAdvance:
			l, err := s.originalLine(c.Request().Context(), cmd.EventID)
			if err != nil {
				return err
			}
			if l != nil {
				lines = append(lines, named{*l, at("event_id")})
			}
		case *ledger.Reverse:
			l, err := s.originalLine(c.Request().Context(), cmd.EventID)
			if err != nil {
				return err
			}
			if l != nil {
				lines = append(lines, named{*l, at("event_id")})
			}
		default:
			// Catalog registrations are admin-only by policy; an officer never gets here with one.
			return errForbidden(fieldOf(i), "this command is not allowed to a token held to a unit subtree")
		}
	}
	if err := s.freshBalances(c); err != nil {
		return err
	}
	var refused error
	s.cfg.Balances.Read(func(st *ledger.State) {
		for _, n := range lines {
			if !lineInScope(&st.Catalog, &n.line, scope) {
				refused = outOfScope(n.field, scope)
				return
			}
		}
	})
	return refused
}

// originalLine returns the line of event id, or nil when there is no such event: the
// sequencer then refuses the command with its own error.
func (s *Server) originalLine(ctx context.Context, id uuid.UUID) (*ledger.Line, error) {
	e, err := s.cfg.Events.Event(ctx, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, storeError(err, "read the event a command refers to")
	}
	return e.MainLine(), nil
}
