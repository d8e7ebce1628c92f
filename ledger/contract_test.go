package ledger

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestContractRules checks rule 10 (docs/domain.md §4) on scenario C4's figures: the
// contract within the plan, the advance within 30 % of the contract, the refusals with
// their codes, and a disbursement within its contract's value.
func TestContractRules(t *testing.T) {
	l := lnY(2026, srcInv, "DA1", "06")
	st, _ := given(t, allocate(l, 8_000_000_000, day(2026, 2, 1)),
		&SetAdvanceLimit{ShareBP: 3000, Nature: NatureInvestment, ValidFrom: day(2026, 1, 15), LegalBasis: "NĐ 99/2021/NĐ-CP Đ.10"})
	sign := func(number string, value int64, d Date) (*Event, error) {
		return record(st, &SignContract{Line: l, Number: number, Contractor: "Công ty", Value: value, SignedOn: d, Document: "HĐ " + number})
	}
	k, err := sign("01/2026/HĐXD", 5_000_000_000, day(2026, 2, 15))
	if err != nil {
		t.Fatal(err)
	}
	adv := advance(l, 1_500_000_000, day(2026, 2, 20), "000123")
	adv.Contract = k.ID
	a, err := record(st, adv)
	if err != nil {
		t.Fatalf("advance of 30 %%: %v", err)
	}
	over := advance(l, 100_000_000, day(2026, 2, 25), "000130")
	over.Contract = k.ID
	if _, err := record(st, over); Code(err) != CodeAdvanceLimit || Field(err) != "amount" {
		t.Fatalf("advance above 30 %%: %v; want advance_limit on amount", err)
	} else {
		t.Log(err)
	}
	// Without the contract, the same advance is only held to the line's available.
	over.Contract = uuid.Nil
	over.Voucher.Number = "000131"
	if _, err := record(st, over); err != nil {
		t.Fatalf("advance naming no contract: %v", err)
	}
	p := pay(l, 2_000_000_000, day(2026, 4, 10), "000245")
	p.Contract = k.ID
	if _, err := record(st, p); err != nil {
		t.Fatal(err)
	}
	if _, err := record(st, &SettleAdvance{EventID: a.ID, Amount: 1_000_000_000, EffectiveDate: day(2026, 4, 10), Voucher: vch("000246", day(2026, 4, 10))}); err != nil {
		t.Fatal(err)
	}
	if _, err := sign("02/2026/HĐXD", 4_000_000_000, day(2026, 5, 20)); Code(err) != CodeContractExceeded || Field(err) != "value" {
		t.Fatalf("second contract above the plan: %v; want contract_exceeded on value", err)
	}
	if _, err := sign("01/2026/HĐXD", 1, day(2026, 5, 20)); Code(err) != CodeInvalidArgument || Field(err) != "number" {
		t.Fatalf("contract number twice on a line: %v; want invalid_argument on number", err)
	}
	f, _ := st.Contract(k.ID)
	if f.Value != 5_000_000_000 || f.Disbursed != 3_500_000_000 || f.Outstanding != 500_000_000 {
		t.Errorf("contract figures %+v; want value 5.00 bn, disbursed 3.50 bn, outstanding 0.50 bn", f)
	}
	if got := st.Line(l).Measure(MeasureCommitted); got != 5_000_000_000 {
		t.Errorf("committed %d; want 5,000,000,000", got)
	}
	// A payment beyond the contract's value; a cancellation below the committed capital;
	// an amendment below what was disbursed or that leaves the advances above the limit.
	big := pay(l, 1_600_000_000, day(2026, 5, 1), "000300")
	big.Contract = k.ID
	if _, err := record(st, big); Code(err) != CodeContractExceeded {
		t.Errorf("payment beyond the contract: %v; want contract_exceeded", err)
	}
	if _, err := record(st, &Cancel{Line: l, Amount: 3_100_000_000, EffectiveDate: day(2026, 5, 1), Decision: "QĐ"}); Code(err) != CodeContractExceeded {
		t.Errorf("cancellation below the committed capital: %v; want contract_exceeded", err)
	}
	amend := &AmendContract{Contract: k.ID, Value: 3_400_000_000, EffectiveDate: day(2026, 5, 1), Reason: "giảm khối lượng"}
	if _, err := record(st, amend); Code(err) != CodeContractExceeded {
		t.Errorf("amendment below the disbursed: %v; want contract_exceeded", err)
	}
	amend.Value = 3_600_000_000 // 30 % is 1.08 bn, above the 0.50 bn outstanding
	e, err := record(st, amend)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Line(l).Measure(MeasureCommitted); got != 3_600_000_000 || e.Data.PreviousValue != 5_000_000_000 {
		t.Errorf("after the amendment: committed %d, previous value %d", got, e.Data.PreviousValue)
	}
	if _, err := record(st, &AmendContract{Contract: uuid.New(), Value: 1, EffectiveDate: day(2026, 5, 1), Reason: "x"}); Code(err) != CodeUnknownReference {
		t.Errorf("amendment of no contract: %v; want unknown_reference", err)
	}
}

// TestAdvanceLimitInForce checks which limit applies: the latest in force on the
// advance's date, the most specific scope first.
func TestAdvanceLimitInForce(t *testing.T) {
	l := lnY(2026, srcInv, "DA1", "06")
	st, _ := given(t,
		&SetAdvanceLimit{ShareBP: 3000, ValidFrom: day(2026, 1, 1), LegalBasis: "a"},
		&SetAdvanceLimit{ShareBP: 2000, Nature: NatureInvestment, ValidFrom: day(2026, 3, 1), LegalBasis: "b"},
		&SetAdvanceLimit{ShareBP: 1000, Nature: NatureRecurrent, ValidFrom: day(2026, 1, 1), LegalBasis: "c"},
		&SetAdvanceLimit{ShareBP: 4000, Program: "GNBV", Nature: NatureInvestment, ValidFrom: day(2026, 6, 1), LegalBasis: "d"},
		&SetAdvanceLimit{ShareBP: 5000, Program: "GNBV", Nature: NatureInvestment, ValidFrom: day(2026, 7, 1), LegalBasis: "e"},
	)
	for _, tc := range []struct {
		d    Date
		want int64
	}{{day(2025, 12, 31), 0}, {day(2026, 2, 1), 3000}, {day(2026, 3, 1), 2000}, {day(2026, 6, 15), 4000}, {day(2026, 8, 1), 5000}} {
		bp, _, ok := st.AdvanceLimitOn(l, tc.d)
		if !ok {
			bp = 0
		}
		if bp != tc.want {
			t.Errorf("limit on %s: %d bp; want %d", tc.d, bp, tc.want)
		}
	}
	for _, c := range []*SetAdvanceLimit{{ShareBP: 0, ValidFrom: day(2026, 1, 1), LegalBasis: "x"},
		{ShareBP: 10_001, ValidFrom: day(2026, 1, 1), LegalBasis: "x"}} {
		if err := c.Validate(); Code(err) != CodeInvalidArgument || Field(err) != "share_bp" {
			t.Errorf("share %d: %v; want invalid_argument on share_bp", c.ShareBP, err)
		}
	}
	if _, err := record(st, &SetAdvanceLimit{ShareBP: 3000, Program: "NOPE", ValidFrom: day(2026, 1, 1), LegalBasis: "x"}); Code(err) != CodeUnknownReference {
		t.Errorf("limit of an unknown program: %v; want unknown_reference", err)
	}
}

// TestContractProperty records random histories of contracts, amendments, advances and
// payments naming them, settlements and reversals, and limits, and checks after every
// accepted event that the committed capital of every line and the disbursed and
// outstanding figures of every contract equal a naive recomputation from the events,
// that no line's contracts exceed its plan, no contract's net disbursed its value, and
// that an advance never leaves its contract above the limit in force on its date.
func TestContractProperty(t *testing.T) {
	const (
		seeds  = 30
		events = 150
	)
	seen := map[EventType]int{}
	for seed := uint64(1); seed <= seeds; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0xc0de))
		st, _ := given(t)
		lines := []Line{lnY(2026, srcInv, "DA1", "06"), lnY(2026, srcInv, "DA1", "062"), lnY(2026, srcRec, "DA1", "060")}
		var log []*Event
		var contracts, disbursed []uuid.UUID
		serial := 0
		d := func() Date { return day(2026, time.Month(2+rng.IntN(10)), 1+rng.IntN(28)) }
		for accepted := 0; accepted < events; {
			serial++
			if serial > 50*events {
				t.Fatalf("seed %d: only %d commands accepted", seed, accepted)
			}
			l := lines[rng.IntN(len(lines))]
			amt := 1 + rng.Int64N(2_000_000)
			var c Command
			switch rng.IntN(9) {
			case 0:
				c = allocate(l, amt*3, day(2026, 1, 2))
			case 1:
				c = &SignContract{Line: l, Number: fmt.Sprint("HĐ", serial), Contractor: "X", Value: amt, SignedOn: day(2026, 1, 10), Document: "HĐ"}
			case 2:
				if len(contracts) == 0 {
					continue
				}
				c = &AmendContract{Contract: contracts[rng.IntN(len(contracts))], Value: amt, EffectiveDate: day(2026, 12, 1), Reason: "PL"}
			case 3, 4:
				var k uuid.UUID
				if len(contracts) > 0 && rng.IntN(4) > 0 {
					k = contracts[rng.IntN(len(contracts))]
					f, _ := st.Contract(k)
					l = f.Line
					amt = 1 + rng.Int64N(max(1, f.Value/3))
				}
				dd := d()
				kind := []DisbursementKind{KindAdvance, KindPayment}[rng.IntN(2)]
				c = &Disburse{Line: l, Amount: amt, Kind: kind, EffectiveDate: dd, Payee: "X", Voucher: vch(fmt.Sprint("V", serial), dd), Contract: k}
			case 5:
				if len(disbursed) == 0 {
					continue
				}
				c = &SettleAdvance{EventID: disbursed[rng.IntN(len(disbursed))], Amount: 1 + rng.Int64N(300_000), EffectiveDate: day(2026, 12, 31),
					Voucher: vch(fmt.Sprint("S", serial), day(2026, 12, 31))}
			case 6:
				if len(disbursed) == 0 {
					continue
				}
				c = &Reverse{EventID: disbursed[rng.IntN(len(disbursed))], Amount: 1 + rng.Int64N(300_000), EffectiveDate: day(2026, 12, 31), Reason: "sai"}
			case 7:
				c = &SetAdvanceLimit{ShareBP: 500 + rng.Int64N(4000), Nature: []string{"", NatureInvestment}[rng.IntN(2)], ValidFrom: d(), LegalBasis: "NĐ"}
			case 8:
				c = &Cancel{Line: l, Amount: amt, EffectiveDate: day(2026, 12, 1), Decision: "QĐ"}
			}
			e, err := record(st, c)
			if err != nil {
				continue
			}
			accepted++
			seen[e.Type]++
			log = append(log, e)
			switch e.Type {
			case TypeContractSigned:
				contracts = append(contracts, e.ID)
			case TypeDisbursed:
				disbursed = append(disbursed, e.ID)
			}
			checkContractsNaively(t, seed, st, log, lines)
		}
	}
	for _, typ := range []EventType{TypeContractSigned, TypeContractAmended, TypeAdvanceLimitSet, TypeAdvanceSettled, TypeReversed} {
		if seen[typ] == 0 {
			t.Errorf("the random histories never recorded a %s event", typ)
		}
	}
}

// checkContractsNaively recomputes every figure from the log alone.
func checkContractsNaively(t *testing.T, seed uint64, st *State, log []*Event, lines []Line) {
	t.Helper()
	type naive struct {
		line             Line
		value, disb, out int64
	}
	ks := map[string]*naive{}
	byDisb := map[string]*naive{}
	advOut := map[string]int64{}
	committed := map[Line]int64{}
	last := log[len(log)-1]
	for _, e := range log {
		d := &e.Data
		switch e.Type {
		case TypeContractSigned:
			ks[e.ID.String()] = &naive{line: *d.Line, value: d.Amount}
		case TypeContractAmended:
			ks[d.Contract].value = d.Amount
		case TypeDisbursed:
			if d.IsAdvance() {
				advOut[e.ID.String()] = d.Amount
			}
			if k := ks[d.Contract]; k != nil {
				byDisb[e.ID.String()] = k
				k.disb += d.Amount
			}
		case TypeAdvanceSettled:
			advOut[d.EventID] -= d.Amount
		case TypeReversed:
			before := advOut[d.EventID]
			advOut[d.EventID] = max(0, before-d.Amount)
			if k := byDisb[d.EventID]; k != nil {
				k.disb -= d.Amount
			}
		}
	}
	for id, out := range advOut {
		if k := byDisb[id]; k != nil {
			k.out += out
		}
	}
	for id, k := range ks {
		committed[k.line] += k.value
		f, ok := st.Contract(uuid.MustParse(id))
		if !ok || f.Value != k.value || f.Disbursed != k.disb || f.Outstanding != k.out {
			t.Fatalf("seed %d at %d: contract %s is %+v; naive value %d disbursed %d outstanding %d", seed, last.Position, id, f, k.value, k.disb, k.out)
		}
		if f.Disbursed > f.Value {
			t.Fatalf("seed %d: contract %s disbursed %d above its value %d", seed, id, f.Disbursed, f.Value)
		}
	}
	for _, l := range lines {
		b := st.Line(l)
		if got := committedOn(b); got != committed[l] {
			t.Fatalf("seed %d at %d: line %s committed %d; naive %d", seed, last.Position, l.ID(), got, committed[l])
		}
		if b != nil && committed[l] > b.Plan() {
			t.Fatalf("seed %d: line %s committed %d above its plan %d", seed, l.ID(), committed[l], b.Plan())
		}
	}
	if last.Type == TypeDisbursed && last.Data.IsAdvance() && last.Data.Contract != "" {
		k := ks[last.Data.Contract]
		if bp, _, ok := st.AdvanceLimitOn(k.line, last.EffectiveDate); ok && k.out > shareOf(k.value, bp) {
			t.Fatalf("seed %d: advance %s leaves contract %s at %d outstanding, above %d bp of %d", seed, last.ID, last.Data.Contract, k.out, bp, k.value)
		}
	}
}
