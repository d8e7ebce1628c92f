package pgstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
)

// postingRow is one row of the SQL view postings, or one Go posting in the same terms.
type postingRow struct {
	position            int64
	kind, line, measure string
	measureDelta, delta int64
}

func (r postingRow) String() string {
	return fmt.Sprintf("%d %s %s %s %+d (available %+d)", r.position, r.kind, r.line, r.measure, r.measureDelta, r.delta)
}

// TestPostingsViewMatchesGo holds the SQL view postings equal to ledger.Event.Postings,
// row for row, on the demo and on random histories that use every event type and every
// flow.
func TestPostingsViewMatchesGo(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := testContext(t)
	w := acquire(t, s)
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()
	if err := demo.Load(ctx, seq.Submit); err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 3; seed++ {
		randomMoney(t, ctx, seq, rand.New(rand.NewPCG(seed, 11)), fmt.Sprint("s", seed), 150)
	}
	stop()
	<-done

	var want []postingRow
	types := map[ledger.EventType]bool{}
	flows := map[ledger.Flow]bool{}
	var buf [ledger.PostingsMax]ledger.Posting
	if err := s.ReadFrom(ctx, 0, func(e *ledger.Event) error {
		types[e.Type] = true
		for _, p := range e.Postings(buf[:0]) {
			flows[p.Flow] = true
			want = append(want, postingRow{e.Position, p.Flow.String(), p.Line.ID(), p.Measure().String(), p.Delta(), p.AvailableDelta()})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, typ := range ledger.EventTypes {
		if !types[typ] {
			t.Errorf("the histories have no %s event: the test does not cover it", typ)
		}
	}
	for f := ledger.Flow(1); int(f) < ledger.FlowCount; f++ {
		if !flows[f] {
			t.Errorf("the histories make no %s posting: the test does not cover it", f)
		}
	}

	rows, err := s.Pool().Query(ctx, `SELECT position, kind, line, measure, measure_delta, delta FROM postings`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (postingRow, error) {
		var p postingRow
		return p, r.Scan(&p.position, &p.kind, &p.line, &p.measure, &p.measureDelta, &p.delta)
	})
	if err != nil {
		t.Fatal(err)
	}
	order := func(a, b postingRow) int { return strings.Compare(a.String(), b.String()) }
	slices.SortFunc(want, order)
	slices.SortFunc(got, order)
	if len(got) != len(want) {
		t.Errorf("the view has %d rows, Go %d postings", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("first difference at row %d:\n view %s\n   Go %s", i, got[i], want[i])
		}
	}
}

// randomMoney records n random money commands on two lines of a catalog of its own
// (prefix keeps its ids apart): allocations, sub-allocations, carry-overs,
// cancellations, advances and payments, settlements and reversals. Refused commands are
// part of the game and ignored.
func randomMoney(t *testing.T, ctx context.Context, seq *ledger.Sequencer, rng *rand.Rand, prefix string, n int) {
	t.Helper()
	from := ledger.MakeDate(2021, 1, 1)
	valid := ledger.Validity{ValidFrom: from}
	prov, dist := prefix+"P", prefix+"D"
	token := ledger.TokenRecord{ID: uuid.NewSHA1(uuid.Nil, []byte(prefix)).String(), Name: "Kế toán " + prefix, Role: "officer",
		Unit: dist, ExpiresAt: "2025-01-01T00:00:00Z"}
	setup := []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: prefix, Name: "Chương trình " + prefix, Validity: valid}},
		&ledger.RegisterProject{Project: ledger.Project{Program: prefix, Code: "DA1", Name: "Dự án 1", Validity: valid}},
		&ledger.RegisterSource{Source: ledger.Source{Code: prefix + "-SRC", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: valid}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: prov, Code: prov, Name: "Tỉnh", Level: ledger.LevelProvince, Validity: valid}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: dist, Code: dist, Name: "Huyện", Level: ledger.LevelDistrict, Parent: prov, Validity: valid}},
		// Access events make no postings; the view must show none for them.
		&ledger.RecordTokenCreated{Token: token, EffectiveDate: from},
		&ledger.RecordTokenRevoked{Token: token, EffectiveDate: from},
		&ledger.SetDeadline{Program: prefix, Year: 2024, Until: ledger.MakeDate(2025, 1, 31), LegalBasis: "Luật 58/2024/QH15",
			EffectiveDate: ledger.MakeDate(2024, 1, 2)},
	}
	line := func(unit string) ledger.Line {
		return ledger.Line{Program: prefix, Year: 2024, Source: prefix + "-SRC", Project: "DA1", Unit: unit}
	}
	dl := line(dist)
	setup = append(setup, &ledger.SetTarget{Unit: prov, Program: prefix, Year: 2024, RateBP: 9500, By: ledger.MakeDate(2025, 1, 31),
		Document: "NQ HĐND", EffectiveDate: ledger.MakeDate(2024, 1, 3)}, &ledger.ExtendDeadline{Line: dl, Until: ledger.MakeDate(2025, 12, 31), LegalBasis: "QĐ gia hạn",
		EffectiveDate: ledger.MakeDate(2024, 1, 3)})
	lines := []ledger.Line{line(prov), line(dist)}
	submit := func(c ledger.Command) *ledger.Event {
		res, err := seq.Submit(ctx, &ledger.Request{Atomic: true, Commands: []ledger.Command{c}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Err != nil {
			return nil
		}
		return res.Events[0]
	}
	for _, c := range setup {
		if submit(c) == nil {
			t.Fatalf("%s: setup %T refused", prefix, c)
		}
	}
	d := ledger.MakeDate(2024, 3, 1)
	var paid []uuid.UUID
	var advances []uuid.UUID
	var contracts []uuid.UUID
	contractLine := map[uuid.UUID]ledger.Line{}
	submit(&ledger.RecordReconciliation{Reconciliation: ledger.Reconciliation{Office: "KB" + prefix, From: d, To: d,
		FileSHA256: strings.Repeat("0f", 32), TreasuryOnly: 1}})
	submit(&ledger.SetAdvanceLimit{ShareBP: 3000, Program: prefix, ValidFrom: d, LegalBasis: "NĐ 99/2021/NĐ-CP Đ.10"})
	for i := range n {
		l := lines[rng.IntN(len(lines))]
		amount := int64(1 + rng.IntN(1000))
		voucher := ledger.Voucher{Office: "KB" + prefix, Type: "C2-02", Number: fmt.Sprint(i), Date: d}
		var c ledger.Command
		var contract uuid.UUID
		if len(contracts) > 0 && rng.IntN(2) == 0 {
			contract = contracts[rng.IntN(len(contracts))]
			l = contractLine[contract]
		}
		switch k := rng.IntN(12); {
		case k >= 10:
			if k == 11 && len(contracts) > 0 {
				c = &ledger.AmendContract{Contract: contract, Value: amount * 3, EffectiveDate: d, Reason: "phụ lục"}
				if contract == uuid.Nil {
					c.(*ledger.AmendContract).Contract = contracts[0]
				}
			} else {
				c = &ledger.SignContract{Line: l, Number: fmt.Sprint("HĐ ", i), Contractor: "Công ty", Value: amount * 4, SignedOn: d, Document: "HĐ"}
			}
		case k < 2:
			c = &ledger.Allocate{Line: l, Amount: amount * 10, EffectiveDate: d, Decision: "QĐ"}
		case k < 3:
			c = &ledger.Transfer{From: lines[0], To: lines[1], Amount: amount, Kind: ledger.KindSuballocation, EffectiveDate: d, Decision: "QĐ"}
		case k < 4:
			if rng.IntN(3) == 0 {
				c = &ledger.CarryOver{Line: l, Amount: amount, IntoYear: 2025 + rng.IntN(3), EffectiveDate: d, Decision: "QĐ"}
			} else {
				c = &ledger.Cancel{Line: l, Amount: amount, EffectiveDate: d, Decision: "QĐ"}
			}
		case k < 7:
			kind := []ledger.DisbursementKind{ledger.KindAdvance, ledger.KindPayment}[rng.IntN(2)]
			c = &ledger.Disburse{Line: l, Amount: amount, Kind: kind, EffectiveDate: d, Payee: "HTX", Voucher: voucher, Contract: contract}
		case k < 8:
			if len(advances) == 0 {
				continue
			}
			c = &ledger.SettleAdvance{EventID: advances[rng.IntN(len(advances))], Amount: amount / 4, EffectiveDate: d, Voucher: voucher}
		default:
			if len(paid) == 0 {
				continue
			}
			c = &ledger.Reverse{EventID: paid[rng.IntN(len(paid))], Amount: amount / 3, EffectiveDate: d, Reason: "sai"}
		}
		e := submit(c)
		if e != nil && e.Type == ledger.TypeContractSigned {
			contracts = append(contracts, e.ID)
			contractLine[e.ID] = *e.Data.Line
		}
		if e != nil && e.Type == ledger.TypeDisbursed {
			paid = append(paid, e.ID)
			if e.Data.IsAdvance() {
				advances = append(advances, e.ID)
			}
		}
	}
	// The district is abolished into a new province, which takes its capital over.
	succ := prefix + "S"
	reorg := ledger.MakeDate(2025, 7, 1)
	if submit(&ledger.RegisterUnit{Unit: ledger.Unit{ID: succ, Code: succ, Name: "Tỉnh mới", Level: ledger.LevelProvince, Validity: valid}}) == nil ||
		submit(&ledger.Reorganize{EffectiveDate: reorg, Reorganization: ledger.Reorganization{LegalBasis: "NQ 202/2025/QH15",
			Changes: []ledger.UnitChange{{Kind: ledger.ChangeAbolish, Predecessors: []string{dist}, Successors: []string{succ}}}}}) == nil {
		t.Fatalf("%s: reorganisation refused", prefix)
	}
	submit(&ledger.Transfer{From: line(dist), To: line(succ), Amount: 1, Kind: ledger.KindHandover, EffectiveDate: reorg, Decision: "QĐ"})
}
