package checker

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// TestEveryConsumerHandlesEveryEventType: the checker folds a stored history with every
// event type and finds nothing wrong with it.
func TestEveryConsumerHandlesEveryEventType(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := pgstore.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.AcquireWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	events := ledgertest.SampleHistory()
	if err := w.Append(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	var rep *Report
	ledgertest.CheckConsumer(t, "internal/checker.Check", func(e *ledger.Event) {
		if e.Position != int64(len(events)) {
			return // the checker reads the whole store at once
		}
		if rep, _, err = Check(ctx, st, nil); err != nil {
			t.Fatal(err)
		}
		// A state the checker's own fold could not follow is a problem of kind "fold".
		for _, p := range rep.Problems {
			if strings.Contains(p, "ledger.State refused") {
				panic(p)
			}
		}
	})
	if rep != nil && !rep.OK() {
		t.Errorf("the sample history has problems: %v", rep.Err())
	}
}
