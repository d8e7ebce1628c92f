package ledger

import (
	"testing"
)

// The 2025 reorganisation of the fixture: new Thái Nguyên (TN) succeeds Bắc Kạn (06) and
// takes over Pác Nặm (060); Xuân La and Nghiên Loan merge into new Nghiên Loan (NL) under
// TN, the commune registered once the levels changed.
var (
	reorgDate = day(2025, 7, 1)
	regTN     = &RegisterUnit{Unit{ID: "TN", Code: "19", Name: "Thái Nguyên", Level: LevelProvince, Validity: Validity{ValidFrom: reorgDate}}}
	reorgProv = &Reorganize{EffectiveDate: reorgDate, Reorganization: Reorganization{LegalBasis: "NQ 202/2025/QH15",
		Levels: []Level{LevelProvince, LevelCommune},
		Changes: []UnitChange{
			{Kind: ChangeMerge, Predecessors: []string{"06"}, Successors: []string{"TN"}},
			{Kind: ChangeAbolish, Predecessors: []string{"060", "062"}, Successors: []string{"TN"}},
		}}}
	regNL     = &RegisterUnit{Unit{ID: "NL", Code: "01882", Name: "Nghiên Loan", Level: LevelCommune, Parent: "TN", Validity: Validity{ValidFrom: reorgDate}}}
	reorgComm = &Reorganize{EffectiveDate: reorgDate, Reorganization: Reorganization{LegalBasis: "NQ 1683/NQ-UBTVQH15",
		Changes: []UnitChange{{Kind: ChangeMerge, Predecessors: []string{"01873", "01882"}, Successors: []string{"NL"}}}}}
)

func reorganised(more ...Command) []Command {
	return append([]Command{allocate(lnY(2025, srcInv, "DA1", "060"), 100, day(2025, 2, 10)),
		allocate(lnY(2025, srcInv, "DA1", "01873"), 50, day(2025, 2, 10)), regTN, reorgProv, regNL, reorgComm}, more...)
}

func handover(from, to string, amount int64, d Date) *Transfer {
	return &Transfer{From: lnY(2025, srcInv, "DA1", from), To: lnY(2025, srcInv, "DA1", to), Amount: amount, Kind: KindHandover,
		EffectiveDate: d, Decision: "Biên bản bàn giao"}
}

func reorg(d Date, changes ...UnitChange) *Reorganize {
	return &Reorganize{EffectiveDate: d, Reorganization: Reorganization{LegalBasis: "NQ", Changes: changes}}
}

func TestDecideReorganize(t *testing.T) {
	runDecideCases(t, []decideCase{
		{name: "provinces and districts, with the new levels", given: []Command{regTN}, when: reorgProv, wantType: TypeUnitReorganized,
			wantDate: reorgDate, wantData: &EventData{Reorganization: &reorgProv.Reorganization},
			then: func(t *testing.T, st *State) {
				c := &st.Catalog
				if u := c.Units["060"]; u.ValidTo != day(2025, 6, 30) {
					t.Errorf("Pác Nặm valid to %s, want 2025-06-30", u.ValidTo)
				}
				if got := c.SuccessorOn("060", day(2025, 6, 30)); got != "060" {
					t.Errorf("Pác Nặm's successor the day before: %s", got)
				}
				if got := c.SuccessorOn("060", reorgDate); got != "TN" {
					t.Errorf("Pác Nặm's successor on the date: %s", got)
				}
				if got := c.LevelsOn(reorgDate); len(got) != 2 || got[1] != LevelCommune {
					t.Errorf("levels from the date: %v", got)
				}
				if len(c.Predecessors("TN")) != 3 || len(c.Successors("06")) != 1 {
					t.Errorf("successions: into TN %v, from 06 %v", c.Predecessors("TN"), c.Successors("06"))
				}
			}},
		{name: "communes merge into a commune under the province", given: reorganised()[:5], when: reorgComm, wantType: TypeUnitReorganized,
			then: func(t *testing.T, st *State) {
				if got := st.Catalog.SuccessorOn("01873", day(2026, 1, 1)); got != "NL" {
					t.Errorf("Xuân La's successor: %s", got)
				}
			}},
		{name: "multi-hop succession", given: append(reorganised(),
			&RegisterUnit{Unit{ID: "TN2", Code: "19", Name: "Thái Nguyên (2026)", Level: LevelProvince, Validity: Validity{ValidFrom: day(2026, 1, 1)}}}),
			when: reorg(day(2026, 1, 1), UnitChange{Kind: ChangeRename, Predecessors: []string{"TN"}, Successors: []string{"TN2"}}), wantType: TypeUnitReorganized,
			then: func(t *testing.T, st *State) {
				if got := st.Catalog.SuccessorOn("060", day(2026, 1, 1)); got != "TN2" {
					t.Errorf("Pác Nặm's successor in 2026: %s", got)
				}
				if got := st.Catalog.SuccessorOn("060", day(2025, 12, 31)); got != "TN" {
					t.Errorf("Pác Nặm's successor in 2025: %s", got)
				}
			}},
		{name: "a unit registered with its end the day before", given: []Command{regTN}, when: reorg(reorgDate,
			UnitChange{Kind: ChangeMerge, Predecessors: []string{"24"}, Successors: []string{"TN"}}), wantType: TypeUnitReorganized},
		{name: "unknown predecessor", given: []Command{regTN}, when: reorg(reorgDate, UnitChange{Kind: ChangeMerge, Predecessors: []string{"999"}, Successors: []string{"TN"}}),
			wantCode: CodeUnknownReference, wantField: "changes[0].predecessors[0]"},
		{name: "a unit closed twice", given: reorganised(), when: reorg(day(2025, 9, 1), UnitChange{Kind: ChangeMerge, Predecessors: []string{"062"}, Successors: []string{"NL"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].predecessors[0]"},
		{name: "a unit closed earlier", given: []Command{regTN}, when: reorg(reorgDate, UnitChange{Kind: ChangeMerge, Predecessors: []string{"OLD"}, Successors: []string{"TN"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].predecessors[0]"},
		{name: "a predecessor not yet valid the day before", given: []Command{regTN},
			when:     reorg(reorgDate, UnitChange{Kind: ChangeMerge, Predecessors: []string{"NEW"}, Successors: []string{"TN"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].predecessors[0]"},
		{name: "a successor not valid on the date", given: []Command{regTN},
			when:     reorg(day(2025, 6, 1), UnitChange{Kind: ChangeMerge, Predecessors: []string{"06"}, Successors: []string{"TN"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].successors[0]"},
		{name: "unknown successor", when: reorg(reorgDate, UnitChange{Kind: ChangeMerge, Predecessors: []string{"06"}, Successors: []string{"TN"}}),
			wantCode: CodeUnknownReference, wantField: "changes[0].successors[0]"},
		{name: "a cycle in one reorganisation", given: []Command{regTN},
			when: reorg(reorgDate, UnitChange{Kind: ChangeRename, Predecessors: []string{"062"}, Successors: []string{"NEW"}},
				UnitChange{Kind: ChangeRename, Predecessors: []string{"NEW"}, Successors: []string{"062"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].successors[0]"},
		{name: "a cycle through an earlier reorganisation", given: []Command{reorg(day(2026, 1, 1),
			UnitChange{Kind: ChangeRename, Predecessors: []string{"062"}, Successors: []string{"060"}})},
			when:     reorg(day(2025, 9, 1), UnitChange{Kind: ChangeRename, Predecessors: []string{"060"}, Successors: []string{"062"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].successors[0]"},
		{name: "a split names the history successor", given: []Command{regTN},
			when:     reorg(reorgDate, UnitChange{Kind: ChangeSplit, Predecessors: []string{"062"}, Successors: []string{"TN", "NEW"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].history"},
		{name: "a merge into two", given: []Command{regTN},
			when:     reorg(reorgDate, UnitChange{Kind: ChangeMerge, Predecessors: []string{"062"}, Successors: []string{"TN", "NEW"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].successors"},
		{name: "an unknown kind", given: []Command{regTN},
			when:     reorg(reorgDate, UnitChange{Kind: "annex", Predecessors: []string{"062"}, Successors: []string{"TN"}}),
			wantCode: CodeInvalidArgument, wantField: "changes[0].kind"},
		{name: "no legal basis", given: []Command{regTN}, when: &Reorganize{EffectiveDate: reorgDate, Reorganization: Reorganization{
			Changes: []UnitChange{{Kind: ChangeAbolish, Predecessors: []string{"062"}}}}},
			wantCode: CodeInvalidArgument, wantField: "legal_basis"},
		{name: "levels not from the top", given: []Command{regTN}, when: &Reorganize{EffectiveDate: reorgDate, Reorganization: Reorganization{
			LegalBasis: "NQ", Levels: []Level{LevelCommune}, Changes: []UnitChange{{Kind: ChangeAbolish, Predecessors: []string{"062"}}}}},
			wantCode: CodeInvalidArgument, wantField: "levels"},
	})
}

func TestDecideUnitLevelsOverTime(t *testing.T) {
	communeUnder := func(parent string, from Date) *RegisterUnit {
		return &RegisterUnit{Unit{ID: "X", Code: "01999", Name: "Xã", Level: LevelCommune, Parent: parent, Validity: Validity{ValidFrom: from}}}
	}
	runDecideCases(t, []decideCase{
		{name: "before 2025-07-01 a commune hangs under a district", when: communeUnder("060", day(2021, 1, 1)), wantType: TypeUnitRegistered},
		{name: "and not under a province", when: communeUnder("06", day(2021, 1, 1)), wantCode: CodeInvalidArgument, wantField: "parent"},
		{name: "without the level change, the old rule holds", given: []Command{regTN}, when: communeUnder("TN", reorgDate),
			wantCode: CodeInvalidArgument, wantField: "parent"},
		{name: "from the level change, under a province", given: []Command{regTN, reorgProv}, when: communeUnder("TN", reorgDate),
			wantType: TypeUnitRegistered},
		{name: "and not under a district", given: []Command{regTN, reorgProv}, when: communeUnder("NEW", reorgDate),
			wantCode: CodeInvalidArgument, wantField: "parent"},
		{name: "no district from the level change", given: []Command{regTN, reorgProv}, when: &RegisterUnit{Unit{ID: "D", Code: "999",
			Name: "Huyện", Level: LevelDistrict, Parent: "TN", Validity: Validity{ValidFrom: day(2025, 8, 1)}}},
			wantCode: CodeInvalidArgument, wantField: "level"},
		{name: "a district of before the change", given: []Command{regTN, reorgProv}, when: &RegisterUnit{Unit{ID: "D", Code: "999",
			Name: "Huyện", Level: LevelDistrict, Parent: "06", Validity: Validity{ValidFrom: day(2021, 1, 1)}}},
			wantType: TypeUnitRegistered},
	})
}

func TestDecideHandover(t *testing.T) {
	runDecideCases(t, []decideCase{
		{name: "a predecessor's capital to its successor", given: reorganised(), when: handover("060", "TN", 100, reorgDate),
			wantType: TypeTransferred},
		{name: "later than the date", given: reorganised(), when: handover("01873", "NL", 50, day(2025, 9, 1)), wantType: TypeTransferred},
		{name: "over two hops", given: append(reorganised(),
			&RegisterUnit{Unit{ID: "TN2", Code: "19", Name: "Thái Nguyên (2026)", Level: LevelProvince, Validity: Validity{ValidFrom: day(2026, 1, 1)}}},
			reorg(day(2026, 1, 1), UnitChange{Kind: ChangeRename, Predecessors: []string{"TN"}, Successors: []string{"TN2"}})),
			when: handover("060", "TN2", 100, day(2026, 1, 1)), wantType: TypeTransferred},
		{name: "beyond what the line holds", given: reorganised(), when: handover("060", "TN", 101, reorgDate),
			wantCode: CodeInsufficientFunds, wantField: "from"},
		{name: "to a unit that does not succeed it", given: reorganised(), when: handover("060", "NL", 1, reorgDate),
			wantCode: CodeInvalidArgument, wantField: "to.unit"},
		{name: "before the reorganisation", given: reorganised(), when: handover("060", "TN", 1, day(2025, 6, 30)),
			wantCode: CodeUnknownReference, wantField: "to.unit"},
		{name: "to another project", given: reorganised(), when: &Transfer{From: lnY(2025, srcInv, "DA1", "060"),
			To: lnY(2025, srcInv, "DA3", "TN"), Amount: 1, Kind: KindHandover, EffectiveDate: reorgDate, Decision: "BB"},
			wantCode: CodeInvalidArgument, wantField: "to.project"},
		{name: "nothing else on a closed unit's line", given: reorganised(), when: pay(lnY(2025, srcInv, "DA1", "01873"), 1, day(2025, 8, 1), "1"),
			wantCode: CodeUnitClosed, wantField: "line.unit"},
		{name: "its last day is still open", given: reorganised(), when: pay(lnY(2025, srcInv, "DA1", "01873"), 1, day(2025, 6, 30), "1"),
			wantType: TypeDisbursed},
		{name: "nor a re-allocation from it", given: reorganised(), when: &Transfer{From: lnY(2025, srcInv, "DA1", "060"),
			To: lnY(2025, srcInv, "DA1", "NEW"), Amount: 1, Kind: KindReallocation, EffectiveDate: reorgDate, Decision: "QĐ"},
			wantCode: CodeUnitClosed, wantField: "from.unit"},
		{name: "only a handover crosses provinces", given: []Command{allocate(ln("06", "DA1"), 10, day(2024, 3, 1))},
			when:     &Transfer{From: ln("06", "DA1"), To: ln("24", "DA1"), Amount: 1, Kind: KindReallocation, EffectiveDate: day(2024, 3, 2), Decision: "QĐ"},
			wantCode: CodeInvalidArgument, wantField: "to.unit"},
		{name: "nor a reversal after the end", given: reorganised(pay(lnY(2025, srcInv, "DA1", "060"), 10, day(2025, 3, 1), "p")),
			when: &Reverse{EventID: ref(6), Amount: 1, EffectiveDate: reorgDate, Reason: "sai"}, wantCode: CodeUnitClosed, wantField: "event_id"},
	})
}

func TestAuthorizeHandover(t *testing.T) {
	st, _ := given(t, reorganised()...)
	officer := func(unit string) *Principal { return &Principal{Name: "o", Role: RoleOfficer, Unit: unit} }
	for _, c := range []struct {
		name  string
		unit  string
		cmd   Command
		field string // "" when allowed
	}{
		{"the successor hands its predecessor's capital over", "TN", handover("060", "TN", 1, reorgDate), ""},
		{"the closed unit may not hand it to a unit outside it", "060", handover("060", "TN", 1, reorgDate), "to"},
		{"another unit may not", "062", handover("060", "TN", 1, reorgDate), "from"},
		{"the successor may not pay from the predecessor's line", "TN", pay(lnY(2025, srcInv, "DA1", "060"), 1, day(2025, 3, 1), "x"), "line"},
	} {
		err := st.authorize(&Request{Principal: officer(c.unit), Commands: []Command{c.cmd}})
		if c.field == "" && err != nil || c.field != "" && (Code(err) != CodeForbidden || Field(err) != c.field) {
			t.Errorf("%s: %v, want forbidden on %q", c.name, err, c.field)
		}
	}
	if !LineReadable(&st.Catalog, &Line{Unit: "01873"}, "TN") || LineReadable(&st.Catalog, &Line{Unit: "062"}, "NL") {
		t.Error("a successor reads its predecessors' lines, and only those")
	}
}
