package main

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/ledger"
)

// What rule 2 at every business date costs (docs/benchmarks.md): the write path at
// benchRule2Clients clients against the same load on a writer that checks availability
// at the head only, and Decide + Apply of back-dated disbursements on one line that
// already holds benchLongLineEvents events.
const (
	benchRule2Clients     = 64
	benchRule2MaxSlowdown = 0.05 // the write path with the check within 5 % of the same run without
	benchLongLineEvents   = 100_000
	benchLongLineCmds     = 20_000
	benchLongLineReps     = 5
	// benchLongLineDays spreads the long line's events over two years of business dates,
	// as a plan year and its extension do; benchLongLineDaysWorst gives every event a date
	// of its own (a tree of 100,000 dates), the worst case of the per-date index.
	benchLongLineDays      = 730
	benchLongLineDaysWorst = benchLongLineEvents + benchLongLineCmds
)

// longLineFigure folds a line of benchLongLineEvents disbursements with effective dates
// spread over days days (plus the allocation that funds them), then times
// benchLongLineCmds more back-dated disbursements through Decide and Apply. It returns
// the mean time per command. headOnly runs the write model without the per-date index.
func longLineFigure(headOnly bool, days int) (time.Duration, error) {
	st := &ledger.State{AvailabilityAtHeadOnly: headOnly}
	valid := ledger.Validity{ValidFrom: ledger.MakeDate(2020, 1, 1)}
	line := ledger.Line{Program: "P", Year: 2024, Source: "S", Project: "DA1", Unit: "01"}
	start := ledger.MakeDate(2024, 1, 1).Time()
	rng := rand.New(rand.NewPCG(1, 2))
	next := 0
	day := func() ledger.Date {
		if days == benchLongLineDaysWorst { // every event its own date, in a random order
			next++
			return ledger.DateOf(start.AddDate(0, 0, int(uint64(next)*7919%uint64(days))+1))
		}
		return ledger.DateOf(start.AddDate(0, 0, 1+rng.IntN(days)))
	}
	n := 0
	record := func(c ledger.Command) error {
		typ, date, data, err := st.Decide(c)
		if err != nil {
			return fmt.Errorf("long line, command %d: %w", n, err)
		}
		n++
		st.Apply(&ledger.Event{Position: st.Head + 1, ID: uuid.UUID{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)},
			Type: typ, EffectiveDate: date, Data: data})
		return nil
	}
	pay := func() ledger.Command {
		d := day()
		return &ledger.Disburse{Line: line, Amount: 1_000, Kind: ledger.KindPayment, EffectiveDate: d, Payee: "HTX",
			Voucher: ledger.Voucher{Office: "KB", Type: "C2", Number: fmt.Sprint("v", n), Date: d}}
	}
	for _, c := range []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "P", Name: "P", Validity: valid}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "P", Code: "DA1", Name: "DA1", Validity: valid}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "S", Name: "S", Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment, Validity: valid}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "01", Code: "01", Name: "T", Level: ledger.LevelProvince, Validity: valid}},
		&ledger.Allocate{Line: line, Amount: 1 << 50, EffectiveDate: ledger.MakeDate(2024, 1, 1), Decision: "QĐ"},
	} {
		if err := record(c); err != nil {
			return 0, err
		}
	}
	for range benchLongLineEvents - 1 {
		if err := record(pay()); err != nil {
			return 0, err
		}
	}
	cmds := make([]ledger.Command, benchLongLineCmds)
	for i := range cmds {
		cmds[i] = pay()
		n++
	}
	runtime.GC() // the setup's garbage is not the commands' cost
	t0 := time.Now()
	for _, c := range cmds {
		if err := record(c); err != nil {
			return 0, err
		}
	}
	return time.Since(t0) / benchLongLineCmds, nil
}
