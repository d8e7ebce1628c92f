package projections

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// Dimension is what a progress report groups lines by. The strings are the values of
// GET /v1/progress?group_by= and of the report's group_by; a query refuses any other.
type Dimension string

// Group dimensions of a progress query.
const (
	GroupProvince   Dimension = "province"
	GroupDistrict   Dimension = "district"
	GroupCommune    Dimension = "commune"
	GroupProject    Dimension = "project"    // the top-level project of the line's project
	GroupSubproject Dimension = "subproject" // the line's own project
	GroupSource     Dimension = "source"
	GroupYear       Dimension = "year" // the line's plan year
)

// Basis says which capital a report for a year counts (docs/domain.md §6).
type Basis string

// Bases of a progress query.
const (
	BasisPlanYear      Basis = "plan_year"
	BasisExecutionYear Basis = "execution_year"
)

// FormatDimensions joins ds as a group_by value: ParseDimensions' inverse.
func FormatDimensions(ds []Dimension) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = string(d)
	}
	return strings.Join(parts, ",")
}

// ParseDimensions splits a comma-separated group_by value; Query checks the names.
func ParseDimensions(s string) []Dimension {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	ds := make([]Dimension, len(parts))
	for i, p := range parts {
		ds[i] = Dimension(p)
	}
	return ds
}

// Units is the view of units a report shows (docs/domain.md §6): as recorded, or
// restated onto the units that succeed the holders on the report's date.
type Units string

// Views of units.
const (
	UnitsRecorded Units = "recorded" // each line under the unit that held it (the default)
	UnitsCurrent  Units = "current"  // each line under its holder's successor on the report's date
)

// groupByMax is the most dimensions a query groups by: one, or a pair (docs/domain.md §6).
const groupByMax = 2

// maxDate is the as-of limit of a query without one: later than every business date.
const maxDate = ledger.Date(math.MaxUint32)

type dim uint8

const (
	dimProvince dim = iota
	dimDistrict
	dimCommune
	dimProject
	dimSubproject
	dimSource
	dimYear
)

var dims = map[Dimension]dim{
	GroupProvince: dimProvince, GroupDistrict: dimDistrict, GroupCommune: dimCommune,
	GroupProject: dimProject, GroupSubproject: dimSubproject, GroupSource: dimSource, GroupYear: dimYear,
}

// Query selects and groups budget lines for a progress report. The zero Query is the
// total of every line at the head, on the plan-year basis, with no as-of limit.
type Query struct {
	// GroupBy names zero, one or two distinct dimensions (Group*). A line held above the
	// level grouped by (a province's own line in a by-district report, a district's own
	// line in a by-commune report) is reported in a row of its holder unit, keyed by the
	// holder's id and named by its name: its capital is neither dropped nor merged with
	// another province's.
	GroupBy []Dimension
	// Program selects one program. Grouping or filtering by project needs one; when it is
	// empty and exactly one program is registered at the report's position, that one is
	// taken.
	Program string
	// Unit selects the subtree of a unit (the unit and every unit below it), by stable id.
	Unit string
	// Project selects the subtree of a project (the project and its sub-projects).
	Project string
	// Source selects one capital source.
	Source string
	// Year is the plan year (plan_year basis; 0: every year) or the execution year
	// (execution_year basis, required).
	Year int
	// Basis is BasisPlanYear (the default when empty) or BasisExecutionYear.
	Basis Basis
	// AsOf is the business date: events with a later effective date are left out. Zero
	// means no limit.
	AsOf ledger.Date
	// At is the ledger position: events recorded after it are left out. Zero means the
	// head.
	At int64
	// Units is UnitsRecorded (the default when empty) or UnitsCurrent: history restated
	// onto the successors valid on AsOf (the latest when AsOf is zero), following
	// unit.reorganized links over several hops, so a handover is internal. Totals are the
	// same in both views; only rows differ.
	Units Units
}

// Rate is a disbursement rate in hundredths of a percent: 6295 is 62.95 %. It is
// computed from integers and rounded half away from zero (half-up for the positive rates
// of every normal report), once.
type Rate int64

// RateOf returns disbursed / plan × 100 rounded half-up to 0.01, or nil when there is no
// rate: plan ≤ 0, or (only for absurd back-dated histories) a rate beyond the range of
// Rate. A combined rate is RateOf(Σ disbursed, Σ plan), never an average of rates.
func RateOf(disbursed, plan int64) *Rate {
	if plan <= 0 {
		return nil
	}
	neg := disbursed < 0
	n := uint64(disbursed)
	if neg {
		n = -n // two's complement: also right for math.MinInt64
	}
	hi, lo := bits.Mul64(n, 10000)
	d := uint64(plan)
	if hi >= d {
		return nil
	}
	q, r := bits.Div64(hi, lo, d)
	if r >= d-r { // 2r ≥ d without overflow: the remainder is at least half
		q++
	}
	if q > math.MaxInt64 {
		return nil
	}
	v := Rate(q)
	if neg {
		v = -v
	}
	return &v
}

// AppendTo appends r as a decimal with exactly two decimals, e.g. 62.95 or -0.05.
func (r Rate) AppendTo(b []byte) []byte {
	v := int64(r)
	if v < 0 {
		b = append(b, '-')
	}
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	b = strconv.AppendUint(b, u/100, 10)
	frac := u % 100
	return append(b, '.', byte('0'+frac/10), byte('0'+frac%10))
}

func (r Rate) String() string { return string(r.AppendTo(nil)) }

// MarshalJSON writes r as a JSON number with exactly two decimals, from integers: a
// float would print 62.9 for 62.90 and may round.
func (r Rate) MarshalJSON() ([]byte, error) { return r.AppendTo(nil), nil }

// Amounts are the figures of a group: plan, net disbursed, available = plan − disbursed,
// and the rate (nil when plan is 0).
type Amounts struct {
	Plan      int64 `json:"plan"`
	Disbursed int64 `json:"disbursed"`
	Available int64 `json:"available"`
	Rate      *Rate `json:"rate_percent"`
}

func amounts(plan, disbursed int64) Amounts {
	return Amounts{Plan: plan, Disbursed: disbursed, Available: plan - disbursed, Rate: RateOf(disbursed, plan)}
}

// Row is one group of a report: its key and name per GroupBy dimension, and its
// figures. On the execution-year basis the figures are the combined ones, and Own and
// CarriedIn hold the two parts.
type Row struct {
	Key  []string `json:"key"`
	Name []string `json:"name"`
	Amounts
	// Commitments is set when the report carries contract figures (Report.Commitments).
	*Commitments
	Own       *Amounts `json:"own,omitempty"`
	CarriedIn *Amounts `json:"carried_in,omitempty"`
	// Lapsing is the available amount, as of the report's date, of the group's lines
	// whose disbursement deadline in force is before that date (docs/domain.md, rule 7):
	// capital that may no longer be disbursed and waits for a cancellation. It is
	// computed only for a report with an as-of date, and omitted when zero — so reports
	// of a ledger without deadlines keep their bytes.
	Lapsing int64 `json:"lapsing,omitempty"`
	// Target is the target in force for the row's scope (target.set; targets.go): for the
	// total, the report's own unit, program, plan year and source; for a row of a report
	// grouped by one unit level, that unit with the report's program, year and source.
	// Only on the plan-year basis with one plan year and one program; omitted when none is
	// recorded — so reports of a ledger without targets keep their bytes.
	Target *RowTarget `json:"target,omitempty"`
}

// Report is the answer to a Query. Position and HeadHash say exactly what it was
// computed from: the same query at the same position gives the same report, byte for
// byte, forever. Rows are sorted by key; a group whose figures are all zero is left out;
// Total covers every selected line.
type Report struct {
	AsOf     ledger.Date // zero: no limit
	Position int64
	HeadHash [32]byte
	Basis    Basis
	Year     int
	GroupBy  []Dimension
	Rows     []Row
	Total    Row
	// Units is the view of units; "" (the default, as recorded) is not written, so that
	// reports as recorded keep their bytes.
	Units Units
	// Commitments says whether the ledger holds a contract at Position: then every row
	// carries its committed capital and outstanding advances.
	Commitments bool
}

// reportJSON is the wire shape of a Report (api/openapi.yaml, GET /v1/progress).
type reportJSON struct {
	AsOf     ledger.Date `json:"as_of"` // null: no limit
	Position int64       `json:"position"`
	HeadHash string      `json:"head_hash"` // lowercase hex
	Basis    Basis       `json:"basis"`
	Year     *int        `json:"year"` // null: every plan year
	GroupBy  []Dimension `json:"group_by"`
	Rows     []Row       `json:"rows"`
	Total    Row         `json:"total"`
	Units    Units       `json:"units,omitempty"`
}

// MarshalJSON writes the report as {as_of, position, head_hash, basis, year, group_by,
// rows: [{key, name, plan, disbursed, available, rate_percent[, own, carried_in]}],
// total}.
func (r Report) MarshalJSON() ([]byte, error) {
	out := reportJSON{AsOf: r.AsOf, Position: r.Position, HeadHash: hex.EncodeToString(r.HeadHash[:]), Basis: r.Basis,
		GroupBy: r.GroupBy, Rows: r.Rows, Total: r.Total, Units: r.Units}
	if r.Year != 0 {
		y := r.Year
		out.Year = &y
	}
	if out.GroupBy == nil {
		out.GroupBy = []Dimension{}
	}
	if out.Rows == nil {
		out.Rows = []Row{}
	}
	return json.Marshal(out)
}

// scope is a query's selection, resolved to catalog indexes at position k.
type scope struct {
	k         int64
	t         ledger.Date
	program   int32
	unitLevel int // -1: every unit
	unit      int32
	projects  []bool // by project index; nil: every project
	source    int32
	yearLo    int32
	yearHi    int32
	// current: the restated view (UnitsCurrent), every line placed under the unit that
	// succeeds its holder on t.
	current bool
}

// place is where a query puts a line: its holder unit and that unit's ancestry, as
// recorded or restated onto the successor on the report's date.
type place struct {
	unit int32
	anc  [levelCount]int32
}

func invalidArg(field, format string, args ...any) error {
	return &ledger.Error{Code: ledger.CodeInvalidArgument, Field: field, Message: fmt.Sprintf(format, args...)}
}

func unknownRef(field, format string, args ...any) error {
	return &ledger.Error{Code: ledger.CodeUnknownReference, Field: field, Message: fmt.Sprintf(format, args...)}
}

// resolve checks the filters and turns them into indexes, seeing the catalog as it was at
// the report's position. needProgram says whether the query groups or filters by project.
// It returns *ledger.Error (invalid_argument, unknown_reference).
func (p *Progress) resolve(at int64, asOf ledger.Date, program, unit, project, source string, needProgram bool) (scope, error) {
	sc := scope{k: p.head, t: asOf, program: none, unitLevel: -1, unit: none, source: none,
		yearLo: math.MinInt32, yearHi: math.MaxInt32}
	switch {
	case at < 0:
		return sc, invalidArg("at", "must be a ledger position ≥ 1, got %d", at)
	case at > p.head:
		return sc, invalidArg("at", "position %d is beyond the head %d", at, p.head)
	case at > 0:
		sc.k = at
	}
	if sc.t == 0 {
		sc.t = maxDate
	}
	k := sc.k
	if program == "" && (needProgram || project != "") {
		only := none
		for i, pr := range p.programs {
			if pr.pos <= k {
				if only != none {
					return sc, invalidArg("program", "is required to group or filter by project: the ledger holds several programs")
				}
				only = int32(i)
			}
		}
		sc.program = only
	} else if program != "" {
		i, ok := p.programIdx[program]
		if !ok || p.programs[i].pos > k {
			return sc, unknownRef("program", "no program %q at position %d", program, k)
		}
		sc.program = i
	}
	if unit != "" {
		i, ok := p.unitIdx[unit]
		if !ok || p.units[i].pos > k {
			return sc, unknownRef("unit", "no administrative unit %q at position %d", unit, k)
		}
		if p.units[i].level < 0 {
			return sc, invalidArg("unit", "unit %q has no province, district or commune level", unit)
		}
		sc.unit, sc.unitLevel = i, p.units[i].level
	}
	if project != "" {
		var code string
		if sc.program != none {
			code = p.programs[sc.program].code
		}
		i, ok := p.projectIdx[projectKey{code, project}]
		if !ok || p.projects[i].pos > k {
			return sc, unknownRef("project", "no project %q in program %q at position %d", project, code, k)
		}
		sc.projects = make([]bool, len(p.projects))
		for j := range p.projects {
			for a, depth := int32(j), 0; a != none && depth < projectDepthMax; a, depth = p.projects[a].parent, depth+1 {
				if a == i {
					sc.projects[j] = true
					break
				}
			}
		}
	}
	if source != "" {
		i, ok := p.sourceIdx[source]
		if !ok || p.sources[i].pos > k {
			return sc, unknownRef("source", "no capital source %q at position %d", source, k)
		}
		sc.source = i
	}
	return sc, nil
}

// each calls fn for every line the scope selects that existed at its position, with the
// line's place in the scope's view of units.
func (p *Progress) each(sc *scope, fn func(l *lineRec, pl *place)) {
	province := none
	if sc.unitLevel >= 0 {
		province = p.units[sc.unit].anc[levelProvince]
	}
	// Buckets hold lines by their recorded province. Restated, a line moves only when its
	// holder has a succession, so the buckets to read are the unit's province and those
	// of reorganised units whose successor on t lies in it.
	var provinces map[int32]bool
	if sc.current && sc.unitLevel >= 0 {
		provinces = map[int32]bool{province: true}
		for _, u := range p.reorganised {
			if p.units[p.successorOn(u, sc.t, sc.k)].anc[levelProvince] == province {
				provinces[p.units[u].anc[levelProvince]] = true
			}
		}
	}
	var pl place
	for b := range p.buckets {
		bk := p.buckets[b].key
		if bk.year < sc.yearLo || bk.year > sc.yearHi ||
			sc.unitLevel >= 0 && (provinces == nil && bk.province != province || provinces != nil && !provinces[bk.province]) {
			continue
		}
		lines := p.buckets[b].lines
		for i := range lines {
			l := &lines[i]
			pl.unit, pl.anc = l.unit, l.anc
			if sc.current && l.unit != none {
				pl.unit = p.successorOn(l.unit, sc.t, sc.k)
				pl.anc = p.units[pl.unit].anc
			}
			if l.firstPos > sc.k ||
				sc.program != none && l.program != sc.program ||
				sc.unitLevel >= 0 && pl.anc[sc.unitLevel] != sc.unit ||
				sc.source != none && l.source != sc.source ||
				sc.projects != nil && (l.project == none || !sc.projects[l.project]) {
				continue
			}
			fn(l, &pl)
		}
	}
}

// groupValue returns the index (unit, project or source) or the year of a line's group
// in dimension d.
func (p *Progress) groupValue(l *lineRec, pl *place, d dim) int32 {
	switch d {
	case dimProvince, dimDistrict, dimCommune:
		if v := pl.anc[int(d-dimProvince)]; v != none {
			return v
		}
		return pl.unit // held above the level: the holder's own row
	case dimProject:
		if l.project == none {
			return none
		}
		return p.projects[l.project].top
	case dimSubproject:
		return l.project
	case dimSource:
		return l.source
	}
	return l.year
}

// keyName returns the key and the name of group value v in dimension d.
func (p *Progress) keyName(d dim, v int32) (string, string) {
	if d == dimYear {
		s := strconv.Itoa(int(v))
		return s, s
	}
	if v == none {
		return "", ""
	}
	switch d {
	case dimProject, dimSubproject:
		return p.projects[v].code, p.projects[v].name
	case dimSource:
		return p.sources[v].code, p.sources[v].name
	}
	return p.units[v].id, p.units[v].name
}

// acc sums a group: own (plan-year) figures, carried-in figures, lapsing capital, and the
// contract and advance figures when the report carries them.
type acc struct {
	plan, disb, cPlan, cDisb, lapsing int64
	cx                                commitSums
}

// emptyAcc is an acc with nothing added: no oldest advance yet.
var emptyAcc = acc{cx: commitSums{oldestDays: -1}}

// Query computes a progress report. It returns *ledger.Error: invalid_argument for a bad
// group_by, basis, year or at; unknown_reference for a program, unit, project or source
// not registered at the report's position.
func (p *Progress) Query(q Query) (Report, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.query(q, false)
}

// query computes Query's report, or with perLine one row per budget line (Lines).
func (p *Progress) query(q Query, perLine bool) (Report, error) {

	if len(q.GroupBy) > groupByMax {
		return Report{}, invalidArg("group_by", "takes at most %d dimensions, got %d", groupByMax, len(q.GroupBy))
	}
	ds := make([]dim, len(q.GroupBy))
	needProgram := false
	for i, g := range q.GroupBy {
		d, ok := dims[g]
		if !ok {
			return Report{}, invalidArg("group_by", "unknown dimension %q (province, district, commune, project, subproject, source, year)", g)
		}
		if i > 0 && ds[0] == d {
			return Report{}, invalidArg("group_by", "dimension %q given twice", g)
		}
		ds[i] = d
		needProgram = needProgram || d == dimProject || d == dimSubproject
	}
	basis := q.Basis
	if basis == "" {
		basis = BasisPlanYear
	}
	if basis != BasisPlanYear && basis != BasisExecutionYear {
		return Report{}, invalidArg("basis", "must be %q or %q, got %q", BasisPlanYear, BasisExecutionYear, q.Basis)
	}
	if q.Year != 0 && (q.Year < 1990 || q.Year > 2999) {
		return Report{}, invalidArg("year", "must be a year between 1990 and 2999, got %d", q.Year)
	}
	exec := basis == BasisExecutionYear
	if exec && q.Year == 0 {
		return Report{}, invalidArg("year", "is required on the execution-year basis")
	}
	sc, err := p.resolve(q.At, q.AsOf, q.Program, q.Unit, q.Project, q.Source, needProgram)
	if err != nil {
		return Report{}, err
	}
	if sc.current, err = p.unitsView(q.Units, &sc, ds); err != nil {
		return Report{}, err
	}
	year := int32(q.Year)
	if exec {
		sc.yearHi = year
	} else if year != 0 {
		sc.yearLo, sc.yearHi = year, year
	}
	// Execution year: disbursed from carried lines counts from 1 January to the end of
	// the year or the as-of date, whichever is earlier.
	yearStart := ledger.MakeDate(q.Year, time.January, 1)
	lastYearEnd := ledger.MakeDate(q.Year-1, time.December, 31)
	yearEnd := min(sc.t, ledger.MakeDate(q.Year, time.December, 31))

	index := map[uint64]int{}
	var groups []uint64
	var accs []acc
	var lineIndex map[*lineRec]int // perLine: line → index in accs and lines
	var lines []*lineRec
	get := func(l *lineRec, pl *place) *acc {
		if perLine {
			i, ok := lineIndex[l]
			if !ok {
				if lineIndex == nil {
					lineIndex = map[*lineRec]int{}
				}
				i = len(accs)
				lineIndex[l] = i
				lines = append(lines, l)
				accs = append(accs, emptyAcc)
			}
			return &accs[i]
		}
		var key uint64
		for i, d := range ds {
			key |= uint64(uint32(p.groupValue(l, pl, d))) << (32 * i)
		}
		i, ok := index[key]
		if !ok {
			i = len(accs)
			index[key] = i
			groups = append(groups, key)
			accs = append(accs, emptyAcc)
		}
		return &accs[i]
	}
	// Contract and advance figures count on every selected line that holds them.
	withCx := p.firstContract != 0 && p.firstContract <= sc.k
	aged := q.AsOf != 0
	p.each(&sc, func(l *lineRec, pl *place) {
		if q.AsOf != 0 {
			if lapsing := p.lapsing(l, sc.t, sc.k); lapsing > 0 {
				get(l, pl).lapsing += lapsing
			}
		}
		if withCx && l.cx != nil {
			cs := commitSums{oldestDays: -1}
			l.addCommitments(&cs, sc.t, sc.k, aged)
			if cs.committed != 0 || cs.outstanding != 0 {
				get(l, pl).cx.add(&cs)
			}
		}
		if !exec || l.year == year {
			plan, disb := l.at(sc.t, sc.k)
			if plan != 0 || disb != 0 {
				a := get(l, pl)
				a.plan += plan
				a.disb += disb
			}
			return
		}
		carried := l.carriedInto(year, sc.t, sc.k)
		if carried == 0 {
			return
		}
		var disb int64
		if sc.t >= yearStart {
			_, d1 := l.at(yearEnd, sc.k)
			_, d0 := l.at(lastYearEnd, sc.k)
			disb = d1 - d0
		}
		a := get(l, pl)
		a.cPlan += carried
		a.cDisb += disb
	})

	r := Report{AsOf: q.AsOf, Position: sc.k, HeadHash: p.hashAt(sc.k), Basis: basis, Year: q.Year,
		GroupBy: slices.Clone(q.GroupBy), Rows: make([]Row, 0, len(accs)), Commitments: withCx}
	if sc.current {
		r.Units = UnitsCurrent
	}
	total := emptyAcc
	for i := range accs {
		a := &accs[i]
		total.plan += a.plan
		total.disb += a.disb
		total.cPlan += a.cPlan
		total.cDisb += a.cDisb
		total.cx.add(&a.cx)
		total.lapsing += a.lapsing
		if perLine {
			if *a != emptyAcc {
				row := p.lineRow(lines[i])
				fill(&row, *a, exec, withCx, aged)
				r.Rows = append(r.Rows, row)
			}
			continue
		}
		if *a == emptyAcc || len(ds) == 0 {
			continue // without group_by, the total is the whole report
		}
		row := Row{Key: make([]string, len(ds)), Name: make([]string, len(ds))}
		for j, d := range ds {
			row.Key[j], row.Name[j] = p.keyName(d, int32(uint32(groups[i]>>(32*j))))
		}
		fill(&row, *a, exec, withCx, aged)
		r.Rows = append(r.Rows, row)
	}
	slices.SortFunc(r.Rows, func(a, b Row) int { return slices.Compare(a.Key, b.Key) })
	r.Total = Row{Key: []string{}, Name: []string{}}
	fill(&r.Total, total, exec, withCx, aged)
	if program := p.onlyProgram(&sc); len(p.targets) > 0 && !exec && q.Year != 0 && program != "" {
		ts := targetScope{unit: q.Unit, program: program, year: q.Year, source: q.Source}
		r.Total.Target = p.targetFor(ts, sc.t, sc.k, r.Total.Rate)
		if len(ds) == 1 && ds[0] <= dimCommune {
			for i := range r.Rows {
				ts.unit = r.Rows[i].Key[0]
				r.Rows[i].Target = p.targetFor(ts, sc.t, sc.k, r.Rows[i].Rate)
			}
		}
	}
	return r, nil
}

// unitsView checks a view of units against the query's dimensions: restated, a level
// that does not exist on the report's date cannot be grouped by (its units are closed).
// It returns whether the view is the restated one.
func (p *Progress) unitsView(u Units, sc *scope, ds []dim) (bool, error) {
	switch u {
	case "", UnitsRecorded:
		return false, nil
	case UnitsCurrent:
	default:
		return false, invalidArg("units", "must be %q or %q, got %q", UnitsRecorded, UnitsCurrent, u)
	}
	levels := p.levelsOn(sc.t, sc.k)
	for _, d := range ds {
		if d > dimCommune {
			continue
		}
		l := ledger.Levels[d-dimProvince]
		if !slices.Contains(levels, l) {
			names := make([]string, len(levels))
			for i, l := range levels {
				names[i] = string(l)
			}
			on := "the latest date"
			if sc.t != maxDate {
				on = sc.t.String()
			}
			return false, invalidArg("group_by", "there is no %s level on %s in the restated view (units=current); the levels then are %s", l, on, strings.Join(names, ", "))
		}
	}
	return true, nil
}

func fill(row *Row, a acc, exec, withCx, aged bool) {
	row.Amounts = amounts(a.plan+a.cPlan, a.disb+a.cDisb)
	if withCx {
		row.Commitments = commitmentsOf(a.cx, row.Plan, aged)
	}
	row.Lapsing = a.lapsing
	if exec {
		own, carried := amounts(a.plan, a.disb), amounts(a.cPlan, a.cDisb)
		row.Own, row.CarriedIn = &own, &carried
	}
}

// ledgerLine returns the budget line l records.
func (p *Progress) ledgerLine(l *lineRec) (ledger.Line, bool) {
	if l.program == none || l.source == none || l.project == none || l.unit == none {
		return ledger.Line{}, false
	}
	return ledger.Line{Program: p.programs[l.program].code, Year: int(l.year), Source: p.sources[l.source].code,
		Project: p.projects[l.project].code, Unit: p.units[l.unit].id}, true
}

// deadlineOf returns the disbursement deadline in force for l on date t, as known at
// position k, and false when none is recorded.
func (p *Progress) deadlineOf(l *lineRec, t ledger.Date, k int64) (ledger.Deadline, bool) {
	if l.program == none || !p.deadlines.Has(p.programs[l.program].code, int(l.year)) {
		return ledger.Deadline{}, false
	}
	line, ok := p.ledgerLine(l)
	if !ok {
		return ledger.Deadline{}, false
	}
	return p.deadlines.For(&p.cat, &line, t, k)
}

// lapsing returns what is available on l as of t (at position k) when its deadline in
// force is before t: capital that may no longer be disbursed.
func (p *Progress) lapsing(l *lineRec, t ledger.Date, k int64) int64 {
	dl, ok := p.deadlineOf(l, t, k)
	if !ok || dl.Until >= t {
		return 0
	}
	plan, disb := l.at(t, k)
	return max(0, plan-disb)
}

// onlyProgram returns the code of the scope's program: the one it selects, or the only
// one registered at its position; "" when it spans several.
func (p *Progress) onlyProgram(sc *scope) string {
	if sc.program != none {
		return p.programs[sc.program].code
	}
	code := ""
	for _, pr := range p.programs {
		if pr.pos <= sc.k {
			if code != "" {
				return ""
			}
			code = pr.code
		}
	}
	return code
}
