package ledger

// Level is the level of an administrative unit (cấp hành chính).
type Level string

// Unit levels.
const (
	LevelProvince Level = "province"
	LevelDistrict Level = "district"
	LevelCommune  Level = "commune"
)

// Levels lists the unit levels from the top down; LevelCount is its length.
var Levels = [LevelCount]Level{LevelProvince, LevelDistrict, LevelCommune}

// LevelCount is the number of unit levels.
const LevelCount = 3

// Depth returns the level's place from the top (province 0, district 1, commune 2), or
// -1 for a level that does not exist.
func (l Level) Depth() int {
	for i, v := range Levels {
		if v == l {
			return i
		}
	}
	return -1
}

// Source budget levels and natures (docs/domain.md §3).
const (
	BudgetCentral    = "central"
	BudgetLocal      = "local"
	BudgetOther      = "other"
	NatureInvestment = "investment"
	NatureRecurrent  = "recurrent"
)

// Validity is the period in which a catalog entry may be referenced. A zero To means
// open-ended.
type Validity struct {
	ValidFrom Date `json:"valid_from"`
	ValidTo   Date `json:"valid_to"`
}

// Covers reports whether d falls inside the validity period.
func (v Validity) Covers(d Date) bool {
	return (v.ValidFrom == 0 || d >= v.ValidFrom) && (v.ValidTo == 0 || d <= v.ValidTo)
}

func (v Validity) validate() error {
	if v.ValidTo != 0 && v.ValidFrom != 0 && v.ValidTo < v.ValidFrom {
		return invalid("valid_to", "must not be before valid_from")
	}
	return nil
}

// Program is a national target program, e.g. GNBV (giảm nghèo bền vững 2021–2025).
type Program struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Validity
}

// Project is a component project (dự án) or sub-project (tiểu dự án) of a program.
// Parent is empty for a top-level project.
type Project struct {
	Program string `json:"program"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Parent  string `json:"parent,omitempty"`
	Validity
}

// Unit is an administrative unit. ID is stable forever; Code is the GSO code, which
// reorganisations reuse for other places (docs/domain.md §3), so lines refer to ID.
type Unit struct {
	ID     string `json:"id"`
	Code   string `json:"code"`
	Name   string `json:"name"`
	Level  Level  `json:"level"`
	Parent string `json:"parent,omitempty"` // the parent unit's ID
	Validity
}

// Source is a capital source (nguồn vốn): budget level × nature × counterpart flag.
type Source struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Budget      string `json:"budget"`
	Nature      string `json:"nature"`
	Counterpart bool   `json:"counterpart"`
	Validity
}

// Catalog holds the reference data. The zero Catalog is empty and ready to use. It is
// not safe for concurrent use.
type Catalog struct {
	Programs map[string]*Program
	Projects map[string]*Project // key: program + "/" + code
	Units    map[string]*Unit    // key: ID
	Sources  map[string]*Source

	// Successions by predecessor and by successor, and the changes of the unit levels
	// in force, from unit.reorganized events (reorganize.go).
	successors   map[string][]Succession
	predecessors map[string][]Succession
	levelChanges []LevelsChange
	// closedBy holds the units a reorganisation closed; endedBy those of them whose end
	// date it set (the others were registered with it), which Revert reopens.
	closedBy map[string]bool
	endedBy  map[string]bool
}

func projectKey(program, code string) string { return program + "/" + code }

// Project returns the project code of program, or nil.
func (c *Catalog) Project(program, code string) *Project {
	return c.Projects[projectKey(program, code)]
}

// IsUnitWithin reports whether unit id lies in the subtree rooted at ancestor
// (a unit is within itself).
func (c *Catalog) IsUnitWithin(id, ancestor string) bool {
	for depth := 0; id != "" && depth < 8; depth++ {
		if id == ancestor {
			return true
		}
		u := c.Units[id]
		if u == nil {
			return false
		}
		id = u.Parent
	}
	return false
}

// UnitAt returns the ancestor of unit id at level (or the unit itself), or nil.
func (c *Catalog) UnitAt(id string, level Level) *Unit {
	for depth := 0; id != "" && depth < 8; depth++ {
		u := c.Units[id]
		if u == nil {
			return nil
		}
		if u.Level == level {
			return u
		}
		id = u.Parent
	}
	return nil
}

// Ancestry returns unit id's place in the tree: the id of its ancestor at each level
// (Level.Depth) above it, its own id at its level, "" below it and where the tree has no
// unit. It is the one definition of "the district of this commune": PlaceUnit builds
// the same thing one registration at a time, for read models that index units their
// own way.
func (c *Catalog) Ancestry(id string) [LevelCount]string {
	u := c.Units[id]
	if u == nil {
		return [LevelCount]string{}
	}
	var parent [LevelCount]string
	if u.Parent != "" && u.Parent != id {
		parent = c.Ancestry(u.Parent)
	}
	return PlaceUnit(parent, u.Level, id, "")
}

// PlaceUnit returns the ancestry of a unit at level whose parent's ancestry is parent:
// the parent's entries above the unit's level, self at it and none below. A unit of an
// unknown level takes its parent's ancestry.
func PlaceUnit[T any](parent [LevelCount]T, level Level, self, none T) [LevelCount]T {
	d := level.Depth()
	if d < 0 {
		return parent
	}
	anc := parent
	anc[d] = self
	for i := d + 1; i < LevelCount; i++ {
		anc[i] = none
	}
	return anc
}

// IsProjectWithin reports whether project code lies in the subtree rooted at ancestor.
func (c *Catalog) IsProjectWithin(program, code, ancestor string) bool {
	for depth := 0; code != "" && depth < 8; depth++ {
		if code == ancestor {
			return true
		}
		p := c.Project(program, code)
		if p == nil {
			return false
		}
		code = p.Parent
	}
	return false
}

func (c *Catalog) init() {
	if c.Programs == nil {
		c.Programs = map[string]*Program{}
		c.Projects = map[string]*Project{}
		c.Units = map[string]*Unit{}
		c.Sources = map[string]*Source{}
	}
}

// checkLine verifies that every part of l exists and is valid on date d.
func (c *Catalog) checkLine(l Line, d Date, field string) error {
	p := c.Programs[l.Program]
	if p == nil {
		return unknownRef(field+".program", "no program %q", l.Program)
	}
	if !p.Covers(d) {
		return unknownRef(field+".program", "program %q is not valid on %s", l.Program, d)
	}
	pr := c.Project(l.Program, l.Project)
	if pr == nil {
		return unknownRef(field+".project", "no project %q in program %q", l.Project, l.Program)
	}
	if !pr.Covers(d) {
		return unknownRef(field+".project", "project %q is not valid on %s", l.Project, d)
	}
	s := c.Sources[l.Source]
	if s == nil {
		return unknownRef(field+".source", "no capital source %q", l.Source)
	}
	if !s.Covers(d) {
		return unknownRef(field+".source", "capital source %q is not valid on %s", l.Source, d)
	}
	u := c.Units[l.Unit]
	if u == nil {
		return unknownRef(field+".unit", "no administrative unit %q", l.Unit)
	}
	if u.ValidTo != 0 && d > u.ValidTo {
		return unitClosed(field+".unit", u)
	}
	if !u.Covers(d) {
		return unknownRef(field+".unit", "unit %q (%s) is not valid on %s", l.Unit, u.Name, d)
	}
	return nil
}
