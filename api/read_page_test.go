package api

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestFirstLinesKeepsTheSmallestIDs: whatever the order lines come in, a page holds the
// n smallest ids, sorted, as a sort of them all would.
func TestFirstLinesKeepsTheSmallestIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, total := range []int{0, 1, 5, 6, 7, 100, 1000} {
		for _, n := range []int{1, 2, 3, 101} {
			var ids []string
			page := firstLines{n: n}
			for _, i := range rng.Perm(total) {
				id := fmt.Sprintf("line-%05d", i)
				ids = append(ids, id)
				page.add(pageLine{id: id})
			}
			slices.Sort(ids)
			var got []string
			for _, l := range page.sorted() {
				got = append(got, l.id)
			}
			if want := ids[:min(n, total)]; !slices.Equal(got, want) {
				t.Errorf("%d lines, page of %d: got %v, want %v", total, n, got, want)
			}
		}
	}
}
