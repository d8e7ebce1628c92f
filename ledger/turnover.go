package ledger

import (
	"math"
	"math/bits"
	"strconv"
)

// Sums that cannot wrap. Every figure a report, a read model or the dashboard shows is a
// signed sum of postings of the ledger — of some lines, measures, years and dates, each
// posting counted at most once — so its magnitude is at most the ledger's turnover: the
// sum of the amounts of every posting of every recorded event. The writer refuses a
// command that would take the turnover beyond TurnoverMax, so every such figure, and
// every partial sum on the way to it, fits in int64: two's-complement addition is exact
// whenever the true result fits, whatever the order of the terms. (The figures' products
// — rates, counterpart requirements — are computed in 128 bits or with math/big.)
//
// TurnoverMax is far beyond any real ledger (the national target programs move about
// 10^14 đồng a year; this is 9.2 × 10^18), so the rule refuses only a hostile or broken
// client, at the edge, with a clear error instead of a wrapped figure.
const TurnoverMax int64 = math.MaxInt64

// turnover is a 128-bit count of the ledger's turnover, so that a ledger recorded before
// the rule, already beyond TurnoverMax, still loads (and refuses every further money
// command) and Revert stays exact.
type turnover struct{ hi, lo uint64 }

func (t *turnover) add(v int64) {
	var c uint64
	t.lo, c = bits.Add64(t.lo, uint64(v), 0)
	t.hi += c
}

func (t *turnover) sub(v int64) {
	var b uint64
	t.lo, b = bits.Sub64(t.lo, uint64(v), 0)
	t.hi -= b
}

// within reports whether t plus v is at most TurnoverMax.
func (t turnover) within(v int64) bool {
	if t.hi != 0 || t.lo > uint64(TurnoverMax) {
		return false
	}
	return uint64(v) <= uint64(TurnoverMax)-t.lo
}

// eventTurnover is the sum of the amounts of e's postings (amounts are positive).
func eventTurnover(e *Event) int64 {
	var buf [PostingsMax]Posting
	var sum int64
	for _, p := range e.Postings(buf[:0]) {
		sum += p.Amount // at most PostingsMax × MaxAmount
	}
	return sum
}

// checkTurnover refuses e when recording it would take the ledger's turnover beyond
// TurnoverMax.
func (s *State) checkTurnover(e *Event) error {
	if v := eventTurnover(e); v > 0 && !s.turnover.within(v) {
		return invalid("amount", "would take the ledger's turnover (the sum of the amounts of every posting ever "+
			"recorded) beyond %s đồng, past which reports could not add up", strconv.FormatInt(TurnoverMax, 10))
	}
	return nil
}
