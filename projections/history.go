package projections

import (
	"sort"
	"sync"

	"github.com/vnntp/ledger/ledger"
)

// lineHistory is the history index of the Balances projection: for every line, the
// position of its first posting and, for every flow, the positions at which the flow
// moved with its cumulative amount after each. A line's balance at a past position is
// then one binary search per flow it has, never a fold of the log; the catalog at a past
// position is folded from the catalog events alone (few beside the money), and a read at
// a position after the last of them uses the head's catalog.
//
// Memory is 16 bytes per posting (two int64: position and cumulative amount), not a copy
// of the balance per event. Only the Balances projection uses it, under its lock.
type lineHistory struct {
	lines map[ledger.Line]*lineSeries
	// catalogEvents are the events that changed the catalog, in position order.
	catalogEvents []*ledger.Event
	// catalogAt caches the last catalog folded for a past position: the one made by the
	// first catalogN catalog events. catMu guards it: readers share the projection's
	// read lock.
	catMu     sync.Mutex
	catalogAt *ledger.Catalog
	catalogN  int
}

type lineSeries struct {
	// firstPosting is the position of the line's first posting (0: none yet), where the
	// line enters the list of lines; firstEvent that of the first event naming the line
	// (MainLine or To, as the store's line index: a deadline names a line and posts
	// nothing), where GET /v1/lines/{id} starts to find it.
	firstPosting, firstEvent int64
	flows                    [ledger.FlowCount]*flowSeries
}

type flowSeries struct {
	pos []int64 // positions at which the flow moved, increasing
	cum []int64 // the flow's cumulative amount after pos[i]
}

// add indexes e, applied to the projection's state.
func (h *lineHistory) add(e *ledger.Event) {
	if h.lines == nil {
		h.lines = map[ledger.Line]*lineSeries{}
	}
	series := func(l ledger.Line) *lineSeries {
		ls := h.lines[l]
		if ls == nil {
			ls = &lineSeries{firstEvent: e.Position}
			h.lines[l] = ls
		}
		return ls
	}
	if l := e.MainLine(); l != nil {
		series(*l)
	}
	if l := e.Data.To; l != nil {
		series(*l)
	}
	var buf [ledger.PostingsMax]ledger.Posting
	for _, p := range e.Postings(buf[:0]) {
		ls := series(p.Line)
		if ls.firstPosting == 0 {
			ls.firstPosting = e.Position
		}
		fs := ls.flows[p.Flow]
		if fs == nil {
			fs = &flowSeries{}
			ls.flows[p.Flow] = fs
		}
		if n := len(fs.pos); n > 0 && fs.pos[n-1] == e.Position {
			fs.cum[n-1] += p.Amount // a second posting of one event on the same flow
			continue
		} else if n > 0 {
			fs.cum = append(fs.cum, fs.cum[n-1]+p.Amount)
		} else {
			fs.cum = append(fs.cum, p.Amount)
		}
		fs.pos = append(fs.pos, e.Position)
	}
	if e.Type.ChangesCatalog() {
		h.catalogEvents = append(h.catalogEvents, e)
	}
}

// balanceAt sets b to the balance of line l, whose series ls is, after position at.
func (ls *lineSeries) balanceAt(b *ledger.LineBalance, l ledger.Line, at int64) {
	*b = ledger.LineBalance{Line: l}
	for f, fs := range ls.flows {
		if fs == nil {
			continue
		}
		if i := sort.Search(len(fs.pos), func(i int) bool { return fs.pos[i] > at }); i > 0 {
			b.Flows[f] = fs.cum[i-1]
		}
	}
}

// catalog returns the catalog at position at; head is the catalog after every event.
func (h *lineHistory) catalog(at int64, head *ledger.Catalog) *ledger.Catalog {
	n := sort.Search(len(h.catalogEvents), func(i int) bool { return h.catalogEvents[i].Position > at })
	if n == len(h.catalogEvents) {
		return head
	}
	h.catMu.Lock()
	defer h.catMu.Unlock()
	if h.catalogAt == nil || h.catalogN != n {
		h.catalogAt, h.catalogN = ledger.FoldCatalog(h.catalogEvents[:n]), n
	}
	return h.catalogAt
}

// ReadAt calls fn, under the read lock, with the catalog and the lines as they were
// after position at, which must be applied (WaitFor): lines calls its argument with the
// balance of every line a posting at or before at touched, in no particular order. It
// answers from the history index, without folding the log. fn must not keep references
// to what it is given.
func (b *Balances) ReadAt(at int64, fn func(cat *ledger.Catalog, lines func(func(*ledger.LineBalance)))) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if at >= b.st.Head {
		fn(&b.st.Catalog, b.st.Lines)
		return
	}
	fn(b.hist.catalog(at, &b.st.Catalog), func(each func(*ledger.LineBalance)) {
		var lb ledger.LineBalance // one for every line: fn keeps no reference
		for l, ls := range b.hist.lines {
			if ls.firstPosting != 0 && ls.firstPosting <= at {
				ls.balanceAt(&lb, l, at)
				each(&lb)
			}
		}
	})
}

// LineAt returns the balance of l after position at (applied), or nil when no event at
// or before at names it (MainLine or To: the events GET /v1/lines/{id}/events lists).
func (b *Balances) LineAt(l ledger.Line, at int64) *ledger.LineBalance {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ls := b.hist.lines[l]
	if ls == nil || ls.firstEvent > at {
		return nil
	}
	lb := &ledger.LineBalance{}
	ls.balanceAt(lb, l, at)
	return lb
}
