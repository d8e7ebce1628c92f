package projections

import (
	"context"
	"sync"

	"github.com/vnntp/ledger/ledger"
)

// Levels of the unit tree, as indexes into unitRec.anc and lineRec.anc (ledger.Level.Depth).
const (
	levelProvince = 0
	levelDistrict = 1
	levelCommune  = 2
	levelCount    = ledger.LevelCount
)

// hashPageSize is how many chain hashes one page of Progress.hashes holds. Pages keep
// the 32 bytes per event in fixed blocks, so that growing to millions of events never
// copies the whole array.
const hashPageSize = 1 << 16

// projectDepthMax bounds a walk up the project tree; the catalog nests sub-projects one
// level deep, and a deeper chain can only come from a bug.
const projectDepthMax = 8

// lineCapInitial is the room a new line gets for its events and days: most lines see
// several events, and starting above one saves the first rounds of slice growth.
const lineCapInitial = 4

// none marks a missing catalog index.
const none int32 = -1

// Progress is the progress read model of docs/design.md §7 and docs/domain.md §6: plan,
// disbursed, available and rate of any group of budget lines, as of any business date
// (as_of) and as known at any ledger position (at). It is fed the committed batches in
// position order (Apply) and folds the catalog events itself. The zero Progress is an
// empty ledger. It is safe for concurrent use: Apply takes a write lock, queries a read
// lock, Position and WaitFor none.
//
// Design. Every line keeps two structures:
//
//   - its money events as compact 24-byte records (position, signed amount, effective
//     date, plan or disbursed) in position order, the order they are applied in;
//   - for the head, its cumulative plan and net disbursed by effective day: sorted
//     distinct days with running sums. An event dated after the line's last day (the
//     usual case) appends; a late entry with a past effective date inserts its day and
//     adds its amount to the sums of the days after it, at most a few hundred days per
//     line since a line lives through a plan year and its carry-over.
//
// Lines are stored in buckets by province and plan year. A query at the head visits the
// buckets of its province (when the unit filter is set) and years, checks the other
// filters on catalog indexes cached in each line, reads the line's figures as of t (from
// the record itself when t is outside the line's active days, else by a binary search
// over its days), and adds them into its group; groups are summed at query time, so
// transfers inside a group cancel out as docs/domain.md §6 requires. A row whose figures are
// all zero is left out. A query at an earlier position K uses the same
// path for every line untouched after K; a line touched after K is summed from its
// event records (forward from the first, or backward from the head, whichever is
// shorter). Catalog entries are registered once and never change, and each remembers
// the position it was registered at, so a report at K sees the catalog as it was at K:
// the same query at the same position gives the same report forever.
//
// Execution-year basis for year E: own = lines of plan year E as above; carried-in =
// lines of plan year < E with a carry-over into E (position ≤ K, effective ≤ t): plan
// is the sum of those carry-overs, disbursed is the line's net disbursed with an
// effective date in year E (and ≤ t). Carried capital that a line passes on to another
// line stays counted on the line that carried it; the receiving line counts only if it
// carries into E itself.
//
// Memory per event is about 24 bytes of event record, at most 20 bytes of daily sums
// and 32 bytes of chain hash (kept to stamp reports at any position), plus slice growth.
type Progress struct {
	mu      sync.RWMutex
	applied applied // head, published to readers that must not wait for mu

	head   int64
	hashes [][][32]byte // hashes[(pos-1)/hashPageSize][(pos-1)%hashPageSize]

	programs   []programRec
	projects   []projectRec
	units      []unitRec
	sources    []sourceRec
	programIdx map[string]int32
	projectIdx map[projectKey]int32
	unitIdx    map[string]int32
	sourceIdx  map[string]int32
	levels     []levelsRec
	// reorganised lists the units with a history succession, in the order they got their
	// first: the only units whose lines a restated report may move to another province.
	reorganised []int32

	// Lines are stored by province and plan year, each bucket's lines side by side, so
	// that a query reads only the lines of its province and years, in memory order: a
	// leader's report touches a few hundred of the ledger's lines, and reading them in
	// sequence lets the processor fetch ahead instead of waiting on each one.
	buckets   []bucket
	bucketIdx map[bucketKey]int32
	lineIdx   map[ledger.Line]lineRef
	lineCount int

	// firstContract is the position of the first commitment posting, 0 before it: a
	// report at or after it carries committed capital and advances (commitments.go).
	firstContract int64
	// deadlines are the recorded disbursement deadlines (deadline.go), resolved against
	// cat, which holds the units and sources they are matched on. deadlineLog lists the
	// deadline events they were built from, which ledger.Deadlines does not show: a
	// snapshot records them and its reader adds them again (snapshot.go). They are few.
	deadlines   ledger.Deadlines
	deadlineLog []deadlineRec
	cat         ledger.Catalog
	targets     []targetRec // in position order
}

type bucketKey struct{ province, year int32 }

type bucket struct {
	key   bucketKey
	lines []lineRec
}

type lineRef struct{ bucket, line int32 }

type projectKey struct{ program, code string }

type programRec struct {
	code, name string
	pos        int64 // registered at
}

type projectRec struct {
	code, name string
	program    int32
	parent     int32
	top        int32 // the top-level project of the subtree, itself when it has no parent
	pos        int64
}

type unitRec struct {
	id, name string
	level    int // levelProvince..levelCommune, or -1 when the level is not known
	// anc holds the unit's ancestors by level, the unit itself at its own level, none
	// where the tree has no unit (below the unit).
	anc [levelCount]int32
	pos int64
	// succ lists the successions that hand the unit's history on (ledger.Catalog.SuccessorOn),
	// in position order.
	succ []succRec
}

// succRec is a history succession: from date, to unit, recorded at pos.
type succRec struct {
	to   int32
	date ledger.Date
	pos  int64
}

// levelsRec is a change of the unit levels in force, from date, recorded at pos.
type levelsRec struct {
	date   ledger.Date
	pos    int64
	levels []ledger.Level
}

type sourceRec struct {
	code, name  string
	central     bool
	counterpart bool
	pos         int64
}

// lineEvent is one money event of a line, 24 bytes.
type lineEvent struct {
	pos    int64
	amount int64 // signed: what the event adds to plan or to net disbursed
	date   ledger.Date
	disb   bool // the amount moves net disbursed, not plan
}

// dayCum is a line's cumulative plan and net disbursed up to and including a day.
type dayCum struct{ plan, disb int64 }

// carry is a carry-over of a line's capital into a later year.
type carry struct {
	pos      int64
	amount   int64
	date     ledger.Date
	intoYear int32
}

// lineRec is a budget line with its catalog indexes resolved once, when its first
// event arrives (catalog entries never change).
type lineRec struct {
	program  int32
	year     int32
	source   int32
	project  int32
	unit     int32
	anc      [levelCount]int32
	firstPos int64
	lastPos  int64 // last money event; carry-overs do not count, they have their own list
	// firstDay, lastDay and last repeat days[0], days[len-1] and cum[len-1] in the
	// record itself: an as-of date outside the line's active days, the usual case for
	// lines of other years, needs no read of the arrays.
	firstDay ledger.Date
	lastDay  ledger.Date
	last     dayCum
	evs      []lineEvent
	days     []ledger.Date // distinct effective days, ascending
	cum      []dayCum      // cum[i]: sums up to and including days[i]
	carries  []carry
	cx       *lineContracts // nil until the line has a contract or an advance
}

// Head returns the last applied position and its chain hash.
func (p *Progress) Head() (int64, [32]byte) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.head, p.hashAt(p.head)
}

// Apply folds a committed batch, in position order. Events at or below the head are
// skipped (a replica may see a batch twice); a gap is a bug and panics. Money events
// are folded through their postings (ledger.Event.Postings); measures progress does not
// report (advances outstanding) only advance the head. Apply keeps no reference to the
// events.
func (p *Progress) Apply(events []*ledger.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lineIdx == nil {
		p.init()
	}
	for _, e := range events {
		if e.Position <= p.head {
			continue
		}
		invariant(e.Position == p.head+1, "progress: events applied out of order")
		p.apply(e)
		p.head = e.Position
		p.appendHash(e.Hash)
	}
	p.applied.advance(p.head)
}

// Position returns the last position applied, without waiting for a lock: a query in
// progress holds the read lock, and Apply waiting for it would make Head wait too.
func (p *Progress) Position() int64 { return p.applied.load() }

// WaitFor returns when position pos is applied, or ctx's error when ctx ends first.
func (p *Progress) WaitFor(ctx context.Context, pos int64) error { return p.applied.wait(ctx, pos) }

func (p *Progress) init() {
	p.programIdx = map[string]int32{}
	p.projectIdx = map[projectKey]int32{}
	p.unitIdx = map[string]int32{}
	p.sourceIdx = map[string]int32{}
	p.lineIdx = map[ledger.Line]lineRef{}
	p.bucketIdx = map[bucketKey]int32{}
	p.cat.Units = map[string]*ledger.Unit{}
	p.cat.Sources = map[string]*ledger.Source{}
}

func (p *Progress) appendHash(h [32]byte) {
	i := int(p.head-1) % hashPageSize
	if i == 0 {
		p.hashes = append(p.hashes, make([][32]byte, 0, hashPageSize))
	}
	last := len(p.hashes) - 1
	p.hashes[last] = append(p.hashes[last], h)
}

// hashAt returns the chain hash at position pos (1..head), or the genesis hash (zero)
// at 0.
func (p *Progress) hashAt(pos int64) [32]byte {
	if pos <= 0 {
		return [32]byte{}
	}
	return p.hashes[(pos-1)/hashPageSize][(pos-1)%hashPageSize]
}

func (p *Progress) apply(e *ledger.Event) {
	d := &e.Data
	pos, date := e.Position, e.EffectiveDate
	switch e.Type {
	case ledger.TypeProgramRegistered:
		p.registerProgram(d.Program, pos)
	case ledger.TypeProjectRegistered:
		p.registerProject(d.Project, pos)
	case ledger.TypeUnitRegistered:
		p.registerUnit(d.Unit, pos)
		if p.cat.Units[d.Unit.ID] == nil {
			u := *d.Unit // Apply keeps no reference to the events
			p.cat.Units[d.Unit.ID] = &u
		}
	case ledger.TypeSourceRegistered:
		p.registerSource(d.Source, pos)
		if p.cat.Sources[d.Source.Code] == nil {
			s := *d.Source
			p.cat.Sources[d.Source.Code] = &s
		}
	case ledger.TypeDeadlineSet, ledger.TypeDeadlineExtended:
		p.addDeadline(deadlineRecOf(e))
	case ledger.TypeTargetSet:
		p.targets = append(p.targets, targetRec{Target: *d.Target, effective: e.EffectiveDate, pos: pos})
	case ledger.TypeUnitReorganized:
		p.reorganize(d.Reorganization, date, pos)
	default:
		var buf [ledger.PostingsMax]ledger.Posting
		for _, ps := range e.Postings(buf[:0]) {
			switch ps.Measure() {
			case ledger.MeasurePlan:
				p.line(ps.Line, pos).add(pos, date, ps.Delta(), false)
			case ledger.MeasureDisbursed:
				p.line(ps.Line, pos).add(pos, date, ps.Delta(), true)
			case ledger.MeasureCarriedOver:
				l := p.line(ps.Line, pos)
				l.carries = append(l.carries, carry{pos: pos, amount: ps.Delta(), date: date, intoYear: int32(d.IntoYear)})
			case ledger.MeasureAdvanceOutstanding, ledger.MeasureCommitted:
				p.applyCommitment(e, &ps)
			default:
				invariant(false, "progress: unknown measure "+ps.Measure().String())
			}
		}
	}
}

func (p *Progress) registerProgram(pr *ledger.Program, pos int64) {
	if _, dup := p.programIdx[pr.Code]; dup {
		return // the write model registers an id once; keep the first
	}
	p.programIdx[pr.Code] = int32(len(p.programs))
	p.programs = append(p.programs, programRec{code: pr.Code, name: pr.Name, pos: pos})
}

func (p *Progress) registerProject(pr *ledger.Project, pos int64) {
	k := projectKey{pr.Program, pr.Code}
	if _, dup := p.projectIdx[k]; dup {
		return
	}
	i := int32(len(p.projects))
	rec := projectRec{code: pr.Code, name: pr.Name, program: p.lookup(p.programIdx, pr.Program), parent: none, top: i, pos: pos}
	if pr.Parent != "" {
		if parent, ok := p.projectIdx[projectKey{pr.Program, pr.Parent}]; ok {
			rec.parent = parent
			rec.top = p.projects[parent].top
		}
	}
	p.projectIdx[k] = i
	p.projects = append(p.projects, rec)
}

func (p *Progress) registerUnit(u *ledger.Unit, pos int64) {
	if _, dup := p.unitIdx[u.ID]; dup {
		return
	}
	i := int32(len(p.units))
	parentAnc := [levelCount]int32{none, none, none}
	if parent, ok := p.unitIdx[u.Parent]; ok && u.Parent != "" {
		parentAnc = p.units[parent].anc
	}
	rec := unitRec{id: u.ID, name: u.Name, level: u.Level.Depth(), anc: ledger.PlaceUnit(parentAnc, u.Level, i, none), pos: pos}
	p.unitIdx[u.ID] = i
	p.units = append(p.units, rec)
}

// reorganize records the history successions of a reorganisation and its level change.
// Units are never moved: the restated view follows the successions at query time, as of
// the report's date and position.
func (p *Progress) reorganize(r *ledger.Reorganization, date ledger.Date, pos int64) {
	for i := range r.Changes {
		ch := &r.Changes[i]
		t, ok := p.unitIdx[ch.HistorySuccessor()]
		if !ok {
			continue // no successor takes the history (an abolition without one)
		}
		for _, from := range ch.Predecessors {
			if f, ok := p.unitIdx[from]; ok {
				if len(p.units[f].succ) == 0 {
					p.reorganised = append(p.reorganised, f)
				}
				p.units[f].succ = append(p.units[f].succ, succRec{to: t, date: date, pos: pos})
			}
		}
	}
	if len(r.Levels) > 0 {
		p.levels = append(p.levels, levelsRec{date: date, pos: pos, levels: r.Levels})
	}
}

// successorOn returns the unit that holds unit u's history on date t as known at
// position k: u itself, or its history successor over any number of hops
// (ledger.HistoryHolder, over this projection's unit indexes).
func (p *Progress) successorOn(u int32, t ledger.Date, k int64) int32 {
	return ledger.HistoryHolder(u, func(u int32) (int32, bool) {
		for _, s := range p.units[u].succ {
			if s.date <= t && s.pos <= k {
				return s.to, true
			}
		}
		return none, false
	})
}

// levelsOn returns the unit levels in force on t as known at position k.
func (p *Progress) levelsOn(t ledger.Date, k int64) []ledger.Level {
	levels := ledger.Levels[:]
	for _, l := range p.levels {
		if l.date <= t && l.pos <= k {
			levels = l.levels
		}
	}
	return levels
}

func (p *Progress) registerSource(s *ledger.Source, pos int64) {
	if _, dup := p.sourceIdx[s.Code]; dup {
		return
	}
	p.sourceIdx[s.Code] = int32(len(p.sources))
	p.sources = append(p.sources, sourceRec{code: s.Code, name: s.Name, central: s.Budget == ledger.BudgetCentral,
		counterpart: s.Counterpart, pos: pos})
}

func (p *Progress) lookup(m map[string]int32, key string) int32 {
	if i, ok := m[key]; ok {
		return i
	}
	return none
}

// line returns the record of l, creating it at position pos with its catalog indexes.
// The write model checks that every part of a line exists before an event touches it;
// a part that is still missing (a bug, or a projection fed a partial log) is kept as
// none and groups under an empty key.
func (p *Progress) line(l ledger.Line, pos int64) *lineRec {
	if r, ok := p.lineIdx[l]; ok {
		return &p.buckets[r.bucket].lines[r.line]
	}
	rec := lineRec{
		program: p.lookup(p.programIdx, l.Program),
		year:    int32(l.Year),
		source:  p.lookup(p.sourceIdx, l.Source),
		project: none,
		unit:    p.lookup(p.unitIdx, l.Unit),
		anc:     [levelCount]int32{none, none, none},
	}
	if j, ok := p.projectIdx[projectKey{l.Program, l.Project}]; ok {
		rec.project = j
	}
	if rec.unit != none {
		rec.anc = p.units[rec.unit].anc
	}
	rec.firstPos = pos
	rec.evs = make([]lineEvent, 0, lineCapInitial)
	rec.days = make([]ledger.Date, 0, lineCapInitial)
	rec.cum = make([]dayCum, 0, lineCapInitial)
	bk := bucketKey{rec.anc[levelProvince], rec.year}
	b, ok := p.bucketIdx[bk]
	if !ok {
		b = int32(len(p.buckets))
		p.bucketIdx[bk] = b
		p.buckets = append(p.buckets, bucket{key: bk})
	}
	lines := &p.buckets[b].lines
	p.lineIdx[l] = lineRef{bucket: b, line: int32(len(*lines))}
	*lines = append(*lines, rec)
	p.lineCount++
	return &(*lines)[len(*lines)-1]
}

// add records a money event of the line: amount (signed) moves plan, or net disbursed
// when disb is set.
func (l *lineRec) add(pos int64, date ledger.Date, amount int64, disb bool) {
	l.evs = append(l.evs, lineEvent{pos: pos, amount: amount, date: date, disb: disb})
	l.lastPos = pos
	var d dayCum
	if disb {
		d.disb = amount
	} else {
		d.plan = amount
	}
	n := len(l.days)
	if n == 0 || date > l.days[n-1] {
		var prev dayCum
		if n > 0 {
			prev = l.cum[n-1]
		}
		l.days = append(l.days, date)
		l.cum = append(l.cum, dayCum{prev.plan + d.plan, prev.disb + d.disb})
		l.firstDay, l.lastDay, l.last = l.days[0], date, l.cum[n]
		return
	}
	// A same-day or late entry: find its day, insert it if new, and add the amount to
	// the sums of that day and every later day.
	i := firstAtOrAfter(l.days, date)
	if l.days[i] != date {
		var prev dayCum
		if i > 0 {
			prev = l.cum[i-1]
		}
		l.days = append(l.days, 0)
		copy(l.days[i+1:], l.days[i:])
		l.days[i] = date
		l.cum = append(l.cum, dayCum{})
		copy(l.cum[i+1:], l.cum[i:])
		l.cum[i] = prev
	}
	for j := i; j < len(l.cum); j++ {
		l.cum[j].plan += d.plan
		l.cum[j].disb += d.disb
	}
	l.firstDay, l.last = l.days[0], l.cum[len(l.cum)-1]
}

// firstAtOrAfter returns the index of the first day ≥ d (len(days) if none).
func firstAtOrAfter(days []ledger.Date, d ledger.Date) int {
	lo, hi := 0, len(days)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if days[m] < d {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// at returns the line's plan and net disbursed from events with effective date ≤ t and
// position ≤ k.
func (l *lineRec) at(t ledger.Date, k int64) (plan, disb int64) {
	if k >= l.lastPos {
		return l.headAt(t)
	}
	if k < l.firstPos {
		return 0, 0
	}
	// j: the first event recorded after k.
	lo, hi := 0, len(l.evs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.evs[m].pos <= k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	j := lo
	if j <= len(l.evs)-j {
		for _, e := range l.evs[:j] {
			if e.date <= t {
				if e.disb {
					disb += e.amount
				} else {
					plan += e.amount
				}
			}
		}
		return plan, disb
	}
	plan, disb = l.headAt(t)
	for _, e := range l.evs[j:] {
		if e.date <= t {
			if e.disb {
				disb -= e.amount
			} else {
				plan -= e.amount
			}
		}
	}
	return plan, disb
}

// headAt returns the line's sums at the head as of t.
func (l *lineRec) headAt(t ledger.Date) (plan, disb int64) {
	switch {
	case len(l.days) == 0 || t < l.firstDay:
		return 0, 0
	case t >= l.lastDay:
		return l.last.plan, l.last.disb
	}
	c := l.cum[interpolate(l.days, t)]
	return c.plan, c.disb
}

// interpolate returns the index of the last day ≤ t, given days[0] ≤ t < days[len-1].
// It guesses the index from where t falls between the bounds, as days spread fairly
// evenly over a line's life, and bisects every other step so that an uneven spread costs
// at most twice a binary search. On a query's cold lines each probe is a cache miss, and
// the guess needs fewer of them than bisection alone.
func interpolate(days []ledger.Date, t ledger.Date) int {
	lo, hi := 0, len(days)-1 // days[lo] ≤ t < days[hi]
	for guess := true; hi-lo > 1; guess = !guess {
		m := lo + (hi-lo)/2
		if guess {
			m = lo + int(uint64(t-days[lo])*uint64(hi-lo)/uint64(days[hi]-days[lo]))
			m = min(max(m, lo+1), hi-1)
		}
		if days[m] <= t {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// carriedInto returns the sum of the line's carry-overs into year, recorded at or
// before k with an effective date ≤ t.
func (l *lineRec) carriedInto(year int32, t ledger.Date, k int64) int64 {
	var sum int64
	for _, c := range l.carries {
		if c.intoYear == year && c.pos <= k && c.date <= t {
			sum += c.amount
		}
	}
	return sum
}

// invariant stops the process when a condition only a bug can break is false: a
// projection that skipped or repeated an event would report wrong money (docs/design.md §11).
func invariant(cond bool, msg string) {
	if !cond {
		panic("projections invariant violated: " + msg)
	}
}
