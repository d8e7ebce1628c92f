package projections

import (
	"testing"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
)

// TestEveryConsumerHandlesEveryEventType: the projections fold every event type.
func TestEveryConsumerHandlesEveryEventType(t *testing.T) {
	var p Progress
	ledgertest.CheckConsumer(t, "projections.Progress.Apply", func(e *ledger.Event) { p.Apply([]*ledger.Event{e}) })
	var b Balances
	ledgertest.CheckConsumer(t, "projections.Balances.Apply", func(e *ledger.Event) { b.Apply([]*ledger.Event{e}) })
}
