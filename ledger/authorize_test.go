package ledger

import (
	"testing"

	"github.com/google/uuid"
)

// TestWriterAuthorizesEveryLine: the writer holds a principal to its unit subtree on
// every line a command touches, both sides of a transfer and the original line of a
// reversal or a settlement, and names the command and field it refuses.
func TestWriterAuthorizesEveryLine(t *testing.T) {
	mar := day(2024, 3, 1)
	prov, pn, ns, xl := ln("06", "DA1"), ln("060", "DA1"), ln("062", "DA1"), ln("01873", "DA1")
	st, evs := given(t, allocate(prov, 1000, mar), allocate(ns, 500, mar), advance(ns, 100, mar, "A1"), allocate(xl, 50, mar))
	var nsAdvance uuid.UUID
	for _, e := range evs {
		if e.Type == TypeDisbursed {
			nsAdvance = e.ID
		}
	}
	officer := func(unit string) *Principal { return &Principal{Name: "kế toán", Role: RoleOfficer, Unit: unit} }
	cases := []struct {
		name      string
		who       *Principal
		cmds      []Command
		wantField string // "" when allowed
	}{
		{"own line", officer("060"), []Command{allocate(pn, 10, mar)}, ""},
		{"a commune below", officer("060"), []Command{pay(xl, 10, mar, "P1")}, ""},
		{"another district", officer("060"), []Command{allocate(ns, 10, mar)}, "line"},
		{"transfer from above", officer("060"), []Command{&Transfer{From: prov, To: pn, Amount: 1, Kind: KindSuballocation,
			EffectiveDate: mar, Decision: "QĐ"}}, "from"},
		{"transfer to another district", officer("06"), []Command{&Transfer{From: prov, To: ns, Amount: 1,
			Kind: KindSuballocation, EffectiveDate: mar, Decision: "QĐ"}}, ""},
		{"reversal of another district's payment", officer("060"), []Command{&Reverse{EventID: nsAdvance, Amount: 1,
			EffectiveDate: mar, Reason: "sai"}}, "event_id"},
		{"settlement of another district's advance", officer("060"), []Command{&SettleAdvance{EventID: nsAdvance, Amount: 1,
			EffectiveDate: mar, Voucher: vch("S1", mar)}}, "event_id"},
		{"settlement of its own advance", officer("062"), []Command{&SettleAdvance{EventID: nsAdvance, Amount: 1,
			EffectiveDate: mar, Voucher: vch("S1", mar)}}, ""},
		{"reference data", officer("06"), []Command{&RegisterProgram{Program{Code: "X", Name: "X"}}}, ""},
		{"a batch names the command", officer("060"), []Command{allocate(pn, 1, mar), allocate(ns, 1, mar)}, "commands[1].line"},
		{"an auditor is not scoped", &Principal{Role: RoleAuditor, Unit: "060"}, []Command{allocate(ns, 10, mar)}, ""},
		{"the ledger itself", nil, []Command{allocate(ns, 10, mar)}, ""},
	}
	for _, tc := range cases {
		err := st.authorize(&Request{Commands: tc.cmds, Atomic: true, Principal: tc.who})
		switch {
		case tc.name == "reference data":
			if Code(err) != CodeForbidden {
				t.Errorf("%s: %v, want forbidden", tc.name, err)
			}
		case tc.wantField == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.wantField != "" && (Code(err) != CodeForbidden || Field(err) != tc.wantField):
			t.Errorf("%s: %v (code %q, field %q), want forbidden on %q", tc.name, err, Code(err), Field(err), tc.wantField)
		}
	}
}
