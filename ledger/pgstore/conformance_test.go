package pgstore_test

import (
	"testing"

	"github.com/vnntp/ledger/internal/storetest"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// TestConformance runs the store contract (internal/storetest) on PostgreSQL, each
// subtest on a fresh database: a Writer appends and reads back as the sequencer does, and
// the Store reads as the API does. storetest.MemStore, the API tests' double, passes the
// same suite.
func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		s, _ := open(t)
		return storetest.Stores{Store: acquire(t, s), Events: s,
			EventsLimitMax: pgstore.EventsLimitMax, EventsRangeMax: pgstore.EventsRangeMax}
	})
}

// TestMemStoreLimits keeps the double's limits those of this store, so that handlers
// tested over the double page as they do over PostgreSQL.
func TestMemStoreLimits(t *testing.T) {
	if storetest.MemEventsLimitMax != pgstore.EventsLimitMax || storetest.MemEventsRangeMax != pgstore.EventsRangeMax {
		t.Errorf("MemStore limits %d and %d, PostgreSQL store's %d and %d", storetest.MemEventsLimitMax,
			storetest.MemEventsRangeMax, pgstore.EventsLimitMax, pgstore.EventsRangeMax)
	}
}
