package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// demoStore loads the demo scenario into a fresh store through a sequencer whose
// OnCommit wakes the read-model writer rm, running meanwhile, as serve wires it.
func demoStore(t *testing.T) (*pgstore.Store, *pgstore.ReadModelWriter, int64) {
	t.Helper()
	s, _ := open(t)
	ctx := testContext(t)
	rm := s.NewReadModelWriter(nil)
	rmCtx, stopRM := context.WithCancel(ctx)
	rmDone := make(chan error, 1)
	go func() { rmDone <- rm.Run(rmCtx) }()
	t.Cleanup(func() { stopRM(); <-rmDone })

	w := acquire(t, s)
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w, OnCommit: rm.Notify})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()
	if err := demo.Load(ctx, seq.Submit); err != nil {
		t.Fatal(err)
	}
	head := seq.Head().Position
	stop()
	<-done
	return s, rm, head
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
	// of the same batch.
	for _, e := range events {
		got, err := s.PositionAt(ctx, e.RecordedAt)
		if err != nil || got < e.Position || events[got-1].RecordedAt != e.RecordedAt {
			t.Fatalf("PositionAt(recorded_at of %d) = %d %v", e.Position, got, err)
		}
	}
}
