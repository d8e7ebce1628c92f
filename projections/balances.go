package projections

import (
	"sync"

	"github.com/vnntp/ledger/ledger"
)

// Balances is the read model of the catalog and of every line's balance, fed after each
// commit. It is the same fold as the write model (ledger.State), kept apart so that reads
// never wait on the sequencer. It is safe for concurrent use.
type Balances struct {
	mu sync.RWMutex
	st ledger.State
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
	}
}

// Read calls fn with the state under a read lock; fn must not keep references to it.
func (b *Balances) Read(fn func(*ledger.State)) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	fn(&b.st)
}
