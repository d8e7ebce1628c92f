package ledger

import (
	"slices"
	"strconv"
)

// Reorganisations of administrative units (docs/domain.md §2, rule 9). A unit.reorganized
// event closes its predecessors the day before its date and names, for each, the
// successors valid from the date; a split names the one successor that takes the
// predecessor's history. It may also change the unit levels in force from its date (the
// 2025 reorganisation abolished the district level): the level rules are data recorded by
// the event, never a date in code. Capital stays on the predecessors' lines until a
// handover transfer moves it along a recorded succession.

// ChangeKind says how predecessors became successors.
type ChangeKind string

// Change kinds.
const (
	ChangeMerge   ChangeKind = "merge"   // several units (or one) into one successor
	ChangeSplit   ChangeKind = "split"   // one unit into several; one takes the history
	ChangeRename  ChangeKind = "rename"  // one unit, a new identity
	ChangeAbolish ChangeKind = "abolish" // units abolished; their tasks go to at most one successor
)

// Limits of a reorganisation.
const (
	// ReorganizationChangesMax bounds the changes of one event: Resolution 202/2025/QH15
	// merged 63 provinces into 34, and a province's commune resolution lists a few hundred.
	ReorganizationChangesMax = 1000
	// changeUnitsMax bounds the predecessors or successors of one change.
	changeUnitsMax = 100
	// successionHopsMax bounds a walk along successions: a unit is reorganised at most
	// a few times in its life, and a longer chain can only come from a bug.
	successionHopsMax = 64
)

// KindHandover is the transfer of a predecessor unit's remaining capital to its
// successor (bàn giao): the one transfer allowed from a closed unit and across provinces.
const KindHandover TransferKind = "handover"

// UnitChange is one change of a reorganisation: predecessors → successors.
type UnitChange struct {
	Kind         ChangeKind `json:"kind"`
	Predecessors []string   `json:"predecessors"`
	Successors   []string   `json:"successors,omitempty"`
	// History is the successor that takes a split predecessor's history (and, in the
	// restated view of reports, its lines); other kinds have at most one successor.
	History string `json:"history,omitempty"`
}

// HistorySuccessor returns the successor that takes the predecessors' history: the one a
// split names, the only successor of a merge, a rename or an abolition; "" when none does
// (an abolition without successor).
func (c *UnitChange) HistorySuccessor() string {
	if c.Kind == ChangeSplit {
		return c.History
	}
	if len(c.Successors) == 1 {
		return c.Successors[0]
	}
	return ""
}

// Reorganization is the payload of unit.reorganized; the event's effective date is the
// date the successors take over.
type Reorganization struct {
	LegalBasis string `json:"legal_basis"`
	// Levels, when set, are the unit levels in force from the date, from the top down
	// (e.g. province, commune from 2025-07-01).
	Levels  []Level      `json:"levels,omitempty"`
	Changes []UnitChange `json:"changes"`
}

// Reorganize records a reorganisation of administrative units (sắp xếp đơn vị hành chính).
type Reorganize struct {
	EffectiveDate Date `json:"date"`
	Reorganization
}

// Validate checks the form of the reorganisation: kinds and the number of units each
// kind takes, no unit closed twice, no unit both closed and succeeding, known levels.
func (c *Reorganize) Validate() error {
	if err := firstErr(checkDate(c.EffectiveDate, "date"), checkText(c.LegalBasis, "legal_basis", true)); err != nil {
		return err
	}
	if len(c.Levels) > 0 {
		if c.Levels[0] != LevelProvince {
			return invalid("levels", "must start with %q", LevelProvince)
		}
		prev := -1
		for i, l := range c.Levels {
			d := l.Depth()
			if d < 0 || d <= prev {
				return invalid("levels["+itoa(i)+"]", "must be levels from the top down among province, district, commune, got %q", l)
			}
			prev = d
		}
	}
	if len(c.Changes) == 0 {
		return invalid("changes", "is required")
	}
	if len(c.Changes) > ReorganizationChangesMax {
		return invalid("changes", "takes at most %d changes, got %d", ReorganizationChangesMax, len(c.Changes))
	}
	closed := map[string]bool{}
	for i := range c.Changes {
		ch := &c.Changes[i]
		f := "changes[" + itoa(i) + "]"
		preds, succs := len(ch.Predecessors), len(ch.Successors)
		if preds == 0 {
			return invalid(f+".predecessors", "is required")
		}
		if preds > changeUnitsMax || succs > changeUnitsMax {
			return invalid(f, "takes at most %d predecessors and %d successors", changeUnitsMax, changeUnitsMax)
		}
		switch ch.Kind {
		case ChangeMerge:
			if succs != 1 {
				return invalid(f+".successors", "a merge names exactly one successor, got %d", succs)
			}
		case ChangeRename:
			if preds != 1 || succs != 1 {
				return invalid(f, "a rename names one predecessor and one successor")
			}
		case ChangeSplit:
			if preds != 1 || succs < 2 {
				return invalid(f, "a split names one predecessor and at least two successors")
			}
			if !slices.Contains(ch.Successors, ch.History) {
				return invalid(f+".history", "a split names the successor that takes the history, one of its successors, got %q", ch.History)
			}
		case ChangeAbolish:
			if succs > 1 {
				return invalid(f+".successors", "an abolition names at most one successor (the unit that takes over its tasks), got %d", succs)
			}
		default:
			return invalid(f+".kind", "must be %q, %q, %q or %q, got %q", ChangeMerge, ChangeSplit, ChangeRename, ChangeAbolish, ch.Kind)
		}
		if ch.Kind != ChangeSplit && ch.History != "" {
			return invalid(f+".history", "only a split names the successor that takes the history")
		}
		for j, p := range ch.Predecessors {
			pf := f + ".predecessors[" + itoa(j) + "]"
			if err := checkCode(p, pf); err != nil {
				return err
			}
			if closed[p] {
				return invalid(pf, "unit %q is closed twice by this reorganisation", p)
			}
			closed[p] = true
		}
		for j, s := range ch.Successors {
			sf := f + ".successors[" + itoa(j) + "]"
			if err := checkCode(s, sf); err != nil {
				return err
			}
			if slices.Contains(ch.Successors[:j], s) {
				return invalid(sf, "unit %q is named twice", s)
			}
		}
	}
	for i := range c.Changes {
		for j, s := range c.Changes[i].Successors {
			if closed[s] {
				return invalid("changes["+itoa(i)+"].successors["+itoa(j)+"]", "unit %q is both closed and a successor: a cycle", s)
			}
		}
	}
	return nil
}

// Succession is a link from a predecessor unit to a successor, from a date.
type Succession struct {
	From    string     `json:"from"`
	To      string     `json:"to"`
	Date    Date       `json:"date"`
	Kind    ChangeKind `json:"kind"`
	History bool       `json:"history"` // the successor takes the predecessor's history
}

// LevelsChange is a change of the unit levels in force, from a date.
type LevelsChange struct {
	From   Date
	Levels []Level
}

// Successors returns the successions from unit id, in the order they were recorded.
func (c *Catalog) Successors(id string) []Succession { return c.successors[id] }

// Predecessors returns the successions into unit id, in the order they were recorded.
func (c *Catalog) Predecessors(id string) []Succession { return c.predecessors[id] }

// LevelsOn returns the unit levels in force on d, from the top down: every level until
// a reorganisation changes them.
func (c *Catalog) LevelsOn(d Date) []Level {
	levels := Levels[:]
	for _, ch := range c.levelChanges {
		if ch.From <= d {
			levels = ch.Levels
		}
	}
	return levels
}

// parentLevelOn returns the level a unit of level l hangs under on d: the level in force
// just above it, or "" for the top level or a level not in force.
func (c *Catalog) parentLevelOn(l Level, d Date) (Level, bool) {
	levels := c.LevelsOn(d)
	i := slices.Index(levels, l)
	switch {
	case i < 0:
		return "", false
	case i == 0:
		return "", true
	}
	return levels[i-1], true
}

// SuccessorOn returns the unit that holds unit id's history on date d: id itself when no
// reorganisation dated on or before d closed it, else its history successor, following
// successions over several hops (HistoryHolder). It is the restated view of reports
// (units=current).
func (c *Catalog) SuccessorOn(id string, d Date) string {
	return HistoryHolder(id, func(u string) (string, bool) {
		for _, s := range c.successors[u] {
			if s.History && s.Date <= d {
				return s.To, true
			}
		}
		return "", false
	})
}

// HistoryHolder returns the unit that holds unit u's history: u itself, or, following
// next (the unit that takes over a unit's history, false when none does), its successor
// over any number of hops. It is the one definition of "the successor of this unit on
// date d": Catalog.SuccessorOn applies it to unit ids, read models that index units their
// own way (progress) to their indexes, as PlaceUnit does for ancestry. A unit is closed at
// most once, so the walk ends; a longer chain than successionHopsMax is a bug.
func HistoryHolder[T comparable](u T, next func(T) (T, bool)) T {
	for hop := 0; hop < successionHopsMax; hop++ {
		n, ok := next(u)
		if !ok {
			return u
		}
		u = n
	}
	invariant(false, "a succession chain longer than successionHopsMax")
	return u
}

// succeeds reports whether unit to succeeds unit from along recorded successions dated on
// or before d (one or more hops; any successor of a split).
func (c *Catalog) succeeds(from, to string, d Date) bool {
	frontier := []string{from}
	for hop := 0; hop < successionHopsMax && len(frontier) > 0; hop++ {
		var next []string
		for _, u := range frontier {
			for _, s := range c.successors[u] {
				if s.Date > d {
					continue
				}
				if s.To == to {
					return true
				}
				next = append(next, s.To)
			}
		}
		frontier = next
	}
	return false
}

// IsUnitSucceededWithin reports whether unit id, or a unit that succeeds it over any
// number of hops, lies in the subtree rooted at ancestor: a successor unit's token reads
// its predecessors' history.
func (c *Catalog) IsUnitSucceededWithin(id, ancestor string) bool {
	// The usual case, a unit never reorganised, costs what IsUnitWithin costs.
	if c.IsUnitWithin(id, ancestor) {
		return true
	}
	if len(c.successors[id]) == 0 {
		return false
	}
	frontier := []string{id}
	for hop := 0; hop < successionHopsMax && len(frontier) > 0; hop++ {
		var next []string
		for _, u := range frontier {
			if c.IsUnitWithin(u, ancestor) {
				return true
			}
			for _, s := range c.successors[u] {
				next = append(next, s.To)
			}
		}
		frontier = next
	}
	return false
}

// dayBefore returns the calendar day before d.
func dayBefore(d Date) Date { return DateOf(d.Time().AddDate(0, 0, -1)) }

// decideReorganize checks a reorganisation against the catalog.
func (c *Catalog) decideReorganize(cmd *Reorganize) error {
	d := cmd.EffectiveDate
	end := dayBefore(d)
	for i := range cmd.Changes {
		ch := &cmd.Changes[i]
		f := "changes[" + itoa(i) + "]"
		for j, p := range ch.Predecessors {
			pf := f + ".predecessors[" + itoa(j) + "]"
			u := c.Units[p]
			if u == nil {
				return unknownRef(pf, "no administrative unit %q", p)
			}
			// A unit registered with its end already known (valid to the day before) is
			// closed by the reorganisation all the same; any other end is a conflict.
			if c.closedBy[p] || u.ValidTo != 0 && u.ValidTo != end {
				return invalid(pf, "unit %q (%s) is already closed, valid to %s", p, u.Name, u.ValidTo)
			}
			if u.ValidFrom != 0 && u.ValidFrom > end {
				return invalid(pf, "unit %q (%s) is valid only from %s, not before %s", p, u.Name, u.ValidFrom, d)
			}
		}
		for j, s := range ch.Successors {
			sf := f + ".successors[" + itoa(j) + "]"
			u := c.Units[s]
			if u == nil {
				return unknownRef(sf, "no administrative unit %q", s)
			}
			if !u.Covers(d) {
				return invalid(sf, "unit %q (%s) is not valid on %s: a successor is valid from the reorganisation's date", s, u.Name, d)
			}
			for _, p := range ch.Predecessors {
				if c.succeeds(s, p, DateMax) {
					return invalid(sf, "unit %q already precedes %q: a cycle", s, p)
				}
			}
		}
	}
	return nil
}

// DateMax is later than every business date.
const DateMax = Date(1<<32 - 1)

// applyReorganize folds a reorganisation into the catalog: predecessors closed the day
// before, successions recorded, level changes kept. Units are copied, never changed in
// place: the registration events share them.
func (c *Catalog) applyReorganize(d Date, r *Reorganization) {
	if c.successors == nil {
		c.successors = map[string][]Succession{}
		c.predecessors = map[string][]Succession{}
		c.closedBy = map[string]bool{}
		c.endedBy = map[string]bool{}
	}
	end := dayBefore(d)
	for i := range r.Changes {
		ch := &r.Changes[i]
		hist := ch.HistorySuccessor()
		for _, p := range ch.Predecessors {
			if u := c.Units[p]; u != nil && u.ValidTo == 0 {
				closed := *u
				closed.ValidTo = end
				c.Units[p] = &closed
				c.endedBy[p] = true
			}
			c.closedBy[p] = true
			for _, s := range ch.Successors {
				link := Succession{From: p, To: s, Date: d, Kind: ch.Kind, History: s == hist}
				c.successors[p] = append(c.successors[p], link)
				c.predecessors[s] = append(c.predecessors[s], link)
			}
		}
	}
	if len(r.Levels) > 0 {
		c.levelChanges = append(c.levelChanges, LevelsChange{From: d, Levels: r.Levels})
	}
}

// revertReorganize undoes applyReorganize of the last event.
func (c *Catalog) revertReorganize(r *Reorganization) {
	for i := len(r.Changes) - 1; i >= 0; i-- {
		ch := &r.Changes[i]
		for _, p := range ch.Predecessors {
			if u := c.Units[p]; u != nil && c.endedBy[p] {
				open := *u
				open.ValidTo = 0
				c.Units[p] = &open
			}
			delete(c.endedBy, p)
			delete(c.closedBy, p)
			c.successors[p] = c.successors[p][:len(c.successors[p])-len(ch.Successors)]
			if len(c.successors[p]) == 0 {
				delete(c.successors, p)
			}
			for _, s := range ch.Successors {
				c.predecessors[s] = c.predecessors[s][:len(c.predecessors[s])-1]
				if len(c.predecessors[s]) == 0 {
					delete(c.predecessors, s)
				}
			}
		}
	}
	if len(r.Levels) > 0 {
		c.levelChanges = c.levelChanges[:len(c.levelChanges)-1]
	}
	// As a fresh fold leaves them.
	if len(c.successors) == 0 && len(c.closedBy) == 0 {
		c.successors, c.predecessors, c.closedBy, c.endedBy = nil, nil, nil, nil
	}
	if len(c.levelChanges) == 0 {
		c.levelChanges = nil
	}
}

// UnitClosedError refuses a command on a closed unit's line dated after the unit's end
// (docs/domain.md rule 9), naming the unit and its last day. It is an *Error with code
// unit_closed (errors.As finds it through Unwrap), and carries the numbers for clients.
type UnitClosedError struct {
	Field   string // the request field naming the line's unit, or the original event
	Unit    string // the unit's stable id
	Name    string
	ValidTo Date // the unit's last day
}

func (e *UnitClosedError) message() string {
	return "unit " + e.Unit + " (" + e.Name + ") was closed on " + e.ValidTo.String() +
		"; nothing but a handover may be recorded on its lines after that"
}

func (e *UnitClosedError) Error() string {
	if e.Field == "" {
		return e.message()
	}
	return e.Field + ": " + e.message()
}

// Unwrap returns the error as an *Error, so that Code and Field see it.
func (e *UnitClosedError) Unwrap() error {
	return &Error{Code: CodeUnitClosed, Field: e.Field, Message: e.message()}
}

func unitClosed(field string, u *Unit) *UnitClosedError {
	return &UnitClosedError{Field: field, Unit: u.ID, Name: u.Name, ValidTo: u.ValidTo}
}

// checkOpen refuses d on unit id's line when the unit closed before d.
func (c *Catalog) checkOpen(id string, d Date, field string) error {
	if u := c.Units[id]; u != nil && u.ValidTo != 0 && d > u.ValidTo {
		return unitClosed(field, u)
	}
	return nil
}

// decideHandover checks a handover transfer: the from line's unit is succeeded by the to
// line's unit on the date, both lines share the project, and the from unit may be closed.
func (s *State) decideHandover(cmd *Transfer) error {
	c := &s.Catalog
	from := c.Units[cmd.From.Unit]
	if from == nil {
		return unknownRef("from.unit", "no administrative unit %q", cmd.From.Unit)
	}
	// The predecessor's line is checked as on its last day: the unit is closed on the date.
	on := cmd.EffectiveDate
	if from.ValidTo != 0 && on > from.ValidTo {
		on = from.ValidTo
	}
	if err := c.checkLine(cmd.From, on, "from"); err != nil {
		return err
	}
	if err := c.checkLine(cmd.To, cmd.EffectiveDate, "to"); err != nil {
		return err
	}
	if !c.succeeds(cmd.From.Unit, cmd.To.Unit, cmd.EffectiveDate) {
		return invalid("to.unit", "unit %q does not succeed %q by a reorganisation recorded on or before %s", cmd.To.Unit, cmd.From.Unit, cmd.EffectiveDate)
	}
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }

func levelList(ls []Level) string {
	s := ""
	for i, l := range ls {
		if i > 0 {
			s += ", "
		}
		s += string(l)
	}
	return s
}

// onDate is " on <d>" for a message, or "" when d is unset.
func onDate(d Date) string {
	if d == 0 {
		return ""
	}
	return " on " + d.String()
}
