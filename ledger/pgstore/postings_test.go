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
	setup := []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: prefix, Name: "Chương trình " + prefix, Validity: valid}},
		&ledger.RegisterProject{Project: ledger.Project{Program: prefix, Code: "DA1", Name: "Dự án 1", Validity: valid}},
		&ledger.RegisterSource{Source: ledger.Source{Code: prefix + "-SRC", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: valid}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: prov, Code: prov, Name: "Tỉnh", Level: ledger.LevelProvince, Validity: valid}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: dist, Code: dist, Name: "Huyện", Level: ledger.LevelDistrict, Parent: prov, Validity: valid}},
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
	for i := range n {
		l := lines[rng.IntN(len(lines))]
		amount := int64(1 + rng.IntN(1000))
		voucher := ledger.Voucher{Office: "KB" + prefix, Type: "C2-02", Number: fmt.Sprint(i), Date: d}
		var c ledger.Command
		switch k := rng.IntN(10); {
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
			c = &ledger.Disburse{Line: l, Amount: amount, Kind: kind, EffectiveDate: d, Payee: "HTX", Voucher: voucher}
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
		if e := submit(c); e != nil && e.Type == ledger.TypeDisbursed {
			paid = append(paid, e.ID)
			if e.Data.IsAdvance() {
				advances = append(advances, e.ID)
			}
		}
	}
}
