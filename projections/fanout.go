package projections

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// Limits of the fan-out.
const (
	// FanoutQueueEvents bounds the committed events the fan-out holds for one projection
	// (eight full group commits, ledger.BatchMaxEvents each). A projection further behind
	// drops what it holds and reads the gap back from the store: the writer never waits
	// and no event is lost.
	FanoutQueueEvents = 8 * ledger.BatchMaxEvents
	// fanoutApplyEvents is the most events one Apply folds under the projection's write
	// lock: a long queue is applied in steps, so that queries get the lock in between.
	fanoutApplyEvents = 1024
	// fanoutRetryDelay spaces attempts to read the store back after a failure.
	fanoutRetryDelay = time.Second
)

// EventSource reads committed events back from the store (*pgstore.Store).
type EventSource interface {
	// ReadFrom calls fn for every event with position > after, in position order.
	ReadFrom(ctx context.Context, after int64, fn func(*ledger.Event) error) error
}

// Projection is a read model the fan-out feeds (*Balances, *Progress).
type Projection interface {
	// Apply folds committed events in position order, skipping those already applied.
	Apply(events []*ledger.Event)
	// Position returns the last position applied; it must not wait for Apply.
	Position() int64
	// WaitFor returns when pos is applied, or ctx's error when ctx ends first.
	WaitFor(ctx context.Context, pos int64) error
}

// Fanout feeds the in-memory projections behind the writer (docs/design.md §6): the
// sequencer's commit callback hands each committed batch to Notify, which never blocks
// and takes no projection lock, and every projection folds the batches in position
// order on a goroutine of its own (Run). So a query holding a projection's read lock
// delays only that projection, never a commit, and a slow projection delays neither the
// writer nor the other projections.
//
// Each projection has a ledger.Handoff of FanoutQueueEvents events, the mechanism of the
// relay and the read-model writer. When a projection falls that far behind, its handoff
// drops what it holds and the projection reads the gap back from the store, then takes
// the batches handed over since. Readers learn how far a projection has got from its
// Position (an atomic load) and wait for a position with WaitFor.
//
// Notify and Wait are safe for concurrent use; Run is called once.
type Fanout struct {
	src   EventSource
	log   *slog.Logger
	feeds []*feed
}

// feed is one projection with its handoff.
type feed struct {
	name    string
	p       Projection
	handoff *ledger.Handoff
	wake    chan struct{} // capacity 1: a pending wake-up is enough
}

// NewFanout returns a fan-out to ps that reads gaps back from src; log receives read
// failures (nil discards).
func NewFanout(src EventSource, log *slog.Logger, ps ...Projection) *Fanout {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := &Fanout{src: src, log: log}
	for _, p := range ps {
		f.feeds = append(f.feeds, &feed{name: fmt.Sprintf("%T", p), p: p,
			handoff: ledger.NewHandoff(FanoutQueueEvents), wake: make(chan struct{}, 1)})
	}
	return f
}

// Notify hands a committed batch, in position order, to every projection. It is the
// sequencer's commit callback: it never blocks and never takes a projection's lock. The
// events must not be modified afterwards.
func (f *Fanout) Notify(events []*ledger.Event) {
	if len(events) == 0 {
		return
	}
	for _, fd := range f.feeds {
		fd.handoff.Put(events)
		select {
		case fd.wake <- struct{}{}:
		default:
		}
	}
}

// Wait returns when every projection has applied position pos, or ctx's error.
func (f *Fanout) Wait(ctx context.Context, pos int64) error {
	for _, fd := range f.feeds {
		if err := fd.p.WaitFor(ctx, pos); err != nil {
			return fmt.Errorf("wait for %s to reach position %d (at %d): %w", fd.name, pos, fd.p.Position(), err)
		}
	}
	return nil
}

// Run feeds every projection, each on its own goroutine, until ctx ends; a failed read
// of the store is logged and retried. It returns ctx's error.
func (f *Fanout) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, fd := range f.feeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.run(ctx, fd)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

func (f *Fanout) run(ctx context.Context, fd *feed) {
	for {
		if err := f.catchUp(ctx, fd); err != nil && ctx.Err() == nil {
			f.log.Error("projection could not read the store back; retrying", "projection", fd.name,
				"position", fd.p.Position(), "err", err)
			select {
			case <-time.After(fanoutRetryDelay):
			case <-ctx.Done():
			}
			continue
		}
		select {
		case <-fd.wake:
		case <-ctx.Done():
			return
		}
	}
}

// catchUp applies what the handoff holds after the projection's position; when that
// does not follow on (the handoff overflowed), it reads the store from the position
// first. It returns when nothing new is held.
func (f *Fanout) catchUp(ctx context.Context, fd *feed) error {
	for {
		pos := fd.p.Position()
		if events, ok := fd.handoff.Take(pos); ok {
			if len(events) == 0 {
				return nil
			}
			for len(events) > 0 {
				n := min(len(events), fanoutApplyEvents)
				fd.p.Apply(events[:n])
				events = events[n:]
			}
			continue
		}
		chunk := make([]*ledger.Event, 0, fanoutApplyEvents)
		err := f.src.ReadFrom(ctx, pos, func(e *ledger.Event) error {
			if chunk = append(chunk, e); len(chunk) == fanoutApplyEvents {
				fd.p.Apply(chunk)
				chunk = make([]*ledger.Event, 0, fanoutApplyEvents)
			}
			return nil
		})
		if len(chunk) > 0 {
			fd.p.Apply(chunk) // a prefix of the log, even when the read failed after it
		}
		if err != nil {
			return fmt.Errorf("read the store after position %d: %w", pos, err)
		}
	}
}
