package projections

import (
	"context"
	"sync"
	"sync/atomic"
)

// applied is the last position a projection has applied, published for readers: they
// read it without taking the projection's lock, and a reader that needs a position the
// projection has not reached yet waits for it (wait) instead of polling. The zero applied
// is position 0.
type applied struct {
	pos atomic.Int64
	mu  sync.Mutex
	// moved is closed, and cleared, when the position advances; waiters make it on
	// demand, so that a projection nobody waits on never allocates one.
	moved chan struct{}
}

// load returns the position.
func (a *applied) load() int64 { return a.pos.Load() }

// advance publishes pos and wakes every waiter. Positions only grow.
func (a *applied) advance(pos int64) {
	if pos <= a.pos.Load() {
		return
	}
	a.pos.Store(pos)
	a.mu.Lock()
	if a.moved != nil {
		close(a.moved)
		a.moved = nil
	}
	a.mu.Unlock()
}

// wait returns when the position is at least pos, or ctx's error when ctx ends first.
func (a *applied) wait(ctx context.Context, pos int64) error {
	for {
		if a.pos.Load() >= pos {
			return nil
		}
		a.mu.Lock()
		if a.moved == nil {
			a.moved = make(chan struct{})
		}
		moved := a.moved
		a.mu.Unlock()
		// advance stores the position before it takes the lock to close the channel, so
		// either this load sees the new position or moved is closed after it.
		if a.pos.Load() >= pos {
			return nil
		}
		select {
		case <-moved:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
