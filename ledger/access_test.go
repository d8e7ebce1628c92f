package ledger

import "testing"

// TestRoles parses every role back from its string, refuses others naming the field,
// and asks Scoped of each, which panics for a role it does not handle.
func TestRoles(t *testing.T) {
	for _, r := range Roles {
		got, err := ParseRole(string(r))
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %q, %v", r, got, err)
		}
		_ = r.Scoped()
	}
	for _, s := range []string{"", "Officer", "root", "officer "} {
		if _, err := ParseRole(s); Code(err) != CodeInvalidArgument || Field(err) != "role" {
			t.Errorf("ParseRole(%q): %v, want invalid_argument on role", s, err)
		}
	}
	p := Principal{Name: "Kế toán", Role: RoleLeader, Unit: "062"}
	if p.Scope() != "062" || p.Actor() != "Kế toán (leader)" {
		t.Errorf("leader: scope %q, actor %q", p.Scope(), p.Actor())
	}
	if p.Role = RoleAuditor; p.Scope() != "" {
		t.Errorf("an auditor is held to %q", p.Scope())
	}
}
