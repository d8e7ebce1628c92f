package projections

import (
	"encoding/json"
	"math/big"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// Sizes of the property tests: enough histories to hit late entries, same-day events,
// sub-allocations and catalog entries registered mid-history, small enough for seconds.
const (
	propHistories      = 150
	propEventsMax      = 220
	propQueriesPerStep = 4
)

// history generates random event logs over a small catalog: two programs sharing
// project codes, two provinces, districts, communes (one registered mid-history),
// four sources of which one is counterpart. Events need not pass the write rules: the
// projection must sum whatever was committed, and the naive model sums the same.
type history struct {
	rng    *rand.Rand
	events []*ledger.Event
	units  []ledger.Unit
	lines  []ledger.Line
	progs  []string

	// With reorganisations (genHistoryWith): the candidate changes not yet recorded, the
	// units closed, and the successions recorded (predecessor → successors).
	changes []propChange
	closed  map[string]bool
	succ    map[string][]string
}

var (
	propSources = []ledger.Source{
		{Code: "C-INV", Name: "Central investment", Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment},
		{Code: "C-REC", Name: "Central recurrent", Budget: ledger.BudgetCentral, Nature: ledger.NatureRecurrent},
		{Code: "L-CP", Name: "Counterpart", Budget: ledger.BudgetLocal, Nature: ledger.NatureRecurrent, Counterpart: true},
		{Code: "L-INV", Name: "Local investment", Budget: ledger.BudgetLocal, Nature: ledger.NatureInvestment},
	}
	propProjects = []ledger.Project{
		{Code: "DA1", Name: "Dự án 1"}, {Code: "DA1.T1", Parent: "DA1", Name: "Tiểu dự án 1.1"},
		{Code: "DA1.T2", Parent: "DA1", Name: "Tiểu dự án 1.2"}, {Code: "DA2", Name: "Dự án 2"},
		{Code: "DA3", Name: "Dự án 3"}, {Code: "DA3.T1", Parent: "DA3", Name: "Tiểu dự án 3.1"},
	}
	propUnits = []ledger.Unit{
		{ID: "P1", Name: "Tỉnh 1", Level: ledger.LevelProvince},
		{ID: "D11", Name: "Huyện 11", Level: ledger.LevelDistrict, Parent: "P1"},
		{ID: "C111", Name: "Xã 111", Level: ledger.LevelCommune, Parent: "D11"},
		{ID: "C112", Name: "Xã 112", Level: ledger.LevelCommune, Parent: "D11"},
		{ID: "D12", Name: "Huyện 12", Level: ledger.LevelDistrict, Parent: "P1"},
		{ID: "C121", Name: "Xã 121", Level: ledger.LevelCommune, Parent: "D12"},
		{ID: "P2", Name: "Tỉnh 2", Level: ledger.LevelProvince},
		{ID: "D21", Name: "Huyện 21", Level: ledger.LevelDistrict, Parent: "P2"},
		{ID: "C211", Name: "Xã 211", Level: ledger.LevelCommune, Parent: "D21"},
	}
	// propLateUnit is registered in the middle of a history.
	propLateUnit = ledger.Unit{ID: "C122", Name: "Xã 122", Level: ledger.LevelCommune, Parent: "D12"}
	propYears    = []int{2021, 2022, 2023, 2024}
)

func (h *history) add(typ ledger.EventType, date ledger.Date, data ledger.EventData) {
	e := &ledger.Event{Position: int64(len(h.events) + 1), Type: typ, EffectiveDate: date, Data: data}
	e.Hash[0], e.Hash[1] = byte(e.Position), byte(e.Position>>8)
	for i := 2; i < 8; i++ {
		e.Hash[i] = byte(h.rng.Uint32())
	}
	h.events = append(h.events, e)
}

// date returns a business date near plan year y: first, middle or last days of months,
// and the year boundaries, so that same-day events and year edges are common.
func (h *history) date(y int) ledger.Date {
	y += h.rng.IntN(3) - 1
	switch h.rng.IntN(6) {
	case 0:
		return ledger.MakeDate(y, time.December, 31)
	case 1:
		return ledger.MakeDate(y, time.January, 1)
	}
	return ledger.MakeDate(y, time.Month(1+h.rng.IntN(12)), []int{1, 15, 28}[h.rng.IntN(3)])
}

func (h *history) amount() int64 {
	if h.rng.IntN(10) == 0 {
		return 1 + h.rng.Int64N(1_000_000_000_000)
	}
	return 1 + h.rng.Int64N(1000)
}

func (h *history) newLine() ledger.Line {
	u := h.units[h.rng.IntN(len(h.units))]
	return ledger.Line{Program: h.progs[h.rng.IntN(len(h.progs))], Year: propYears[h.rng.IntN(len(propYears))],
		Source: propSources[h.rng.IntN(len(propSources))].Code, Project: propProjects[h.rng.IntN(len(propProjects))].Code, Unit: u.ID}
}

func (h *history) oldLine() ledger.Line { return h.lines[h.rng.IntN(len(h.lines))] }

func genHistory(seed uint64) []*ledger.Event { return genHistoryWith(seed, false) }

// propSuccessorUnits are registered, with reorganisations, for the units that succeed.
var propSuccessorUnits = []ledger.Unit{
	{ID: "P3", Name: "Tỉnh 3 (mới)", Level: ledger.LevelProvince},
	{ID: "P4", Name: "Tỉnh 4 (mới)", Level: ledger.LevelProvince},
	{ID: "C31", Name: "Xã 31", Level: ledger.LevelCommune, Parent: "P3"},
	{ID: "C32", Name: "Xã 32", Level: ledger.LevelCommune, Parent: "P3"},
	{ID: "C33", Name: "Xã 33", Level: ledger.LevelCommune, Parent: "P4"},
}

// propChange is a candidate change of a reorganisation; chains of them make
// multi-hop successions (C111 → C31 → C33, P1 → P3 → P4).
type propChange struct {
	change ledger.UnitChange
	levels bool // the event also abolishes the district level
}

var propChanges = []propChange{
	{change: ledger.UnitChange{Kind: ledger.ChangeMerge, Predecessors: []string{"P1"}, Successors: []string{"P3"}}},
	{change: ledger.UnitChange{Kind: ledger.ChangeAbolish, Predecessors: []string{"D11", "D12"}, Successors: []string{"P3"}}, levels: true},
	{change: ledger.UnitChange{Kind: ledger.ChangeSplit, Predecessors: []string{"D21"}, Successors: []string{"C31", "C32"}, History: "C32"}},
	{change: ledger.UnitChange{Kind: ledger.ChangeMerge, Predecessors: []string{"C111", "C112"}, Successors: []string{"C31"}}},
	{change: ledger.UnitChange{Kind: ledger.ChangeMerge, Predecessors: []string{"C31"}, Successors: []string{"C33"}}},
	{change: ledger.UnitChange{Kind: ledger.ChangeMerge, Predecessors: []string{"P3", "P2"}, Successors: []string{"P4"}}},
	{change: ledger.UnitChange{Kind: ledger.ChangeRename, Predecessors: []string{"C121"}, Successors: []string{"C32"}}},
	{change: ledger.UnitChange{Kind: ledger.ChangeAbolish, Predecessors: []string{"C211"}}},
}

// reorganize records one of the remaining candidate changes whose units are all open.
func (h *history) reorganize() {
	i := h.rng.IntN(len(h.changes))
	c := h.changes[i]
	for _, u := range append(slices.Clone(c.change.Predecessors), c.change.Successors...) {
		if h.closed[u] {
			return
		}
	}
	h.changes = slices.Delete(h.changes, i, i+1)
	r := &ledger.Reorganization{LegalBasis: "NQ", Changes: []ledger.UnitChange{c.change}}
	if c.levels {
		r.Levels = []ledger.Level{ledger.LevelProvince, ledger.LevelCommune}
	}
	for _, p := range c.change.Predecessors {
		h.closed[p] = true
		h.succ[p] = c.change.Successors
	}
	h.add(ledger.TypeUnitReorganized, h.date(propYears[h.rng.IntN(len(propYears))]), ledger.EventData{Reorganization: r})
}

// handover moves capital of a line of a closed unit to one of its successors' lines.
func (h *history) handover() {
	l := h.oldLine()
	succ := h.succ[l.Unit]
	if len(succ) == 0 {
		return
	}
	to := l
	to.Unit = succ[h.rng.IntN(len(succ))]
	h.lines = append(h.lines, to)
	h.add(ledger.TypeTransferred, h.date(l.Year), ledger.EventData{From: &l, To: &to, Amount: h.amount(), Kind: string(ledger.KindHandover)})
}

// genHistoryWith generates a history; with reorg, reorganisations (merges, splits,
// renames, abolitions, multi-hop successions, the district level abolished) and handovers
// are drawn among the money events.
func genHistoryWith(seed uint64, reorg bool) []*ledger.Event {
	h := &history{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), progs: []string{"G1"}}
	from := ledger.MakeDate(2020, time.January, 1)
	h.add(ledger.TypeProgramRegistered, from, ledger.EventData{Program: &ledger.Program{Code: "G1", Name: "Chương trình 1"}})
	if h.rng.IntN(3) == 0 {
		h.progs = append(h.progs, "G2")
		h.add(ledger.TypeProgramRegistered, from, ledger.EventData{Program: &ledger.Program{Code: "G2", Name: "Chương trình 2"}})
	}
	for _, prog := range h.progs {
		for _, pr := range propProjects {
			pr.Program = prog
			h.add(ledger.TypeProjectRegistered, from, ledger.EventData{Project: &pr})
		}
	}
	for _, s := range propSources {
		h.add(ledger.TypeSourceRegistered, from, ledger.EventData{Source: &s})
	}
	for _, u := range propUnits {
		h.add(ledger.TypeUnitRegistered, from, ledger.EventData{Unit: &u})
		h.units = append(h.units, u)
	}
	if reorg {
		for _, u := range propSuccessorUnits {
			h.add(ledger.TypeUnitRegistered, from, ledger.EventData{Unit: &u})
			h.units = append(h.units, u)
		}
		h.changes = slices.Clone(propChanges)
		h.closed, h.succ = map[string]bool{}, map[string][]string{}
	}
	n := 1 + h.rng.IntN(propEventsMax)
	lateAt := h.rng.IntN(n)
	for i := 0; i < n; i++ {
		if reorg {
			if len(h.changes) > 0 && h.rng.IntN(12) == 0 {
				h.reorganize()
				continue
			}
			if len(h.lines) > 0 && h.rng.IntN(6) == 0 {
				h.handover()
				continue
			}
		}
		if i == lateAt {
			u := propLateUnit
			h.add(ledger.TypeUnitRegistered, from, ledger.EventData{Unit: &u})
			h.units = append(h.units, u)
		}
		if len(h.lines) == 0 || h.rng.IntN(6) == 0 {
			l := h.newLine()
			h.lines = append(h.lines, l)
			h.add(ledger.TypeAllocated, h.date(l.Year), ledger.EventData{Line: &l, Amount: h.amount()})
			continue
		}
		l := h.oldLine()
		switch k := h.rng.IntN(20); {
		case k < 3:
			h.add(ledger.TypeAllocated, h.date(l.Year), ledger.EventData{Line: &l, Amount: h.amount()})
		case k < 6: // a transfer: to a unit below (sub-allocation) or any other line of its year and source
			to := h.newLine()
			to.Program, to.Year, to.Source = l.Program, l.Year, l.Source
			kind := ledger.KindReallocation
			if h.rng.IntN(2) == 0 {
				kind = ledger.KindSuballocation
				for _, u := range h.units {
					if u.Parent == l.Unit {
						to.Unit = u.ID
						break
					}
				}
			}
			if to == l {
				continue
			}
			h.lines = append(h.lines, to)
			h.add(ledger.TypeTransferred, h.date(l.Year), ledger.EventData{From: &l, To: &to, Amount: h.amount(), Kind: string(kind)})
		case k < 8:
			h.add(ledger.TypeCarriedOver, h.date(l.Year+1), ledger.EventData{Line: &l, Amount: h.amount(), IntoYear: l.Year + 1 + h.rng.IntN(2)})
		case k < 9:
			h.add(ledger.TypeCancelled, h.date(l.Year), ledger.EventData{Line: &l, Amount: h.amount()})
		case k < 16:
			h.add(ledger.TypeDisbursed, h.date(l.Year), ledger.EventData{Line: &l, Amount: h.amount(), Kind: string(ledger.KindPayment)})
		case k < 18:
			h.add(ledger.TypeReversed, h.date(l.Year), ledger.EventData{Line: &l, Amount: h.amount()})
		default:
			// Settlements move no figure progress reports (an event of a type this build
			// does not know is refused when decoded, so it never reaches a projection).
			h.add(ledger.TypeAdvanceSettled, h.date(l.Year), ledger.EventData{Line: &l, Amount: h.amount()})
		}
	}
	return h.events
}

// randomQuery draws a query over the generated catalog, sometimes naming what does not
// exist (yet) or breaking a rule.
func randomQuery(rng *rand.Rand, head int64) Query {
	all := []Dimension{GroupProvince, GroupDistrict, GroupCommune, GroupProject, GroupSubproject, GroupSource, GroupYear}
	var q Query
	for n := rng.IntN(3); len(q.GroupBy) < n; {
		if d := all[rng.IntN(len(all))]; !slices.Contains(q.GroupBy, d) {
			q.GroupBy = append(q.GroupBy, d)
		}
	}
	pick := func(p int, options ...string) string {
		if rng.IntN(p) != 0 {
			return ""
		}
		return options[rng.IntN(len(options))]
	}
	q.Program = pick(2, "G1", "G2")
	q.Unit = pick(2, "P1", "P2", "D11", "D12", "D21", "C111", "C121", "C122", "C211")
	q.Project = pick(3, "DA1", "DA1.T1", "DA2", "DA3", "DA3.T1")
	q.Source = pick(3, "C-INV", "C-REC", "L-CP", "L-INV")
	if rng.IntN(2) == 0 {
		q.Year = propYears[rng.IntN(len(propYears))]
	}
	if rng.IntN(3) == 0 {
		q.Basis = BasisExecutionYear
		if q.Year == 0 && rng.IntN(10) != 0 {
			q.Year = 2022 + rng.IntN(3)
		}
	}
	if rng.IntN(4) != 0 {
		q.AsOf = ledger.MakeDate(2020+rng.IntN(6), time.Month(1+rng.IntN(12)), []int{1, 14, 15, 28, 31}[rng.IntN(5)])
		if q.AsOf%100 == 31 {
			q.AsOf = q.AsOf/10000*10000 + 1231
		}
	}
	if rng.IntN(2) == 0 && head > 0 {
		q.At = 1 + rng.Int64N(head)
	}
	if rng.IntN(50) == 0 {
		q.At = head + 1
	}
	return q
}

// naiveQuery recomputes a report straight from the event list, the way docs/domain.md §6
// reads: the catalog as registered up to the position, then every money event one by
// one, filtered and grouped through the ledger.Catalog helpers. It shares no code with
// Progress except the exported Rate formatting.
func naiveQuery(events []*ledger.Event, q Query) (Report, error) {
	return naiveQueryHeldBy(events, q, func(unit string) string { return unit })
}

// naiveQueryHeldBy is naiveQuery with each line placed under holder(its unit) for the
// unit filter and the unit groupings; lines stay distinct.
func naiveQueryHeldBy(events []*ledger.Event, q Query, holder func(string) string) (Report, error) {
	head := int64(len(events))
	if len(q.GroupBy) > groupByMax {
		return Report{}, invalidArg("group_by", "")
	}
	for i, g := range q.GroupBy {
		if _, ok := dims[g]; !ok || slices.Contains(q.GroupBy[:i], g) {
			return Report{}, invalidArg("group_by", "")
		}
	}
	basis := q.Basis
	if basis == "" {
		basis = BasisPlanYear
	}
	exec := basis == BasisExecutionYear
	if basis != BasisPlanYear && !exec {
		return Report{}, invalidArg("basis", "")
	}
	if q.Year != 0 && (q.Year < 1990 || q.Year > 2999) || exec && q.Year == 0 {
		return Report{}, invalidArg("year", "")
	}
	if q.At < 0 || q.At > head {
		return Report{}, invalidArg("at", "")
	}
	k := head
	if q.At > 0 {
		k = q.At
	}
	t := q.AsOf
	if t == 0 {
		t = maxDate
	}
	c := ledger.Catalog{Programs: map[string]*ledger.Program{}, Projects: map[string]*ledger.Project{},
		Units: map[string]*ledger.Unit{}, Sources: map[string]*ledger.Source{}}
	var programs []string
	for _, e := range events[:k] {
		d := e.Data
		switch e.Type {
		case ledger.TypeProgramRegistered:
			if c.Programs[d.Program.Code] == nil {
				c.Programs[d.Program.Code] = d.Program
				programs = append(programs, d.Program.Code)
			}
		case ledger.TypeProjectRegistered:
			if c.Project(d.Project.Program, d.Project.Code) == nil {
				c.Projects[d.Project.Program+"/"+d.Project.Code] = d.Project
			}
		case ledger.TypeUnitRegistered:
			if c.Units[d.Unit.ID] == nil {
				c.Units[d.Unit.ID] = d.Unit
			}
		case ledger.TypeSourceRegistered:
			if c.Sources[d.Source.Code] == nil {
				c.Sources[d.Source.Code] = d.Source
			}
		}
	}
	program := q.Program
	byProject := q.Project != "" || slices.Contains(q.GroupBy, GroupProject) || slices.Contains(q.GroupBy, GroupSubproject)
	if program == "" && byProject {
		if len(programs) > 1 {
			return Report{}, invalidArg("program", "")
		}
		if len(programs) == 1 {
			program = programs[0]
		}
	}
	if q.Program != "" && c.Programs[q.Program] == nil {
		return Report{}, unknownRef("program", "")
	}
	if q.Unit != "" && c.Units[q.Unit] == nil {
		return Report{}, unknownRef("unit", "")
	}
	if q.Project != "" && c.Project(program, q.Project) == nil {
		return Report{}, unknownRef("project", "")
	}
	if q.Source != "" && c.Sources[q.Source] == nil {
		return Report{}, unknownRef("source", "")
	}

	inScope := func(l ledger.Line) bool {
		switch {
		case program != "" && l.Program != program,
			q.Unit != "" && !c.IsUnitWithin(holder(l.Unit), q.Unit),
			q.Project != "" && !c.IsProjectWithin(l.Program, l.Project, q.Project),
			q.Source != "" && l.Source != q.Source,
			!exec && q.Year != 0 && l.Year != q.Year,
			exec && l.Year > q.Year:
			return false
		}
		return true
	}
	keyName := func(l ledger.Line, g Dimension) (string, string) {
		switch g {
		case GroupProvince, GroupDistrict, GroupCommune:
			u := c.UnitAt(holder(l.Unit), ledger.Level(g))
			if u == nil {
				u = c.Units[holder(l.Unit)]
			}
			return u.ID, u.Name
		case GroupProject:
			p := c.Project(l.Program, l.Project)
			for p.Parent != "" {
				p = c.Project(l.Program, p.Parent)
			}
			return p.Code, p.Name
		case GroupSubproject:
			p := c.Project(l.Program, l.Project)
			return p.Code, p.Name
		case GroupSource:
			return l.Source, c.Sources[l.Source].Name
		}
		return strconv.Itoa(l.Year), strconv.Itoa(l.Year)
	}
	type group struct {
		key, name []string
		a         acc
	}
	groups := map[string]*group{}
	var total acc
	add := func(l ledger.Line, a acc) {
		g := &group{}
		for _, d := range q.GroupBy {
			k, n := keyName(l, d)
			g.key, g.name = append(g.key, k), append(g.name, n)
		}
		id := strings.Join(g.key, "\x00")
		if groups[id] == nil {
			groups[id] = g
		}
		ga := &groups[id].a
		ga.plan, ga.disb, ga.cPlan, ga.cDisb = ga.plan+a.plan, ga.disb+a.disb, ga.cPlan+a.cPlan, ga.cDisb+a.cDisb
		total.plan, total.disb, total.cPlan, total.cDisb = total.plan+a.plan, total.disb+a.disb, total.cPlan+a.cPlan, total.cDisb+a.cDisb
	}
	// Plan-year figures (all lines on that basis; the own part on the execution basis).
	carried := map[ledger.Line]int64{}
	for _, e := range events[:k] {
		d := e.Data
		if e.Type == ledger.TypeCarriedOver && exec && d.IntoYear == q.Year && e.EffectiveDate <= t && inScope(*d.Line) {
			carried[*d.Line] += d.Amount
		}
		if e.EffectiveDate > t {
			continue
		}
		own := func(l ledger.Line, a acc) {
			if inScope(l) && (!exec || l.Year == q.Year) {
				add(l, a)
			}
		}
		switch e.Type {
		case ledger.TypeAllocated:
			own(*d.Line, acc{plan: d.Amount})
		case ledger.TypeTransferred:
			own(*d.From, acc{plan: -d.Amount})
			own(*d.To, acc{plan: d.Amount})
		case ledger.TypeCancelled:
			own(*d.Line, acc{plan: -d.Amount})
		case ledger.TypeDisbursed:
			own(*d.Line, acc{disb: d.Amount})
		case ledger.TypeReversed:
			own(*d.Line, acc{disb: -d.Amount})
		}
	}
	// Carried-in figures: the carry-overs, and what their lines paid within the year.
	for l, amount := range carried {
		if l.Year >= q.Year || amount == 0 {
			continue
		}
		a := acc{cPlan: amount}
		from, to := ledger.MakeDate(q.Year, time.January, 1), min(t, ledger.MakeDate(q.Year, time.December, 31))
		for _, e := range events[:k] {
			if e.Data.Line == nil || *e.Data.Line != l || e.EffectiveDate < from || e.EffectiveDate > to {
				continue
			}
			switch e.Type {
			case ledger.TypeDisbursed:
				a.cDisb += e.Data.Amount
			case ledger.TypeReversed:
				a.cDisb -= e.Data.Amount
			}
		}
		add(l, a)
	}

	r := Report{AsOf: q.AsOf, Position: k, HeadHash: hashOf(events, k), Basis: basis, Year: q.Year, GroupBy: q.GroupBy}
	for _, g := range groups {
		if g.a != (acc{}) && len(q.GroupBy) > 0 {
			row := Row{Key: g.key, Name: g.name}
			naiveFill(&row, g.a, exec)
			r.Rows = append(r.Rows, row)
		}
	}
	slices.SortFunc(r.Rows, func(a, b Row) int { return strings.Compare(strings.Join(a.Key, "\x00"), strings.Join(b.Key, "\x00")) })
	r.Total = Row{Key: []string{}, Name: []string{}}
	naiveFill(&r.Total, total, exec)
	return r, nil
}

// naiveRestated recomputes a report in the restated view (units=current) the simplest
// way: every line is placed under the unit that succeeds its holder on the report's date
// (following the reorganisations recorded up to the position, hop by hop) and the report
// is otherwise computed as recorded; a line stays a line of its own (its carry-overs
// count with its own disbursements, not with a merged neighbour's). Grouping by a level
// the reorganisations recorded by then abolished on that date is refused.
func naiveRestated(events []*ledger.Event, q Query) (Report, error) {
	k := int64(len(events))
	if q.At > 0 && q.At <= k {
		k = q.At
	}
	t := q.AsOf
	if t == 0 {
		t = maxDate
	}
	next := map[string]string{}
	levels := ledger.Levels[:]
	for _, e := range events[:k] {
		if e.Type != ledger.TypeUnitReorganized || e.EffectiveDate > t {
			continue
		}
		r := e.Data.Reorganization
		for _, c := range r.Changes {
			to := c.History
			if c.Kind != ledger.ChangeSplit && len(c.Successors) == 1 {
				to = c.Successors[0]
			}
			for _, p := range c.Predecessors {
				if to != "" {
					next[p] = to
				}
			}
		}
		if len(r.Levels) > 0 {
			levels = r.Levels
		}
	}
	current := func(u string) string {
		for hop := 0; next[u] != "" && hop < 100; hop++ {
			u = next[u]
		}
		return u
	}
	q.Units = ""
	r, err := naiveQueryHeldBy(events, q, current)
	if err != nil {
		return r, err
	}
	for _, g := range q.GroupBy {
		if (g == GroupProvince || g == GroupDistrict || g == GroupCommune) && !slices.Contains(levels, ledger.Level(g)) {
			return Report{}, invalidArg("group_by", "")
		}
	}
	r.Units = UnitsCurrent
	return r, nil
}

// TestRestatedMatchesNaive: on random histories with reorganisations (merges, splits,
// renames, abolitions, multi-hop successions) and handovers, every report in both views
// equals the naive recomputation, and the grand totals of the two views are equal, for
// random as_of and at.
func TestRestatedMatchesNaive(t *testing.T) {
	compared, failed := map[Units]int{}, 0
	levelRefused, rowsDiffer := 0, 0
	for seed := range uint64(propHistories) {
		events := genHistoryWith(seed, true)
		rng := rand.New(rand.NewPCG(seed, 5))
		p := &Progress{}
		for applied := 0; applied < len(events); {
			n := min(len(events)-applied, 1+rng.IntN(40))
			p.Apply(events[applied : applied+n])
			applied += n
			for range propQueriesPerStep {
				q := randomQuery(rng, int64(applied))
				if rng.IntN(3) == 0 {
					q.Unit = []string{"", "P3", "P4", "C31", "C32", "C33"}[rng.IntN(6)]
				}
				var totals []Amounts
				var rows []string
				for _, view := range []Units{UnitsRecorded, UnitsCurrent} {
					q.Units = view
					got, gotErr := p.Query(q)
					var want Report
					var wantErr error
					if view == UnitsCurrent {
						want, wantErr = naiveRestated(events[:applied], q)
					} else {
						want, wantErr = naiveQuery(events[:applied], q)
					}
					compared[view]++
					if (gotErr == nil) != (wantErr == nil) || gotErr != nil && ledger.Code(gotErr) != ledger.Code(wantErr) {
						t.Errorf("seed %d head %d query %+v: error %v, naive %v", seed, applied, q, gotErr, wantErr)
						failed++
					} else if g, w := jsonOf(t, got, gotErr), jsonOf(t, want, wantErr); g != w {
						t.Errorf("seed %d head %d query %+v:\n got %s\nwant %s", seed, applied, q, g, w)
						failed++
					}
					if gotErr == nil {
						totals = append(totals, got.Total.Amounts)
						b, _ := json.Marshal(got.Rows)
						rows = append(rows, string(b))
					} else if view == UnitsCurrent && ledger.Field(gotErr) == "group_by" {
						levelRefused++
					}
					if failed > 5 {
						t.FailNow()
					}
				}
				if len(rows) == 2 && rows[0] != rows[1] {
					rowsDiffer++
				}
				if q.Unit == "" && len(totals) == 2 && !reflect.DeepEqual(totals[0], totals[1]) {
					t.Errorf("seed %d head %d query %+v: totals as recorded %+v, restated %+v", seed, applied, q, totals[0], totals[1])
				}
			}
		}
	}
	if levelRefused == 0 || rowsDiffer == 0 {
		t.Fatalf("the histories never exercise the restated view: %d refused for an abolished level, %d with rows that differ", levelRefused, rowsDiffer)
	}
	t.Logf("%v queries compared; %d refused for an abolished level, %d with other rows restated", compared, levelRefused, rowsDiffer)
}

func hashOf(events []*ledger.Event, k int64) [32]byte {
	if k == 0 {
		return [32]byte{}
	}
	return events[k-1].Hash
}

func naiveFill(row *Row, a acc, exec bool) {
	row.Amounts = naiveAmounts(a.plan+a.cPlan, a.disb+a.cDisb)
	if exec {
		own, carried := naiveAmounts(a.plan, a.disb), naiveAmounts(a.cPlan, a.cDisb)
		row.Own, row.CarriedIn = &own, &carried
	}
}

// naiveAmounts computes the rate with big integers: |d| × 10000 / p, half away from zero.
func naiveAmounts(plan, disb int64) Amounts {
	a := Amounts{Plan: plan, Disbursed: disb, Available: plan - disb}
	if plan <= 0 {
		return a
	}
	n := new(big.Int).Mul(new(big.Int).Abs(big.NewInt(disb)), big.NewInt(10000))
	q, rem := new(big.Int).QuoRem(n, big.NewInt(plan), new(big.Int))
	if rem.Mul(rem, big.NewInt(2)).Cmp(big.NewInt(plan)) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if disb < 0 {
		q.Neg(q)
	}
	if q.IsInt64() {
		r := Rate(q.Int64())
		a.Rate = &r
	}
	return a
}

func jsonOf(t *testing.T, r Report, err error) string {
	t.Helper()
	if err != nil {
		return "error " + ledger.Code(err) + " " + ledger.Field(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestProgressMatchesNaive feeds random histories in random batches and, between
// batches, compares random queries (group_by, filters, basis, as_of, at) with the naive
// recomputation from the raw events.
func TestProgressMatchesNaive(t *testing.T) {
	compared, failed := 0, 0
	for seed := range uint64(propHistories) {
		events := genHistory(seed)
		rng := rand.New(rand.NewPCG(seed, 1))
		p := &Progress{}
		for applied := 0; applied < len(events); {
			n := min(len(events)-applied, 1+rng.IntN(40))
			p.Apply(events[applied : applied+n])
			applied += n
			for range propQueriesPerStep {
				q := randomQuery(rng, int64(applied))
				got, gotErr := p.Query(q)
				want, wantErr := naiveQuery(events[:applied], q)
				compared++
				if (gotErr == nil) != (wantErr == nil) || gotErr != nil && ledger.Code(gotErr) != ledger.Code(wantErr) {
					t.Errorf("seed %d head %d query %+v: error %v, naive %v", seed, applied, q, gotErr, wantErr)
					failed++
				} else if g, w := jsonOf(t, got, gotErr), jsonOf(t, want, wantErr); g != w {
					t.Errorf("seed %d head %d query %+v:\n got %s\nwant %s", seed, applied, q, g, w)
					failed++
				}
				if failed > 5 {
					t.FailNow()
				}
			}
		}
		for range 4 {
			q := CounterpartQuery{Program: []string{"", "G1"}[rng.IntN(2)], Unit: []string{"", "P1", "D12"}[rng.IntN(3)],
				FromYear: []int{0, 2022}[rng.IntN(2)], AsOf: ledger.MakeDate(2020+rng.IntN(6), time.June, 30), At: rng.Int64N(int64(len(events)))}
			got, err := p.Counterpart(q)
			want, known := naiveCounterpart(events, q)
			if (err == nil) != known {
				t.Fatalf("seed %d counterpart %+v: error %v, naive knows the unit: %v", seed, q, err, known)
			}
			if err == nil && !reflect.DeepEqual(got.Rows, want) {
				t.Errorf("seed %d counterpart %+v:\n got %+v\nwant %+v", seed, q, got.Rows, want)
			}
		}
	}
	t.Logf("%d queries compared", compared)
}

// naiveCounterpart recomputes the counterpart check from the raw events, with big
// rationals for the 3 % comparison.
func naiveCounterpart(events []*ledger.Event, q CounterpartQuery) (rows []CounterpartRow, known bool) {
	k := int64(len(events))
	if q.At > 0 {
		k = q.At
	}
	units := map[string]*ledger.Unit{}
	sources := map[string]*ledger.Source{}
	for _, e := range events[:k] {
		switch e.Type {
		case ledger.TypeUnitRegistered:
			units[e.Data.Unit.ID] = e.Data.Unit
		case ledger.TypeSourceRegistered:
			sources[e.Data.Source.Code] = e.Data.Source
		}
	}
	if q.Unit != "" && units[q.Unit] == nil {
		return nil, false
	}
	c := ledger.Catalog{Units: units}
	type sums struct{ cp, central int64 }
	by := map[string]*sums{}
	add := func(l ledger.Line, amount int64) {
		s := sources[l.Source]
		if q.Program != "" && l.Program != q.Program || q.Unit != "" && !c.IsUnitWithin(l.Unit, q.Unit) ||
			q.FromYear != 0 && l.Year < q.FromYear || q.ToYear != 0 && l.Year > q.ToYear {
			return
		}
		prov := c.UnitAt(l.Unit, ledger.LevelProvince).ID
		if by[prov] == nil {
			by[prov] = &sums{}
		}
		switch {
		case s.Counterpart:
			by[prov].cp += amount
		case s.Budget == ledger.BudgetCentral:
			by[prov].central += amount
		}
	}
	for _, e := range events[:k] {
		if e.EffectiveDate > q.AsOf && q.AsOf != 0 {
			continue
		}
		d := e.Data
		switch e.Type {
		case ledger.TypeAllocated:
			add(*d.Line, d.Amount)
		case ledger.TypeTransferred:
			add(*d.From, -d.Amount)
			add(*d.To, d.Amount)
		case ledger.TypeCancelled:
			add(*d.Line, -d.Amount)
		}
	}
	rows = []CounterpartRow{}
	for prov, s := range by {
		if s.cp == 0 && s.central == 0 {
			continue
		}
		need := new(big.Rat).SetFrac64(s.central*3, 100)
		req := new(big.Int).Quo(need.Num(), need.Denom())
		if new(big.Rat).SetInt(req).Cmp(need) < 0 {
			req.Add(req, big.NewInt(1))
		}
		rows = append(rows, CounterpartRow{Province: prov, Name: units[prov].Name, Counterpart: s.cp, Central: s.central,
			Required: req.Int64(), Rate: naiveAmounts(s.central, s.cp).Rate, Pass: new(big.Rat).SetInt64(s.cp).Cmp(need) >= 0})
	}
	slices.SortFunc(rows, func(a, b CounterpartRow) int { return strings.Compare(a.Province, b.Province) })
	return rows, true
}

// TestRebuildIsByteIdentical checks docs/design.md §7: a model rebuilt from position 1
// gives byte-identical reports to the live model fed in random batches, at every
// position a report was taken at while live.
func TestRebuildIsByteIdentical(t *testing.T) {
	for seed := range uint64(40) {
		events := genHistory(1000 + seed)
		rng := rand.New(rand.NewPCG(seed, 2))
		live := &Progress{}
		type taken struct {
			q    Query
			json string
		}
		var reports []taken
		for applied := 0; applied < len(events); {
			n := min(len(events)-applied, 1+rng.IntN(64))
			live.Apply(events[applied : applied+n])
			applied += n
			q := randomQuery(rng, int64(applied))
			if q.At == 0 || q.At > int64(applied) {
				q.At = int64(applied) // pin the position the live report was taken at
			}
			r, err := live.Query(q)
			reports = append(reports, taken{q, jsonOf(t, r, err)})
		}
		rebuilt := &Progress{}
		rebuilt.Apply(events)
		for _, tk := range reports {
			r, err := rebuilt.Query(tk.q)
			if got := jsonOf(t, r, err); got != tk.json {
				t.Fatalf("seed %d query %+v:\nlive    %s\nrebuilt %s", seed, tk.q, tk.json, got)
			}
		}
		for range 20 {
			q := randomQuery(rng, int64(len(events)))
			a, errA := live.Query(q)
			b, errB := rebuilt.Query(q)
			if x, y := jsonOf(t, a, errA), jsonOf(t, b, errB); x != y {
				t.Fatalf("seed %d query %+v at the head:\nlive    %s\nrebuilt %s", seed, q, x, y)
			}
		}
	}
}

// TestApplySkipsRepeatsAndPanicsOnGaps checks the position discipline of Apply.
func TestApplySkipsRepeatsAndPanicsOnGaps(t *testing.T) {
	events := genHistory(7)
	p := &Progress{}
	p.Apply(events[:30])
	p.Apply(events[20:40]) // a replica may see part of a batch twice
	want := &Progress{}
	want.Apply(events[:40])
	q := Query{GroupBy: []Dimension{GroupDistrict, GroupYear}}
	a, _ := p.Query(q)
	b, _ := want.Query(q)
	if x, y := jsonOf(t, a, nil), jsonOf(t, b, nil); x != y {
		t.Fatalf("repeated events counted twice:\n%s\n%s", x, y)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a gap in positions did not panic")
		}
	}()
	p.Apply(events[41:42])
}

// TestConcurrentApplyAndQuery runs queries while batches are applied; with -race it
// checks the locking, and every report must match the naive model at its position.
func TestConcurrentApplyAndQuery(t *testing.T) {
	events := genHistory(99)
	p := &Progress{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for lo := 0; lo < len(events); lo += 7 {
			p.Apply(events[lo:min(lo+7, len(events))])
		}
	}()
	rng := rand.New(rand.NewPCG(99, 3))
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		head, _ := p.Head()
		q := randomQuery(rng, head)
		if q.At == 0 || q.At > head {
			q.At = head
		}
		if q.At == 0 {
			continue
		}
		got, err := p.Query(q)
		want, wantErr := naiveQuery(events[:head], q)
		if g, w := jsonOf(t, got, err), jsonOf(t, want, wantErr); g != w {
			t.Fatalf("query %+v at %d:\n got %s\nwant %s", q, head, g, w)
		}
	}
}
