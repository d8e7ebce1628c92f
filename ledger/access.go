package ledger

import (
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Role is what an access token may do (docs/design.md §10). An officer records money
// movements and reads, within its unit subtree; a leader reads within its subtree; an
// auditor reads everything, verifies and exports; an admin registers reference data,
// manages tokens and reads everything. An admin does not move money: whoever issues
// credentials must not also spend with them. The strings are stored (the tokens table)
// and travel in JSON and on the command line; inside the program a role is a Role.
type Role string

// The roles. Roles lists them all.
const (
	RoleOfficer Role = "officer"
	RoleLeader  Role = "leader"
	RoleAuditor Role = "auditor"
	RoleAdmin   Role = "admin"
)

// Roles lists every role.
var Roles = []Role{RoleOfficer, RoleLeader, RoleAuditor, RoleAdmin}

// ParseRole returns the role named s, or an invalid_argument error on field "role".
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", invalid("role", "must be officer, leader, auditor or admin, got %q", s)
}

// Scoped reports whether a token of role r is held to a unit subtree: officers and
// leaders are; auditors and admins see everything, whatever their token says.
func (r Role) Scoped() bool {
	switch r {
	case RoleOfficer, RoleLeader:
		return true
	case RoleAuditor, RoleAdmin:
		return false
	}
	panic(fmt.Sprintf("ledger: unknown role %q", string(r)))
}

// Token is an access token as it is stored and shown: never its secret, which exists
// only in the answer that creates the token.
type Token struct {
	ID   uuid.UUID
	Name string
	Role Role
	// Unit is the root of the unit subtree an officer or leader is held to; "" is every unit.
	Unit      string
	CreatedAt time.Time
	ExpiresAt time.Time
	// RevokedAt is zero while the token is not revoked.
	RevokedAt time.Time
}

// TokenSpec describes a token to create.
type TokenSpec struct {
	Name      string
	Role      Role
	Unit      string
	ExpiresAt time.Time
}

// Principal is who a request acts as: the holder of an access token.
type Principal struct {
	TokenID string
	Name    string
	Role    Role
	// Unit is the root of the unit subtree an officer or leader is held to; "" is every unit.
	Unit string
}

// Actor is the Metadata.Actor of the events the principal records: "<name> (<role>)".
func (p *Principal) Actor() string { return p.Name + " (" + string(p.Role) + ")" }

// Scope returns the unit subtree p is held to, "" when p sees everything.
func (p *Principal) Scope() string {
	if p.Role.Scoped() {
		return p.Unit
	}
	return ""
}

// LineWithin reports whether line l lies in the unit subtree scope ("" is everything):
// the rule that holds an officer or a leader to its subtree.
func LineWithin(cat *Catalog, l *Line, scope string) bool {
	return scope == "" || l != nil && cat.IsUnitWithin(l.Unit, scope)
}

// LineReadable reports whether a principal held to scope reads line l: a line within its
// subtree, or a line of a unit that a unit of its subtree succeeds (a successor reads its
// predecessors' history).
func LineReadable(cat *Catalog, l *Line, scope string) bool {
	return scope == "" || l != nil && cat.IsUnitSucceededWithin(l.Unit, scope)
}

// OutOfScope is the refusal of something (named field) outside the unit subtree scope
// that a principal is held to.
func OutOfScope(field, scope string) error {
	return &Error{Code: CodeForbidden, Field: field, Message: "outside the unit subtree " + scope + " this token may use"}
}
