package projections

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// Shape of the generated load: a national program over 63 provinces of 10 districts of
// 15 communes, 18 projects, 6 sources and five plan years. Every district holds
// loadDistrictLines lines per plan year, every commune loadCommuneLines, about 205,000
// lines in all; events arrive in effective-date order over 2021–2025 with
// loadLatePercent late entries dated up to loadLateDaysMax days back.
const (
	loadProvinces         = 63
	loadDistricts         = 10 // per province
	loadCommunes          = 15 // per district
	loadDistrictLines     = 20 // per district and plan year
	loadCommuneLines      = 3  // per commune and plan year
	loadFirstYear         = 2021
	loadYears             = 5
	loadLatePercent       = 10
	loadLateDaysMax       = 90
	loadBatch             = 512 // events per Apply, like a sequencer batch
	benchApplyEvents      = 1_000_000
	benchQueryEvents      = 1_000_000
	benchQuery10MEvents   = 10_000_000
	benchQueriesMeasured  = 1000
	benchQueryProgramCode = "GNBV"
)

var loadProjects = []ledger.Project{
	{Code: "DA1", Name: "Dự án 1"}, {Code: "DA1.TDA1", Parent: "DA1"}, {Code: "DA1.TDA2", Parent: "DA1"},
	{Code: "DA2", Name: "Dự án 2"}, {Code: "DA3", Name: "Dự án 3"}, {Code: "DA3.TDA1", Parent: "DA3"},
	{Code: "DA3.TDA2", Parent: "DA3"}, {Code: "DA4", Name: "Dự án 4"}, {Code: "DA4.TDA1", Parent: "DA4"},
	{Code: "DA4.TDA2", Parent: "DA4"}, {Code: "DA4.TDA3", Parent: "DA4"}, {Code: "DA5", Name: "Dự án 5"},
	{Code: "DA6", Name: "Dự án 6"}, {Code: "DA6.TDA1", Parent: "DA6"}, {Code: "DA6.TDA2", Parent: "DA6"},
	{Code: "DA7", Name: "Dự án 7"}, {Code: "DA7.TDA1", Parent: "DA7"}, {Code: "DA7.TDA2", Parent: "DA7"},
}

var loadSources = []ledger.Source{
	{Code: "NSTW-DTPT", Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment},
	{Code: "NSTW-SN", Budget: ledger.BudgetCentral, Nature: ledger.NatureRecurrent},
	{Code: "NSDP-DTPT", Budget: ledger.BudgetLocal, Nature: ledger.NatureInvestment},
	{Code: "NSDP-SN", Budget: ledger.BudgetLocal, Nature: ledger.NatureRecurrent},
	{Code: "KHAC", Budget: ledger.BudgetOther, Nature: ledger.NatureRecurrent},
	{Code: "NSDP-DU", Budget: ledger.BudgetLocal, Nature: ledger.NatureRecurrent, Counterpart: true},
}

// loadGen streams a deterministic synthetic ledger in batches, reusing its event
// structs: Apply keeps no reference to them, and a 10-million-event log held as
// ledger.Events would itself take gigabytes.
type loadGen struct {
	rng       *rand.Rand
	pos       int64
	lines     []ledger.Line
	byYear    [loadYears][]int // line indexes by plan year
	communeOf map[int][]int    // district line index → its commune lines (same year, source, project)
	days      []ledger.Date    // every day of the load's period
	catalog   []*ledger.Event
	batch     []ledger.Event
	ptrs      []*ledger.Event
}

func newLoadGen(seed uint64) *loadGen {
	g := &loadGen{rng: rand.New(rand.NewPCG(seed, 42)), communeOf: map[int][]int{}}
	for d := time.Date(loadFirstYear, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < loadFirstYear+loadYears+1; d = d.AddDate(0, 0, 1) {
		g.days = append(g.days, ledger.DateOf(d))
	}
	from := ledger.MakeDate(2020, time.January, 1)
	cat := func(data ledger.EventData, typ ledger.EventType) {
		g.catalog = append(g.catalog, &ledger.Event{Type: typ, EffectiveDate: from, Data: data})
	}
	cat(ledger.EventData{Program: &ledger.Program{Code: benchQueryProgramCode, Name: "Chương trình MTQG"}}, ledger.TypeProgramRegistered)
	for _, p := range loadProjects {
		p.Program = benchQueryProgramCode
		cat(ledger.EventData{Project: &p}, ledger.TypeProjectRegistered)
	}
	for _, s := range loadSources {
		cat(ledger.EventData{Source: &s}, ledger.TypeSourceRegistered)
	}
	for p := range loadProvinces {
		pid := strconv.Itoa(10 + p)
		cat(ledger.EventData{Unit: &ledger.Unit{ID: pid, Name: "Tỉnh " + pid, Level: ledger.LevelProvince}}, ledger.TypeUnitRegistered)
		for d := range loadDistricts {
			did := pid + strconv.Itoa(10+d)
			cat(ledger.EventData{Unit: &ledger.Unit{ID: did, Name: "Huyện " + did, Level: ledger.LevelDistrict, Parent: pid}}, ledger.TypeUnitRegistered)
			for c := range loadCommunes {
				cid := did + strconv.Itoa(10+c)
				cat(ledger.EventData{Unit: &ledger.Unit{ID: cid, Name: "Xã " + cid, Level: ledger.LevelCommune, Parent: did}}, ledger.TypeUnitRegistered)
			}
			for y := range loadYears {
				for k := range loadDistrictLines {
					proj := loadProjects[1+k%(len(loadProjects)-1)].Code
					src := loadSources[k%2].Code
					if k == loadDistrictLines-1 {
						src = "NSDP-DU"
					}
					di := len(g.lines)
					g.lines = append(g.lines, ledger.Line{Program: benchQueryProgramCode, Year: loadFirstYear + y, Source: src, Project: proj, Unit: did})
					g.byYear[y] = append(g.byYear[y], di)
					if k < loadCommuneLines {
						for c := range loadCommunes {
							ci := len(g.lines)
							g.lines = append(g.lines, ledger.Line{Program: benchQueryProgramCode, Year: loadFirstYear + y, Source: src,
								Project: proj, Unit: did + strconv.Itoa(10+c)})
							g.byYear[y] = append(g.byYear[y], ci)
							g.communeOf[di] = append(g.communeOf[di], ci)
						}
					}
				}
			}
		}
	}
	g.batch = make([]ledger.Event, loadBatch)
	g.ptrs = make([]*ledger.Event, loadBatch)
	return g
}

// run applies the catalog and then n money events to p in batches; it returns the wall
// time and the thread CPU time spent inside Apply.
func (g *loadGen) run(p *Progress, n int) (wall, cpu time.Duration) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	apply := func(events []*ledger.Event) {
		start, startCPU := time.Now(), threadCPU()
		p.Apply(events)
		wall += time.Since(start)
		cpu += threadCPU() - startCPU
	}
	for _, e := range g.catalog {
		g.pos++
		e.Position = g.pos
	}
	apply(g.catalog)
	for done := 0; done < n; {
		k := min(loadBatch, n-done)
		for i := range k {
			g.next(&g.batch[i], done+i, n)
			g.ptrs[i] = &g.batch[i]
		}
		apply(g.ptrs[:k])
		done += k
	}
	return wall, cpu
}

// next fills e with event i of n: the business clock moves evenly over the period; the
// first event of each line's year allocates, later ones mostly disburse.
func (g *loadGen) next(e *ledger.Event, i, n int) {
	g.pos++
	day := int(int64(i) * int64(len(g.days)-1) / int64(n))
	if g.rng.IntN(100) < loadLatePercent {
		day = max(0, day-1-g.rng.IntN(loadLateDaysMax))
	}
	date := g.days[day]
	y := min(date.Year()-loadFirstYear, loadYears-1)
	if y > 0 && g.rng.IntN(10) < 3 {
		y-- // capital of the previous plan year, still being spent
	}
	li := g.byYear[y][g.rng.IntN(len(g.byYear[y]))]
	*e = ledger.Event{Position: g.pos, EffectiveDate: date}
	e.Hash[0], e.Hash[1], e.Hash[2] = byte(g.pos), byte(g.pos>>8), byte(g.pos>>16)
	amount := 1_000_000 + g.rng.Int64N(50_000_000)
	e.Data.Amount = amount
	e.Data.Line = &g.lines[li]
	switch k := g.rng.IntN(100); {
	case k < 10:
		e.Type = ledger.TypeAllocated
		e.Data.Amount *= 40
	case k < 16:
		if cs := g.communeOf[li]; len(cs) > 0 {
			e.Type = ledger.TypeTransferred
			e.Data.Line = nil
			e.Data.From, e.Data.To = &g.lines[li], &g.lines[cs[g.rng.IntN(len(cs))]]
			e.Data.Kind = string(ledger.KindSuballocation)
			return
		}
		e.Type = ledger.TypeAllocated
	case k < 18:
		e.Type = ledger.TypeCarriedOver
		e.Data.IntoYear = g.lines[li].Year + 1
	case k < 20:
		e.Type = ledger.TypeCancelled
	case k < 25:
		e.Type = ledger.TypeReversed
		e.Data.Amount /= 10
	case k < 28:
		e.Type = ledger.TypeAdvanceSettled
	default:
		e.Type = ledger.TypeDisbursed
		e.Data.Kind = string(ledger.KindPayment)
	}
}

func buildLoad(tb testing.TB, n int) (p *Progress, wall, cpu time.Duration) {
	tb.Helper()
	p = &Progress{}
	wall, cpu = newLoadGen(1).run(p, n)
	return p, wall, cpu
}

// districtProjectQuery is the leaders' report: one province, district × project, a
// plan year, any as-of date.
func districtProjectQuery(rng *rand.Rand) Query {
	return Query{
		GroupBy: []Dimension{GroupDistrict, GroupProject},
		Program: benchQueryProgramCode,
		Unit:    strconv.Itoa(10 + rng.IntN(loadProvinces)),
		Year:    loadFirstYear + rng.IntN(loadYears),
		AsOf:    ledger.MakeDate(loadFirstYear+rng.IntN(loadYears+1), time.Month(1+rng.IntN(12)), 1+rng.IntN(28)),
	}
}

// BenchmarkApply measures the fold of benchApplyEvents generated events into an empty
// Progress, in batches of loadBatch; events/s counts the time spent in Apply only, not
// in generating the events.
func BenchmarkApply(b *testing.B) {
	b.ReportAllocs()
	var wall, cpu time.Duration
	rounds := 0
	for b.Loop() {
		_, w, c := buildLoad(b, benchApplyEvents)
		wall += w
		cpu += c
		rounds++
	}
	b.ReportMetric(float64(rounds*benchApplyEvents)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(rounds*benchApplyEvents)/cpu.Seconds(), "events/cpu-s")
}

// BenchmarkQuery measures the district × project report of one province at the head,
// with random as-of dates, over 1 million generated events.
func BenchmarkQuery(b *testing.B) {
	p, _, _ := buildLoad(b, benchQueryEvents)
	rng := rand.New(rand.NewPCG(3, 3))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Query(districtProjectQuery(rng)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueryRestated is BenchmarkQuery in the restated view (units=current): each
// line's holder is followed to its successor on the as-of date.
func BenchmarkQueryRestated(b *testing.B) {
	p, _, _ := buildLoad(b, benchQueryEvents)
	rng := rand.New(rand.NewPCG(3, 3))
	b.ReportAllocs()
	for b.Loop() {
		q := districtProjectQuery(rng)
		q.Units = UnitsCurrent
		if _, err := p.Query(q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQueryAt is BenchmarkQuery at a random earlier position: lines touched after it
// are summed from their events.
func BenchmarkQueryAt(b *testing.B) {
	p, _, _ := buildLoad(b, benchQueryEvents)
	head, _ := p.Head()
	first := int64(len(newLoadGen(1).catalog)) + 1
	rng := rand.New(rand.NewPCG(4, 4))
	b.ReportAllocs()
	for b.Loop() {
		q := districtProjectQuery(rng)
		q.At = first + rng.Int64N(head-first)
		if _, err := p.Query(q); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkQuery10M builds 10 million events (about a minute) and reports the fold speed,
// the heap in use, and p50/p99 latencies of benchQueriesMeasured random queries of each
// kind. Run it alone: go test -run '^$' -bench Query10M -benchtime 1x ./projections.
func BenchmarkQuery10M(b *testing.B) {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p, applyWall, applyCPU := buildLoad(b, benchQuery10MEvents)
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	head, _ := p.Head()
	first := int64(len(newLoadGen(1).catalog)) + 1

	rng := rand.New(rand.NewPCG(5, 5))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	measure := func(name string, q func() Query) {
		wall := make([]time.Duration, benchQueriesMeasured)
		cpu := make([]time.Duration, benchQueriesMeasured)
		for i := range wall {
			qq := q()
			start, startCPU := time.Now(), threadCPU()
			if _, err := p.Query(qq); err != nil {
				b.Fatal(err)
			}
			wall[i], cpu[i] = time.Since(start), threadCPU()-startCPU
		}
		slices.Sort(wall)
		slices.Sort(cpu)
		b.ReportMetric(float64(wall[len(wall)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(wall[len(wall)*99/100].Microseconds()), name+"-p99-µs")
		b.ReportMetric(float64(cpu[len(cpu)*99/100].Microseconds()), name+"-cpu-p99-µs")
	}
	for b.Loop() {
		measure("head", func() Query { return districtProjectQuery(rng) })
		measure("at", func() Query { q := districtProjectQuery(rng); q.At = first + rng.Int64N(head-first); return q })
		measure("exec", func() Query {
			q := districtProjectQuery(rng)
			q.Basis = BasisExecutionYear
			return q
		})
		measure("national", func() Query {
			q := districtProjectQuery(rng)
			q.Unit = ""
			return q
		})
	}
	// After the loop: b.Loop resets the metrics reported before it.
	b.ReportMetric(float64(benchQuery10MEvents)/applyWall.Seconds(), "fold-events/s")
	b.ReportMetric(float64(benchQuery10MEvents)/applyCPU.Seconds(), "fold-events/cpu-s")
	b.ReportMetric(float64(after.HeapInuse-before.HeapInuse)/(1<<20), "heap-MB")
	b.ReportMetric(float64(after.Sys)/(1<<20), "sys-MB")
	b.ReportMetric(float64(p.lineCount), "lines")
}

// BenchmarkQueryNational is the district × project report of the whole country (every
// province, one plan year) over 1 million generated events.
func BenchmarkQueryNational(b *testing.B) {
	p, _, _ := buildLoad(b, benchQueryEvents)
	rng := rand.New(rand.NewPCG(6, 6))
	b.ReportAllocs()
	for b.Loop() {
		q := districtProjectQuery(rng)
		q.Unit = ""
		if _, err := p.Query(q); err != nil {
			b.Fatal(err)
		}
	}
}
