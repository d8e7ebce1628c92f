//go:build ledger_testtype

package ledgertest

import "github.com/vnntp/ledger/ledger"

func init() {
	sampleExtra = func(l ledger.Line) (ledger.EventType, ledger.EventData) {
		return ledger.TypeTestOnly, ledger.EventData{Line: &l, Amount: 1, Note: "an event type that exists only in this build"}
	}
}
