package ledger_test

import (
	"testing"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
)

// TestEveryConsumerHandlesEveryEventType: the ledger's own folds take every event type.
// Each consumer package has a test of this name; TestConsumersNameAMissingEventType
// (cmd/ledger) runs them all in a build with one more event type.
func TestEveryConsumerHandlesEveryEventType(t *testing.T) {
	var buf [ledger.PostingsMax]ledger.Posting
	ledgertest.CheckConsumer(t, "ledger.Event.Postings", func(e *ledger.Event) { e.Postings(buf[:0]) })

	var st ledger.State
	var applied []*ledger.Event
	ledgertest.CheckConsumer(t, "ledger.State.Apply", func(e *ledger.Event) {
		st.Apply(e)
		applied = append(applied, e)
	})
	reverted := map[int64]bool{}
	for i := len(applied) - 1; i >= 0; i-- {
		reverted[applied[i].Position] = true
		st.Revert(applied[i], applied[max(0, i-1)].RecordedAt)
	}
	ledgertest.CheckConsumer(t, "ledger.State.Revert", func(e *ledger.Event) {
		if !reverted[e.Position] {
			panic("not reverted: State.Apply refused it first")
		}
	})
	// Line history: every money event's postings fold into its lines' balances.
	ledgertest.CheckConsumer(t, "ledger.LineBalance.Add", func(e *ledger.Event) {
		if ml := e.MainLine(); ml != nil {
			b := ledger.LineBalance{Line: *ml}
			b.Add(e)
		}
	})
}
