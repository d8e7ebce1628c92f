package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
)

// TestReadModelCommitsSharingATime: README says `position <= K` gives the figures as
// known at K "for K the end of a commit". The writer folds a commit's events by their
// recording time, so two commits must never share one, even when the clock does not move
// on (a clock stepped back, or two commits in one microsecond): the sequencer then gives
// the next commit the head's time plus a microsecond (recordingTime). Before that, the
// two commits became one row whose position was the second's.
func TestReadModelCommitsSharingATime(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := testContext(t)
	w := acquire(t, s)
	fixed := time.Date(2024, time.June, 1, 8, 0, 0, 0, time.UTC)
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w, Now: func() time.Time { return fixed }})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()
	defer func() { stop(); <-done }()
	if err := demo.Load(ctx, seq.Submit); err != nil {
		t.Fatal(err)
	}
	d := ledger.MakeDate(2024, 5, 20)
	commit := func(amount int64) int64 {
		res, err := seq.Submit(ctx, &ledger.Request{Commands: []ledger.Command{
			&ledger.Allocate{Line: lineA, Amount: amount, EffectiveDate: d, Decision: "QĐ"}}})
		if err != nil || res.Err != nil {
			t.Fatal(err, res.Err)
		}
		return res.Last
	}
	k1 := commit(1_000)
	k2 := commit(2_000)
	rm := s.NewReadModelWriter(nil)
	if _, err := rm.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		k    int64
		want int64
	}{{k1, 1_000}, {k2, 3_000}} {
		var got int64
		if err := s.Pool().QueryRow(ctx, `SELECT coalesce(sum(plan_delta), 0)::bigint FROM read.line_progress
			WHERE line = $1 AND effective_date = $2 AND position <= $3`, lineA.ID(), d.Time(), c.k).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("plan of %s on %s as known at position %d (the end of a commit) = %d, want %d", lineA.ID(), d, c.k, got, c.want)
		}
	}
}
