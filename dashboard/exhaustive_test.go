package dashboard

import (
	"testing"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
)

// TestEveryConsumerHandlesEveryEventType: a line's event list names every event type in
// both languages and shows each one's effect on the line.
func TestEveryConsumerHandlesEveryEventType(t *testing.T) {
	for _, w := range []*dashWords{dashVI, dashEN} {
		ledgertest.CheckConsumer(t, "dashboard event names ("+string(w.Lang)+")", func(e *ledger.Event) {
			if w.EventTypes[e.Type] == "" {
				panic("no name for it in i18n.go")
			}
		})
	}
	ledgertest.CheckConsumer(t, "dashboard line events", func(e *ledger.Event) {
		if l := e.MainLine(); l != nil {
			lineEffect(e, *l)
		}
	})
}
