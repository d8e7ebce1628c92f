package pgstore

import (
	"testing"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
)

// TestEveryConsumerHandlesEveryEventType: the read-model writer turns every event type
// into rows (or none).
func TestEveryConsumerHandlesEveryEventType(t *testing.T) {
	c := newRMCatalog()
	var b rmBatch
	ledgertest.CheckConsumer(t, "pgstore read-model writer", func(e *ledger.Event) { c.add(&b, e) })
}
