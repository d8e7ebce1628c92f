package projections

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
	"github.com/vnntp/ledger/ledger/snapcodec"
)

// Layout fingerprints of the projections a snapshot holds (snapcodec.Fingerprint). A
// change of either type's fields, or of a type they hold, changes them: update the codec
// in snapshot.go for the new field (write it, read it, check it, and extend the tests),
// then set the constant to the value the test prints.
const (
	balancesLayout = "f700fa46e9fcade154b11d0ce86606f14f83ba291c4a316b12676c24480bff9c"
	progressLayout = "1bce47aaf04af95568edc0b4c061392693901df8ccf27c982f05c8416c43376c"
)

func TestSnapshotLayoutIsPinned(t *testing.T) {
	for _, c := range []struct {
		name, want string
		value      any
	}{
		{"Balances", balancesLayout, Balances{}},
		{"Progress", progressLayout, Progress{}},
	} {
		fp := snapcodec.Fingerprint(c.value)
		if got := hex.EncodeToString(fp[:]); got != c.want {
			t.Errorf("the layout of projections.%s changed (fingerprint %s, pinned %s): update its snapshot codec "+
				"(projections/snapshot.go) and its tests for the change, then pin the new fingerprint", c.name, got, c.want)
		}
	}
}

// snapHistories are the logs the snapshot tests cut: the sample history (an event of
// every type), the demo (three programs, reorganisations, deadlines, targets) and random
// histories with and without reorganisations (property_test.go).
func snapHistories(t *testing.T) map[string][]*ledger.Event {
	h := map[string][]*ledger.Event{
		"sample": ledgertest.SampleHistory(),
		"demo":   runSteps(t, demo.Steps()),
	}
	h["parts registered late"] = lateParts()
	for seed := range uint64(6) {
		h[fmt.Sprintf("random %d", seed)] = genHistory(200 + seed)
		h[fmt.Sprintf("reorganised %d", seed)] = genHistoryWith(300+seed, true)
	}
	return h
}

// lateParts is a log whose first lines name a program, project, source and unit not
// registered yet (a partial log): Progress keeps such a line under missing indexes, and
// its key is not the one the indexes name, so a snapshot writes it.
func lateParts() []*ledger.Event {
	early := ledger.Line{Program: "X", Year: 2024, Source: "S", Project: "P", Unit: "U"}
	late := ledger.Line{Program: "X", Year: 2024, Source: "S", Project: "P2", Unit: "U"}
	d := ledger.MakeDate(2024, time.March, 1)
	var events []*ledger.Event
	add := func(typ ledger.EventType, data ledger.EventData) {
		e := &ledger.Event{Position: int64(len(events) + 1), Type: typ, EffectiveDate: d, Data: data}
		e.Hash[0] = byte(e.Position)
		events = append(events, e)
		d++
	}
	add(ledger.TypeAllocated, ledger.EventData{Line: &early, Amount: 1000})
	add(ledger.TypeProjectRegistered, ledger.EventData{Project: &ledger.Project{Program: "X", Code: "P2", Parent: "P"}})
	add(ledger.TypeProgramRegistered, ledger.EventData{Program: &ledger.Program{Code: "X", Name: "Chương trình X"}})
	add(ledger.TypeProjectRegistered, ledger.EventData{Project: &ledger.Project{Program: "X", Code: "P"}})
	add(ledger.TypeProjectRegistered, ledger.EventData{Project: &ledger.Project{Program: "X", Code: "P3", Parent: "P"}})
	add(ledger.TypeProjectRegistered, ledger.EventData{Project: &ledger.Project{Program: "Z", Code: "P"}})
	add(ledger.TypeUnitRegistered, ledger.EventData{Unit: &ledger.Unit{ID: "D", Name: "Huyện", Level: ledger.LevelDistrict, Parent: "U"}})
	add(ledger.TypeUnitRegistered, ledger.EventData{Unit: &ledger.Unit{ID: "U", Name: "Tỉnh", Level: ledger.LevelProvince}})
	add(ledger.TypeSourceRegistered, ledger.EventData{Source: &ledger.Source{Code: "S", Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment}})
	add(ledger.TypeAllocated, ledger.EventData{Line: &early, Amount: 500})
	add(ledger.TypeAllocated, ledger.EventData{Line: &late, Amount: 700})
	add(ledger.TypeDisbursed, ledger.EventData{Line: &early, Amount: 300, Kind: string(ledger.KindPayment)})
	add(ledger.TypeDisbursed, ledger.EventData{Line: &late, Amount: 200, Kind: string(ledger.KindPayment)})
	return events
}

// balancesHistories are the histories Balances can fold: its state is the write
// model's fold, which stops on a balance below zero, and the random histories do not
// keep the write rules; their events that would break one are left out.
func balancesHistories(t *testing.T) map[string][]*ledger.Event {
	h := snapHistories(t)
	for name, events := range h {
		if strings.HasPrefix(name, "random") || strings.HasPrefix(name, "reorganised") {
			h[name] = foldable(events)
		}
	}
	return h
}

// foldable returns the events of a generated log that a ledger.State folds without
// breaking an invariant, renumbered. It folds every prefix again: the logs are short.
func foldable(events []*ledger.Event) []*ledger.Event {
	var kept []*ledger.Event
	for _, e := range events {
		c := *e
		c.Position = int64(len(kept) + 1)
		namesDisbursement(&c)
		if foldsWith(kept, &c) {
			kept = append(kept, &c)
		}
	}
	return kept
}

// namesDisbursement gives a settlement or reversal of a generated log, which names no
// disbursement, the nil id: the write model's fold parses it, and it names no contract.
func namesDisbursement(e *ledger.Event) {
	if (e.Type == ledger.TypeAdvanceSettled || e.Type == ledger.TypeReversed) && e.Data.EventID == "" {
		e.Data.EventID = uuid.Nil.String()
	}
}

func foldsWith(kept []*ledger.Event, e *ledger.Event) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	st := &ledger.State{LinesOnly: true}
	for _, k := range kept {
		st.Apply(k)
	}
	st.Apply(e)
	return true
}

// cuts returns the positions a history is cut at: the ends, the first event, and a few
// in between.
func cuts(rng *rand.Rand, n int) []int {
	ks := []int{0, 1, n / 3, n / 2, n - 1, n}
	for range 3 {
		ks = append(ks, rng.IntN(n+1))
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

// applyInBatches feeds events to ps in random batches.
func applyInBatches(rng *rand.Rand, events []*ledger.Event, ps ...Projection) {
	for len(events) > 0 {
		n := min(len(events), 1+rng.IntN(32))
		for _, p := range ps {
			p.Apply(events[:n])
		}
		events = events[n:]
	}
}

type snapshotter interface {
	Projection
	EncodeSnapshot(*snapcodec.Encoder)
	DecodeSnapshot(*snapcodec.Decoder) error
}

func encode(p snapshotter) []byte {
	var e snapcodec.Encoder
	p.EncodeSnapshot(&e)
	return e.Bytes()
}

// restore decodes b into fresh and checks that it reads every byte.
func restore(t *testing.T, fresh snapshotter, b []byte) {
	t.Helper()
	d := snapcodec.NewDecoder(b)
	if err := fresh.DecodeSnapshot(d); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := d.Done(); err != nil {
		t.Fatalf("decode: %v", err)
	}
}

// TestProgressSnapshot cuts every history at several positions k: a projection restored
// from the snapshot of the fold of events[:k] encodes to the same bytes, answers every
// query (reports by any grouping, as_of and at, lines, counterpart, deadlines, targets,
// programs) as the fold does, and after both fold events[k:] they are still the same
// bytes and the same answers: the same answers with and without snapshots.
func TestProgressSnapshot(t *testing.T) {
	for name, events := range snapHistories(t) {
		rng := rand.New(rand.NewPCG(uint64(len(events)), 7))
		for _, k := range cuts(rng, len(events)) {
			live := &Progress{}
			applyInBatches(rng, events[:k], live)
			snap := encode(live)
			restored := &Progress{}
			restore(t, restored, snap)
			if again := encode(restored); string(again) != string(snap) {
				t.Fatalf("%s at %d: a restored projection encodes to other bytes (%d, %d bytes)", name, k, len(snap), len(again))
			}
			if restored.Position() != int64(k) {
				t.Fatalf("%s at %d: restored position %d", name, k, restored.Position())
			}
			compareProgress(t, fmt.Sprintf("%s cut at %d", name, k), rng, events[:k], live, restored)

			applyInBatches(rng, events[k:], live, restored)
			if a, b := encode(live), encode(restored); string(a) != string(b) {
				t.Fatalf("%s cut at %d: after the rest of the log the restored projection encodes to other bytes", name, k)
			}
			compareProgress(t, fmt.Sprintf("%s cut at %d, then to the end", name, k), rng, events, live, restored)
		}
	}
}

// compareProgress requires the same answers from a and b to queries over the codes
// events register.
func compareProgress(t *testing.T, what string, rng *rand.Rand, events []*ledger.Event, a, b *Progress) {
	t.Helper()
	head := int64(len(events))
	if ha, hb := fmt.Sprint(a.Head()), fmt.Sprint(b.Head()); ha != hb {
		t.Fatalf("%s: head %s, restored %s", what, ha, hb)
	}
	vocab := vocabularyOf(events)
	ask := func(kind string, q any, fn func(p *Progress) (any, error)) {
		x, errX := fn(a)
		y, errY := fn(b)
		if ax, ay := answerOf(t, x, errX), answerOf(t, y, errY); ax != ay {
			t.Fatalf("%s: %s %+v:\n fold     %s\n restored %s", what, kind, q, ax, ay)
		}
	}
	for range 40 {
		q := vocab.query(rng, head)
		if rng.IntN(2) == 0 {
			q = randomQuery(rng, head)
		}
		ask("query", q, func(p *Progress) (any, error) { return p.Query(q) })
		lq := q
		lq.GroupBy = nil
		ask("lines", lq, func(p *Progress) (any, error) { return p.Lines(lq) })
		cq := CounterpartQuery{Program: q.Program, Unit: q.Unit, AsOf: q.AsOf, At: q.At, Units: q.Units}
		ask("counterpart", cq, func(p *Progress) (any, error) { return p.Counterpart(cq) })
		asOf := q.AsOf
		if asOf == 0 {
			asOf = vocab.date(rng)
		}
		dq := DeadlineQuery{Program: q.Program, Unit: q.Unit, Year: q.Year, AsOf: asOf, At: q.At, Within: DeadlineWithinDaysMax}
		ask("deadlines", dq, func(p *Progress) (any, error) { return p.NearDeadlines(dq) })
		ask("targets", q, func(p *Progress) (any, error) {
			return p.Targets(q.Unit, q.Program, q.Year, q.Source, q.At), nil
		})
		ask("programs", q, func(p *Progress) (any, error) { return p.Programs(q.Unit, q.AsOf), nil })
	}
}

func answerOf(t *testing.T, v any, err error) string {
	t.Helper()
	if err != nil {
		return "error " + ledger.Code(err) + " " + ledger.Field(err) + ": " + err.Error()
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// vocabulary holds the codes a log registers and the dates it uses, to draw queries
// that name what exists.
type vocabulary struct {
	programs, units, projects, sources []string
	years                              []int
	dates                              []ledger.Date
}

func vocabularyOf(events []*ledger.Event) *vocabulary {
	v := &vocabulary{}
	for _, e := range events {
		d := &e.Data
		switch {
		case d.Program != nil:
			v.programs = append(v.programs, d.Program.Code)
		case d.Project != nil:
			v.projects = append(v.projects, d.Project.Code)
		case d.Unit != nil:
			v.units = append(v.units, d.Unit.ID)
		case d.Source != nil:
			v.sources = append(v.sources, d.Source.Code)
		}
		if l := e.MainLine(); l != nil {
			v.years = append(v.years, l.Year)
		}
		v.dates = append(v.dates, e.EffectiveDate)
	}
	return v
}

func pickOr[T any](rng *rand.Rand, of []T, zero T) T {
	if len(of) == 0 || rng.IntN(3) == 0 {
		return zero
	}
	return of[rng.IntN(len(of))]
}

func (v *vocabulary) date(rng *rand.Rand) ledger.Date {
	if len(v.dates) == 0 {
		return ledger.MakeDate(2024, time.June, 30)
	}
	d := v.dates[rng.IntN(len(v.dates))].Time().AddDate(0, 0, rng.IntN(400)-200)
	return ledger.DateOf(d)
}

func (v *vocabulary) query(rng *rand.Rand, head int64) Query {
	all := []Dimension{GroupProvince, GroupDistrict, GroupCommune, GroupProject, GroupSubproject, GroupSource, GroupYear}
	var q Query
	for n := rng.IntN(3); len(q.GroupBy) < n; {
		if d := all[rng.IntN(len(all))]; !slices.Contains(q.GroupBy, d) {
			q.GroupBy = append(q.GroupBy, d)
		}
	}
	q.Program = pickOr(rng, v.programs, "")
	q.Unit = pickOr(rng, v.units, "")
	q.Project = pickOr(rng, v.projects, "")
	q.Source = pickOr(rng, v.sources, "")
	q.Year = pickOr(rng, v.years, 0)
	if rng.IntN(3) == 0 {
		q.Basis = BasisExecutionYear
		if q.Year == 0 {
			q.Year = pickOr(rng, v.years, 2024)
		}
	}
	if rng.IntN(2) == 0 {
		q.Units = UnitsCurrent
	}
	if rng.IntN(4) != 0 {
		q.AsOf = v.date(rng)
	}
	if rng.IntN(2) == 0 && head > 0 {
		q.At = 1 + rng.Int64N(head)
	}
	return q
}

// TestProgressSnapshotContinuesUnderTheFanout restores a projection and hands it to a
// fan-out: it reads the log from the snapshot's position on, WaitFor returns at the
// head, and it ends equal to the projection that folded the whole log.
func TestProgressSnapshotContinuesUnderTheFanout(t *testing.T) {
	events := fanoutLog(3000)
	k := len(events) / 2
	live := &Progress{}
	live.Apply(events[:k])
	restored := &Progress{}
	restore(t, restored, encode(live))
	live.Apply(events[k:])

	src := &logSource{}
	src.commit(events)
	f := NewFanout(src, nil, restored)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	f.Notify(events[len(events)-1:]) // not the next position: the fan-out reads the gap back
	if err := f.Wait(ctx, int64(len(events))); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
	if string(encode(live)) != string(encode(restored)) {
		t.Fatal("the restored projection fed by the fan-out differs from the fold of the whole log")
	}
}

// TestHistorySnapshot checks the history index of Balances on its own, with the state
// beside it folded directly: the index decoded from a snapshot encodes to the same
// bytes and answers every read at every position as the fold's index does, before and
// after the rest of the log.
func TestHistorySnapshot(t *testing.T) {
	for name, events := range balancesHistories(t) {
		rng := rand.New(rand.NewPCG(uint64(len(events)), 8))
		for _, k := range cuts(rng, len(events)) {
			live := &Balances{}
			applyInBatches(rng, events[:k], live)
			var e snapcodec.Encoder
			live.hist.encode(&e)
			restored := &Balances{}
			restored.st.LinesOnly = true
			for _, ev := range events[:k] {
				restored.st.Apply(ev)
			}
			d := snapcodec.NewDecoder(e.Bytes())
			restored.hist.decode(d, int64(k))
			if err := d.Done(); err != nil {
				t.Fatalf("%s at %d: decode the history: %v", name, k, err)
			}
			restored.applied.advance(int64(k))
			var again snapcodec.Encoder
			restored.hist.encode(&again)
			if string(again.Bytes()) != string(e.Bytes()) {
				t.Fatalf("%s at %d: the restored history encodes to other bytes", name, k)
			}
			compareBalances(t, fmt.Sprintf("%s cut at %d", name, k), events[:k], live, restored)
			applyInBatches(rng, events[k:], live, restored)
			compareBalances(t, fmt.Sprintf("%s cut at %d, then to the end", name, k), events, live, restored)
		}
	}
}

// TestBalancesSnapshot is TestProgressSnapshot for Balances, the write model's fold
// (ledger.State's codec) with the history index.
func TestBalancesSnapshot(t *testing.T) {
	for name, events := range balancesHistories(t) {
		rng := rand.New(rand.NewPCG(uint64(len(events)), 9))
		for _, k := range cuts(rng, len(events)) {
			live := &Balances{}
			applyInBatches(rng, events[:k], live)
			snap := encode(live)
			restored := &Balances{}
			restore(t, restored, snap)
			if again := encode(restored); string(again) != string(snap) {
				t.Fatalf("%s at %d: a restored projection encodes to other bytes (%d, %d bytes)", name, k, len(snap), len(again))
			}
			if restored.Position() != int64(k) {
				t.Fatalf("%s at %d: restored position %d", name, k, restored.Position())
			}
			compareBalances(t, fmt.Sprintf("%s cut at %d", name, k), events[:k], live, restored)
			applyInBatches(rng, events[k:], live, restored)
			if a, b := encode(live), encode(restored); string(a) != string(b) {
				t.Fatalf("%s cut at %d: after the rest of the log the restored projection encodes to other bytes", name, k)
			}
			compareBalances(t, fmt.Sprintf("%s cut at %d, then to the end", name, k), events, live, restored)
		}
	}
}

// snapCompareAts bounds the positions compareBalances reads at.
const snapCompareAts = 120

// compareBalances requires the same reads from a and b at every position of events:
// every line with its flows and the catalog (ReadAt), each line's balance (LineAt, the
// running balance GET /v1/lines/{id}/events shows after each of its events), and the
// head's state (Read).
func compareBalances(t *testing.T, what string, events []*ledger.Event, a, b *Balances) {
	t.Helper()
	lines := map[ledger.Line]bool{}
	for _, e := range events {
		var buf [ledger.PostingsMax]ledger.Posting
		for _, p := range e.Postings(buf[:0]) {
			lines[p.Line] = true
		}
		if l := e.MainLine(); l != nil {
			lines[*l] = true
		}
	}
	readAt := func(p *Balances, at int64) (string, ledger.Catalog) {
		var rows []string
		var cat ledger.Catalog
		p.ReadAt(at, func(c *ledger.Catalog, each func(func(*ledger.LineBalance))) {
			cat = *c
			each(func(lb *ledger.LineBalance) { rows = append(rows, fmt.Sprint(lb.Line.ID(), lb.Flows)) })
		})
		slices.Sort(rows)
		return strings.Join(rows, "\n"), cat
	}
	// Every position of a short log; about snapCompareAts of a long one, and its last.
	step := max(1, len(events)/snapCompareAts)
	for at := int64(0); at <= int64(len(events)); at += int64(step) {
		if at+int64(step) > int64(len(events)) {
			at = int64(len(events))
		}
		ra, ca := readAt(a, at)
		rb, cb := readAt(b, at)
		if ra != rb {
			t.Fatalf("%s: lines at %d:\n fold     %s\n restored %s", what, at, ra, rb)
		}
		if !reflect.DeepEqual(ca, cb) {
			t.Fatalf("%s: the catalog at %d differs", what, at)
		}
		for l := range lines {
			if x, y := a.LineAt(l, at), b.LineAt(l, at); !reflect.DeepEqual(x, y) {
				t.Fatalf("%s: LineAt(%s, %d) = %+v, restored %+v", what, l.ID(), at, x, y)
			}
		}
	}
	var sa, sb []string
	a.Read(func(s *ledger.State) {
		s.Lines(func(lb *ledger.LineBalance) { sa = append(sa, fmt.Sprint(lb.Line.ID(), lb.Flows)) })
	})
	b.Read(func(s *ledger.State) {
		s.Lines(func(lb *ledger.LineBalance) { sb = append(sb, fmt.Sprint(lb.Line.ID(), lb.Flows)) })
	})
	slices.Sort(sa)
	slices.Sort(sb)
	if !slices.Equal(sa, sb) {
		t.Fatalf("%s: the head's lines differ", what)
	}
}

// snapAlterations is how many altered copies of each snapshot TestSnapshotCorruption
// decodes.
const snapAlterations = 1500

// TestSnapshotCorruption decodes truncated and altered snapshots: a truncated one is
// refused, an altered one is refused or decodes to a projection that answers queries and
// re-encodes; nothing panics.
func TestSnapshotCorruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cases := []struct {
		name  string
		fresh func() snapshotter
		use   func(snapshotter)
	}{
		{"Progress", func() snapshotter { return &Progress{} }, func(s snapshotter) {
			p := s.(*Progress)
			for range 8 {
				_, _ = p.Query(randomQuery(rng, p.head))
			}
			_, _ = p.NearDeadlines(DeadlineQuery{AsOf: ledger.MakeDate(2023, 6, 30)})
			_, _ = p.Counterpart(CounterpartQuery{})
		}},
		{"Balances", func() snapshotter { return &Balances{} }, func(s snapshotter) {
			b := s.(*Balances)
			for at := range b.Position() + 1 {
				b.ReadAt(at, func(_ *ledger.Catalog, lines func(func(*ledger.LineBalance))) { lines(func(*ledger.LineBalance) {}) })
			}
		}},
	}
	histories := map[string][]*ledger.Event{"sample": ledgertest.SampleHistory(), "reorganised": foldable(genHistoryWith(11, true))}
	for hist, events := range histories {
		for _, c := range cases {
			corrupt(t, hist, events, c.fresh, c.use, rng)
		}
	}
}

func corrupt(t *testing.T, hist string, events []*ledger.Event, fresh func() snapshotter, use func(snapshotter), rng *rand.Rand) {
	c := struct {
		name  string
		fresh func() snapshotter
		use   func(snapshotter)
	}{fmt.Sprintf("%T of the %s history", fresh(), hist), fresh, use}
	{
		src := c.fresh()
		src.Apply(events)
		snap := encode(src)
		decode := func(b []byte) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
					t.Errorf("%s: decoding an altered snapshot panicked: %v", c.name, r)
				}
			}()
			p := c.fresh()
			d := snapcodec.NewDecoder(b)
			if err := p.DecodeSnapshot(d); err != nil {
				return err
			}
			if err := d.Done(); err != nil {
				return err
			}
			c.use(p)
			encode(p)
			return nil
		}
		if err := decode(snap); err != nil {
			t.Fatalf("%s: the intact snapshot: %v", c.name, err)
		}
		step := max(1, len(snap)/800)
		for n := 0; n < len(snap); n += step {
			if err := decode(snap[:n]); err == nil {
				t.Fatalf("%s: a snapshot cut to %d of %d bytes decoded without error", c.name, n, len(snap))
			}
		}
		refused := 0
		for i := range snapAlterations {
			b := slices.Clone(snap)
			at := rng.IntN(len(b))
			b[at] ^= byte(1 + rng.IntN(255))
			if i%3 == 0 { // and a second byte, so that lengths and the values after them change together
				b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			}
			if decode(b) != nil {
				refused++
			}
		}
		t.Logf("%s: %d-byte snapshot, %d of %d altered copies refused", c.name, len(snap), refused, snapAlterations)
	}
}

// snapBenchEvents is the size of the log the snapshot benchmarks fold.
const snapBenchEvents = 200_000

// validLoad is the generated load of bench_test.go made foldable by the write model's
// fold: an event that would take a line's available amount below zero is replaced by an
// allocation of the same amount to its line.
func validLoad(n int) []*ledger.Event {
	events := fanoutLog(n)
	lines := map[ledger.Line]*ledger.LineBalance{}
	balance := func(l ledger.Line) *ledger.LineBalance {
		b := lines[l]
		if b == nil {
			b = &ledger.LineBalance{Line: l}
			lines[l] = b
		}
		return b
	}
	var buf [ledger.PostingsMax]ledger.Posting
	touched := func(e *ledger.Event) []ledger.Line {
		var ls []ledger.Line
		for _, p := range e.Postings(buf[:0]) {
			if !slices.Contains(ls, p.Line) {
				ls = append(ls, p.Line)
			}
		}
		return ls
	}
	for _, e := range events {
		namesDisbursement(e)
		for _, l := range touched(e) {
			b := *balance(l)
			if b.Add(e); b.Available() < 0 || b.Plan() < 0 {
				e.Type, e.Data = ledger.TypeAllocated, ledger.EventData{Line: e.MainLine(), Amount: e.Data.Amount}
				break
			}
		}
		for _, l := range touched(e) {
			balance(l).Add(e)
		}
	}
	return events
}

// BenchmarkSnapshot measures the snapshot of each projection folded from
// snapBenchEvents generated events: encode and decode time per event of the log, and
// the snapshot's bytes per event.
func BenchmarkSnapshot(b *testing.B) {
	events := validLoad(snapBenchEvents)
	for _, c := range []struct {
		name  string
		fresh func() snapshotter
	}{
		{"Progress", func() snapshotter { return &Progress{} }},
		{"Balances", func() snapshotter { return &Balances{} }},
	} {
		p := c.fresh()
		for i := 0; i < len(events); i += loadBatch {
			p.Apply(events[i:min(i+loadBatch, len(events))])
		}
		snap := encode(p)
		// Per event of the log; cpu-ns is the thread's CPU time (threadCPU), apart from
		// the time it waits for a core on the shared machine, and without the collector's
		// background work.
		measure := func(b *testing.B, fn func()) {
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu := threadCPU()
			for b.Loop() {
				fn()
			}
			cpu = threadCPU() - cpu
			n := float64(b.N) * float64(len(events))
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
			b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/event")
			b.ReportMetric(float64(len(snap))/float64(len(events)), "bytes/event")
		}
		b.Run(c.name+"/encode", func(b *testing.B) {
			measure(b, func() { p.EncodeSnapshot(&snapcodec.Encoder{}) })
		})
		b.Run(c.name+"/decode", func(b *testing.B) {
			measure(b, func() {
				if err := c.fresh().DecodeSnapshot(snapcodec.NewDecoder(snap)); err != nil {
					b.Fatal(err)
				}
			})
		})
		if bal, ok := p.(*Balances); ok { // its own part, apart from ledger.State's
			var e snapcodec.Encoder
			bal.hist.encode(&e)
			snap = e.Bytes()
			b.Run("BalancesHistory/encode", func(b *testing.B) {
				measure(b, func() { bal.hist.encode(&snapcodec.Encoder{}) })
			})
			b.Run("BalancesHistory/decode", func(b *testing.B) {
				measure(b, func() {
					var h lineHistory
					d := snapcodec.NewDecoder(snap)
					if h.decode(d, bal.st.Head); d.Done() != nil {
						b.Fatal(d.Done())
					}
				})
			})
		}
	}
}

// FuzzSnapshotDecode decodes arbitrary bytes as each projection's snapshot: it never
// panics, and a projection that decodes encodes to bytes that decode to the same
// projection (the same bytes again), so that what a decoder accepts is a state the
// codec can carry on with.
func FuzzSnapshotDecode(f *testing.F) {
	for _, events := range [][]*ledger.Event{ledgertest.SampleHistory(), lateParts(), foldable(genHistoryWith(3, true))} {
		for _, p := range []snapshotter{&Progress{}, &Balances{}} {
			p.Apply(events)
			f.Add(encode(p))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fresh := range []func() snapshotter{func() snapshotter { return &Progress{} }, func() snapshotter { return &Balances{} }} {
			p := fresh()
			d := snapcodec.NewDecoder(b)
			if p.DecodeSnapshot(d) != nil || d.Done() != nil {
				continue
			}
			again := encode(p)
			q := fresh()
			restore(t, q, again)
			if string(encode(q)) != string(again) {
				t.Fatalf("%T: a decoded snapshot re-encodes to bytes that decode to another projection", p)
			}
		}
	})
}

// TestSnapshotWhileApplying takes snapshots while batches are applied: each is the
// projection at one position, equal to the snapshot of a fold of the log up to it.
func TestSnapshotWhileApplying(t *testing.T) {
	events := runSteps(t, demo.Steps())
	for _, fresh := range []func() snapshotter{func() snapshotter { return &Progress{} }, func() snapshotter { return &Balances{} }} {
		live := fresh()
		done := make(chan struct{})
		go func() {
			defer close(done)
			for lo := 0; lo < len(events); lo += 5 {
				live.Apply(events[lo:min(lo+5, len(events))])
			}
		}()
		taken := 0
		for running := true; running; taken++ {
			select {
			case <-done:
				running = false
			default:
			}
			snap := encode(live)
			restored := fresh()
			restore(t, restored, snap)
			folded := fresh()
			if n := restored.Position(); n > 0 { // Balances.Apply marks its state, even of no events
				folded.Apply(events[:n])
			}
			if string(encode(folded)) != string(snap) {
				t.Fatalf("%T: the snapshot taken at %d differs from the fold up to it", live, restored.Position())
			}
		}
		t.Logf("%T: %d snapshots taken while applying", live, taken)
	}
}
