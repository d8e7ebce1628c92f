package ledger_test

import (
	"testing"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
)

// TestSnapshotOfTheSampleHistory round-trips the write model, and the LinesOnly state
// read models keep, folded from the sample history, which holds every event type
// (ledger/snapshot_test.go has the random histories).
func TestSnapshotOfTheSampleHistory(t *testing.T) {
	events := ledgertest.SampleHistory()
	for k := range events {
		// Every cut, not only the few the random histories take: the sample is short.
		ledger.CheckSnapshotRoundTrip(t, events[:k+1], false)
	}
	ledger.CheckSnapshotRoundTrip(t, events, true)
}
