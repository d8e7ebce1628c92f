package pgstore

import (
	"testing"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// TestWholeCommits: a page read up to its limit loses the events of its last recording
// time, which may go on in the next page, unless that would leave nothing.
func TestWholeCommits(t *testing.T) {
	at := func(secs ...int) []*ledger.Event {
		evs := make([]*ledger.Event, len(secs))
		for i, s := range secs {
			evs[i] = &ledger.Event{Position: int64(i + 1), RecordedAt: time.Unix(int64(s), 0)}
		}
		return evs
	}
	for _, c := range []struct {
		secs  []int
		limit int
		want  int
	}{
		{[]int{1, 1, 2}, 4, 3},    // short page: the log ends there
		{[]int{1, 1, 2, 2}, 4, 2}, // full page: commit 2 may go on
		{[]int{1, 2, 3, 3}, 4, 2},
		{[]int{5, 5, 5, 5}, 4, 4}, // one commit fills the page: kept, or nothing would move
		{[]int{1, 2, 3, 4}, 4, 3},
	} {
		if got := wholeCommits(at(c.secs...), c.limit); len(got) != c.want {
			t.Errorf("wholeCommits(%v, %d) keeps %d events, want %d", c.secs, c.limit, len(got), c.want)
		}
	}
}
