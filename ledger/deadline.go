package ledger

import "fmt"

// Disbursement deadlines are data with a legal basis, never constants (docs/domain.md,
// rule 7): `deadline.set` says until when capital of a program's plan year — optionally
// of one source nature or source, optionally of one unit subtree — may be disbursed;
// `deadline.extended` moves it later for one line or for a scope. For a line and a date
// the deadline in force is the most specific one recorded with an effective date on or
// before that date (a line's own extension first, then the deepest unit subtree, then a
// source over a source nature over none), the later one among equals. A line with no
// deadline recorded has none.

// CodeDeadlinePassed refuses a disbursement dated after its line's deadline.
const CodeDeadlinePassed = "deadline_passed"

// Deadline is the payload of deadline.set and deadline.extended: the scope (or, for an
// extension of one line, the line, in EventData.Line), the last day capital may be
// disbursed, and the legal basis.
type Deadline struct {
	Program    string `json:"program"`
	Year       int    `json:"year"`
	Nature     string `json:"nature,omitempty"` // NatureInvestment or NatureRecurrent; "" every nature
	Source     string `json:"source,omitempty"` // one source code; "" every source
	Unit       string `json:"unit,omitempty"`   // a unit subtree; "" every unit
	Until      Date   `json:"until"`
	LegalBasis string `json:"legal_basis"`
}

// SetDeadline records the disbursement deadline of a plan year's capital of a program,
// optionally narrowed to a source nature or a source and to a unit subtree
// (thời hạn giải ngân). Admins record it.
type SetDeadline struct {
	Program       string `json:"program"`
	Year          int    `json:"year"`
	Nature        string `json:"nature"`
	Source        string `json:"source"`
	Unit          string `json:"unit"`
	Until         Date   `json:"until"`
	LegalBasis    string `json:"legal_basis"`
	EffectiveDate Date   `json:"effective_date"`
}

// ExtendDeadline moves the deadline of one line, or of a scope, later (kéo dài thời gian
// giải ngân). Line, when set (not the zero Line), names the line and the scope fields
// stay empty.
type ExtendDeadline struct {
	Line          Line   `json:"line"`
	Program       string `json:"program"`
	Year          int    `json:"year"`
	Nature        string `json:"nature"`
	Source        string `json:"source"`
	Unit          string `json:"unit"`
	Until         Date   `json:"until"`
	LegalBasis    string `json:"legal_basis"`
	EffectiveDate Date   `json:"effective_date"`
}

func validateScope(program string, year int, nature, source, unit string) error {
	if err := checkCode(program, "program"); err != nil {
		return err
	}
	if year < 1990 || year > 2999 {
		return invalid("year", "must be a plan year between 1990 and 2999, got %d", year)
	}
	if nature != "" && nature != NatureInvestment && nature != NatureRecurrent {
		return invalid("nature", "must be %q or %q when given, got %q", NatureInvestment, NatureRecurrent, nature)
	}
	if nature != "" && source != "" {
		return invalid("source", "give a source or a source nature, not both")
	}
	if source != "" {
		if err := checkCode(source, "source"); err != nil {
			return err
		}
	}
	if unit != "" {
		return checkCode(unit, "unit")
	}
	return nil
}

// checkUntil refuses a deadline before the first day of its plan year.
func checkUntil(until Date, year int) error {
	if err := checkDate(until, "until"); err != nil {
		return err
	}
	if until < MakeDate(year, 1, 1) {
		return invalid("until", "must not be before plan year %d begins, got %s", year, until)
	}
	return nil
}

func (c *SetDeadline) Validate() error {
	return firstErr(validateScope(c.Program, c.Year, c.Nature, c.Source, c.Unit), checkUntil(c.Until, c.Year),
		checkText(c.LegalBasis, "legal_basis", true), checkDate(c.EffectiveDate, "effective_date"))
}

func (c *ExtendDeadline) Validate() error {
	year := c.Year
	if c.Line != (Line{}) {
		if c.Program != "" || c.Year != 0 || c.Nature != "" || c.Source != "" || c.Unit != "" {
			return invalid("line", "give a line or a scope (program, year, nature, source, unit), not both")
		}
		if err := c.Line.validate("line"); err != nil {
			return err
		}
		year = c.Line.Year
	} else if err := validateScope(c.Program, c.Year, c.Nature, c.Source, c.Unit); err != nil {
		return err
	}
	return firstErr(checkUntil(c.Until, year), checkText(c.LegalBasis, "legal_basis", true),
		checkDate(c.EffectiveDate, "effective_date"))
}

// DeadlinePassedError refuses a disbursement dated after its line's deadline.
type DeadlinePassedError struct {
	Field      string // the request field naming the line
	Line       string // canonical line id
	Date       Date   // the disbursement's effective date
	Deadline   Date   // the last day the line's capital could be disbursed
	LegalBasis string
}

func (e *DeadlinePassedError) Error() string {
	return fmt.Sprintf("%s: line %s could be disbursed until %s (%s); the disbursement is dated %s",
		e.Field, e.Line, e.Deadline, e.LegalBasis, e.Date)
}

// deadlineRule is one recorded deadline.set or deadline.extended.
type deadlineRule struct {
	Deadline
	line      *Line // an extension of one line
	effective Date
	position  int64
}

// specificity orders rules: a line's own rule, then the deepest unit, then a source over
// a nature over neither.
func (r *deadlineRule) specificity(c *Catalog) int {
	if r.line != nil {
		return 1 << 8
	}
	s := 0
	if r.Unit != "" {
		if u := c.Units[r.Unit]; u != nil {
			s += (1 + u.Level.Depth()) << 2
		}
	}
	switch {
	case r.Source != "":
		s += 2
	case r.Nature != "":
		s++
	}
	return s
}

// covers reports whether r applies to line l.
func (r *deadlineRule) covers(c *Catalog, l *Line) bool {
	if r.line != nil {
		return *r.line == *l
	}
	if r.Program != l.Program || r.Year != l.Year {
		return false
	}
	if r.Source != "" && r.Source != l.Source {
		return false
	}
	if r.Nature != "" {
		if src := c.Sources[l.Source]; src == nil || src.Nature != r.Nature {
			return false
		}
	}
	return r.Unit == "" || c.IsUnitWithin(l.Unit, r.Unit)
}

// coversScope reports whether r applies to every line of the scope s (a scope rule):
// each of r's conditions is implied by s's.
func (r *deadlineRule) coversScope(c *Catalog, s *deadlineRule) bool {
	if r.line != nil || r.Program != s.Program || r.Year != s.Year {
		return false
	}
	if r.Source != "" && r.Source != s.Source {
		return false
	}
	if r.Nature != "" && r.Nature != s.Nature {
		src := c.Sources[s.Source]
		if s.Source == "" || src == nil || src.Nature != r.Nature {
			return false
		}
	}
	return r.Unit == "" || s.Unit != "" && c.IsUnitWithin(s.Unit, r.Unit)
}

// Deadlines holds the recorded deadline rules, by program and plan year, in position
// order. The zero Deadlines is empty and ready; it is not safe for concurrent use.
type Deadlines struct {
	rules map[deadlineKey][]*deadlineRule
}

type deadlineKey struct {
	program string
	year    int
}

// Add records the deadline event e (deadline.set or deadline.extended).
func (ds *Deadlines) Add(e *Event) {
	invariant(e.Data.Deadline != nil, "a deadline event without its deadline")
	if ds.rules == nil {
		ds.rules = map[deadlineKey][]*deadlineRule{}
	}
	r := &deadlineRule{Deadline: *e.Data.Deadline, effective: e.EffectiveDate, position: e.Position}
	if e.Data.Line != nil {
		l := *e.Data.Line
		r.line = &l
	}
	k := deadlineKey{r.Program, r.Year}
	ds.rules[k] = append(ds.rules[k], r)
}

// removeLast undoes Add of e, the last deadline event added.
func (ds *Deadlines) removeLast(e *Event) {
	k := deadlineKey{e.Data.Deadline.Program, e.Data.Deadline.Year}
	rs := ds.rules[k]
	invariant(len(rs) > 0 && rs[len(rs)-1].position == e.Position, "revert of a deadline that is not the last")
	if rs = rs[:len(rs)-1]; len(rs) == 0 {
		delete(ds.rules, k)
		if len(ds.rules) == 0 {
			ds.rules = nil // as a fresh fold leaves it
		}
	} else {
		ds.rules[k] = rs
	}
}

// Has reports whether any deadline is recorded for the plan year of a program.
func (ds *Deadlines) Has(program string, year int) bool {
	return len(ds.rules[deadlineKey{program, year}]) > 0
}

// For returns the deadline in force for line l on date d, among the rules recorded up
// to position at (0: all), and false when none is: the line then has no deadline.
func (ds *Deadlines) For(c *Catalog, l *Line, d Date, at int64) (Deadline, bool) {
	var best *deadlineRule
	bestSpec := -1
	for _, r := range ds.rules[deadlineKey{l.Program, l.Year}] {
		if at > 0 && r.position > at {
			break
		}
		if r.effective > d || !r.covers(c, l) {
			continue
		}
		if s := r.specificity(c); s >= bestSpec {
			best, bestSpec = r, s
		}
	}
	if best == nil {
		return Deadline{}, false
	}
	return best.Deadline, true
}

// forScope returns the deadline in force on date d for every line of the scope rule s.
func (ds *Deadlines) forScope(c *Catalog, s *deadlineRule, d Date) (Deadline, bool) {
	var best *deadlineRule
	bestSpec := -1
	for _, r := range ds.rules[deadlineKey{s.Program, s.Year}] {
		if r.effective > d || !r.coversScope(c, s) {
			continue
		}
		if sp := r.specificity(c); sp >= bestSpec {
			best, bestSpec = r, sp
		}
	}
	if best == nil {
		return Deadline{}, false
	}
	return best.Deadline, true
}

// decideDeadline checks a SetDeadline or ExtendDeadline against the catalog and the
// deadlines in force, and returns the event's data.
func (s *State) decideDeadline(cmd Command) (EventType, Date, EventData, error) {
	c := &s.Catalog
	checkScope := func(program, source, unit string) error {
		if p := c.Programs[program]; p == nil {
			return unknownRef("program", "no program %q", program)
		}
		if source != "" && c.Sources[source] == nil {
			return unknownRef("source", "no capital source %q", source)
		}
		if unit != "" && c.Units[unit] == nil {
			return unknownRef("unit", "no administrative unit %q", unit)
		}
		return nil
	}
	switch cmd := cmd.(type) {
	case *SetDeadline:
		if err := checkScope(cmd.Program, cmd.Source, cmd.Unit); err != nil {
			return "", 0, EventData{}, err
		}
		dl := Deadline{Program: cmd.Program, Year: cmd.Year, Nature: cmd.Nature, Source: cmd.Source, Unit: cmd.Unit,
			Until: cmd.Until, LegalBasis: cmd.LegalBasis}
		return TypeDeadlineSet, cmd.EffectiveDate, EventData{Deadline: &dl}, nil
	case *ExtendDeadline:
		var (
			cur   Deadline
			ok    bool
			data  EventData
			field = "line"
		)
		if cmd.Line != (Line{}) {
			if err := c.checkLine(cmd.Line, cmd.EffectiveDate, "line"); err != nil {
				return "", 0, data, err
			}
			l := cmd.Line
			cur, ok = s.deadlines.For(c, &l, cmd.EffectiveDate, 0)
			data = EventData{Line: &l, Deadline: &Deadline{Program: l.Program, Year: l.Year, Until: cmd.Until, LegalBasis: cmd.LegalBasis}}
		} else {
			if err := checkScope(cmd.Program, cmd.Source, cmd.Unit); err != nil {
				return "", 0, data, err
			}
			dl := Deadline{Program: cmd.Program, Year: cmd.Year, Nature: cmd.Nature, Source: cmd.Source, Unit: cmd.Unit,
				Until: cmd.Until, LegalBasis: cmd.LegalBasis}
			cur, ok = s.deadlines.forScope(c, &deadlineRule{Deadline: dl}, cmd.EffectiveDate)
			data, field = EventData{Deadline: &dl}, "program"
		}
		if !ok {
			return "", 0, data, invalid(field, "no deadline is recorded for it on %s: record one with POST /v1/deadlines", cmd.EffectiveDate)
		}
		if cmd.Until <= cur.Until {
			return "", 0, data, invalid("until", "an extension must move the deadline later than %s (%s), got %s",
				cur.Until, cur.LegalBasis, cmd.Until)
		}
		return TypeDeadlineExtended, cmd.EffectiveDate, data, nil
	}
	return "", 0, EventData{}, invalid("", "unknown command %T", cmd)
}

// DeadlineOf returns the deadline of line l as the ledger knows it now: the most
// specific of every deadline recorded for it, whatever its effective date; false when
// none is recorded.
func (s *State) DeadlineOf(l Line) (Deadline, bool) {
	return s.deadlines.For(&s.Catalog, &l, Date(^uint32(0)), 0)
}

// checkDeadline refuses a disbursement from line l dated d after the line's deadline.
func (s *State) checkDeadline(l Line, d Date) error {
	dl, ok := s.deadlines.For(&s.Catalog, &l, d, 0)
	if ok && d > dl.Until {
		return &DeadlinePassedError{Field: "effective_date", Line: l.ID(), Date: d, Deadline: dl.Until, LegalBasis: dl.LegalBasis}
	}
	return nil
}
