package ledger

import (
	"math/rand/v2"
	"testing"
)

// TestLineBalanceAddMatchesApply: folding each line's own events with LineBalance.Add
// gives the balances State.Apply keeps, on random histories.
func TestLineBalanceAddMatchesApply(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		st, base := given(t)
		all := append(base, randomAccepted(t, rng, st, 120)...)
		st.Lines(func(want *LineBalance) {
			got := LineBalance{Line: want.Line}
			for _, e := range all {
				got.Add(e)
			}
			if got.Flows != want.Flows {
				t.Fatalf("seed %d, line %s: Add %+v, Apply %+v", seed, want.Line.ID(), got, *want)
			}
		})
	}
}
