package ledger_test

import (
	"reflect"
	"testing"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
)

// TestFoldCatalogMatchesApply: after every prefix of the sample history (an event of
// every type), the catalog folded from the events that ChangesCatalog names is the
// catalog of the State that applied the whole prefix. A new event type that changes the
// catalog fails here until ChangesCatalog and FoldCatalog know it.
func TestFoldCatalogMatchesApply(t *testing.T) {
	st := &ledger.State{LinesOnly: true}
	var changes []*ledger.Event
	for _, e := range ledgertest.SampleHistory() {
		st.Apply(e)
		if e.Type.ChangesCatalog() {
			changes = append(changes, e)
		}
		if got := ledger.FoldCatalog(changes); !reflect.DeepEqual(*got, st.Catalog) {
			t.Fatalf("after position %d (%s): the folded catalog differs from the applied one", e.Position, e.Type)
		}
	}
	if len(changes) == 0 {
		t.Fatal("the sample history changes no catalog")
	}
}
