package ledger

// RuleFinding is an event of a recorded history that breaks a rule the writer enforces
// today but did not when it was recorded: `ledger verify --rules` lists them and changes
// nothing.
type RuleFinding struct {
	Position int64
	Line     string // canonical line id
	Rule     int    // the rule's number in docs/domain.md §4
	// Date is the first business date the event leaves the line negative on (rule 2).
	Date Date
	// Available is the smallest available amount on the line from the event's effective
	// date on, before the event; Amount is what the event took.
	Available, Amount int64
}

// RuleChecker folds a history in position order and reports each event that takes a
// line's available amount below zero as of some business date (rule 2) — possible in
// ledgers recorded before the writer checked every date. It keeps the same per-date
// index as the write model, so each event costs O(log n). The zero RuleChecker is ready;
// it is not safe for concurrent use.
type RuleChecker struct {
	days map[Line]*dayNode
}

// Add folds e and appends to dst what it breaks; it returns the extended slice.
func (c *RuleChecker) Add(dst []RuleFinding, e *Event) []RuleFinding {
	if c.days == nil {
		c.days = map[Line]*dayNode{}
	}
	var buf [PostingsMax]Posting
	for _, p := range e.Postings(buf[:0]) {
		delta := p.AvailableDelta()
		if delta == 0 {
			continue
		}
		root := c.days[p.Line]
		if delta < 0 {
			if m := root.minFrom(e.EffectiveDate); m+delta < 0 {
				first, _ := root.firstBelow(e.EffectiveDate, -delta)
				dst = append(dst, RuleFinding{Position: e.Position, Line: p.Line.ID(), Rule: 2, Date: first,
					Available: m, Amount: -delta})
			}
		}
		c.days[p.Line] = addDay(root, e.EffectiveDate, delta, 1)
	}
	return dst
}
