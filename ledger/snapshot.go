package ledger

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/vnntp/ledger/ledger/snapcodec"
)

// The snapshot of the write model (docs/design.md, snapshots): every field of State, in
// the order EncodeSnapshot writes them, which DecodeSnapshot reads in the same order.
// Maps are written in sorted key order and the availability treap in date order, so two
// States folded from the same events encode to the same bytes. Pointers that the fold
// shares are written as indexes into what was written before them: a disbursement's
// and a contract's line as the line's place among the sorted lines, contractOf as the
// contract's place among the sorted contracts; the decoder shares them again.
//
// A map's nil-ness is part of the state (a fresh fold and a reverted batch leave the same
// nil maps, which TestRevertRestoresState compares), so the maps that may be empty and
// not nil carry a flag; the collections a fold leaves nil whenever they are empty
// (carriedInto, levelChanges, limits, a succession list) decode as nil when empty.
//
// SnapshotFingerprint changes whenever State's layout does; TestSnapshotLayout pins it,
// so that a field added to State without its line here fails a test.

// SnapshotFingerprint is the layout fingerprint of State (snapcodec.Fingerprint): a
// snapshot taken by a build of another layout is not loaded.
func SnapshotFingerprint() [32]byte { return snapcodec.Fingerprint(State{}) }

// EncodeSnapshot appends the whole state to e, deterministically: two States folded
// from the same events encode to the same bytes. It allocates per map (the sorted keys),
// never per entry.
func (s *State) EncodeSnapshot(e *snapcodec.Encoder) {
	e.Section("ledger.State")
	// The modes first: they say what the rest holds (no treaps without dates tracked).
	e.Bool(s.LinesOnly)
	e.Bool(s.AvailabilityAtHeadOnly)
	// A bounded write model (ledger/refcache.go) is written without its caches and
	// filter: they hold what was looked up when, not what the events determine, and a
	// snapshot must be the bytes of a replay. Its disbursement and voucher maps are nil.
	e.Bool(s.refs != nil)
	e.Varint(s.Head)
	e.Bytes32(s.HeadHash)
	e.Time(s.HeadTime)
	e.Varint(s.EventCount)
	e.Uvarint(s.turnover.hi)
	e.Uvarint(s.turnover.lo)

	s.Catalog.encodeSnapshot(e)

	e.Section("lines")
	lines := make([]*LineBalance, 0, len(s.lines))
	for _, b := range s.lines {
		lines = append(lines, b)
	}
	slices.SortFunc(lines, func(a, b *LineBalance) int { return CompareLines(&a.Line, &b.Line) })
	lineIndex := make(map[*LineBalance]int, len(lines))
	mapHeader(e, s.lines == nil, len(lines))
	for i, b := range lines {
		lineIndex[b] = i
		encodeLineBalance(e, b)
	}

	e.Section("disbursements")
	disbursements := sortedEntries(s.disbursements)
	mapHeader(e, s.disbursements == nil, len(disbursements))
	for _, x := range disbursements {
		li, ok := lineIndex[x.v.line]
		invariant(ok, "a disbursement's line is not among the state's lines")
		d := x.v
		e.UUID(x.key.bytes())
		e.Len(li)
		e.Uvarint(uint64(d.date))
		e.Bool(d.advance)
		e.Varint(d.amount)
		e.Varint(d.reversed)
		e.Varint(d.settled)
	}

	e.Section("vouchers")
	vouchers := sortedEntries(s.vouchers)
	mapHeader(e, s.vouchers == nil, len(vouchers))
	for _, x := range vouchers {
		e.UUID(x.key.bytes()) // 16 bytes, as a UUID is
	}

	s.deadlines.encodeSnapshot(e)
	s.encodeContracts(e, lineIndex)

	e.Section("tokens")
	mapHeader(e, s.tokens == nil, len(s.tokens))
	for _, id := range slices.Sorted(maps.Keys(s.tokens)) {
		e.String(id)
		e.Uvarint(uint64(s.tokens[id]))
	}
	e.Section("end")
}

// DecodeSnapshot makes s, a zero State, the state EncodeSnapshot wrote. It returns
// d's first error; s is unusable after an error. It checks what the fold guarantees
// and the rest of the ledger relies on — keys in order and unique, references that
// resolve, closed sets, no negative gross amount or available balance — so that a
// corrupt snapshot is refused here rather than trusted.
func (s *State) DecodeSnapshot(d *snapcodec.Decoder) error {
	d.Section("ledger.State")
	s.LinesOnly = d.Bool()
	s.AvailabilityAtHeadOnly = d.Bool()
	bounded := d.Bool()
	if bounded {
		// Empty caches and a filter not ready: every reference is looked up until the
		// sequencer that loads the state puts its own (LoadFrom).
		s.refs = newStoredRefs(0, 0)
	}
	s.Head = d.Varint()
	s.HeadHash = d.Bytes32()
	s.HeadTime = d.Time()
	s.EventCount = d.Varint()
	s.turnover.hi = d.Uvarint()
	s.turnover.lo = d.Uvarint()
	if d.Err() == nil && (s.Head < 0 || s.EventCount < 0) {
		d.Fail("head %d or event count %d is negative", s.Head, s.EventCount)
	}

	s.Catalog.decodeSnapshot(d)

	d.Section("lines")
	made, n := decodeMapHeader(d, "lines")
	if made {
		s.lines = make(map[Line]*LineBalance, n)
	}
	// One allocation for every line, and one for every line's dates.
	lines := make([]LineBalance, n)
	byIndex := make([]*LineBalance, n)
	var spine []*dayNode
	for i := range lines {
		b := &lines[i]
		spine = decodeLineBalance(d, b, s.tracksDates(), spine)
		if d.Err() != nil {
			return d.Err()
		}
		if i > 0 && CompareLines(&byIndex[i-1].Line, &b.Line) >= 0 {
			d.Fail("line %s is out of order", b.Line.ID())
			return d.Err()
		}
		byIndex[i] = b
		s.lines[b.Line] = b
	}

	d.Section("disbursements")
	made, n = decodeMapHeader(d, "disbursements")
	if made {
		s.disbursements = make(map[uuid.UUID]*disbursement, n)
	}
	disbursements := make([]disbursement, n)
	var prev uuid.UUID
	for i := range disbursements {
		id := d.UUID()
		x := &disbursements[i]
		x.line = lineAt(d, byIndex, "disbursement")
		x.date = DecodeDateSnapshot(d)
		x.advance = d.Bool()
		x.amount = d.Varint()
		x.reversed = d.Varint()
		x.settled = d.Varint()
		if d.Err() != nil {
			return d.Err()
		}
		switch {
		case i > 0 && bytes.Compare(prev[:], id[:]) >= 0:
			d.Fail("disbursement %s is out of order", id)
		case x.amount <= 0 || x.reversed < 0 || x.settled < 0 || x.reversed > x.amount || x.settled > x.amount:
			d.Fail("disbursement %s: amount %d, reversed %d, settled %d", id, x.amount, x.reversed, x.settled)
		}
		if d.Err() != nil {
			return d.Err()
		}
		prev = id
		s.disbursements[id] = x
	}

	d.Section("vouchers")
	made, n = decodeMapHeader(d, "vouchers")
	if made {
		s.vouchers = make(map[voucherKey]struct{}, n)
	}
	var prevKey voucherKey
	for i := range n {
		k := voucherKey(d.UUID())
		if d.Err() == nil && i > 0 && bytes.Compare(prevKey[:], k[:]) >= 0 {
			d.Fail("voucher %x is out of order", k)
		}
		if d.Err() != nil {
			return d.Err()
		}
		prevKey = k
		s.vouchers[k] = struct{}{}
	}

	s.deadlines.decodeSnapshot(d)
	s.decodeContracts(d, byIndex)

	d.Section("tokens")
	made, n = decodeMapHeader(d, "tokens")
	if made {
		s.tokens = make(map[string]tokenState, n)
	}
	prevID := ""
	for i := range n {
		id := d.String()
		v := d.Uvarint()
		if d.Err() == nil && (i > 0 && id <= prevID || v == 0 || v&^uint64(tokenCreated|tokenRevoked) != 0) {
			d.Fail("token %q (state %d) is out of order or in no state", id, v)
		}
		if d.Err() != nil {
			return d.Err()
		}
		prevID = id
		s.tokens[id] = tokenState(v)
	}
	d.Section("end")

	// A LinesOnly fold keeps none of what only Decide needs.
	if d.Err() == nil && s.LinesOnly && (len(s.disbursements) > 0 || len(s.vouchers) > 0 || len(s.tokens) > 0) {
		d.Fail("a LinesOnly state with disbursements, vouchers or tokens")
	}
	// A bounded write model keeps them in the store.
	if d.Err() == nil && bounded && (s.disbursements != nil || s.vouchers != nil) {
		d.Fail("a bounded write model with disbursement or voucher maps")
	}
	return d.Err()
}

// mapHeader writes whether a map is made (not nil) and its length.
func mapHeader(e *snapcodec.Encoder, isNil bool, n int) {
	e.Bool(!isNil)
	e.Len(n)
}

// decodeMapHeader reads a mapHeader; a nil map has no entries.
func decodeMapHeader(d *snapcodec.Decoder, what string) (made bool, n int) {
	made, n = d.Bool(), d.Len()
	if !made && n > 0 {
		d.Fail("%s: %d entries in a nil map", what, n)
		return false, 0
	}
	return made, n
}

// DecodeDateSnapshot reads a date written as an unsigned varint, refusing one out of range.
func DecodeDateSnapshot(d *snapcodec.Decoder) Date {
	v := d.Uvarint()
	if v > math.MaxUint32 {
		d.Fail("date %d out of range", v)
		return 0
	}
	return Date(v)
}

// decodeAmount reads a gross amount, which is never negative.
func decodeAmount(d *snapcodec.Decoder, what string) int64 {
	v := d.Varint()
	if v < 0 {
		d.Fail("%s: negative amount %d", what, v)
		return 0
	}
	return v
}

// lineAt reads a reference to a line, written as its index among the sorted lines.
func lineAt(d *snapcodec.Decoder, byIndex []*LineBalance, what string) *LineBalance {
	i := d.Uvarint()
	if d.Err() != nil {
		return nil
	}
	if i >= uint64(len(byIndex)) {
		d.Fail("%s names line %d of %d", what, i, len(byIndex))
		return nil
	}
	return byIndex[i]
}

// key16 is a 16-byte key (a UUID, a voucher fingerprint) as two big-endian halves,
// which sort in the byte order of the key faster than bytes.Compare does.
type key16 struct{ hi, lo uint64 }

func keyOf(b [16]byte) key16 {
	return key16{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func (k key16) bytes() (b [16]byte) {
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return b
}

// compareKeys is written out, not cmp.Or of cmp.Compare: sorting the disbursements is
// most of the encoder's time, and this form is inlined.
func compareKeys(a, b key16) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// entry16 is an entry of a map keyed by 16 bytes.
type entry16[V any] struct {
	key key16
	v   V
}

// sortedEntries returns m's entries in key order, with their values: one allocation,
// and no lookup per key afterwards.
func sortedEntries[K ~[16]byte, V any](m map[K]V) []entry16[V] {
	es := make([]entry16[V], 0, len(m))
	for k, v := range m {
		es = append(es, entry16[V]{keyOf(k), v})
	}
	slices.SortFunc(es, func(a, b entry16[V]) int { return compareKeys(a.key, b.key) })
	return es
}

// CompareLines orders lines field by field: the order in which snapshots write what is
// kept by line.
func CompareLines(a, b *Line) int {
	return cmp.Or(strings.Compare(a.Program, b.Program), cmp.Compare(a.Year, b.Year), strings.Compare(a.Source, b.Source),
		strings.Compare(a.Project, b.Project), strings.Compare(a.Unit, b.Unit))
}

// EncodeLineSnapshot writes a line's key; DecodeLineSnapshot reads it back.
func EncodeLineSnapshot(e *snapcodec.Encoder, l *Line) {
	e.String(l.Program)
	e.Int(l.Year)
	e.String(l.Source)
	e.String(l.Project)
	e.String(l.Unit)
}

func DecodeLineSnapshot(d *snapcodec.Decoder) Line {
	return Line{Program: d.String(), Year: d.Int(), Source: d.String(), Project: d.String(), Unit: d.String()}
}

// encodeLineBalance writes a line: its key, flows and postings, what it carried into
// each year, and its dates in order, each as the days since the one before.
func encodeLineBalance(e *snapcodec.Encoder, b *LineBalance) {
	EncodeLineSnapshot(e, &b.Line)
	for _, v := range b.Flows {
		e.Varint(v)
	}
	e.Int(b.events)
	e.Len(len(b.carriedInto))
	if len(b.carriedInto) > 0 { // slices.Sorted allocates even for no keys
		for _, y := range slices.Sorted(maps.Keys(b.carriedInto)) {
			e.Int(y)
			e.Varint(b.carriedInto[y])
		}
	}
	e.Len(b.days.dayCount())
	var prev Date
	b.days.each(func(n *dayNode) {
		e.Uvarint(uint64(n.date - prev))
		prev = n.date
		e.Uvarint(uint64(n.postings))
		e.Varint(n.delta)
	})
}

// each calls fn for the dates of the tree in order.
func (n *dayNode) each(fn func(*dayNode)) {
	for n != nil {
		n.left.each(fn)
		fn(n)
		n = n.right
	}
}

// decodeLineBalance reads a line into b and returns spine, scratch space for the next.
// The treap is rebuilt from its dates in order: its shape depends only on the set of
// dates (datePriority), so it is the tree the fold built.
func decodeLineBalance(d *snapcodec.Decoder, b *LineBalance, tracksDates bool, spine []*dayNode) []*dayNode {
	b.Line = DecodeLineSnapshot(d)
	for f := range b.Flows {
		b.Flows[f] = decodeAmount(d, "flow")
	}
	b.events = d.Int()
	if n := d.Len(); n > 0 {
		b.carriedInto = make(map[int]int64, n)
		for i, prev := 0, 0; i < n; i++ {
			y, v := d.Int(), d.Varint()
			if d.Err() == nil && (i > 0 && y <= prev || v <= 0) {
				d.Fail("line %s: carried into year %d out of order or not positive (%d)", b.Line.ID(), y, v)
			}
			prev = y
			b.carriedInto[y] = v
		}
	}
	n := d.Len()
	if d.Err() != nil {
		return spine
	}
	if n > 0 && !tracksDates {
		d.Fail("line %s: dates kept by a state that does not track them", b.Line.ID())
		return spine
	}
	nodes := make([]dayNode, n)
	spine = spine[:0]
	var date Date
	for i := range nodes {
		step := d.Uvarint()
		postings := d.Uvarint()
		delta := d.Varint()
		if d.Err() != nil {
			return spine
		}
		if (i > 0 && step == 0) || step > math.MaxUint32-uint64(date) || postings == 0 || postings > math.MaxInt32 {
			d.Fail("line %s: date %d out of order, or %d postings on it", b.Line.ID(), uint64(date)+step, postings)
			return spine
		}
		date += Date(step)
		x := &nodes[i]
		*x = dayNode{date: date, prio: datePriority(date), postings: int32(postings), delta: delta}
		// The treap of dates in order, built on its right spine (a Cartesian tree).
		var last *dayNode
		for len(spine) > 0 && x.above(spine[len(spine)-1]) {
			last = spine[len(spine)-1]
			spine = spine[:len(spine)-1]
		}
		x.left = last
		if len(spine) > 0 {
			spine[len(spine)-1].right = x
		}
		spine = append(spine, x)
	}
	if n > 0 {
		b.days = spine[0]
		b.days.pullAll()
	}
	switch {
	case b.events <= 0:
		d.Fail("line %s has %d postings", b.Line.ID(), b.events)
	case b.Available() < 0:
		d.Fail("line %s: available %d is negative", b.Line.ID(), b.Available())
	case committedOn(b) > b.Plan():
		d.Fail("line %s: committed %d above its plan %d", b.Line.ID(), committedOn(b), b.Plan())
	case tracksDates && b.days.total() != b.Available():
		d.Fail("line %s: its dates add up to %d, its available amount is %d", b.Line.ID(), b.days.total(), b.Available())
	}
	return spine
}

// pullAll computes the sums of a tree built without them, children first.
func (n *dayNode) pullAll() {
	if n.left != nil {
		n.left.pullAll()
	}
	if n.right != nil {
		n.right.pullAll()
	}
	n.pull()
}

// total is the sum of the deltas of every date: the available amount at the head.
func (n *dayNode) total() int64 {
	if n == nil {
		return 0
	}
	return n.sum
}

// encodeSnapshot writes the catalog. Each map's key follows from its value (a program's
// code, a project's program and code, a unit's id, a source's code), so only the values
// are written, in key order.
func (c *Catalog) encodeSnapshot(e *snapcodec.Encoder) {
	e.Section("catalog")
	mapHeader(e, c.Programs == nil, len(c.Programs))
	for _, k := range slices.Sorted(maps.Keys(c.Programs)) {
		p := c.Programs[k]
		e.String(p.Code)
		e.String(p.Name)
		encodeValidity(e, p.Validity)
	}
	mapHeader(e, c.Projects == nil, len(c.Projects))
	for _, k := range slices.Sorted(maps.Keys(c.Projects)) {
		p := c.Projects[k]
		e.String(p.Program)
		e.String(p.Code)
		e.String(p.Name)
		e.String(p.Parent)
		encodeValidity(e, p.Validity)
	}
	mapHeader(e, c.Units == nil, len(c.Units))
	for _, k := range slices.Sorted(maps.Keys(c.Units)) {
		u := c.Units[k]
		e.String(u.ID)
		e.String(u.Code)
		e.String(u.Name)
		e.String(string(u.Level))
		e.String(u.Parent)
		encodeValidity(e, u.Validity)
	}
	mapHeader(e, c.Sources == nil, len(c.Sources))
	for _, k := range slices.Sorted(maps.Keys(c.Sources)) {
		src := c.Sources[k]
		e.String(src.Code)
		e.String(src.Name)
		e.String(src.Budget)
		e.String(src.Nature)
		e.Bool(src.Counterpart)
		encodeValidity(e, src.Validity)
	}

	e.Section("reorganizations")
	for _, m := range []map[string][]Succession{c.successors, c.predecessors} {
		mapHeader(e, m == nil, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			e.String(k)
			e.Len(len(m[k]))
			for _, s := range m[k] {
				e.String(s.From)
				e.String(s.To)
				e.Uvarint(uint64(s.Date))
				e.String(string(s.Kind))
				e.Bool(s.History)
			}
		}
	}
	for _, m := range []map[string]bool{c.closedBy, c.endedBy} {
		mapHeader(e, m == nil, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			e.String(k)
			e.Bool(m[k])
		}
	}
	e.Len(len(c.levelChanges))
	for _, ch := range c.levelChanges {
		e.Uvarint(uint64(ch.From))
		e.Len(len(ch.Levels))
		for _, l := range ch.Levels {
			e.String(string(l))
		}
	}
}

func (c *Catalog) decodeSnapshot(d *snapcodec.Decoder) {
	d.Section("catalog")
	made, n := decodeMapHeader(d, "programs")
	if made {
		c.Programs = make(map[string]*Program, n)
	}
	for i, prev := 0, ""; i < n && d.Err() == nil; i++ {
		p := &Program{Code: d.String(), Name: d.String(), Validity: decodeValidity(d)}
		prev = decodeInOrder(d, "program", prev, p.Code, i)
		c.Programs[p.Code] = p
	}
	made, n = decodeMapHeader(d, "projects")
	if made {
		c.Projects = make(map[string]*Project, n)
	}
	for i, prev := 0, ""; i < n && d.Err() == nil; i++ {
		p := &Project{Program: d.String(), Code: d.String(), Name: d.String(), Parent: d.String(), Validity: decodeValidity(d)}
		k := projectKey(p.Program, p.Code)
		prev = decodeInOrder(d, "project", prev, k, i)
		c.Projects[k] = p
	}
	made, n = decodeMapHeader(d, "units")
	if made {
		c.Units = make(map[string]*Unit, n)
	}
	for i, prev := 0, ""; i < n && d.Err() == nil; i++ {
		u := &Unit{ID: d.String(), Code: d.String(), Name: d.String(), Level: Level(d.String()), Parent: d.String(), Validity: decodeValidity(d)}
		prev = decodeInOrder(d, "unit", prev, u.ID, i)
		if d.Err() == nil && u.Level.Depth() < 0 {
			d.Fail("unit %q: no level %q", u.ID, u.Level)
		}
		c.Units[u.ID] = u
	}
	made, n = decodeMapHeader(d, "sources")
	if made {
		c.Sources = make(map[string]*Source, n)
	}
	for i, prev := 0, ""; i < n && d.Err() == nil; i++ {
		src := &Source{Code: d.String(), Name: d.String(), Budget: d.String(), Nature: d.String(), Counterpart: d.Bool(),
			Validity: decodeValidity(d)}
		prev = decodeInOrder(d, "source", prev, src.Code, i)
		c.Sources[src.Code] = src
	}

	d.Section("reorganizations")
	for _, m := range []*map[string][]Succession{&c.successors, &c.predecessors} {
		made, n = decodeMapHeader(d, "successions")
		if made {
			*m = make(map[string][]Succession, n)
		}
		for i, prev := 0, ""; i < n && d.Err() == nil; i++ {
			k := d.String()
			prev = decodeInOrder(d, "succession", prev, k, i)
			links := make([]Succession, d.Len())
			for j := range links {
				links[j] = Succession{From: d.String(), To: d.String(), Date: DecodeDateSnapshot(d), Kind: ChangeKind(d.String()), History: d.Bool()}
				switch links[j].Kind {
				case ChangeMerge, ChangeSplit, ChangeRename, ChangeAbolish:
				default:
					d.Fail("succession of %q: no change kind %q", k, links[j].Kind)
				}
			}
			if len(links) > 0 {
				(*m)[k] = links
			}
		}
	}
	for _, m := range []*map[string]bool{&c.closedBy, &c.endedBy} {
		made, n = decodeMapHeader(d, "closed units")
		if made {
			*m = make(map[string]bool, n)
		}
		for i, prev := 0, ""; i < n && d.Err() == nil; i++ {
			k := d.String()
			prev = decodeInOrder(d, "closed unit", prev, k, i)
			(*m)[k] = d.Bool()
		}
	}
	if n := d.Len(); n > 0 {
		c.levelChanges = make([]LevelsChange, n)
		for i := range c.levelChanges {
			ch := &c.levelChanges[i]
			ch.From = DecodeDateSnapshot(d)
			ch.Levels = make([]Level, d.Len())
			for j := range ch.Levels {
				if ch.Levels[j] = Level(d.String()); d.Err() == nil && ch.Levels[j].Depth() < 0 {
					d.Fail("levels from %s: no level %q", ch.From, ch.Levels[j])
				}
			}
		}
	}
}

// decodeInOrder fails unless key follows prev (the i-th key of a map written in sorted
// order, so also unique), and returns key.
func decodeInOrder(d *snapcodec.Decoder, what, prev, key string, i int) string {
	if d.Err() == nil && i > 0 && key <= prev {
		d.Fail("%s %q is out of order", what, key)
	}
	return key
}

func encodeValidity(e *snapcodec.Encoder, v Validity) {
	e.Uvarint(uint64(v.ValidFrom))
	e.Uvarint(uint64(v.ValidTo))
}

func decodeValidity(d *snapcodec.Decoder) Validity {
	return Validity{ValidFrom: DecodeDateSnapshot(d), ValidTo: DecodeDateSnapshot(d)}
}

func (ds *Deadlines) encodeSnapshot(e *snapcodec.Encoder) {
	e.Section("deadlines")
	keys := slices.SortedFunc(maps.Keys(ds.rules), compareDeadlineKeys)
	mapHeader(e, ds.rules == nil, len(keys))
	for _, k := range keys {
		e.String(k.program)
		e.Int(k.year)
		e.Len(len(ds.rules[k]))
		for _, r := range ds.rules[k] {
			EncodeDeadlineSnapshot(e, &r.Deadline)
			e.Bool(r.line != nil)
			if r.line != nil {
				EncodeLineSnapshot(e, r.line)
			}
			e.Uvarint(uint64(r.effective))
			e.Varint(r.position)
		}
	}
}

// EncodeDeadlineSnapshot writes a deadline's fields; DecodeDeadlineSnapshot reads them back.
func EncodeDeadlineSnapshot(e *snapcodec.Encoder, dl *Deadline) {
	e.String(dl.Program)
	e.Int(dl.Year)
	e.String(dl.Nature)
	e.String(dl.Source)
	e.String(dl.Unit)
	e.Uvarint(uint64(dl.Until))
	e.String(dl.LegalBasis)
}

func DecodeDeadlineSnapshot(d *snapcodec.Decoder) Deadline {
	return Deadline{Program: d.String(), Year: d.Int(), Nature: d.String(), Source: d.String(),
		Unit: d.String(), Until: DecodeDateSnapshot(d), LegalBasis: d.String()}
}

func compareDeadlineKeys(a, b deadlineKey) int {
	return cmp.Or(strings.Compare(a.program, b.program), cmp.Compare(a.year, b.year))
}

func (ds *Deadlines) decodeSnapshot(d *snapcodec.Decoder) {
	d.Section("deadlines")
	made, n := decodeMapHeader(d, "deadlines")
	if made {
		ds.rules = make(map[deadlineKey][]*deadlineRule, n)
	}
	var prev deadlineKey
	for i := 0; i < n && d.Err() == nil; i++ {
		k := deadlineKey{program: d.String(), year: d.Int()}
		if d.Err() == nil && i > 0 && compareDeadlineKeys(prev, k) >= 0 {
			d.Fail("deadlines of %s %d are out of order", k.program, k.year)
		}
		prev = k
		rules := make([]*deadlineRule, d.Len())
		for j := range rules {
			r := &deadlineRule{Deadline: DecodeDeadlineSnapshot(d)}
			if d.Bool() {
				l := DecodeLineSnapshot(d)
				r.line = &l
			}
			r.effective = DecodeDateSnapshot(d)
			r.position = d.Varint()
			if d.Err() == nil && (r.Program != k.program || r.Year != k.year || j > 0 && r.position <= rules[j-1].position) {
				d.Fail("deadline of %s %d at %d is filed under %s %d or out of order", r.Program, r.Year, r.position, k.program, k.year)
			}
			rules[j] = r
		}
		if d.Err() == nil && len(rules) == 0 {
			d.Fail("deadlines of %s %d: none", k.program, k.year)
		}
		ds.rules[k] = rules
	}
}

// encodeContracts writes the contracts, by id, their numbers, the disbursements naming
// one (as the contract's place among the sorted ids: the fold shares the contract) and
// the advance limits in the order recorded.
func (s *State) encodeContracts(e *snapcodec.Encoder, lineIndex map[*LineBalance]int) {
	e.Section("contracts")
	contracts := sortedEntries(s.contracts)
	index := make(map[*contract]int, len(contracts))
	mapHeader(e, s.contracts == nil, len(contracts))
	for i, x := range contracts {
		k := x.v
		index[k] = i
		// A contract's id is its key; it is signed on a line that holds capital.
		li, ok := lineIndex[k.line]
		invariant(keyOf(k.id) == x.key && ok, "a contract filed under another id, or its line not among the state's lines")
		e.UUID(x.key.bytes())
		e.Len(li)
		e.String(k.number)
		e.String(k.contractor)
		e.Uvarint(uint64(k.signed))
		e.Varint(k.value)
		e.Varint(k.disbursed)
		e.Varint(k.outstanding)
	}
	numbers := slices.SortedFunc(maps.Keys(s.contractNumbers), func(a, b contractKey) int {
		return cmp.Or(CompareLines(&a.line, &b.line), strings.Compare(a.number, b.number))
	})
	mapHeader(e, s.contractNumbers == nil, len(numbers))
	for _, k := range numbers {
		EncodeLineSnapshot(e, &k.line)
		e.String(k.number)
		e.Bool(s.contractNumbers[k])
	}
	of := sortedEntries(s.contractOf)
	mapHeader(e, s.contractOf == nil, len(of))
	for _, x := range of {
		e.UUID(x.key.bytes())
		k, ok := index[x.v]
		invariant(ok, "a disbursement names a contract that is not among the contracts")
		e.Len(k)
	}
	e.Len(len(s.limits))
	for _, a := range s.limits {
		e.Uvarint(uint64(a.from))
		e.Varint(a.shareBP)
		e.String(a.program)
		e.String(a.nature)
		e.String(a.basis)
	}
}

func (s *State) decodeContracts(d *snapcodec.Decoder, lines []*LineBalance) {
	d.Section("contracts")
	made, n := decodeMapHeader(d, "contracts")
	if made {
		s.contracts = make(map[uuid.UUID]*contract, n)
	}
	byIndex := make([]*contract, n)
	for i := 0; i < n && d.Err() == nil; i++ {
		id := d.UUID()
		k := &contract{id: id, line: lineAt(d, lines, "contract")}
		k.number = d.String()
		k.contractor = d.String()
		k.signed = DecodeDateSnapshot(d)
		k.value = d.Varint()
		k.disbursed = d.Varint()
		k.outstanding = d.Varint()
		if d.Err() == nil && i > 0 && bytes.Compare(byIndex[i-1].id[:], id[:]) >= 0 {
			d.Fail("contract %s is out of order", id)
		}
		byIndex[i] = k
		s.contracts[id] = k
	}
	made, n = decodeMapHeader(d, "contract numbers")
	if made {
		s.contractNumbers = make(map[contractKey]bool, n)
	}
	var prev contractKey
	for i := 0; i < n && d.Err() == nil; i++ {
		k := contractKey{line: DecodeLineSnapshot(d), number: d.String()}
		if d.Err() == nil && i > 0 && cmp.Or(CompareLines(&prev.line, &k.line), strings.Compare(prev.number, k.number)) >= 0 {
			d.Fail("contract number %q is out of order", k.number)
		}
		prev = k
		s.contractNumbers[k] = d.Bool()
	}
	made, n = decodeMapHeader(d, "contracts of disbursements")
	if made {
		s.contractOf = make(map[uuid.UUID]*contract, n)
	}
	var prevID uuid.UUID
	for i := 0; i < n && d.Err() == nil; i++ {
		id := d.UUID()
		k := d.Uvarint()
		if d.Err() != nil {
			break
		}
		if k >= uint64(len(byIndex)) || i > 0 && bytes.Compare(prevID[:], id[:]) >= 0 {
			d.Fail("disbursement %s names contract %d of %d, or is out of order", id, k, len(byIndex))
			break
		}
		prevID = id
		s.contractOf[id] = byIndex[k]
	}
	if n := d.Len(); n > 0 {
		s.limits = make([]advanceLimit, n)
		for i := range s.limits {
			a := &s.limits[i]
			a.from = DecodeDateSnapshot(d)
			a.shareBP = d.Varint()
			a.program = d.String()
			a.nature = d.String()
			a.basis = d.String()
		}
	}
}
