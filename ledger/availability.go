package ledger

import "math"

// Availability at every business date (docs/domain.md, rule 2). A line's available amount
// as of date t is the sum of the available deltas of its postings with an effective date
// ≤ t; recording a back-dated event changes it on every date from its effective date on.
// The write model keeps, per line, a treap keyed by effective date whose nodes carry the
// day's delta and, per subtree, its sum and the minimum of its running sums. So "the
// smallest available amount on any date from d on" and "the first date it falls below
// x" are one root-to-leaf walk each: O(log n) in the line's number of distinct dates,
// never a scan of its history.
//
// Priorities are a fixed hash of the date (ties broken by the date), so the tree's shape
// depends only on the set of dates it holds: a fold and an Apply-then-Revert of the same
// events leave identical trees (TestRevertRestoresState compares them).

// dayNode is one effective date of a line and the root of a subtree of dates.
type dayNode struct {
	date        Date
	prio        uint64
	postings    int32 // postings with a non-zero available delta on this date; the node goes at 0
	delta       int64 // Σ available delta of the date's postings
	sum         int64 // Σ delta over the subtree
	minRunning  int64 // min over the subtree's dates k of Σ delta of its dates ≤ k
	left, right *dayNode
}

// datePriority is a fixed mix of the date (splitmix64's finaliser).
func datePriority(d Date) uint64 {
	z := uint64(d) + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// above reports whether a goes above b in the heap order of the treap.
func (a *dayNode) above(b *dayNode) bool {
	return a.prio > b.prio || (a.prio == b.prio && a.date < b.date)
}

func (n *dayNode) pull() {
	var ls int64
	n.minRunning = math.MaxInt64
	if n.left != nil {
		ls = n.left.sum
		n.minRunning = n.left.minRunning
	}
	at := ls + n.delta
	n.minRunning = min(n.minRunning, at)
	n.sum = at
	if n.right != nil {
		n.sum += n.right.sum
		n.minRunning = min(n.minRunning, at+n.right.minRunning)
	}
}

// addDay adds delta (and count postings, possibly negative) on date d to the tree rooted
// at n and returns the new root. A date whose postings fall to zero leaves the tree.
func addDay(n *dayNode, d Date, delta int64, count int32) *dayNode {
	if n == nil {
		invariant(count > 0, "a date's postings removed from a line that has none on it")
		n = &dayNode{date: d, prio: datePriority(d), postings: count, delta: delta}
		n.pull()
		return n
	}
	switch {
	case d == n.date:
		n.postings += count
		n.delta += delta
		if n.postings == 0 {
			invariant(n.delta == 0, "a date without postings has a non-zero delta")
			return mergeDays(n.left, n.right)
		}
	case d < n.date:
		n.left = addDay(n.left, d, delta, count)
		if n.left != nil && n.left.above(n) {
			l := n.left
			n.left, l.right = l.right, n
			n.pull()
			l.pull()
			return l
		}
	default:
		n.right = addDay(n.right, d, delta, count)
		if n.right != nil && n.right.above(n) {
			r := n.right
			n.right, r.left = r.left, n
			n.pull()
			r.pull()
			return r
		}
	}
	n.pull()
	return n
}

// mergeDays joins two treaps whose dates are all in a before all in b.
func mergeDays(a, b *dayNode) *dayNode {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case a.above(b):
		a.right = mergeDays(a.right, b)
		a.pull()
		return a
	default:
		b.left = mergeDays(a, b.left)
		b.pull()
		return b
	}
}

// availableThrough returns the available amount as of d: Σ delta of the dates ≤ d.
func (n *dayNode) availableThrough(d Date) int64 {
	var acc int64
	for n != nil {
		if n.date <= d {
			if n.left != nil {
				acc += n.left.sum
			}
			acc += n.delta
			n = n.right
		} else {
			n = n.left
		}
	}
	return acc
}

// minFrom returns the smallest available amount on any date from d on (as of d itself
// and as of every later date the line has postings on).
func (n *dayNode) minFrom(d Date) int64 {
	m := n.availableThrough(d)
	var acc int64 // Σ delta of the dates left of n's subtree
	for n != nil {
		var ls int64
		if n.left != nil {
			ls = n.left.sum
		}
		if n.date <= d {
			acc += ls + n.delta
			n = n.right
			continue
		}
		// n and its right subtree are all after d; its left subtree is not yet known.
		at := acc + ls + n.delta
		m = min(m, at)
		if n.right != nil {
			m = min(m, at+n.right.minRunning)
		}
		n = n.left
	}
	return m
}

// firstBelow returns the first date from d on on which the available amount is below
// x, and false when there is none.
func (n *dayNode) firstBelow(d Date, x int64) (Date, bool) {
	if n.availableThrough(d) < x {
		return d, true
	}
	// Walk towards d; each node after d is a candidate, and so is its right subtree,
	// but only when nothing in its left subtree (closer to d) qualifies. Candidates are
	// met from the latest back to the earliest, so the last one found is the first date.
	var (
		acc     int64
		found   Date
		ok      bool
		subtree *dayNode // a right subtree holding the answer, entered with accSub
		accSub  int64
	)
	for n != nil {
		var ls int64
		if n.left != nil {
			ls = n.left.sum
		}
		if n.date <= d {
			acc += ls + n.delta
			n = n.right
			continue
		}
		at := acc + ls + n.delta
		if at < x {
			found, ok, subtree = n.date, true, nil
		} else if n.right != nil && at+n.right.minRunning < x {
			found, ok, subtree, accSub = 0, false, n.right, at
		}
		n = n.left
	}
	if subtree != nil {
		return subtree.leftmostBelow(accSub, x), true
	}
	return found, ok
}

// leftmostBelow returns the first date of the subtree whose running sum, starting from
// acc, is below x; the caller knows there is one.
func (n *dayNode) leftmostBelow(acc, x int64) Date {
	for {
		invariant(n != nil, "leftmostBelow on a subtree without such a date")
		if n.left != nil && acc+n.left.minRunning < x {
			n = n.left
			continue
		}
		if n.left != nil {
			acc += n.left.sum
		}
		acc += n.delta
		if acc < x {
			return n.date
		}
		n = n.right
	}
}

// dayCount returns the number of dates in the tree (tests).
func (n *dayNode) dayCount() int {
	if n == nil {
		return 0
	}
	return 1 + n.left.dayCount() + n.right.dayCount()
}
