package projections

import (
	"errors"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/snapcodec"
)

// Snapshots of the projections (docs/design.md, snapshots). Each projection writes what
// a fold of the log would rebuild and nothing a reader can derive from it: the index
// maps (programIdx, lineIdx, bucketIdx, …) are rebuilt from the slices they index, a
// line's daily sums from its events, and the history index's cached past catalog is left
// for the first read to fold again. What is derived is checked on the way in, so a
// snapshot that decodes is a state some log could have folded to, not one a query could
// crash on: every index is in range, positions do not pass the head and grow where the
// fold made them grow.
//
// Positions, dates and running sums that follow one another in a list are written as
// differences from the one before, which makes most of them one or two bytes.

// errNotZero is the error of a DecodeSnapshot into a projection that has folded events.
var errNotZero = errors.New("a snapshot is decoded into a zero projection, not one in use")

// deadlineRec is a deadline event as ledger.Deadlines.Add reads it.
type deadlineRec struct {
	deadline  ledger.Deadline
	line      *ledger.Line // an extension of one line
	effective ledger.Date
	pos       int64
}

func deadlineRecOf(e *ledger.Event) deadlineRec {
	invariant(e.Data.Deadline != nil, "progress: a deadline event without its deadline")
	r := deadlineRec{deadline: *e.Data.Deadline, effective: e.EffectiveDate, pos: e.Position}
	if e.Data.Line != nil {
		l := *e.Data.Line
		r.line = &l
	}
	return r
}

// addDeadline records r in the deadlines and in the log a snapshot writes.
func (p *Progress) addDeadline(r deadlineRec) {
	p.deadlineLog = append(p.deadlineLog, r)
	p.deadlines.Add(&ledger.Event{Position: r.pos, EffectiveDate: r.effective,
		Data: ledger.EventData{Deadline: &r.deadline, Line: r.line}})
}

// EncodeSnapshot appends the projection to e, deterministically, under its read lock.
func (b *Balances) EncodeSnapshot(e *snapcodec.Encoder) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	e.Section("projections.Balances")
	b.st.EncodeSnapshot(e)
	b.hist.encode(e)
}

// DecodeSnapshot makes b, a zero Balances not yet in use, the projection EncodeSnapshot
// wrote, its Position the snapshot's. It returns d's first error; b is unusable after an
// error.
func (b *Balances) DecodeSnapshot(d *snapcodec.Decoder) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st.Head != 0 || b.hist.lines != nil || b.applied.load() != 0 {
		return errNotZero
	}
	d.Section("projections.Balances")
	if d.Err() != nil {
		return d.Err()
	}
	if err := b.st.DecodeSnapshot(d); err != nil {
		return err
	}
	b.hist.decode(d, b.st.Head)
	if d.Err() != nil {
		return d.Err()
	}
	b.applied.advance(b.st.Head)
	return nil
}

func (h *lineHistory) encode(e *snapcodec.Encoder) {
	e.Section("history")
	// Sorted with their series, not as keys to look up again: a lookup hashes the key's
	// five fields, which costs more than writing the line.
	type entry struct {
		l  ledger.Line
		ls *lineSeries
	}
	lines := make([]entry, 0, len(h.lines))
	for l, ls := range h.lines {
		lines = append(lines, entry{l, ls})
	}
	slices.SortFunc(lines, func(a, b entry) int { return ledger.CompareLines(&a.l, &b.l) })
	// The codes the lines' keys are made of, each written once, in order, and named by
	// index in the keys: a few thousand codes make hundreds of thousands of lines, and a
	// reader then makes no string per line.
	codes := map[string]int{}
	for i := range lines {
		l := &lines[i].l
		codes[l.Program], codes[l.Source], codes[l.Project], codes[l.Unit] = 0, 0, 0, 0
	}
	sorted := snapcodec.SortedKeys(codes, func(a, b string) bool { return a < b })
	e.Len(len(sorted))
	for i, c := range sorted {
		e.String(c)
		codes[c] = i
	}
	e.Len(len(lines))
	for i := range lines {
		ls := lines[i].ls
		l := &lines[i].l
		e.Len(codes[l.Program])
		e.Int(l.Year)
		e.Len(codes[l.Source])
		e.Len(codes[l.Project])
		e.Len(codes[l.Unit])
		e.Varint(ls.firstEvent)
		e.Varint(ls.firstPosting)
		var flows uint64
		for f, fs := range ls.flows {
			if fs != nil {
				flows |= 1 << f
			}
		}
		e.Uvarint(flows)
		for _, fs := range ls.flows {
			if fs == nil {
				continue
			}
			e.Len(len(fs.pos))
			var pos, cum int64
			for j := range fs.pos {
				e.Uvarint(uint64(fs.pos[j] - pos))
				e.Varint(fs.cum[j] - cum) // the posting's amount; a wrapped sum unwraps the same
				pos, cum = fs.pos[j], fs.cum[j]
			}
		}
	}
	// Catalog events are few (the catalog, not the money): their JSON form, which
	// decodes to the same event (ledger.Event.MarshalJSON), spares a second codec of
	// every payload.
	e.Len(len(h.catalogEvents))
	var buf []byte
	for _, ev := range h.catalogEvents {
		buf = ev.AppendJSON(buf[:0])
		// String copies its argument into the snapshot and keeps no reference: a string
		// over buf, which the next event overwrites, spares a copy per event.
		e.String(unsafe.String(unsafe.SliceData(buf), len(buf)))
	}
}

func (h *lineHistory) decode(d *snapcodec.Decoder, head int64) {
	d.Section("history")
	n := d.Len()
	codes := make([]string, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		c := d.String()
		if i > 0 && c <= codes[i-1] {
			d.Fail("history: code %q out of order", c)
		}
		codes = append(codes, c)
	}
	code := func() string {
		if i := d.Uvarint(); i < uint64(len(codes)) {
			return codes[i]
		}
		d.Fail("history: code beyond the %d written", len(codes))
		return ""
	}
	n = d.Len()
	h.lines = make(map[ledger.Line]*lineSeries, n)
	var prev ledger.Line
	for i := 0; i < n && d.Err() == nil; i++ {
		l := ledger.Line{Program: code(), Year: d.Int(), Source: code(), Project: code(), Unit: code()}
		if i > 0 && ledger.CompareLines(&prev, &l) >= 0 {
			d.Fail("history: line %s out of order", l.ID())
		}
		prev = l
		ls := &lineSeries{firstEvent: d.Varint(), firstPosting: d.Varint()}
		if ls.firstEvent < 1 || ls.firstEvent > head || ls.firstPosting < 0 || ls.firstPosting > head {
			d.Fail("history: line %s first event %d or posting %d beyond the head %d", l.ID(), ls.firstEvent, ls.firstPosting, head)
		}
		flows := d.Uvarint()
		if flows>>ledger.FlowCount != 0 {
			d.Fail("history: line %s has flows %b beyond the %d flows", l.ID(), flows, ledger.FlowCount)
		}
		// One allocation for the line's flows and one for each flow's two arrays: a line
		// has few flows, and a full slice expression makes an append copy, not overwrite.
		fss := make([]flowSeries, bits.OnesCount64(flows))
		for f := range ls.flows {
			if flows&(1<<f) == 0 || d.Err() != nil {
				continue
			}
			m := d.Len()
			both := make([]int64, 2*m)
			fs := &fss[0]
			fss = fss[1:]
			fs.pos, fs.cum = both[:m:m], both[m:]
			var pos, cum int64
			for j := 0; j < m && d.Err() == nil; j++ {
				delta := d.Uvarint()
				if delta == 0 || delta > uint64(head-pos) {
					d.Fail("history: line %s flow %d position after %d out of order or beyond the head", l.ID(), f, pos)
				}
				pos += int64(delta)
				cum += d.Varint()
				fs.pos[j], fs.cum[j] = pos, cum
			}
			ls.flows[f] = fs
		}
		h.lines[l] = ls
	}
	n = d.Len()
	h.catalogEvents = make([]*ledger.Event, 0, n)
	var pos int64
	var buf []byte
	for i := 0; i < n && d.Err() == nil; i++ {
		s := d.String()
		ev := &ledger.Event{}
		if d.Err() != nil {
			break
		}
		if err := ev.UnmarshalJSON([]byte(s)); err != nil {
			d.Fail("history: catalog event %d: %v", i, err)
			break
		}
		// Only the form AppendJSON writes: JSON it would write otherwise (a member
		// missing, another order) is not what a projection encoded.
		if buf = ev.AppendJSON(buf[:0]); string(buf) != s {
			d.Fail("history: catalog event %d is not in its JSON form", i)
		}
		if ev.Position <= pos || ev.Position > head || !ev.Type.ChangesCatalog() || !hasCatalogPayload(ev) {
			d.Fail("history: catalog event %d (%s at %d) out of order, beyond the head or without its payload", i, ev.Type, ev.Position)
		}
		pos = ev.Position
		h.catalogEvents = append(h.catalogEvents, ev)
	}
}

// hasCatalogPayload reports whether a catalog event has the payload ledger.FoldCatalog
// reads.
func hasCatalogPayload(e *ledger.Event) bool {
	switch e.Type {
	case ledger.TypeProgramRegistered:
		return e.Data.Program != nil
	case ledger.TypeProjectRegistered:
		return e.Data.Project != nil
	case ledger.TypeUnitRegistered:
		return e.Data.Unit != nil
	case ledger.TypeSourceRegistered:
		return e.Data.Source != nil
	case ledger.TypeUnitReorganized:
		return e.Data.Reorganization != nil
	}
	return false
}

// EncodeSnapshot appends the projection to e, deterministically, under its read lock.
func (p *Progress) EncodeSnapshot(e *snapcodec.Encoder) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	e.Section("projections.Progress")
	e.Len(int(p.head)) // the head is the number of chain hashes
	for _, page := range p.hashes {
		for i := range page {
			e.Bytes32(page[i])
		}
	}

	e.Section("catalog")
	e.Len(len(p.programs))
	for i := range p.programs {
		r := &p.programs[i]
		e.String(r.code)
		e.String(r.name)
		e.Varint(r.pos)
	}
	// A project's key names its program by code, which the record does not keep when the
	// program was not registered before it.
	projectKeys := make([]projectKey, len(p.projects))
	for k, i := range p.projectIdx {
		projectKeys[i] = k
	}
	e.Len(len(p.projects))
	for i := range p.projects {
		r := &p.projects[i]
		e.String(projectKeys[i].program)
		e.String(r.code)
		e.String(r.name)
		e.Int(int(r.program))
		e.Int(int(r.parent))
		e.Int(int(r.top))
		e.Varint(r.pos)
	}
	// A unit record is made from the unit (registerUnit), as is the catalog's copy.
	e.Len(len(p.units))
	for i := range p.units {
		r := &p.units[i]
		u := p.cat.Units[r.id]
		invariant(u != nil, "progress: a unit record without its catalog entry")
		e.String(u.ID)
		e.String(u.Code)
		e.String(u.Name)
		e.String(string(u.Level))
		e.String(u.Parent)
		encodeValidity(e, u.Validity)
		e.Varint(r.pos)
		e.Len(len(r.succ))
		for _, s := range r.succ {
			e.Int(int(s.to))
			e.Uvarint(uint64(s.date))
			e.Varint(s.pos)
		}
	}
	e.Len(len(p.sources))
	for i := range p.sources {
		s := p.cat.Sources[p.sources[i].code]
		invariant(s != nil, "progress: a source record without its catalog entry")
		e.String(s.Code)
		e.String(s.Name)
		e.String(s.Budget)
		e.String(s.Nature)
		e.Bool(s.Counterpart)
		encodeValidity(e, s.Validity)
		e.Varint(p.sources[i].pos)
	}
	e.Len(len(p.levels))
	for _, l := range p.levels {
		e.Uvarint(uint64(l.date))
		e.Varint(l.pos)
		e.Len(len(l.levels))
		for _, lv := range l.levels {
			e.String(string(lv))
		}
	}
	e.Len(len(p.reorganised))
	for _, u := range p.reorganised {
		e.Int(int(u))
	}

	e.Section("lines")
	keys := make([][]ledger.Line, len(p.buckets))
	for i := range p.buckets {
		keys[i] = make([]ledger.Line, len(p.buckets[i].lines))
	}
	for l, r := range p.lineIdx {
		keys[r.bucket][r.line] = l
	}
	e.Len(len(p.buckets))
	for i := range p.buckets {
		b := &p.buckets[i]
		e.Int(int(b.key.province))
		e.Int(int(b.key.year))
		e.Len(len(b.lines))
		for j := range b.lines {
			p.encodeLine(e, &b.lines[j], &keys[i][j])
		}
	}

	e.Section("rules")
	e.Varint(p.firstContract)
	e.Len(len(p.deadlineLog))
	for i := range p.deadlineLog {
		r := &p.deadlineLog[i]
		ledger.EncodeDeadlineSnapshot(e, &r.deadline)
		e.Bool(r.line != nil)
		if r.line != nil {
			ledger.EncodeLineSnapshot(e, r.line)
		}
		e.Uvarint(uint64(r.effective))
		e.Varint(r.pos)
	}
	e.Len(len(p.targets))
	for i := range p.targets {
		r := &p.targets[i]
		e.String(r.Unit)
		e.String(r.Program)
		e.Int(r.Year)
		e.String(r.Source)
		e.Varint(r.RateBP)
		e.Uvarint(uint64(r.By))
		e.String(r.Document)
		e.Uvarint(uint64(r.effective))
		e.Varint(r.pos)
	}
}

// encodeLine writes a line record without its year and place (its bucket's), its
// ancestors (its unit's) and its daily sums (a fold of its events).
func (p *Progress) encodeLine(e *snapcodec.Encoder, l *lineRec, key *ledger.Line) {
	e.Int(int(l.program))
	e.Int(int(l.source))
	e.Int(int(l.project))
	e.Int(int(l.unit))
	if p.lineKey(l) == *key {
		e.Bool(false)
	} else {
		e.Bool(true)
		ledger.EncodeLineSnapshot(e, key)
	}
	e.Varint(l.firstPos)
	encodeLineEvents(e, l.evs, l.firstPos)
	e.Len(len(l.carries))
	for _, c := range l.carries {
		e.Varint(c.pos - l.firstPos)
		e.Varint(c.amount)
		e.Uvarint(uint64(c.date))
		e.Int(int(c.intoYear))
	}
	e.Bool(l.cx != nil)
	if l.cx == nil {
		return
	}
	encodeLineEvents(e, l.cx.commits, l.firstPos)
	e.Len(len(l.cx.advances))
	for i := range l.cx.advances {
		a := &l.cx.advances[i]
		e.UUID(a.id)
		e.Varint(a.pos - l.firstPos)
		e.Uvarint(uint64(a.date))
		e.Varint(a.amount)
		encodeLineEvents(e, a.back, a.pos)
	}
}

// encodeLineEvents writes events in position order, each position after from.
func encodeLineEvents(e *snapcodec.Encoder, evs []lineEvent, from int64) {
	e.Len(len(evs))
	pos, date := from, int64(0)
	for i := range evs {
		ev := &evs[i]
		invariant(ev.pos >= pos, "progress: a line's events out of position order")
		packed := uint64(ev.pos-pos) << 1
		if ev.disb {
			packed |= 1
		}
		e.Uvarint(packed)
		e.Varint(ev.amount)
		e.Varint(int64(ev.date) - date)
		pos, date = ev.pos, int64(ev.date)
	}
}

// DecodeSnapshot makes p, a zero Progress not yet in use, the projection EncodeSnapshot
// wrote, its Position the snapshot's. It returns d's first error; p is unusable after an
// error.
func (p *Progress) DecodeSnapshot(d *snapcodec.Decoder) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.head != 0 || p.lineIdx != nil || p.applied.load() != 0 {
		return errNotZero
	}
	p.init()
	pd := progressDecoder{d: d, p: p}
	pd.decode()
	if d.Err() != nil {
		return d.Err()
	}
	p.applied.advance(p.head)
	return nil
}

// progressDecoder reads a Progress snapshot; every read checks d's sticky error, so a
// loop over a corrupt length stops at the first bad item.
type progressDecoder struct {
	d *snapcodec.Decoder
	p *Progress
}

func (pd *progressDecoder) decode() {
	d, p := pd.d, pd.p
	d.Section("projections.Progress")
	p.head = int64(d.Len())
	for i := int64(0); i < p.head && d.Err() == nil; i++ {
		if i%hashPageSize == 0 {
			p.hashes = append(p.hashes, make([][32]byte, 0, hashPageSize))
		}
		last := len(p.hashes) - 1
		p.hashes[last] = append(p.hashes[last], d.Bytes32())
	}
	d.Section("catalog")
	pd.programs()
	pd.projects()
	pd.units()
	pd.sources()
	pd.levels()
	d.Section("lines")
	pd.lines()
	d.Section("rules")
	pd.rules()
}

// pos reads a position, which must be in [lo, head].
func (pd *progressDecoder) pos(what string, lo int64) int64 {
	v := pd.d.Varint()
	if v < lo || v > pd.p.head {
		pd.d.Fail("progress: %s position %d outside [%d, %d]", what, v, lo, pd.p.head)
	}
	return v
}

// index reads an index into a list of n, or none when orNone.
func (pd *progressDecoder) index(what string, n int, orNone bool) int32 {
	v := pd.d.Int()
	if v >= n || v < 0 && !(orNone && v == int(none)) {
		pd.d.Fail("progress: %s index %d outside the %d known", what, v, n)
		return none
	}
	return int32(v)
}

func (pd *progressDecoder) programs() {
	d, p := pd.d, pd.p
	n := d.Len()
	p.programs = make([]programRec, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		r := programRec{code: d.String(), name: d.String(), pos: pd.pos("program", 1)}
		if _, dup := p.programIdx[r.code]; dup {
			d.Fail("progress: program %q twice", r.code)
		}
		p.programIdx[r.code] = int32(i)
		p.programs = append(p.programs, r)
	}
}

func (pd *progressDecoder) projects() {
	d, p := pd.d, pd.p
	n := d.Len()
	p.projects = make([]projectRec, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := projectKey{program: d.String()}
		r := projectRec{code: d.String(), name: d.String()}
		k.code = r.code
		r.program = pd.index("project's program", len(p.programs), true)
		r.parent = pd.index("project's parent", i, true) // registered before it
		r.top = pd.index("project's top", i+1, false)
		r.pos = pd.pos("project", 1)
		if d.Err() != nil {
			break
		}
		switch {
		case r.program != none && p.programs[r.program].code != k.program:
			d.Fail("progress: project %s/%s under program %q", k.program, k.code, p.programs[r.program].code)
		case r.parent == none && r.top != int32(i), r.parent != none && r.top != p.projects[r.parent].top:
			d.Fail("progress: project %s/%s has top %d, not its subtree's", k.program, k.code, r.top)
		}
		if _, dup := p.projectIdx[k]; dup {
			d.Fail("progress: project %s/%s twice", k.program, k.code)
		}
		p.projectIdx[k] = int32(i)
		p.projects = append(p.projects, r)
	}
}

func (pd *progressDecoder) units() {
	d, p := pd.d, pd.p
	n := d.Len()
	p.units = make([]unitRec, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		u := &ledger.Unit{ID: d.String(), Code: d.String(), Name: d.String(), Level: ledger.Level(d.String()),
			Parent: d.String(), Validity: decodeValidity(d)}
		pos := pd.pos("unit", 1)
		if _, dup := p.unitIdx[u.ID]; dup {
			d.Fail("progress: unit %q twice", u.ID)
		}
		if d.Err() != nil {
			break
		}
		p.registerUnit(u, pos) // the record as the fold made it, from the units before it
		p.cat.Units[u.ID] = u
		m := d.Len()
		succ := make([]succRec, 0, m)
		for j := 0; j < m && d.Err() == nil; j++ {
			succ = append(succ, succRec{to: pd.index("successor", n, false), date: ledger.DecodeDateSnapshot(d), pos: pd.pos("succession", 1)})
		}
		if m > 0 {
			p.units[i].succ = succ
		}
	}
}

func (pd *progressDecoder) sources() {
	d, p := pd.d, pd.p
	n := d.Len()
	p.sources = make([]sourceRec, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		s := &ledger.Source{Code: d.String(), Name: d.String(), Budget: d.String(), Nature: d.String(),
			Counterpart: d.Bool(), Validity: decodeValidity(d)}
		pos := pd.pos("source", 1)
		if _, dup := p.sourceIdx[s.Code]; dup {
			d.Fail("progress: source %q twice", s.Code)
		}
		if d.Err() != nil {
			break
		}
		p.registerSource(s, pos)
		p.cat.Sources[s.Code] = s
	}
}

// levels reads the unit levels in force and the units reorganised.
func (pd *progressDecoder) levels() {
	d, p := pd.d, pd.p
	n := d.Len()
	for i := 0; i < n && d.Err() == nil; i++ {
		r := levelsRec{date: ledger.DecodeDateSnapshot(d), pos: pd.pos("levels", 1)}
		m := d.Len()
		r.levels = make([]ledger.Level, 0, m)
		for j := 0; j < m && d.Err() == nil; j++ {
			r.levels = append(r.levels, ledger.Level(d.String()))
		}
		p.levels = append(p.levels, r)
	}
	n = d.Len()
	for i := 0; i < n && d.Err() == nil; i++ {
		u := pd.index("reorganised unit", len(p.units), false)
		if d.Err() == nil && len(p.units[u].succ) == 0 {
			d.Fail("progress: unit %q listed as reorganised has no succession", p.units[u].id)
		}
		p.reorganised = append(p.reorganised, u)
	}
}

func (pd *progressDecoder) lines() {
	d, p := pd.d, pd.p
	n := d.Len()
	p.buckets = make([]bucket, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		k := bucketKey{province: pd.index("bucket's province", len(p.units), true), year: decodeInt32(d)}
		if _, dup := p.bucketIdx[k]; dup {
			d.Fail("progress: bucket %+v twice", k)
		}
		p.bucketIdx[k] = int32(i)
		m := d.Len()
		b := bucket{key: k, lines: make([]lineRec, m)}
		for j := 0; j < m && d.Err() == nil; j++ {
			pd.line(&b.lines[j], k, lineRef{bucket: int32(i), line: int32(j)})
		}
		p.buckets = append(p.buckets, b)
		p.lineCount += m
	}
}

// line reads a line record into l, the line ref of bucket k.
func (pd *progressDecoder) line(l *lineRec, k bucketKey, ref lineRef) {
	d, p := pd.d, pd.p
	l.year = k.year
	l.program = pd.index("line's program", len(p.programs), true)
	l.source = pd.index("line's source", len(p.sources), true)
	l.project = pd.index("line's project", len(p.projects), true)
	l.unit = pd.index("line's unit", len(p.units), true)
	if d.Err() != nil {
		return
	}
	l.anc = [levelCount]int32{none, none, none}
	if l.unit != none {
		l.anc = p.units[l.unit].anc
	}
	key := p.lineKey(l)
	if d.Bool() {
		key = ledger.DecodeLineSnapshot(d)
	}
	if l.anc[levelProvince] != k.province || key.Year != int(k.year) {
		d.Fail("progress: line %s in bucket %+v", key.ID(), k)
	}
	if _, dup := p.lineIdx[key]; dup {
		d.Fail("progress: line %s twice", key.ID())
	}
	p.lineIdx[key] = ref
	l.firstPos = pd.pos("line's first", 1)

	// The events, folded again into the daily sums (add).
	m := d.Len()
	l.evs = make([]lineEvent, 0, max(m, lineCapInitial))
	l.days = make([]ledger.Date, 0, lineCapInitial)
	l.cum = make([]dayCum, 0, lineCapInitial)
	pd.lineEvents(m, l.firstPos, func(ev lineEvent) { l.add(ev.pos, ev.date, ev.amount, ev.disb) })

	m = d.Len()
	if m > 0 {
		l.carries = make([]carry, 0, m)
	}
	for j := 0; j < m && d.Err() == nil; j++ {
		c := carry{pos: l.firstPos + d.Varint(), amount: d.Varint(), date: ledger.DecodeDateSnapshot(d), intoYear: decodeInt32(d)}
		if c.pos < l.firstPos || c.pos > p.head {
			d.Fail("progress: line %s carry-over at %d outside [%d, %d]", key.ID(), c.pos, l.firstPos, p.head)
		}
		l.carries = append(l.carries, c)
	}
	if !d.Bool() {
		return
	}
	cx := &lineContracts{}
	l.cx = cx
	m = d.Len()
	cx.commits = make([]lineEvent, 0, m)
	pd.lineEvents(m, l.firstPos, func(ev lineEvent) { cx.commits = append(cx.commits, ev) })
	m = d.Len()
	cx.advances = make([]advanceRec, 0, m)
	for j := 0; j < m && d.Err() == nil; j++ {
		a := advanceRec{id: d.UUID(), pos: l.firstPos + d.Varint(), date: ledger.DecodeDateSnapshot(d), amount: d.Varint()}
		if a.pos < l.firstPos || a.pos > p.head {
			d.Fail("progress: line %s advance at %d outside [%d, %d]", key.ID(), a.pos, l.firstPos, p.head)
		}
		n := d.Len()
		if n > 0 {
			a.back = make([]lineEvent, 0, n)
		}
		pd.lineEvents(n, a.pos, func(ev lineEvent) { a.back = append(a.back, ev) })
		cx.advances = append(cx.advances, a)
	}
}

// lineEvents reads n events written by encodeLineEvents from position from, passing
// each to fn.
func (pd *progressDecoder) lineEvents(n int, from int64, fn func(lineEvent)) {
	d := pd.d
	pos, date := from, int64(0)
	for i := 0; i < n && d.Err() == nil; i++ {
		packed := d.Uvarint()
		delta := packed >> 1
		amount := d.Varint()
		date += d.Varint()
		if delta > uint64(pd.p.head-pos) || date < 0 || date > math.MaxUint32 {
			d.Fail("progress: a line event after position %d beyond the head %d or dated %d", pos, pd.p.head, date)
			return
		}
		pos += int64(delta)
		fn(lineEvent{pos: pos, amount: amount, date: ledger.Date(date), disb: packed&1 == 1})
	}
}

func (pd *progressDecoder) rules() {
	d, p := pd.d, pd.p
	p.firstContract = pd.pos("first contract", 0)
	n := d.Len()
	for i := 0; i < n && d.Err() == nil; i++ {
		r := deadlineRec{deadline: ledger.DecodeDeadlineSnapshot(d)}
		if d.Bool() {
			l := ledger.DecodeLineSnapshot(d)
			r.line = &l
		}
		r.effective = ledger.DecodeDateSnapshot(d)
		r.pos = pd.pos("deadline", 1)
		if d.Err() == nil {
			p.addDeadline(r)
		}
	}
	n = d.Len()
	p.targets = make([]targetRec, 0, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		r := targetRec{Target: ledger.Target{Unit: d.String(), Program: d.String(), Year: d.Int(), Source: d.String(),
			RateBP: d.Varint(), By: ledger.DecodeDateSnapshot(d), Document: d.String()}}
		r.effective = ledger.DecodeDateSnapshot(d)
		r.pos = pd.pos("target", 1)
		p.targets = append(p.targets, r)
	}
}

func encodeValidity(e *snapcodec.Encoder, v ledger.Validity) {
	e.Uvarint(uint64(v.ValidFrom))
	e.Uvarint(uint64(v.ValidTo))
}

func decodeValidity(d *snapcodec.Decoder) ledger.Validity {
	return ledger.Validity{ValidFrom: ledger.DecodeDateSnapshot(d), ValidTo: ledger.DecodeDateSnapshot(d)}
}

func decodeInt32(d *snapcodec.Decoder) int32 {
	v := d.Int()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.Fail("int32 %d out of range", v)
		return 0
	}
	return int32(v)
}
