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
			if got.Allocated != want.Allocated || got.TransferredIn != want.TransferredIn || got.TransferredOut != want.TransferredOut ||
				got.CarriedOver != want.CarriedOver || got.Cancelled != want.Cancelled || got.Disbursed != want.Disbursed ||
				got.Reversed != want.Reversed {
				t.Fatalf("seed %d, line %s: Add %+v, Apply %+v", seed, want.Line.ID(), got, *want)
			}
		})
	}
}
