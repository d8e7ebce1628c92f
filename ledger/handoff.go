package ledger

import "sync"

// Handoff passes committed batches from the sequencer's commit callback to a consumer on
// another goroutine (the NATS relay, the read-model writer, each in-memory projection), so
// that the consumer need not read back from the store what the writer has just written.
// Put never blocks and holds at most max events: beyond that it drops what it holds and
// the consumer reads the store instead. The zero Handoff is not usable; call NewHandoff. It is safe for concurrent use.
type Handoff struct {
	mu       sync.Mutex
	batches  [][]*Event
	n        int
	max      int
	overflow bool
}

// NewHandoff returns a Handoff holding at most max events.
func NewHandoff(max int) *Handoff { return &Handoff{max: max} }

// Held reports whether Take has anything to give: held events, or an overflow that
// sends the consumer to the store.
func (h *Handoff) Held() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n > 0 || h.overflow
}

// Put appends a committed batch, in position order. The events must not be modified
// afterwards (they are shared with every other consumer).
func (h *Handoff) Put(events []*Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.overflow {
		return
	}
	if h.n+len(events) > h.max {
		h.batches, h.n, h.overflow = nil, 0, true
		return
	}
	h.batches = append(h.batches, events)
	h.n += len(events)
}

// Take removes and returns the held events after position after, in order. ok is false
// when they cannot be served from memory — events were dropped, or the first held event
// does not follow after — and the caller must read the store from after instead; ok is
// true with no events when nothing new is held.
func (h *Handoff) Take(after int64) (events []*Event, ok bool) {
	h.mu.Lock()
	batches, overflow := h.batches, h.overflow
	h.batches, h.n, h.overflow = nil, 0, false
	h.mu.Unlock()
	if overflow {
		return nil, false
	}
	next := after + 1
	for _, b := range batches {
		for _, e := range b {
			switch {
			case e.Position < next:
				continue // already consumed from the store
			case e.Position > next:
				return nil, false // a gap: these events came before the consumer's reads
			}
			events = append(events, e)
			next++
		}
	}
	return events, true
}
