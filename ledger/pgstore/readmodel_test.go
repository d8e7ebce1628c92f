package pgstore_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// demoStore loads the demo scenario into a fresh store through a sequencer whose
// OnCommit wakes the read-model writer rm, running meanwhile, as serve wires it.
func demoStore(t *testing.T) (*pgstore.Store, *pgstore.ReadModelWriter, int64) {
	t.Helper()
	s, _ := open(t)
	seq, rm, stop := demoWithReadModel(t, s)
	head := seq.Head().Position
	stop()
	return s, rm, head
}

// demoWithReadModel starts on s a read-model writer (until the test ends) and a
// sequencer that wakes it, loads the demo through the sequencer, and returns both; stop
// stops the sequencer.
func demoWithReadModel(t *testing.T, s *pgstore.Store) (seq *ledger.Sequencer, rm *pgstore.ReadModelWriter, stop func()) {
	t.Helper()
	ctx := testContext(t)
	rm = s.NewReadModelWriter(nil)
	rmCtx, stopRM := context.WithCancel(ctx)
	rmDone := make(chan error, 1)
	go func() { rmDone <- rm.Run(rmCtx) }()
	t.Cleanup(func() { stopRM(); <-rmDone })

	w := acquire(t, s)
	seq = ledger.NewSequencer(ledger.SequencerConfig{Store: w, OnCommit: rm.Notify})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()
	if err := demo.Load(ctx, seq.Submit); err != nil {
		t.Fatal(err)
	}
	return seq, rm, func() { cancel(); <-done }
}

// bacKan sums the read model as the migration's documented query does.
func bacKan(t *testing.T, s *pgstore.Store) (plan, disbursed int64, rate string) {
	t.Helper()
	err := s.Pool().QueryRow(testContext(t), `
		SELECT sum(plan_delta), sum(disbursed_delta),
		       round(100.0 * sum(disbursed_delta) / sum(plan_delta), 2)::text
		FROM read.line_progress
		WHERE province = '06' AND program = 'GNBV' AND effective_date <= '2024-05-31'`).Scan(&plan, &disbursed, &rate)
	if err != nil {
		t.Fatal(err)
	}
	return plan, disbursed, rate
}

func TestReadModelDemo(t *testing.T) {
	t.Parallel()
	s, rm, head := demoStore(t)
	waitFor(t, "the read model to reach the head", func() bool { return rm.Position() == head })
	if plan, disb, rate := bacKan(t, s); plan != 760_800_000_000 || disb != 478_930_000_000 || rate != "62.95" {
		t.Errorf("Bắc Kạn from read.line_progress: %d / %d = %s, want 478930000000 / 760800000000 = 62.95", disb, plan, rate)
	}
	ctx := testContext(t)
	if cp, err := s.ReadModelPosition(ctx); err != nil || cp != head {
		t.Errorf("checkpoint %d (%v), want %d", cp, err, head)
	}
	// A line held by a district has its province and district, no commune; the names are
	// in read.units.
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM read.line_progress p JOIN read.units u ON u.id = p.unit
		WHERE p.unit = '062' AND p.province = '06' AND p.district = '062' AND p.commune IS NULL`).Scan(&n); err != nil || n == 0 {
		t.Errorf("Ngân Sơn rows with province and district: %d (%v)", n, err)
	}

	// A rebuild gives the same tables, at the head; the running writer then continues
	// from the rebuilt checkpoint without folding anything twice.
	var before int64
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM read.line_progress`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	var calls int
	got, err := s.RebuildReadModel(ctx, func(done, total int64) {
		calls++
		if total != head || done > head {
			t.Errorf("progress %d/%d, want …/%d", done, total, head)
		}
	})
	if err != nil || got != head || calls == 0 {
		t.Fatalf("rebuild: %d events, %d progress calls, %v; want %d", got, calls, err, head)
	}
	rm.Notify(nil)
	if pos, err := rm.CatchUp(ctx); err != nil || pos != head {
		t.Errorf("catch up after rebuild: %d %v", pos, err)
	}
	var after int64
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM read.line_progress`).Scan(&after); err != nil || after != before {
		t.Errorf("rows after rebuild %d (%v), before %d", after, err, before)
	}
	if plan, disb, _ := bacKan(t, s); plan != 760_800_000_000 || disb != 478_930_000_000 {
		t.Errorf("Bắc Kạn after rebuild: %d / %d", disb, plan)
	}
}

func TestPositionAt(t *testing.T) {
	t.Parallel()
	s, _, head := demoStore(t)
	ctx := testContext(t)
	events, err := s.EventsRange(ctx, 1, head)
	if err != nil {
		t.Fatal(err)
	}
	first, last := events[0].RecordedAt, events[len(events)-1].RecordedAt
	for _, c := range []struct {
		at   time.Time
		want int64
	}{
		{first.Add(-time.Second), 0},
		{last, head},
		{last.Add(time.Hour), head},
	} {
		if got, err := s.PositionAt(ctx, c.at); err != nil || got != c.want {
			t.Errorf("PositionAt(%s) = %d %v, want %d", c.at, got, err, c.want)
		}
	}
	// Every event is the last one recorded at its own time, or shares it with later ones
	// of the same batch; a nanosecond before it, the answer is the last event of the
	// commit before.
	for i, e := range events {
		got, err := s.PositionAt(ctx, e.RecordedAt)
		if err != nil || got < e.Position || events[got-1].RecordedAt != e.RecordedAt {
			t.Fatalf("PositionAt(recorded_at of %d) = %d %v", e.Position, got, err)
		}
		want := int64(0)
		for j := i - 1; j >= 0; j-- {
			if events[j].RecordedAt.Before(e.RecordedAt) {
				want = events[j].Position
				break
			}
		}
		if got, err := s.PositionAt(ctx, e.RecordedAt.Add(-time.Nanosecond)); err != nil || got != want {
			t.Fatalf("PositionAt(just before the recorded_at of %d) = %d %v, want %d", e.Position, got, err, want)
		}
	}
}

// rmFigure is what read.line_progress sums for one line, effective date and carry-over
// year (0: none).
type rmFigure struct{ plan, disbursed, carried int64 }

type rmFigureKey struct {
	line     string
	date     string
	intoYear int
}

// TestReadModelEqualsPostings holds the read model's figures equal to the events'
// postings (ledger.Event.Postings) as known at the end of every commit — the demo, random
// histories with every money event type, and batches of hundreds of events on a few lines
// and days, which the writer folds into one row per line, day and commit — before and
// after a rebuild.
func TestReadModelEqualsPostings(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := testContext(t)
	seq, rm, stop := demoWithReadModel(t, s)
	randomMoney(t, ctx, seq, rand.New(rand.NewPCG(1, 11)), "r1", 150)
	rng := rand.New(rand.NewPCG(2, 11))
	line := ledger.Line{Program: "r1", Year: 2024, Source: "r1-SRC", Project: "DA1", Unit: "r1P"}
	for b := range 3 {
		var cmds []ledger.Command
		for i := range 300 {
			d := ledger.MakeDate(2024, 4, 1+rng.IntN(3))
			amount := int64(1 + rng.IntN(1000))
			switch rng.IntN(4) {
			case 0:
				cmds = append(cmds, &ledger.Allocate{Line: line, Amount: amount * 10, EffectiveDate: d, Decision: "QĐ"})
			case 1:
				cmds = append(cmds, &ledger.CarryOver{Line: line, Amount: amount, IntoYear: 2025 + rng.IntN(2), EffectiveDate: d, Decision: "QĐ"})
			default:
				cmds = append(cmds, &ledger.Disburse{Line: line, Amount: amount, Kind: ledger.KindPayment, EffectiveDate: d, Payee: "HTX",
					Voucher: ledger.Voucher{Office: "KBr1", Type: "C2-02", Number: fmt.Sprint("b", b, "-", i), Date: d}})
			}
		}
		if _, err := seq.Submit(ctx, &ledger.Request{Commands: cmds}); err != nil {
			t.Fatal(err)
		}
	}
	head := seq.Head().Position
	stop()
	waitFor(t, "the read model to reach the head", func() bool { return rm.Position() == head })

	// The postings, summed as known at the end of each commit (its events share their
	// recording time).
	events, err := s.EventsRange(ctx, 1, head)
	if err != nil {
		t.Fatal(err)
	}
	type state struct {
		at  int64 // the commit's last position
		sum map[rmFigureKey]rmFigure
	}
	var want []state
	sum := map[rmFigureKey]rmFigure{}
	postings := 0
	var buf [ledger.PostingsMax]ledger.Posting
	for i, e := range events {
		for _, p := range e.Postings(buf[:0]) {
			k := rmFigureKey{line: p.Line.ID(), date: e.EffectiveDate.String()}
			f := sum[k]
			switch p.Measure() {
			case ledger.MeasurePlan:
				f.plan += p.Delta()
			case ledger.MeasureDisbursed:
				f.disbursed += p.Delta()
			case ledger.MeasureCarriedOver:
				k.intoYear = e.Data.IntoYear
				f = sum[k]
				f.carried += p.Delta()
			default:
				continue
			}
			sum[k] = f
			postings++
		}
		if i == len(events)-1 || !events[i+1].RecordedAt.Equal(e.RecordedAt) {
			want = append(want, state{e.Position, maps.Clone(sum)})
		}
	}

	check := func(when string) {
		t.Helper()
		rows, err := s.Pool().Query(ctx, `SELECT position, line, effective_date::text, coalesce(carried_into_year, 0),
			plan_delta, disbursed_delta, carried FROM read.line_progress ORDER BY position`)
		if err != nil {
			t.Fatal(err)
		}
		type rmRow struct {
			pos int64
			key rmFigureKey
			f   rmFigure
		}
		got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rmRow, error) {
			var x rmRow
			return x, r.Scan(&x.pos, &x.key.line, &x.key.date, &x.key.intoYear, &x.f.plan, &x.f.disbursed, &x.f.carried)
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) >= postings-500 {
			t.Errorf("%s: %d rows for %d postings: the batches' postings were not folded per line, day and commit", when, len(got), postings)
		}
		sum := map[rmFigureKey]rmFigure{}
		j := 0
		for _, st := range want {
			for ; j < len(got) && got[j].pos <= st.at; j++ {
				f := sum[got[j].key]
				f.plan += got[j].f.plan
				f.disbursed += got[j].f.disbursed
				f.carried += got[j].f.carried
				sum[got[j].key] = f
			}
			if !maps.Equal(sum, st.sum) {
				for k, f := range st.sum {
					if sum[k] != f {
						t.Fatalf("%s: as known at position %d, %v: read model %+v, postings %+v", when, st.at, k, sum[k], f)
					}
				}
				t.Fatalf("%s: as known at position %d, the read model has %d keys, the postings %d", when, st.at, len(sum), len(st.sum))
			}
		}
		if j != len(got) {
			t.Errorf("%s: %d rows after the head", when, len(got)-j)
		}
	}
	check("written by the running writer")
	if _, err := s.RebuildReadModel(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check("rebuilt")
}
