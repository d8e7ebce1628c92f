package pgstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// TestSequencerOnStore runs the sequencer on a Writer: concurrent requests are group
// committed, and a second sequencer rebuilt from the store reaches the same head, with
// every key record back.
func TestSequencerOnStore(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := testContext(t)
	w, err := s.AcquireWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()

	from := ledger.MakeDate(2021, 1, 1)
	setup := &ledger.Request{Atomic: true, Key: "setup", Commands: []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo", Validity: ledger.Validity{ValidFrom: from}}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: ledger.Validity{ValidFrom: from}}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: ledger.Validity{ValidFrom: from}}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Bắc Kạn", Level: ledger.LevelProvince, Validity: ledger.Validity{ValidFrom: from}}},
		&ledger.Allocate{Line: lineA, Amount: 1_000_000, EffectiveDate: day, Decision: "QĐ 1"},
	}}
	if res, err := seq.Submit(ctx, setup); err != nil || res.Err != nil {
		t.Fatalf("setup: %v %v", err, res.Err)
	}
	const clients = 16
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			req := &ledger.Request{Key: fmt.Sprint("d", i), Commands: []ledger.Command{&ledger.Disburse{Line: lineA, Amount: 1000,
				Kind: ledger.KindPayment, EffectiveDate: day, Payee: "A",
				Voucher: ledger.Voucher{Office: "KB062", Type: "C2-02", Number: fmt.Sprint(i), Date: day}}}}
			if res, err := seq.Submit(ctx, req); err != nil || res.Err != nil {
				t.Errorf("disbursement %d: %v %v", i, err, res.Err)
			}
		})
	}
	wg.Wait()
	head := seq.Head()
	stop()
	<-done
	w.Close()

	if pos, hash, err := s.Head(ctx); err != nil || pos != head.Position || hash != head.Hash || pos != 5+clients {
		t.Fatalf("store head %d %x %v; sequencer head %d %x", pos, hash, err, head.Position, head.Hash)
	}
	w2 := acquire(t, s)
	again := ledger.NewSequencer(ledger.SequencerConfig{Store: w2})
	if err := again.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if again.Head() != head {
		t.Errorf("rebuilt head %+v, want %+v", again.Head(), head)
	}
	keys := 0
	if err := s.ReadKeys(ctx, 0, func(ledger.KeyRecord) error { keys++; return nil }); err != nil || keys != clients+1 {
		t.Errorf("read %d key records, %v; want %d", keys, err, clients+1)
	}
	var _ ledger.WriterSession = (*pgstore.WriterSession)(nil)
}
