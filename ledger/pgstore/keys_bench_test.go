package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/vnntp/ledger/ledger"
)

// keyedClients is how many clients BenchmarkSequencerKeyed runs at once, as the write
// bench's 64-client load.
const keyedClients = 64

// BenchmarkSequencerKeyed measures the sequencer on the store with every request under a
// new idempotency key (one disbursement each, keyedClients clients): what the key cache
// and the per-batch lookup of the keys it misses cost the write path. It reports events/s.
func BenchmarkSequencerKeyed(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	w, err := s.AcquireWriter(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w})
	if err := seq.Load(ctx); err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = seq.Run(runCtx) }()
	from := ledger.Validity{ValidFrom: ledger.MakeDate(2021, 1, 1)}
	setup := &ledger.Request{Atomic: true, Commands: []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo", Validity: from}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: from}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: from}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Bắc Kạn", Level: ledger.LevelProvince, Validity: from}},
		&ledger.Allocate{Line: lineA, Amount: 1_000_000_000_000_000, EffectiveDate: day, Decision: "QĐ 1"},
	}}
	if res, err := seq.Submit(ctx, setup); err != nil || res.Err != nil {
		b.Fatalf("setup: %v %v", err, res.Err)
	}
	var next atomic.Int64
	n := int64(b.N)
	b.ResetTimer()
	var wg sync.WaitGroup
	for range keyedClients {
		wg.Go(func() {
			for i := next.Add(1); i <= n; i = next.Add(1) {
				req := &ledger.Request{Key: fmt.Sprint("bench:", i), Hash: [32]byte{1}, Commands: []ledger.Command{&ledger.Disburse{
					Line: lineA, Amount: 1000, Kind: ledger.KindPayment, EffectiveDate: day, Payee: "A",
					Voucher: ledger.Voucher{Office: "KB062", Type: "C2-02", Number: fmt.Sprint(i), Date: day}}}}
				if res, err := seq.Submit(ctx, req); err != nil || res.Err != nil {
					b.Errorf("request %d: %v %v", i, err, res.Err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
