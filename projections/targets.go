package projections

import (
	"slices"

	"github.com/vnntp/ledger/ledger"
)

// targetRec is a recorded target.set.
type targetRec struct {
	ledger.Target
	effective ledger.Date
	pos       int64
}

// targetScope is what a target is recorded for: a unit subtree ("" every unit), a
// program, a plan year and a source ("" every source).
type targetScope struct {
	unit, program, source string
	year                  int
}

// RowTarget is the target in force for a row's scope (docs/domain.md §6): the next
// milestone of its schedule on the report's date (the last one once all have passed),
// the rate expected on that date — the schedule read as straight lines between its
// milestones, from 0 % on 1 January of the plan year — and whether the row's rate
// reaches it.
type RowTarget struct {
	Rate     Rate        `json:"rate_percent"`
	By       ledger.Date `json:"by"`
	Document string      `json:"document"`
	Expected Rate        `json:"expected_percent"`
	OnTrack  bool        `json:"on_track"`
}

// TargetPoint is one milestone of a scope's schedule: a rate by a date.
type TargetPoint struct {
	Rate     Rate
	By       ledger.Date
	Document string
}

// schedule returns the milestones recorded for scope with an effective date ≤ t and a
// position ≤ k, one per date (the latest recorded wins), by date.
func (p *Progress) schedule(sc targetScope, t ledger.Date, k int64) []TargetPoint {
	var out []TargetPoint
	for i := range p.targets {
		r := &p.targets[i]
		if r.pos > k {
			break
		}
		if r.effective > t || r.Unit != sc.unit || r.Program != sc.program || sc.year != 0 && r.Year != sc.year || r.Source != sc.source {
			continue
		}
		pt := TargetPoint{Rate: Rate(r.RateBP), By: r.By, Document: r.Document}
		if j := slices.IndexFunc(out, func(o TargetPoint) bool { return o.By == r.By }); j >= 0 {
			out[j] = pt // a revision of the same milestone
		} else {
			out = append(out, pt)
		}
	}
	slices.SortFunc(out, func(a, b TargetPoint) int { return int(a.By) - int(b.By) })
	return out
}

// targetFor returns the target in force for scope on date t at position k, judged
// against rate; nil when no target is recorded for the scope.
func (p *Progress) targetFor(sc targetScope, t ledger.Date, k int64, rate *Rate) *RowTarget {
	if len(p.targets) == 0 || sc.program == "" || sc.year == 0 {
		return nil
	}
	pts := p.schedule(sc, t, k)
	if len(pts) == 0 {
		return nil
	}
	next := len(pts) - 1
	for i, pt := range pts {
		if pt.By >= t {
			next = i
			break
		}
	}
	prev := TargetPoint{By: ledger.MakeDate(sc.year, 1, 1)}
	if next > 0 {
		prev = pts[next-1]
	}
	cur := pts[next]
	expected := cur.Rate
	if t < cur.By {
		from, to, at := prev.By.Time(), cur.By.Time(), t.Time()
		span, gone := int64(to.Sub(from).Hours()/24), int64(at.Sub(from).Hours()/24)
		switch {
		case gone <= 0 || span <= 0:
			expected = prev.Rate
		default:
			expected = prev.Rate + Rate(int64(cur.Rate-prev.Rate)*gone/span)
		}
	}
	return &RowTarget{Rate: cur.Rate, By: cur.By, Document: cur.Document, Expected: expected,
		OnTrack: rate != nil && *rate >= expected}
}

// Targets returns the schedule of targets recorded for a unit subtree ("" every unit),
// program ("" the only one registered), plan year (0: every year's) and source ("" every
// source) as known at position at (0: the head), by date: what the trend draws, each at
// its date.
func (p *Progress) Targets(unit, program string, year int, source string, at int64) []TargetPoint {
	p.mu.RLock()
	defer p.mu.RUnlock()
	k := p.head
	if at > 0 && at < k {
		k = at
	}
	if program == "" {
		program = p.onlyProgram(&scope{k: k, program: none})
	}
	return p.schedule(targetScope{unit: unit, program: program, year: year, source: source}, maxDate, k)
}
