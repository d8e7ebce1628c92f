package ledger

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// decideCase is one given/when/then rule: after the fixture catalog and the given
// commands, the command when either records an event of type wantType (and, if set,
// exactly wantData) or is refused with wantCode naming wantField.
type decideCase struct {
	name      string
	given     []Command
	when      Command
	wantType  EventType
	wantDate  Date
	wantData  *EventData
	wantCode  string
	wantField string
	// then, if set, checks the state after the accepted event was applied.
	then func(t *testing.T, st *State)
}

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := given(t, tc.given...)
			twin, _ := given(t, tc.given...)
			typ, date, data, err := decide(st, tc.when)
			if d := diffState(twin, st); len(d) > 0 {
				t.Errorf("Decide changed the state: %v", d)
			}
			if tc.wantCode != "" {
				if err == nil {
					t.Fatalf("accepted as %s %+v; want %s on %q", typ, data, tc.wantCode, tc.wantField)
				}
				if Code(err) != tc.wantCode || Field(err) != tc.wantField {
					t.Fatalf("error %q: code %q field %q; want code %q field %q", err, Code(err), Field(err), tc.wantCode, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("refused: %v (code %s, field %s)", err, Code(err), Field(err))
			}
			if typ != tc.wantType {
				t.Errorf("event type %q, want %q", typ, tc.wantType)
			}
			if tc.wantDate != 0 && date != tc.wantDate {
				t.Errorf("effective date %s, want %s", date, tc.wantDate)
			}
			if tc.wantData != nil && !reflect.DeepEqual(data, *tc.wantData) {
				t.Errorf("event data\n got %s\nwant %s", AppendCanonicalData(nil, &data), AppendCanonicalData(nil, tc.wantData))
			}
			if _, err := record(st, tc.when); err != nil {
				t.Fatalf("record after a successful Decide: %v", err)
			}
			if tc.then != nil {
				tc.then(t, st)
			}
		})
	}
}

func wantAvailable(l Line, want int64) func(*testing.T, *State) {
	return func(t *testing.T, st *State) {
		t.Helper()
		b := st.Line(l)
		if b == nil {
			t.Fatalf("line %s has no balance", l.ID())
		}
		if got := b.Available(); got != want {
			t.Errorf("line %s available %d, want %d (%+v)", l.ID(), got, want, *b)
		}
	}
}

// maxFunded returns n allocations of MaxAmount into l: 1023 of them put the line's
// allocated total 2^53 below the int64 limit.
func maxFunded(l Line, n int) []Command {
	cmds := make([]Command, n)
	for i := range cmds {
		cmds[i] = allocate(l, MaxAmount, day(2024, 1, 2))
	}
	return cmds
}

func TestDecideAllocate(t *testing.T) {
	l := ln("062", "DA1")
	mar := day(2024, 3, 1)
	runDecideCases(t, []decideCase{
		{name: "accepted", when: &Allocate{Line: l, Amount: 219_940_000_000, EffectiveDate: mar, Decision: "QĐ 12/QĐ-UBND", Note: "Ngân Sơn"},
			wantType: TypeAllocated, wantDate: mar,
			wantData: &EventData{Line: &l, Amount: 219_940_000_000, Decision: "QĐ 12/QĐ-UBND", Note: "Ngân Sơn"},
			then:     wantAvailable(l, 219_940_000_000)},
		{name: "amount MaxAmount", when: allocate(l, MaxAmount, mar), wantType: TypeAllocated},
		{name: "amount zero", when: allocate(l, 0, mar), wantCode: CodeInvalidArgument, wantField: "amount"},
		{name: "amount negative", when: allocate(l, -1, mar), wantCode: CodeInvalidArgument, wantField: "amount"},
		{name: "amount above MaxAmount", when: allocate(l, MaxAmount+1, mar), wantCode: CodeInvalidArgument, wantField: "amount"},
		{name: "no effective date", when: allocate(l, 1, 0), wantCode: CodeInvalidArgument, wantField: "effective_date"},
		{name: "no decision", when: &Allocate{Line: l, Amount: 1, EffectiveDate: mar}, wantCode: CodeInvalidArgument, wantField: "decision"},
		{name: "control character in note", when: &Allocate{Line: l, Amount: 1, EffectiveDate: mar, Decision: "QĐ", Note: "a\x00b"},
			wantCode: CodeInvalidArgument, wantField: "note"},
		{name: "plan year out of range", when: allocate(lnY(1989, srcInv, "DA1", "062"), 1, mar), wantCode: CodeInvalidArgument, wantField: "line.year"},
		{name: "colon in unit", when: allocate(ln("06:2", "DA1"), 1, mar), wantCode: CodeInvalidArgument, wantField: "line.unit"},
		{name: "unknown program", when: allocate(Line{Program: "NTM", Year: 2024, Source: srcInv, Project: "DA1", Unit: "062"}, 1, mar),
			wantCode: CodeUnknownReference, wantField: "line.program"},
		{name: "program not yet valid", when: allocate(l, 1, day(2020, 12, 31)), wantCode: CodeUnknownReference, wantField: "line.program"},
		{name: "unknown project", when: allocate(ln("062", "DA9"), 1, mar), wantCode: CodeUnknownReference, wantField: "line.project"},
		{name: "project ended", when: allocate(ln("062", "DA2"), 1, day(2023, 1, 1)), wantCode: CodeUnknownReference, wantField: "line.project"},
		{name: "project on its last day", when: allocate(lnY(2022, srcInv, "DA2", "062"), 1, day(2022, 12, 31)), wantType: TypeAllocated},
		{name: "unknown source", when: allocate(lnY(2024, "KHAC", "DA1", "062"), 1, mar), wantCode: CodeUnknownReference, wantField: "line.source"},
		{name: "source ended", when: allocate(lnY(2022, srcOld, "DA1", "062"), 1, day(2022, 1, 1)), wantCode: CodeUnknownReference, wantField: "line.source"},
		{name: "unknown unit", when: allocate(ln("063", "DA1"), 1, mar), wantCode: CodeUnknownReference, wantField: "line.unit"},
		{name: "unit valid_to before the date", when: allocate(lnY(2023, srcInv, "DA1", "OLD"), 1, day(2023, 1, 1)),
			wantCode: CodeUnitClosed, wantField: "line.unit"},
		{name: "unit valid_from after the date", when: allocate(lnY(2025, srcInv, "DA1", "NEW"), 1, day(2025, 6, 30)),
			wantCode: CodeUnknownReference, wantField: "line.unit"},
		{name: "unit on its first day", when: allocate(lnY(2025, srcInv, "DA1", "NEW"), 1, day(2025, 7, 1)), wantType: TypeAllocated},
		{name: "sub-project line", when: allocate(ln("01873", "DA3.TDA1"), 1, mar), wantType: TypeAllocated},
		{name: "last amount before overflow", given: maxFunded(l, 1022), when: allocate(l, MaxAmount, mar), wantType: TypeAllocated},
		{name: "allocated total overflows", given: maxFunded(l, 1023), when: allocate(l, MaxAmount, mar),
			wantCode: CodeInvalidArgument, wantField: "amount"},
	})
}

func TestDecideTransfer(t *testing.T) {
	prov, pn, ns := ln("06", "DA1"), ln("060", "DA1"), ln("062", "DA1")
	xl, pnDA3 := ln("01873", "DA1"), ln("060", "DA3")
	mar, may := day(2024, 3, 1), day(2024, 5, 10)
	funded := []Command{allocate(prov, 1000, mar), allocate(pn, 500, mar), allocate(ns, 300, mar), allocate(xl, 100, mar)}
	tr := func(from, to Line, amount int64, kind TransferKind) *Transfer {
		return &Transfer{From: from, To: to, Amount: amount, Kind: kind, EffectiveDate: may, Decision: "QĐ 5/QĐ-UBND"}
	}
	runDecideCases(t, []decideCase{
		{name: "sub-allocation province to district", given: funded, when: tr(prov, pn, 400, KindSuballocation), wantType: TypeTransferred,
			wantData: &EventData{From: &prov, To: &pn, Amount: 400, Kind: string(KindSuballocation), Decision: "QĐ 5/QĐ-UBND"},
			then: func(t *testing.T, st *State) {
				wantAvailable(prov, 600)(t, st)
				wantAvailable(pn, 900)(t, st)
			}},
		{name: "sub-allocation to a new line", given: funded, when: tr(pn, ln("01882", "DA1"), 120, KindSuballocation), wantType: TypeTransferred,
			then: wantAvailable(ln("01882", "DA1"), 120)},
		{name: "sub-allocation province to commune", given: funded, when: tr(prov, xl, 10, KindSuballocation), wantType: TypeTransferred},
		{name: "sub-allocation of everything available", given: funded, when: tr(pn, xl, 500, KindSuballocation), wantType: TypeTransferred,
			then: wantAvailable(pn, 0)},
		{name: "sub-allocation beyond available", given: funded, when: tr(pn, xl, 501, KindSuballocation),
			wantCode: CodeInsufficientFunds, wantField: "from"},
		{name: "sub-allocation from an empty line", given: funded, when: tr(ln("062", "DA3"), ln("062", "DA1"), 1, KindReallocation),
			wantCode: CodeInsufficientFunds, wantField: "from"},
		{name: "sub-allocation to a sibling", given: funded, when: tr(pn, ns, 1, KindSuballocation), wantCode: CodeInvalidArgument, wantField: "to.unit"},
		{name: "sub-allocation upwards", given: funded, when: tr(xl, pn, 1, KindSuballocation), wantCode: CodeInvalidArgument, wantField: "to.unit"},
		{name: "sub-allocation within the unit", given: funded, when: tr(pn, pnDA3, 1, KindSuballocation), wantCode: CodeInvalidArgument, wantField: "to.unit"},
		{name: "sub-allocation to another province's commune", given: funded, when: tr(prov, ln("07429", "DA1"), 1, KindSuballocation),
			wantCode: CodeInvalidArgument, wantField: "to.unit"},
		{name: "re-allocation between districts", given: funded, when: tr(pn, ns, 50, KindReallocation), wantType: TypeTransferred,
			then: wantAvailable(ns, 350)},
		{name: "re-allocation between projects of one unit", given: funded, when: tr(pn, pnDA3, 50, KindReallocation), wantType: TypeTransferred},
		{name: "re-allocation down a level", given: funded, when: tr(pn, xl, 1, KindReallocation), wantCode: CodeInvalidArgument, wantField: "to.unit"},
		{name: "re-allocation up a level", given: funded, when: tr(xl, pn, 1, KindReallocation), wantCode: CodeInvalidArgument, wantField: "to.unit"},
		{name: "unknown kind", given: funded, when: tr(pn, ns, 1, "gift"), wantCode: CodeInvalidArgument, wantField: "kind"},
		{name: "same line", given: funded, when: tr(pn, pn, 1, KindReallocation), wantCode: CodeInvalidArgument, wantField: "to"},
		{name: "other plan year", given: funded, when: tr(pn, lnY(2023, srcInv, "DA1", "062"), 1, KindReallocation),
			wantCode: CodeInvalidArgument, wantField: "to"},
		{name: "other source", given: funded, when: tr(pn, lnY(2024, srcRec, "DA1", "062"), 1, KindReallocation),
			wantCode: CodeInvalidArgument, wantField: "to"},
		{name: "amount zero", given: funded, when: tr(pn, ns, 0, KindReallocation), wantCode: CodeInvalidArgument, wantField: "amount"},
		{name: "unknown unit on to", given: funded, when: tr(pn, ln("063", "DA1"), 1, KindReallocation),
			wantCode: CodeUnknownReference, wantField: "to.unit"},
		{name: "to unit no longer valid", given: []Command{allocate(ln("06", "DA1"), 10, mar)},
			when: tr(prov, ln("OLD", "DA1"), 1, KindSuballocation), wantCode: CodeUnitClosed, wantField: "to.unit"},
		{name: "transferred-in total overflows",
			given: append(maxFunded(ns, 1023), allocate(pn, MaxAmount, mar)),
			when:  tr(pn, ns, MaxAmount, KindReallocation), wantCode: CodeInvalidArgument, wantField: "amount"},
		{name: "transferred-out capital cannot be disbursed",
			given: append(funded, tr(pn, xl, 460, KindSuballocation)),
			when:  pay(pn, 41, may, "T-1"), wantCode: CodeInsufficientFunds, wantField: "line"},
	})
}

func TestDecideCarryOver(t *testing.T) {
	l := lnY(2022, srcInv, "DA1", "062")
	funded := []Command{allocate(l, 100, day(2022, 3, 1)), pay(l, 30, day(2022, 9, 1), "C-1")}
	co := func(amount int64, into int, d Date) *CarryOver {
		return &CarryOver{Line: l, Amount: amount, IntoYear: into, EffectiveDate: d, Decision: "QĐ 2/QĐ-UBND"}
	}
	jan := day(2023, 1, 2)
	runDecideCases(t, []decideCase{
		{name: "all unspent capital", given: funded, when: co(70, 2023, jan), wantType: TypeCarriedOver,
			wantData: &EventData{Line: &l, Amount: 70, IntoYear: 2023, Decision: "QĐ 2/QĐ-UBND"},
			then: func(t *testing.T, st *State) {
				wantAvailable(l, 70)(t, st) // carried capital stays on its line
				if b := st.Line(l); b.CarriedOver() != 70 || b.Line.Year != 2022 {
					t.Errorf("carried %d on plan year %d, want 70 on 2022", b.CarriedOver(), b.Line.Year)
				}
			}},
		{name: "more than available", given: funded, when: co(71, 2023, jan), wantCode: CodeInsufficientFunds, wantField: "line"},
		{name: "line never funded", when: co(1, 2023, jan), wantCode: CodeInsufficientFunds, wantField: "line"},
		{name: "into its own plan year", given: funded, when: co(1, 2022, jan), wantCode: CodeInvalidArgument, wantField: "into_year"},
		{name: "into an earlier year", given: funded, when: co(1, 2021, jan), wantCode: CodeInvalidArgument, wantField: "into_year"},
		{name: "more than ten years ahead", given: funded, when: co(1, 2033, jan), wantCode: CodeInvalidArgument, wantField: "into_year"},
		{name: "amount zero", given: funded, when: co(0, 2023, jan), wantCode: CodeInvalidArgument, wantField: "amount"},
		{name: "no decision", given: funded, when: &CarryOver{Line: l, Amount: 1, IntoYear: 2023, EffectiveDate: jan},
			wantCode: CodeInvalidArgument, wantField: "decision"},
		{name: "unit no longer valid", given: []Command{allocate(lnY(2022, srcInv, "DA1", "OLD"), 5, day(2022, 3, 1))},
			when:     &CarryOver{Line: lnY(2022, srcInv, "DA1", "OLD"), Amount: 5, IntoYear: 2023, EffectiveDate: jan, Decision: "QĐ"},
			wantCode: CodeUnitClosed, wantField: "line.unit"},
	})
}

func TestDecideCancel(t *testing.T) {
	l := ln("062", "DA1")
	mar := day(2024, 3, 1)
	funded := []Command{allocate(l, 100, mar), pay(l, 30, mar, "X-1")}
	cancel := func(amount int64) *Cancel {
		return &Cancel{Line: l, Amount: amount, EffectiveDate: day(2024, 11, 1), Decision: "QĐ 9/QĐ-UBND", Note: "thu hồi"}
	}
	runDecideCases(t, []decideCase{
		{name: "what remains", given: funded, when: cancel(70), wantType: TypeCancelled,
			wantData: &EventData{Line: &l, Amount: 70, Decision: "QĐ 9/QĐ-UBND", Note: "thu hồi"}, then: wantAvailable(l, 0)},
		{name: "more than available", given: funded, when: cancel(71), wantCode: CodeInsufficientFunds, wantField: "line"},
		{name: "line never funded", when: cancel(1), wantCode: CodeInsufficientFunds, wantField: "line"},
		{name: "amount negative", given: funded, when: cancel(-70), wantCode: CodeInvalidArgument, wantField: "amount"},
		{name: "after a reversal", given: append(funded, &Reverse{EventID: ref(1), Amount: 30, EffectiveDate: mar, Reason: "sai đối tượng"}),
			when: cancel(100), wantType: TypeCancelled, then: wantAvailable(l, 0)},
		{name: "unknown project", when: &Cancel{Line: ln("062", "DA9"), Amount: 1, EffectiveDate: mar, Decision: "QĐ"},
			wantCode: CodeUnknownReference, wantField: "line.project"},
	})
}

func TestDecideDisburse(t *testing.T) {
	l := ln("062", "DA1")
	mar, apr := day(2024, 3, 1), day(2024, 4, 1)
	funded := []Command{allocate(l, 120_000_000, mar)}
	v := vch("0001", apr)
	runDecideCases(t, []decideCase{
		{name: "payment", given: funded, when: &Disburse{Line: l, Amount: 120_000_000, Kind: KindPayment, EffectiveDate: apr,
			Payee: "Hộ Nguyễn Văn A", Voucher: v, Note: "bò giống"}, wantType: TypeDisbursed, wantDate: apr,
			wantData: &EventData{Line: &l, Amount: 120_000_000, Kind: string(KindPayment), Payee: "Hộ Nguyễn Văn A", Voucher: &v, Note: "bò giống"},
			then:     wantAvailable(l, 0)},
		{name: "advance", given: funded, when: advance(l, 60_000_000, apr, "0001"), wantType: TypeDisbursed, then: wantAvailable(l, 60_000_000)},
		{name: "beyond available", given: funded, when: pay(l, 121_000_000, apr, "0001"), wantCode: CodeInsufficientFunds, wantField: "line"},
		{name: "beyond what remains", given: append(funded, pay(l, 100_000_000, apr, "0001")), when: pay(l, 20_000_001, apr, "0002"),
			wantCode: CodeInsufficientFunds, wantField: "line"},
		{name: "line never funded", when: pay(ln("060", "DA1"), 1, apr, "0001"), wantCode: CodeInsufficientFunds, wantField: "line"},
		{name: "reversed money can be paid again",
			given: append(funded, pay(l, 120_000_000, apr, "0001"), &Reverse{EventID: ref(1), Amount: 12_000_000, EffectiveDate: apr, Reason: "hộ không đủ điều kiện"}),
			when:  pay(l, 12_000_000, apr, "0002"), wantType: TypeDisbursed, then: wantAvailable(l, 0)},
		{name: "beyond the reversed amount",
			given: append(funded, pay(l, 120_000_000, apr, "0001"), &Reverse{EventID: ref(1), Amount: 12_000_000, EffectiveDate: apr, Reason: "sai"}),
			when:  pay(l, 12_000_001, apr, "0002"), wantCode: CodeInsufficientFunds, wantField: "line"},
		{name: "voucher accepted once", given: append(funded, pay(l, 1, apr, "0001")), when: pay(l, 1, apr, "0001"),
			wantCode: CodeInvalidArgument, wantField: "voucher"},
		{name: "voucher of a settlement", given: append(funded, advance(l, 10, apr, "0001"),
			&SettleAdvance{EventID: ref(1), Amount: 10, EffectiveDate: apr, Voucher: vch("0002", apr)}),
			when: pay(l, 1, apr, "0002"), wantCode: CodeInvalidArgument, wantField: "voucher"},
		{name: "same number on another date", given: append(funded, pay(l, 1, apr, "0001")), when: pay(l, 1, day(2024, 4, 2), "0001"),
			wantType: TypeDisbursed},
		{name: "same number at another office", given: append(funded, pay(l, 1, apr, "0001")),
			when: &Disburse{Line: l, Amount: 1, Kind: KindPayment, EffectiveDate: apr, Payee: "HTX",
				Voucher: Voucher{Office: "KBNN-PN", Type: "C2-02", Number: "0001", Date: apr}}, wantType: TypeDisbursed},
		{name: "unknown kind", given: funded, when: &Disburse{Line: l, Amount: 1, Kind: "loan", EffectiveDate: apr, Payee: "A", Voucher: v},
			wantCode: CodeInvalidArgument, wantField: "kind"},
		{name: "no payee", given: funded, when: &Disburse{Line: l, Amount: 1, Kind: KindPayment, EffectiveDate: apr, Voucher: v},
			wantCode: CodeInvalidArgument, wantField: "payee"},
		{name: "no voucher office", given: funded, when: &Disburse{Line: l, Amount: 1, Kind: KindPayment, EffectiveDate: apr, Payee: "A",
			Voucher: Voucher{Type: "C2-02", Number: "1", Date: apr}}, wantCode: CodeInvalidArgument, wantField: "voucher.office"},
		{name: "space in voucher number", given: funded, when: pay(l, 1, apr, "00 12"), wantCode: CodeInvalidArgument, wantField: "voucher.number"},
		{name: "no voucher date", given: funded, when: &Disburse{Line: l, Amount: 1, Kind: KindPayment, EffectiveDate: apr, Payee: "A",
			Voucher: Voucher{Office: "KB", Type: "C2-02", Number: "1"}}, wantCode: CodeInvalidArgument, wantField: "voucher.date"},
		{name: "amount above MaxAmount", given: funded, when: pay(l, MaxAmount+1, apr, "0001"), wantCode: CodeInvalidArgument, wantField: "amount"},
		{name: "unit valid_to before the date", given: []Command{allocate(lnY(2022, srcInv, "DA1", "OLD"), 10, day(2022, 6, 1))},
			when: pay(lnY(2022, srcInv, "DA1", "OLD"), 1, day(2023, 1, 1), "0001"), wantCode: CodeUnitClosed, wantField: "line.unit"},
		{name: "commune of a merged province", given: []Command{allocate(ln("07429", "DA3"), 10, day(2024, 3, 1))},
			when: pay(ln("07429", "DA3"), 1, day(2025, 7, 2), "0001"), wantCode: CodeUnitClosed, wantField: "line.unit"},
	})
}

func TestDecideSettleAdvance(t *testing.T) {
	l := lnY(2023, srcInv, "DA3", "07429")
	sep, dec := day(2023, 9, 15), day(2023, 12, 10)
	funded := []Command{allocate(l, 120_000_000, day(2023, 5, 10)), advance(l, 60_000_000, sep, "TU-1"), pay(l, 10_000_000, sep, "TT-1")}
	settle := func(id uuid.UUID, amount int64, d Date, voucher string) *SettleAdvance {
		return &SettleAdvance{EventID: id, Amount: amount, EffectiveDate: d, Voucher: vch(voucher, d), Note: "quyết toán"}
	}
	v := vch("TT-2", dec)
	runDecideCases(t, []decideCase{
		{name: "whole advance", given: funded, when: settle(ref(1), 60_000_000, dec, "TT-2"), wantType: TypeAdvanceSettled,
			wantData: &EventData{Line: &l, EventID: ref(1).String(), Amount: 60_000_000, Voucher: &v, Note: "quyết toán"},
			then: func(t *testing.T, st *State) {
				wantAvailable(l, 50_000_000)(t, st) // net disbursed is unchanged
				if b := st.Line(l); b.NetDisbursed() != 70_000_000 {
					t.Errorf("net disbursed %d, want 70000000", b.NetDisbursed())
				}
			}},
		{name: "part of the advance", given: funded, when: settle(ref(1), 1, dec, "TT-2"), wantType: TypeAdvanceSettled},
		{name: "beyond the advance", given: funded, when: settle(ref(1), 60_000_001, dec, "TT-2"), wantCode: CodeInsufficientFunds, wantField: "amount"},
		{name: "beyond what is still outstanding", given: append(funded, settle(ref(1), 50_000_000, dec, "TT-2")),
			when: settle(ref(1), 10_000_001, dec, "TT-3"), wantCode: CodeInsufficientFunds, wantField: "amount"},
		{name: "the rest after a partial settlement", given: append(funded, settle(ref(1), 50_000_000, dec, "TT-2")),
			when: settle(ref(1), 10_000_000, dec, "TT-3"), wantType: TypeAdvanceSettled},
		{name: "beyond what a reversal left", given: append(funded, &Reverse{EventID: ref(1), Amount: 20_000_000, EffectiveDate: dec, Reason: "nộp trả"}),
			when: settle(ref(1), 40_000_001, dec, "TT-2"), wantCode: CodeInsufficientFunds, wantField: "amount"},
		{name: "a payment is not an advance", given: funded, when: settle(ref(2), 1, dec, "TT-2"), wantCode: CodeInvalidArgument, wantField: "event_id"},
		{name: "an allocation is not a disbursement", given: funded, when: settle(ref(0), 1, dec, "TT-2"), wantCode: CodeUnknownReference, wantField: "event_id"},
		{name: "unknown event", given: funded, when: settle(uuid.MustParse("0190f7d2-0000-7000-8000-000000000001"), 1, dec, "TT-2"),
			wantCode: CodeUnknownReference, wantField: "event_id"},
		{name: "no event id", given: funded, when: settle(uuid.Nil, 1, dec, "TT-2"), wantCode: CodeInvalidArgument, wantField: "event_id"},
		{name: "before the advance", given: funded, when: settle(ref(1), 1, day(2023, 9, 14), "TT-2"), wantCode: CodeInvalidArgument, wantField: "effective_date"},
		{name: "voucher of the advance", given: funded, when: settle(ref(1), 1, sep, "TU-1"), wantCode: CodeInvalidArgument, wantField: "voucher"},
		{name: "amount zero", given: funded, when: settle(ref(1), 0, dec, "TT-2"), wantCode: CodeInvalidArgument, wantField: "amount"},
	})
}

func TestDecideReverse(t *testing.T) {
	l := lnY(2023, srcInv, "DA3", "07429")
	oct, dec := day(2023, 10, 20), day(2023, 12, 18)
	// ref(1) is a payment of 120,000,000; ref(2) an advance of 1.
	funded := []Command{allocate(l, 130_000_000, day(2023, 5, 10)), pay(l, 120_000_000, oct, "TT-1"), advance(l, 1, oct, "TU-1")}
	rev := func(id uuid.UUID, amount int64, d Date) *Reverse {
		return &Reverse{EventID: id, Amount: amount, EffectiveDate: d, Reason: "hộ không đủ điều kiện"}
	}
	runDecideCases(t, []decideCase{
		{name: "partial", given: funded, when: rev(ref(1), 12_000_000, dec), wantType: TypeReversed,
			wantData: &EventData{Line: &l, EventID: ref(1).String(), Amount: 12_000_000, Reason: "hộ không đủ điều kiện"},
			then: func(t *testing.T, st *State) {
				wantAvailable(l, 130_000_000-120_000_000-1+12_000_000)(t, st)
				if b := st.Line(l); b.NetDisbursed() != 108_000_001 {
					t.Errorf("net disbursed %d, want 108000001", b.NetDisbursed())
				}
			}},
		{name: "full", given: funded, when: rev(ref(1), 120_000_000, dec), wantType: TypeReversed},
		{name: "beyond the original", given: funded, when: rev(ref(1), 120_000_001, dec), wantCode: CodeInsufficientFunds, wantField: "amount"},
		{name: "beyond what remains", given: append(funded, rev(ref(1), 100_000_000, dec)), when: rev(ref(1), 20_000_001, dec),
			wantCode: CodeInsufficientFunds, wantField: "amount"},
		{name: "exactly what remains", given: append(funded, rev(ref(1), 100_000_000, dec)), when: rev(ref(1), 20_000_000, dec),
			wantType: TypeReversed},
		{name: "settled part of an advance", given: append(funded, &SettleAdvance{EventID: ref(2), Amount: 1, EffectiveDate: dec, Voucher: vch("TT-9", dec)}),
			when: rev(ref(2), 1, dec), wantType: TypeReversed},
		{name: "unsettled advance", given: funded, when: rev(ref(2), 1, dec), wantType: TypeReversed},
		{name: "before the disbursement", given: funded, when: rev(ref(1), 1, day(2023, 10, 19)), wantCode: CodeInvalidArgument, wantField: "effective_date"},
		{name: "no reason", given: funded, when: &Reverse{EventID: ref(1), Amount: 1, EffectiveDate: dec}, wantCode: CodeInvalidArgument, wantField: "reason"},
		{name: "an allocation", given: funded, when: rev(ref(0), 1, dec), wantCode: CodeUnknownReference, wantField: "event_id"},
		{name: "unknown event", given: funded, when: rev(uuid.MustParse("0190f7d2-0000-7000-8000-000000000002"), 1, dec),
			wantCode: CodeUnknownReference, wantField: "event_id"},
		{name: "amount zero", given: funded, when: rev(ref(1), 0, dec), wantCode: CodeInvalidArgument, wantField: "amount"},
	})
}

func TestDecideCatalog(t *testing.T) {
	from := Validity{ValidFrom: day(2021, 1, 1)}
	unit := func(id, code string, level Level, parent string) *RegisterUnit {
		return &RegisterUnit{Unit{ID: id, Code: code, Name: "Đơn vị " + code, Level: level, Parent: parent, Validity: from}}
	}
	ntm := &RegisterProgram{Program{Code: "NTM", Name: "Nông thôn mới", Validity: from}}
	runDecideCases(t, []decideCase{
		{name: "program", when: ntm, wantType: TypeProgramRegistered, wantDate: day(2021, 1, 1),
			wantData: &EventData{Program: &ntm.Program}},
		{name: "program registered twice", when: &RegisterProgram{Program{Code: "GNBV", Name: "x"}}, wantCode: CodeInvalidArgument, wantField: "code"},
		{name: "program code with a colon", when: &RegisterProgram{Program{Code: "G:N", Name: "x"}}, wantCode: CodeInvalidArgument, wantField: "code"},
		{name: "program without a name", when: &RegisterProgram{Program{Code: "NTM"}}, wantCode: CodeInvalidArgument, wantField: "name"},
		{name: "validity backwards", when: &RegisterProgram{Program{Code: "NTM", Name: "x", Validity: Validity{ValidFrom: day(2025, 1, 1), ValidTo: day(2024, 1, 1)}}},
			wantCode: CodeInvalidArgument, wantField: "valid_to"},
		{name: "project", when: &RegisterProject{Project{Program: "GNBV", Code: "DA4", Name: "Đào tạo nghề", Validity: from}}, wantType: TypeProjectRegistered},
		{name: "sub-project", when: &RegisterProject{Project{Program: "GNBV", Code: "DA3.TDA2", Name: "Dinh dưỡng", Parent: "DA3", Validity: from}},
			wantType: TypeProjectRegistered},
		{name: "project registered twice", when: &RegisterProject{Project{Program: "GNBV", Code: "DA1", Name: "x"}}, wantCode: CodeInvalidArgument, wantField: "code"},
		{name: "same project code in another program", given: []Command{ntm},
			when: &RegisterProject{Project{Program: "NTM", Code: "DA1", Name: "x"}}, wantType: TypeProjectRegistered},
		{name: "project of an unknown program", when: &RegisterProject{Project{Program: "NTM", Code: "DA1", Name: "x"}},
			wantCode: CodeUnknownReference, wantField: "program"},
		{name: "project with an unknown parent", when: &RegisterProject{Project{Program: "GNBV", Code: "DA8.TDA1", Name: "x", Parent: "DA8"}},
			wantCode: CodeUnknownReference, wantField: "parent"},
		{name: "source", when: &RegisterSource{Source{Code: "KHAC", Name: "Nguồn khác", Budget: BudgetOther, Nature: NatureRecurrent}},
			wantType: TypeSourceRegistered},
		{name: "source registered twice", when: &RegisterSource{Source{Code: srcInv, Name: "x", Budget: BudgetCentral, Nature: NatureInvestment}},
			wantCode: CodeInvalidArgument, wantField: "code"},
		{name: "source budget", when: &RegisterSource{Source{Code: "KHAC", Name: "x", Budget: "foreign", Nature: NatureInvestment}},
			wantCode: CodeInvalidArgument, wantField: "budget"},
		{name: "source nature", when: &RegisterSource{Source{Code: "KHAC", Name: "x", Budget: BudgetOther, Nature: "loan"}},
			wantCode: CodeInvalidArgument, wantField: "nature"},
		{name: "province", when: unit("11", "11", LevelProvince, ""), wantType: TypeUnitRegistered},
		{name: "district under a province", when: unit("061", "061", LevelDistrict, "06"), wantType: TypeUnitRegistered},
		{name: "commune under a district", when: unit("01876", "01876", LevelCommune, "060"), wantType: TypeUnitRegistered},
		{name: "unit id defaults to its code", when: &RegisterUnit{Unit{Code: "061", Name: "Ba Bể", Level: LevelDistrict, Parent: "06"}},
			wantType: TypeUnitRegistered, then: func(t *testing.T, st *State) {
				if u := st.Catalog.Units["061"]; u == nil || u.Code != "061" {
					t.Errorf("unit 061 not registered under its code: %+v", st.Catalog.Units)
				}
			}},
		{name: "reused GSO code under a new id", when: &RegisterUnit{Unit{ID: "24-2025", Code: "24", Name: "Bắc Ninh", Level: LevelProvince,
			Validity: Validity{ValidFrom: day(2025, 7, 1)}}}, wantType: TypeUnitRegistered},
		{name: "unit id registered twice", when: unit("060", "060", LevelDistrict, "06"), wantCode: CodeInvalidArgument, wantField: "id"},
		{name: "province with a parent", when: unit("11", "11", LevelProvince, "06"), wantCode: CodeInvalidArgument, wantField: "parent"},
		{name: "district without a parent", when: unit("061", "061", LevelDistrict, ""), wantCode: CodeInvalidArgument, wantField: "parent"},
		{name: "district under a district", when: unit("061", "061", LevelDistrict, "060"), wantCode: CodeInvalidArgument, wantField: "parent"},
		{name: "commune under a province", when: unit("01876", "01876", LevelCommune, "06"), wantCode: CodeInvalidArgument, wantField: "parent"},
		{name: "commune under a commune", when: unit("01876", "01876", LevelCommune, "01873"), wantCode: CodeInvalidArgument, wantField: "parent"},
		{name: "unknown parent", when: unit("061", "061", LevelDistrict, "99"), wantCode: CodeUnknownReference, wantField: "parent"},
		{name: "unknown level", when: unit("x1", "x1", "village", "060"), wantCode: CodeInvalidArgument, wantField: "level"},
		{name: "unit without a name", when: &RegisterUnit{Unit{ID: "11", Code: "11", Level: LevelProvince}}, wantCode: CodeInvalidArgument, wantField: "name"},
	})
}

// TestGrossSumsDoNotOverflow checks docs/domain.md, rule 1 ("sums are overflow-checked") on
// the gross sums that are not bounded by the line's plan: the same capital may be
// carried over again and again, and paid, reversed and paid again. Each such command
// must either be recorded with sums that still hold, or be refused as invalid_argument
// on "amount"; a sum must never wrap to a negative number.
func TestGrossSumsDoNotOverflow(t *testing.T) {
	const cycles = 1030 // 1024 × MaxAmount is 2^63: one more wraps an int64
	t.Run("carried over twice into one year", func(t *testing.T) {
		// The same capital carried into the same year twice would be counted twice in
		// the execution-year report; this rule also bounds CarriedOver.
		l := lnY(2023, srcInv, "DA1", "062")
		st, _ := given(t, allocate(l, MaxAmount, day(2023, 1, 2)))
		co := &CarryOver{Line: l, Amount: MaxAmount, IntoYear: 2024, EffectiveDate: day(2024, 1, 2), Decision: "QĐ"}
		if _, err := record(st, co); err != nil {
			t.Fatal(err)
		}
		if _, err := record(st, co); Code(err) != CodeInsufficientFunds || Field(err) != "line" {
			t.Fatalf("second carry-over into 2024: %v; want insufficient_funds on line", err)
		}
		co.IntoYear = 2025
		if _, err := record(st, co); err != nil {
			t.Fatalf("carry-over into another year: %v", err)
		}
	})
	t.Run("disbursed", func(t *testing.T) {
		l := ln("062", "DA1")
		st, _ := given(t, allocate(l, MaxAmount, day(2024, 1, 2)))
		d := day(2024, 2, 1)
		for i := range cycles {
			e, err := record(st, pay(l, MaxAmount, d, fmt.Sprintf("P-%d", i)))
			if err == nil {
				_, err = record(st, &Reverse{EventID: e.ID, Amount: MaxAmount, EffectiveDate: d, Reason: "nộp trả"})
			}
			if err != nil {
				if Code(err) != CodeInvalidArgument || Field(err) != "amount" {
					t.Fatalf("cycle %d refused with %v; want invalid_argument on amount", i, err)
				}
				return
			}
			if b := st.Line(l); b.Disbursed() < 0 || b.Reversed() < 0 {
				t.Fatalf("cycle %d accepted and the gross sums wrapped: disbursed %d, reversed %d", i, b.Disbursed(), b.Reversed())
			}
		}
	})
}

// TestRevertRestoresState is the property the sequencer relies on when a batch does not
// commit: applying any accepted events and reverting them newest first restores the
// state exactly.
func TestRevertRestoresState(t *testing.T) {
	const (
		seeds  = 40
		events = 80
	)
	seen := map[EventType]int{}
	for seed := uint64(1); seed <= seeds; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		st, base := given(t)
		tail := randomAccepted(t, rng, st, events)
		for _, e := range tail {
			seen[e.Type]++
		}
		all := append(base, tail...)
		k := len(base) + rng.IntN(len(tail)+1)

		want := &State{}
		for _, e := range all[:k] {
			want.Apply(e)
		}
		for j := len(all) - 1; j >= k; j-- {
			st.Revert(all[j], all[j-1].RecordedAt)
		}
		diffs := diffState(want, st)
		if len(diffs) > 0 {
			t.Fatalf("seed %d: reverting %d of %d events left the state different:\n%v", seed, len(all)-k, len(all), diffs)
		}
	}
	for _, typ := range EventTypes {
		if seen[typ] == 0 {
			t.Errorf("the random commands never recorded a %s event; the property does not cover it", typ)
		}
	}
}

// randomAccepted records n random commands that the state accepts, touching every
// command type, and returns their events.
func randomAccepted(t *testing.T, rng *rand.Rand, st *State, n int) []*Event {
	t.Helper()
	lines := []Line{ln("06", "DA1"), ln("060", "DA1"), ln("062", "DA1"), ln("01873", "DA1"), ln("01882", "DA1"),
		ln("060", "DA3"), ln("01873", "DA3.TDA1"), lnY(2023, srcInv, "DA1", "062"), lnY(2023, srcInv, "DA1", "060")}
	pick := func() Line { return lines[rng.IntN(len(lines))] }
	date := func() Date { return day(2024+rng.IntN(3), time.Month(1+rng.IntN(12)), 1+rng.IntN(28)) }
	amount := func(l Line) int64 {
		if b := st.Line(l); b != nil && b.Available() > 0 {
			return 1 + rng.Int64N(b.Available())
		}
		return 1 + rng.Int64N(1000)
	}
	var out []*Event
	var paid []uuid.UUID
	var communes []string
	var contracts []uuid.UUID
	serial := 0
	for attempts := 0; len(out) < n; attempts++ {
		if attempts > 100*n {
			t.Fatalf("only %d of %d random commands accepted", len(out), n)
		}
		serial++
		var c Command
		switch rng.IntN(18) {
		case 14:
			l := pick()
			c = &SignContract{Line: l, Number: fmt.Sprintf("HĐ %d", serial), Contractor: "Công ty", Value: amount(l),
				SignedOn: day(2024, 1, 1), Document: "HĐ"}
		case 15:
			if len(contracts) == 0 || rng.IntN(2) == 0 {
				c = &SetAdvanceLimit{ShareBP: 1 + rng.Int64N(BasisPointsMax), Nature: NatureInvestment, ValidFrom: date(), LegalBasis: "NĐ 99"}
				break
			}
			c = &AmendContract{Contract: contracts[rng.IntN(len(contracts))], Value: 1 + rng.Int64N(1_000_000),
				EffectiveDate: day(2024, 12, 31), Reason: "phụ lục"}
		case 16:
			if rng.IntN(8) == 0 {
				c = &RecordReconciliation{Reconciliation: Reconciliation{Office: "KB", From: day(2024, 1, 1), To: day(2024, 1, 31),
					FileSHA256: strings.Repeat("ab", 32), Matched: rng.IntN(5), LedgerPosition: st.Head}}
				break
			}
			if len(contracts) == 0 {
				continue
			}
			id := contracts[rng.IntN(len(contracts))]
			k, _ := st.Contract(id)
			d := date()
			c = &Disburse{Line: k.Line, Amount: 1 + rng.Int64N(max(1, k.Value/2)), Kind: []DisbursementKind{KindAdvance, KindPayment}[rng.IntN(2)],
				EffectiveDate: d, Payee: "Công ty", Voucher: vch(fmt.Sprintf("K%d", serial), d), Contract: id}
		case 0, 1:
			c = allocate(pick(), 1+rng.Int64N(1_000_000), date())
		case 2:
			from, to := pick(), pick()
			kind := KindReallocation
			if st.Catalog.IsUnitWithin(to.Unit, from.Unit) && to.Unit != from.Unit {
				kind = KindSuballocation
			}
			c = &Transfer{From: from, To: to, Amount: amount(from), Kind: kind, EffectiveDate: date(), Decision: "QĐ"}
		case 3:
			l := pick()
			c = &CarryOver{Line: l, Amount: amount(l), IntoYear: l.Year + 1, EffectiveDate: date(), Decision: "QĐ"}
		case 4:
			l := pick()
			c = &Cancel{Line: l, Amount: amount(l), EffectiveDate: date(), Decision: "QĐ"}
		case 5, 6:
			l := pick()
			d := date()
			c = &Disburse{Line: l, Amount: amount(l), Kind: []DisbursementKind{KindAdvance, KindPayment}[rng.IntN(2)], EffectiveDate: d,
				Payee: "HTX", Voucher: vch(fmt.Sprintf("V%d", serial), d)}
		case 7, 8:
			if len(paid) == 0 {
				continue
			}
			id := paid[rng.IntN(len(paid))]
			amt := 1 + rng.Int64N(1000)
			if rng.IntN(2) == 0 {
				c = &Reverse{EventID: id, Amount: amt, EffectiveDate: day(2024, 12, 31), Reason: "sai"}
			} else {
				c = &SettleAdvance{EventID: id, Amount: amt, EffectiveDate: day(2024, 12, 31), Voucher: vch(fmt.Sprintf("S%d", serial), day(2024, 12, 31))}
			}
		case 9:
			id := fmt.Sprintf("C%d", serial)
			c = &RegisterUnit{Unit{ID: id, Code: id, Name: "Xã " + id, Level: LevelCommune, Parent: "062"}}
			lines = append(lines, ln(id, "DA1"))
		case 10:
			switch rng.IntN(3) {
			case 0:
				c = &RegisterProgram{Program{Code: fmt.Sprintf("P%d", serial), Name: "Chương trình", Validity: Validity{ValidFrom: date()}}}
			case 1:
				c = &RegisterProject{Project{Program: "GNBV", Code: fmt.Sprintf("DA1.T%d", serial), Name: "Tiểu dự án", Parent: "DA1"}}
			default:
				c = &RegisterSource{Source{Code: fmt.Sprintf("S%d", serial), Name: "Nguồn", Budget: BudgetLocal, Nature: NatureRecurrent, Counterpart: true}}
			}
		case 11:
			tok := TokenRecord{ID: uuid.NewSHA1(uuid.Nil, []byte{byte(serial % 3)}).String(), Name: "Kế toán", Role: "officer",
				Unit: "062", ExpiresAt: "2025-01-01T00:00:00Z"}
			if rng.IntN(2) == 0 {
				c = &RecordTokenCreated{Token: tok, EffectiveDate: date()}
			} else {
				c = &RecordTokenRevoked{Token: tok, EffectiveDate: date()}
			}
		case 13:
			// A reorganisation merging one registered commune into another.
			if len(communes) < 2 {
				continue
			}
			p, s := communes[rng.IntN(len(communes))], communes[rng.IntN(len(communes))]
			c = &Reorganize{EffectiveDate: date(), Reorganization: Reorganization{LegalBasis: "NQ",
				Changes: []UnitChange{{Kind: ChangeMerge, Predecessors: []string{p}, Successors: []string{s}}}}}
		case 12:
			// A handover along a recorded succession.
			var from []Line
			for _, l := range lines {
				if len(st.Catalog.Successors(l.Unit)) > 0 {
					from = append(from, l)
				}
			}
			if len(from) == 0 {
				continue
			}
			l := from[rng.IntN(len(from))]
			ss := st.Catalog.Successors(l.Unit)
			link := ss[rng.IntN(len(ss))]
			to := l
			to.Unit = link.To
			c = &Transfer{From: l, To: to, Amount: amount(l), Kind: KindHandover, EffectiveDate: link.Date, Decision: "QĐ"}
		case 17:
			until := day(2025+rng.IntN(2), time.Month(1+rng.IntN(12)), 1+rng.IntN(28))
			switch rng.IntN(3) {
			case 0:
				c = &SetTarget{Unit: []string{"", "06", "060"}[rng.IntN(3)], Program: "GNBV", Year: 2024, RateBP: 1 + rng.Int64N(TargetRateMax),
					By: until, Document: "NQ HĐND", EffectiveDate: date()}
			case 1:
				c = &SetDeadline{Program: "GNBV", Year: 2024, Unit: []string{"", "06", "060"}[rng.IntN(3)], Until: until,
					LegalBasis: "Luật 58/2024/QH15", EffectiveDate: date()}
			default:
				l := pick()
				c = &ExtendDeadline{Line: l, Until: until, LegalBasis: "QĐ gia hạn", EffectiveDate: date()}
			}
		}
		e, err := record(st, c)
		if err != nil {
			continue
		}
		if e.Type == TypeUnitRegistered && e.Data.Unit.Level == LevelCommune {
			communes = append(communes, e.Data.Unit.ID)
		}
		if e.Type == TypeDisbursed {
			paid = append(paid, e.ID)
		}
		if e.Type == TypeContractSigned {
			contracts = append(contracts, e.ID)
		}
		out = append(out, e)
	}
	return out
}
