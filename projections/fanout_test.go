package projections

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// logSource is the committed log of the fan-out tests, which the fan-out reads back when
// a projection's queue overflows. It stands for the log only; the read-back from
// PostgreSQL is tested with a whole server in cmd/ledger.
type logSource struct {
	mu     sync.Mutex
	events []*ledger.Event
	reads  int // calls of ReadFrom
}

func (l *logSource) commit(events []*ledger.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, events...)
}

func (l *logSource) ReadFrom(_ context.Context, after int64, fn func(*ledger.Event) error) error {
	l.mu.Lock()
	events := l.events[:len(l.events):len(l.events)]
	l.reads++
	l.mu.Unlock()
	for _, e := range events {
		if e.Position > after {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// gatedProgress is a projection stuck in a slow fold: Apply waits until gate is closed.
type gatedProgress struct {
	*Progress
	gate chan struct{}
}

func (g gatedProgress) Apply(events []*ledger.Event) {
	<-g.gate
	g.Progress.Apply(events)
}

// fanoutLog returns the catalog of the synthetic load and n money events after it, each
// event its own struct (the fan-out keeps references until the projections take them).
func fanoutLog(n int) []*ledger.Event {
	g := newLoadGen(5)
	events := g.catalog
	for i, e := range events {
		e.Position = int64(i + 1)
	}
	g.pos = int64(len(events))
	for i := range n {
		e := new(ledger.Event)
		g.next(e, i, n)
		events = append(events, e)
	}
	return events
}

// TestFanoutStuckProjection commits more events than the fan-out queues for a projection
// while that projection is stuck in Apply: Notify never waits for it, the other
// projection keeps up, and once released the stuck one reads the dropped events back
// from the log and ends equal to a projection fed directly.
func TestFanoutStuckProjection(t *testing.T) {
	// Twice the queue and more: even if the stuck projection took a whole queue's worth
	// before its Apply blocked (a slow start on a busy machine), the rest overflows.
	events := fanoutLog(2*FanoutQueueEvents + 10_000)
	head := int64(len(events))
	src := &logSource{}
	free := &Progress{}
	stuck := gatedProgress{&Progress{}, make(chan struct{})}
	var release sync.Once
	open := func() { release.Do(func() { close(stuck.gate) }) }
	f := NewFanout(src, nil, free, stuck)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	defer func() { open(); cancel(); <-done }()

	// Commit as the sequencer does: the log first, then the commit callback.
	const batch = 500
	for lo := 0; lo < len(events); lo += batch {
		b := events[lo:min(lo+batch, len(events))]
		src.commit(b)
		f.Notify(b)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	if err := free.WaitFor(wctx, head); err != nil {
		t.Fatalf("the free projection did not reach %d while the other was stuck (at %d): %v", head, free.Position(), err)
	}
	if got := stuck.Position(); got != 0 {
		t.Fatalf("the stuck projection moved to %d", got)
	}
	short, scancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer scancel()
	if err := stuck.WaitFor(short, head); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitFor on a stuck projection: %v, want the context's deadline", err)
	}

	open()
	if err := f.Wait(wctx, head); err != nil {
		t.Fatalf("after release: %v", err)
	}
	src.mu.Lock()
	reads := src.reads
	src.mu.Unlock()
	if reads == 0 {
		t.Error("the stuck projection's queue overflowed, yet nothing was read back from the log")
	}
	direct := &Progress{}
	direct.Apply(events)
	q := Query{GroupBy: []Dimension{GroupDistrict, GroupProject}}
	r, err := direct.Query(q)
	want := jsonOf(t, r, err)
	for name, p := range map[string]*Progress{"free": free, "stuck": stuck.Progress} {
		r, err := p.Query(q)
		if got := jsonOf(t, r, err); got != want {
			t.Errorf("the %s projection differs from one fed directly:\n got %.300s\nwant %.300s", name, got, want)
		}
	}
}
