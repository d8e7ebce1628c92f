package projections

import (
	"context"
	"sync"

	"github.com/vnntp/ledger/ledger"
)

// Balances is the read model of the catalog and of every line's balance, fed after each
// commit. It is the same fold as the write model (ledger.State), kept apart so that reads
// never wait on the sequencer. It is safe for concurrent use: Apply takes a write lock,
// Read a read lock, Position and WaitFor none.
type Balances struct {
	mu      sync.RWMutex
	st      ledger.State
	hist    lineHistory // balances and catalog at past positions (history.go)
	applied applied
}

// Apply folds a committed batch, in position order.
func (b *Balances) Apply(events []*ledger.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.LinesOnly = true // reads need balances, not what the writer checks commands against
	for _, e := range events {
		if e.Position <= b.st.Head {
			continue // already applied (a replica may see a batch twice)
		}
		b.st.Apply(e)
		b.hist.add(e)
	}
	b.applied.advance(b.st.Head)
}

// Position returns the last position applied, without waiting for a lock.
func (b *Balances) Position() int64 { return b.applied.load() }

// WaitFor returns when position pos is applied, or ctx's error when ctx ends first.
func (b *Balances) WaitFor(ctx context.Context, pos int64) error { return b.applied.wait(ctx, pos) }

// Read calls fn with the state under a read lock; fn must not keep references to it.
func (b *Balances) Read(fn func(*ledger.State)) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	fn(&b.st)
}
