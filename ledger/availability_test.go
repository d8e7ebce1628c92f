package ledger

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strconv"
	"testing"
	"time"
)

// naiveDays is the model the treap is checked against: the delta and postings by date,
// with every query a scan.
type naiveDays map[Date][2]int64 // delta, postings

func (m naiveDays) through(d Date) int64 {
	var s int64
	for k, v := range m {
		if k <= d {
			s += v[0]
		}
	}
	return s
}

func (m naiveDays) dates() []Date {
	var ds []Date
	for k := range m {
		ds = append(ds, k)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds
}

func (m naiveDays) minFrom(d Date) int64 {
	best := m.through(d)
	for _, k := range m.dates() {
		if k > d {
			best = min(best, m.through(k))
		}
	}
	return best
}

func (m naiveDays) firstBelow(d Date, x int64) (Date, bool) {
	if m.through(d) < x {
		return d, true
	}
	for _, k := range m.dates() {
		if k > d && m.through(k) < x {
			return k, true
		}
	}
	return 0, false
}

// TestDayTreeMatchesNaive adds and removes random dated postings and checks every query
// against the scan, and that the tree's shape depends only on the dates it holds.
func TestDayTreeMatchesNaive(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0xda75))
		var root *dayNode
		model := naiveDays{}
		type posting struct {
			d     Date
			delta int64
		}
		var live []posting
		date := func() Date { return day(2024+rng.IntN(2), time.Month(1+rng.IntN(12)), 1+rng.IntN(28)) }
		for step := 0; step < 400; step++ {
			if len(live) > 0 && rng.IntN(3) == 0 {
				i := rng.IntN(len(live))
				p := live[i]
				live = append(live[:i], live[i+1:]...)
				root = addDay(root, p.d, -p.delta, -1)
				v := model[p.d]
				if v[1] == 1 {
					delete(model, p.d)
				} else {
					model[p.d] = [2]int64{v[0] - p.delta, v[1] - 1}
				}
			} else {
				p := posting{date(), rng.Int64N(2001) - 1000}
				if p.delta == 0 {
					p.delta = 1
				}
				live = append(live, p)
				root = addDay(root, p.d, p.delta, 1)
				v := model[p.d]
				model[p.d] = [2]int64{v[0] + p.delta, v[1] + 1}
			}
			if got, want := root.dayCount(), len(model); got != want {
				t.Fatalf("seed %d step %d: %d dates in the tree, %d in the model", seed, step, got, want)
			}
			for q := 0; q < 5; q++ {
				d := date()
				if got, want := root.minFrom(d), model.minFrom(d); got != want {
					t.Fatalf("seed %d step %d: minFrom(%s) = %d, want %d", seed, step, d, got, want)
				}
				x := rng.Int64N(3000) - 1500
				gd, gok := root.firstBelow(d, x)
				wd, wok := model.firstBelow(d, x)
				if gd != wd || gok != wok {
					t.Fatalf("seed %d step %d: firstBelow(%s, %d) = %s %v, want %s %v", seed, step, d, x, gd, gok, wd, wok)
				}
			}
		}
		// The same postings added in another order build the same tree.
		var again *dayNode
		for _, i := range rng.Perm(len(live)) {
			again = addDay(again, live[i].d, live[i].delta, 1)
		}
		if !reflect.DeepEqual(root, again) {
			t.Fatalf("seed %d: the same postings in another order built another tree", seed)
		}
	}
}

// TestAvailabilityAtEveryBusinessDate is rule 2 as given/when/then: a back-dated command
// is refused when it would leave its line negative as of any date from its effective
// date on, naming the first such date.
func TestAvailabilityAtEveryBusinessDate(t *testing.T) {
	l := ln("062", "DA1")
	base := []Command{allocate(l, 1_000_000, day(2025, 5, 1))}
	tests := []struct {
		name     string
		given    []Command
		when     Command
		wantDate Date // zero: accepted
		wantAvl  int64
	}{
		{"payment before the allocation", nil, pay(l, 300_000, day(2025, 1, 15), "P1"), day(2025, 1, 15), 0},
		{"payment on the allocation's day", nil, pay(l, 300_000, day(2025, 5, 1), "P1"), 0, 0},
		{"cancellation before the allocation", nil, &Cancel{Line: l, Amount: 500_000, EffectiveDate: day(2025, 1, 10), Decision: "QĐ"},
			day(2025, 1, 10), 0},
		{"back-dated payment that a later payment leaves no room for",
			[]Command{allocate(l, 500_000, day(2025, 1, 1)), pay(l, 1_200_000, day(2025, 6, 1), "P1")},
			pay(l, 400_000, day(2025, 2, 1), "P2"), day(2025, 6, 1), 300_000},
		{"back-dated payment within what every later date keeps",
			[]Command{allocate(l, 500_000, day(2025, 1, 1)), pay(l, 1_200_000, day(2025, 6, 1), "P1")},
			pay(l, 300_000, day(2025, 2, 1), "P2"), 0, 0},
		{"transfer out before the allocation",
			nil, &Transfer{From: l, To: ln("060", "DA1"), Amount: 1, Kind: KindReallocation, EffectiveDate: day(2025, 4, 30), Decision: "QĐ"},
			day(2025, 4, 30), 0},
		{"carry-over of capital spent later",
			[]Command{pay(l, 900_000, day(2025, 12, 1), "P1")},
			&CarryOver{Line: l, Amount: 200_000, IntoYear: 2025, EffectiveDate: day(2025, 6, 1), Decision: "QĐ"},
			day(2025, 6, 1), 100_000},
		{"same-day allocation and payment", []Command{allocate(l, 100, day(2025, 1, 2))}, pay(l, 100, day(2025, 1, 2), "P1"), 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := given(t, append(append([]Command{}, base...), tt.given...)...)
			_, err := record(st, tt.when)
			if tt.wantDate == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ife *InsufficientFundsError
			if !errors.As(err, &ife) {
				t.Fatalf("err = %v, want insufficient funds", err)
			}
			if ife.Date != tt.wantDate || ife.Available != tt.wantAvl {
				t.Fatalf("refused as of %s with %d available, want %s and %d (%v)", ife.Date, ife.Available, tt.wantDate, tt.wantAvl, err)
			}
		})
	}
}

// TestAvailabilityAtHeadOnly is the benchmark baseline: the old check, no per-date index.
func TestAvailabilityAtHeadOnly(t *testing.T) {
	st := &State{AvailabilityAtHeadOnly: true}
	for _, c := range append(testCatalog(), allocate(ln("062", "DA1"), 1_000, day(2025, 5, 1))) {
		if _, err := record(st, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := record(st, pay(ln("062", "DA1"), 300, day(2025, 1, 15), "P1")); err != nil {
		t.Fatalf("the head-only check refused a back-dated payment within the head balance: %v", err)
	}
	if st.Line(ln("062", "DA1")).days != nil {
		t.Fatal("the head-only state keeps a per-date index")
	}
}

// TestNoNegativeAsOfAnyDate is the property rule 2 promises: whatever random late entries
// are offered, the accepted ones never leave any line negative as of any date.
func TestNoNegativeAsOfAnyDate(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0xbacd))
		st, _ := given(t)
		events := randomAccepted(t, rng, st, 150)
		// Every date any event is effective on, and the day before each.
		dates := map[Date]bool{}
		for _, e := range events {
			dates[e.EffectiveDate] = true
		}
		for d := range dates {
			bal := map[Line]*LineBalance{}
			for _, e := range events {
				if e.EffectiveDate > d {
					continue
				}
				var buf [PostingsMax]Posting
				for _, p := range e.Postings(buf[:0]) {
					b := bal[p.Line]
					if b == nil {
						b = &LineBalance{Line: p.Line}
						bal[p.Line] = b
					}
					b.Flows[p.Flow] += p.Amount
				}
			}
			for l, b := range bal {
				if b.Plan() < 0 || b.Available() < 0 {
					t.Fatalf("seed %d: line %s as of %s has plan %d, available %d", seed, l.ID(), d, b.Plan(), b.Available())
				}
			}
		}
	}
}

// TestRuleCheckerFindsOldBackDatedEvents: a history recorded under the head-only check
// (as ledgers were before rule 2 covered every date) is reported at the positions that
// break it, and a history the writer accepts today has no finding.
func TestRuleCheckerFindsOldBackDatedEvents(t *testing.T) {
	l := ln("062", "DA1")
	old := &State{AvailabilityAtHeadOnly: true}
	var events []*Event
	for _, c := range append(testCatalog(), allocate(l, 1_000_000, day(2025, 5, 1)),
		pay(l, 300_000, day(2025, 1, 15), "P1"),
		&Cancel{Line: l, Amount: 500_000, EffectiveDate: day(2025, 1, 10), Decision: "QĐ"},
		pay(l, 100_000, day(2025, 6, 1), "P2")) {
		e, err := record(old, c)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	var rc RuleChecker
	var got []RuleFinding
	for _, e := range events {
		got = rc.Add(got, e)
	}
	n := int64(len(events))
	want := []RuleFinding{
		{Position: n - 2, Line: l.ID(), Rule: 2, Date: day(2025, 1, 15), Available: 0, Amount: 300_000},
		{Position: n - 1, Line: l.ID(), Rule: 2, Date: day(2025, 1, 10), Available: -300_000, Amount: 500_000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("findings %+v, want %+v", got, want)
	}

	rng := rand.New(rand.NewPCG(7, 7))
	st, base := given(t)
	var clean RuleChecker
	var none []RuleFinding
	for _, e := range append(base, randomAccepted(t, rng, st, 150)...) {
		none = clean.Add(none, e)
	}
	if len(none) != 0 {
		t.Fatalf("a history the writer accepted has findings: %+v", none)
	}
}

// BenchmarkAvailabilityCheck is the per-date index on a line of 100,000 dates: the check
// of a back-dated command (minFrom), its insertion and its removal (a revert).
func BenchmarkAvailabilityCheck(b *testing.B) {
	const dates = 100_000
	var root *dayNode
	start := day(2024, 1, 1).Time()
	dateOf := func(i int) Date { return DateOf(start.AddDate(0, 0, i)) }
	root = addDay(root, dateOf(0), 1<<50, 1)
	for i := 1; i < dates; i++ {
		root = addDay(root, dateOf(int(uint64(i)*7919%dates)), -1000, 1)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d := dateOf(1 + i*7919%(dates-1))
		if root.minFrom(d) < 1000 {
			b.Fatal("the line ran short")
		}
		root = addDay(root, d, -1000, 1)
		root = addDay(root, d, 1000, -1)
		i++
	}
}

// BenchmarkWriteModel is the writer's own work per command — Decide and Apply of a
// payment, on 64 lines, dated over a year — with rule 2 checked at every business date
// and at the head only: what the check adds to the write path, without PostgreSQL and
// HTTP (make bench measures those, on a machine too noisy to see this difference).
func BenchmarkWriteModel(b *testing.B) {
	for _, headOnly := range []bool{false, true} {
		name := "every_date"
		if headOnly {
			name = "head_only"
		}
		b.Run(name, func(b *testing.B) {
			st := &State{AvailabilityAtHeadOnly: headOnly}
			var lines []Line
			cmds := testCatalog()
			for i := range 64 {
				id := fmt.Sprintf("B%d", i)
				cmds = append(cmds, &RegisterUnit{Unit{ID: id, Code: id, Name: "Xã " + id, Level: LevelCommune, Parent: "062"}})
				lines = append(lines, ln(id, "DA1"))
				cmds = append(cmds, allocate(lines[i], 1<<50, day(2024, 1, 2)))
			}
			for _, c := range cmds {
				if _, err := record(st, c); err != nil {
					b.Fatal(err)
				}
			}
			start := day(2024, 1, 3).Time()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				d := DateOf(start.AddDate(0, 0, i/2000%365))
				c := &Disburse{Line: lines[i%64], Amount: 1000, Kind: KindPayment, EffectiveDate: d, Payee: "HTX",
					Voucher: Voucher{Office: "KB", Type: "C2", Number: strconv.Itoa(i), Date: d}}
				typ, date, data, err := st.Decide(c)
				if err != nil {
					b.Fatal(err)
				}
				st.Apply(&Event{Position: st.Head + 1, ID: testEventID(st.Head + 1), Type: typ, EffectiveDate: date, Data: data})
				i++
			}
		})
	}
}
