package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/vnntp/ledger/ledger"
)

// Shape of the ledger the bench generates for rebuild, start-up, query and memory
// figures: one program over genProvinces provinces of genDistricts districts, each
// district with a line per project and source of one plan year, allocated once and then
// mostly disbursed from, through the year.
const (
	genProgram       = "GNBV"
	genYear          = 2024
	genProvinces     = 63
	genDistricts     = 10 // per province
	genAllocateDong  = 1_000_000_000_000_000
	genDisburseMax   = 50_000_000
	genCancelPercent = 2  // of the money events: cancellations
	genTopUpPercent  = 5  // of the money events: further allocations
	genGenSeed       = 11 // the generated ledger is the same in every run
)

var (
	genProjects = []string{"DA1", "DA2", "DA3", "DA4"}
	genSources  = []string{"NSTW-DTPT", "NSTW-SN"}
)

// eventGen builds valid, hash-chained events the way the sequencer does (Validate,
// State.Decide, ChainHash, State.Apply), without PostgreSQL, so that millions of events
// can be appended with Restore in big COPY batches instead of through HTTP.
type eventGen struct {
	st      ledger.State
	rng     *rand.Rand
	lines   []ledger.Line
	buf     []byte
	now     time.Time
	voucher int
	skipped int
}

func newEventGen() *eventGen {
	return &eventGen{rng: rand.New(rand.NewPCG(genGenSeed, 1)), now: time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)}
}

// record decides c against the generator's state and, when it is accepted, returns its
// event at the next position. A refused command (a line without enough money) is
// skipped: the generated ledger holds only what the sequencer would have accepted.
func (g *eventGen) record(c ledger.Command) *ledger.Event {
	if err := c.Validate(); err != nil {
		panic(fmt.Sprintf("bench generator: invalid command %T: %v", c, err)) // a bug of the generator
	}
	typ, date, data, err := g.st.Decide(c)
	if err != nil {
		g.skipped++
		return nil
	}
	if date == 0 {
		date = ledger.DateOf(g.now)
	}
	g.now = g.now.Add(time.Microsecond)
	e := &ledger.Event{Position: g.st.Head + 1, ID: uuid.Must(uuid.NewV7()), Type: typ, EffectiveDate: date,
		RecordedAt: g.now, Data: data, Meta: ledger.Metadata{Actor: "bench"}, PrevHash: g.st.HeadHash}
	e.Hash, g.buf = ledger.ChainHash(g.buf, e.PrevHash, e)
	g.st.Apply(e)
	return e
}

// generate yields the catalog, one allocation per line, then money events until n events
// were yielded in all. Effective dates move evenly through the plan year.
func (g *eventGen) generate(n int, yield func(*ledger.Event) error) error {
	from := ledger.MakeDate(genYear, time.January, 1)
	var setup []ledger.Command
	setup = append(setup, &ledger.RegisterProgram{Program: ledger.Program{Code: genProgram, Name: "Chương trình MTQG"}})
	for _, p := range genProjects {
		setup = append(setup, &ledger.RegisterProject{Project: ledger.Project{Program: genProgram, Code: p, Name: "Dự án " + p}})
	}
	setup = append(setup,
		&ledger.RegisterSource{Source: ledger.Source{Code: genSources[0], Name: "NSTW ĐTPT", Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment}},
		&ledger.RegisterSource{Source: ledger.Source{Code: genSources[1], Name: "NSTW SN", Budget: ledger.BudgetCentral, Nature: ledger.NatureRecurrent}})
	for p := range genProvinces {
		pid := strconv.Itoa(10 + p)
		setup = append(setup, &ledger.RegisterUnit{Unit: ledger.Unit{ID: pid, Code: pid, Name: "Tỉnh " + pid, Level: ledger.LevelProvince}})
		for d := range genDistricts {
			did := pid + strconv.Itoa(100+d)
			setup = append(setup, &ledger.RegisterUnit{Unit: ledger.Unit{ID: did, Code: did, Name: "Huyện " + did, Level: ledger.LevelDistrict, Parent: pid}})
			for _, proj := range genProjects {
				for _, src := range genSources {
					g.lines = append(g.lines, ledger.Line{Program: genProgram, Year: genYear, Source: src, Project: proj, Unit: did})
				}
			}
		}
	}
	for i, l := range g.lines {
		setup = append(setup, &ledger.Allocate{Line: l, Amount: genAllocateDong, EffectiveDate: from, Decision: "QĐ-" + strconv.Itoa(i)})
	}
	yielded := 0
	emit := func(c ledger.Command) error {
		if e := g.record(c); e != nil {
			yielded++
			return yield(e)
		}
		return nil
	}
	for _, c := range setup {
		if yielded == n {
			return nil
		}
		if err := emit(c); err != nil {
			return err
		}
	}
	money := n - yielded
	days := make([]ledger.Date, 366)
	for k := range days {
		days[k] = ledger.DateOf(from.Time().AddDate(0, 0, k))
	}
	for i := 0; yielded < n; i++ {
		date := days[1+int(int64(i)*364/int64(max(money, 1)))]
		l := g.lines[g.rng.IntN(len(g.lines))]
		amount := 1 + g.rng.Int64N(genDisburseMax)
		var c ledger.Command
		switch k := g.rng.IntN(100); {
		case k < genCancelPercent:
			c = &ledger.Cancel{Line: l, Amount: amount, EffectiveDate: date, Decision: "QĐ-H" + strconv.Itoa(i)}
		case k < genCancelPercent+genTopUpPercent:
			c = &ledger.Allocate{Line: l, Amount: amount * 100, EffectiveDate: date, Decision: "QĐ-B" + strconv.Itoa(i)}
		default:
			g.voucher++
			c = &ledger.Disburse{Line: l, Amount: amount, Kind: ledger.KindPayment, EffectiveDate: date, Payee: "Nhà thầu",
				Voucher: ledger.Voucher{Office: "KB01", Type: "C2-02a", Number: "g" + strconv.Itoa(g.voucher), Date: date}}
		}
		if err := emit(c); err != nil {
			return err
		}
	}
	return nil
}
