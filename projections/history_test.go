package projections

import (
	"reflect"
	"testing"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
)

// TestBalancesAtMatchesFold: at every position of the sample history (an event of every
// type) and of the demo (three programs, reorganisations, deadlines), fed in batches, the Balances
// projection's answers at that position (ReadAt, LineAt) equal a fold of the log up to
// it: the same lines with the same flows, the same catalog, and for one line the fold of
// the events that name it, as GET /v1/lines/{id}?at= folded them before the index.
func TestBalancesAtMatchesFold(t *testing.T) {
	histories := [][]*ledger.Event{ledgertest.SampleHistory(), runSteps(t, demo.Steps())}
	for hi, events := range histories {
		b := &Balances{}
		for i := 0; i < len(events); i += 7 {
			b.Apply(events[i:min(i+7, len(events))])
		}
		folded := &ledger.State{LinesOnly: true}
		for _, e := range events {
			folded.Apply(e)
			at := e.Position
			want := map[ledger.Line][ledger.FlowCount]int64{}
			folded.Lines(func(lb *ledger.LineBalance) { want[lb.Line] = lb.Flows })
			got := map[ledger.Line][ledger.FlowCount]int64{}
			var cat ledger.Catalog
			b.ReadAt(at, func(c *ledger.Catalog, lines func(func(*ledger.LineBalance))) {
				cat = *c
				lines(func(lb *ledger.LineBalance) { got[lb.Line] = lb.Flows })
			})
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("history %d at %d: lines %v, want %v", hi, at, got, want)
			}
			if !reflect.DeepEqual(cat, folded.Catalog) {
				t.Fatalf("history %d at %d: the catalog differs from the fold's", hi, at)
			}
			for l := range want {
				if lb, ok := lineFold(events, l, at); !ok {
					t.Fatalf("history %d at %d: line %s has a posting but no event names it", hi, at, l.ID())
				} else if g := b.LineAt(l, at); g == nil || g.Flows != lb.Flows {
					t.Fatalf("history %d at %d: LineAt(%s) = %+v, want %+v", hi, at, l.ID(), g, lb)
				}
			}
		}
	}
}

// lineFold is the balance of l at position at from the events naming it (MainLine or
// To), and whether there is one.
func lineFold(events []*ledger.Event, l ledger.Line, at int64) (*ledger.LineBalance, bool) {
	b := &ledger.LineBalance{Line: l}
	named := false
	for _, e := range events {
		if e.Position > at {
			break
		}
		if m := e.MainLine(); m != nil && *m == l || e.Data.To != nil && *e.Data.To == l {
			named = true
			b.Add(e)
		}
	}
	return b, named
}
