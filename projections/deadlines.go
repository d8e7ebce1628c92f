package projections

import (
	"slices"
	"strings"

	"github.com/vnntp/ledger/ledger"
)

// Limits of a deadline query.
const (
	// DeadlineWithinDaysDefault is how far ahead a deadline counts as near when the
	// query does not say.
	DeadlineWithinDaysDefault = 90
	// DeadlineWithinDaysMax bounds how far ahead a query may look.
	DeadlineWithinDaysMax = 3660
	// DeadlineLinesMax bounds the lines a deadline report lists.
	DeadlineLinesMax = 100
)

// DeadlineQuery asks for the lines with capital still available whose disbursement
// deadline falls within Within days from AsOf: what a leader must disburse, or see lapse,
// soon.
type DeadlineQuery struct {
	Program string
	Unit    string // a unit subtree; "" every unit
	Year    int    // a plan year; 0 every year
	AsOf    ledger.Date
	At      int64 // a ledger position; 0 the head
	Within  int   // days; 0 means DeadlineWithinDaysDefault
	Limit   int   // lines; 0 means DeadlineLinesMax
}

// DeadlineLine is a line with available capital and its deadline in force.
type DeadlineLine struct {
	Line       string      `json:"line"`
	Unit       string      `json:"unit"`
	UnitName   string      `json:"unit_name"`
	Available  int64       `json:"available"`
	Deadline   ledger.Date `json:"deadline"`
	LegalBasis string      `json:"legal_basis"`
	DaysLeft   int         `json:"days_left"`
}

// DeadlineReport lists the lines of a DeadlineQuery, biggest available first.
type DeadlineReport struct {
	AsOf     ledger.Date    `json:"as_of"`
	Position int64          `json:"position"`
	Lines    []DeadlineLine `json:"lines"`
}

// NearDeadlines returns the lines of the query's scope whose deadline in force on AsOf is
// on or after AsOf and at most Within days later, with capital available as of AsOf,
// biggest balance first (then by line id). It returns *ledger.Error (invalid_argument,
// unknown_reference).
func (p *Progress) NearDeadlines(q DeadlineQuery) (DeadlineReport, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if q.AsOf == 0 {
		return DeadlineReport{}, invalidArg("as_of", "is required")
	}
	within, limit := q.Within, q.Limit
	if within == 0 {
		within = DeadlineWithinDaysDefault
	}
	if within < 0 || within > DeadlineWithinDaysMax {
		return DeadlineReport{}, invalidArg("within", "must be between 1 and %d days, got %d", DeadlineWithinDaysMax, q.Within)
	}
	if limit == 0 || limit > DeadlineLinesMax {
		limit = DeadlineLinesMax
	}
	if limit < 0 {
		return DeadlineReport{}, invalidArg("limit", "must be positive, got %d", q.Limit)
	}
	sc, err := p.resolve(q.At, q.AsOf, q.Program, q.Unit, "", "", false)
	if err != nil {
		return DeadlineReport{}, err
	}
	if q.Year != 0 {
		sc.yearLo, sc.yearHi = int32(q.Year), int32(q.Year)
	}
	from := q.AsOf.Time()
	last := ledger.DateOf(from.AddDate(0, 0, within))
	r := DeadlineReport{AsOf: q.AsOf, Position: sc.k, Lines: []DeadlineLine{}}
	p.each(&sc, func(l *lineRec, _ *place) {
		dl, ok := p.deadlineOf(l, sc.t, sc.k)
		if !ok || dl.Until < q.AsOf || dl.Until > last {
			return
		}
		plan, disb := l.at(sc.t, sc.k)
		if plan-disb <= 0 {
			return
		}
		line, _ := p.ledgerLine(l)
		r.Lines = append(r.Lines, DeadlineLine{Line: line.ID(), Unit: line.Unit, UnitName: p.units[l.unit].name,
			Available: plan - disb, Deadline: dl.Until, LegalBasis: dl.LegalBasis,
			DaysLeft: int(dl.Until.Time().Sub(from).Hours() / 24)})
	})
	slices.SortFunc(r.Lines, func(a, b DeadlineLine) int {
		if a.Available != b.Available {
			if a.Available > b.Available {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Line, b.Line)
	})
	if len(r.Lines) > limit {
		r.Lines = r.Lines[:limit]
	}
	return r, nil
}
