package projections

import (
	"github.com/vnntp/ledger/ledger"
)

// Lines computes the report of q one budget line per row, with the same selection and
// figures as Query: Row.Key is [the canonical line id], Row.Name [the name of the line's
// unit], and Total equals Query's total for q. The dashboard's drill-down uses it so that
// a unit's or a project's rate, clicked on the overview, is the rate of the lines shown
// (same as-of date, basis, year, program and source). q.GroupBy must be empty. Rows are
// sorted by line id; a line whose figures are all zero is left out. It returns the
// errors of Query.
func (p *Progress) Lines(q Query) (Report, error) {
	if len(q.GroupBy) > 0 {
		return Report{}, invalidArg("group_by", "a report by line takes no group_by")
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.query(q, true)
}

// lineRow is the key and name of a line's row in Lines.
func (p *Progress) lineRow(l *lineRec) Row {
	name := ""
	if l.unit != none {
		name = p.units[l.unit].name
	}
	return Row{Key: []string{p.lineKey(l).ID()}, Name: []string{name}}
}

// lineKey returns the line a record's catalog indexes name, which is its key unless a
// part was not registered when the line's first event came (line).
func (p *Progress) lineKey(l *lineRec) ledger.Line {
	k := ledger.Line{Year: int(l.year)}
	if l.program != none {
		k.Program = p.programs[l.program].code
	}
	if l.source != none {
		k.Source = p.sources[l.source].code
	}
	if l.project != none {
		k.Project = p.projects[l.project].code
	}
	if l.unit != none {
		k.Unit = p.units[l.unit].id
	}
	return k
}

// ProgramCapital is a program and the plan of its lines in a unit's subtree.
type ProgramCapital struct {
	Code, Name string
	Plan       int64 // at the head, every plan year, as of the date asked
}

// Programs returns every registered program, in the order they were registered, with
// the plan of its lines within unit's subtree ("" is every unit) as of asOf (zero: no
// limit), at the head. The dashboard picks its default program from it.
func (p *Progress) Programs(unit string, asOf ledger.Date) []ProgramCapital {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]ProgramCapital, len(p.programs))
	for i, pr := range p.programs {
		out[i] = ProgramCapital{Code: pr.code, Name: pr.name}
	}
	sc, err := p.resolve(0, asOf, "", unit, "", "", false)
	if err != nil {
		return out // an unknown unit has no capital
	}
	p.each(&sc, func(l *lineRec, _ *place) {
		if l.program != none {
			plan, _ := l.at(sc.t, sc.k)
			out[l.program].Plan += plan
		}
	})
	return out
}
