package pgstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// benchBatch is the events per Append in BenchmarkAppend, about one group commit under
// load.
const benchBatch = 1000

func benchStore(b *testing.B) *pgstore.Store {
	s, err := pgstore.Open(context.Background(), testenv.DB(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

// benchWriter acquires the writer session of s; cleanup closes it.
func benchWriter(b *testing.B, s *pgstore.Store) *pgstore.WriterSession {
	w, err := s.AcquireWriter(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Close)
	return w
}

func disbursements(n int) []*ledger.Event {
	evs := make([]*ledger.Event, n)
	for i := range evs {
		l := lineA
		evs[i] = &ledger.Event{Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &l, Amount: 1000, Kind: string(ledger.KindPayment),
			Payee: "Công ty TNHH Xây dựng", Note: "thanh toán khối lượng hoàn thành"}}
	}
	return evs
}

// BenchmarkAppend measures COPY appends of benchBatch events; it reports events/s.
func BenchmarkAppend(b *testing.B) {
	s := benchStore(b)
	w := benchWriter(b, s)
	evs := disbursements(benchBatch)
	var head int64
	var prev [32]byte
	lsn := walPosition(b, s)
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range evs {
			e.ID, e.RecordedAt = [16]byte{}, time.Time{}
		}
		chain(head, prev, evs...)
		if err := w.Append(context.Background(), evs, nil); err != nil {
			b.Fatal(err)
		}
		head, prev = evs[len(evs)-1].Position, evs[len(evs)-1].Hash
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(walPosition(b, s)-lsn)/float64(b.N*benchBatch), "WAL-B/event")
}

// BenchmarkAppendSmall measures appends of commits of 16 events, the size of a group
// commit of single requests under load, with as many idempotency keys (keyed) and
// without (unkeyed).
func BenchmarkAppendSmall(b *testing.B) {
	for _, keyed := range []bool{true, false} {
		name := "keyed"
		if !keyed {
			name = "unkeyed"
		}
		b.Run(name, func(b *testing.B) { benchAppend(b, keyed, 16) })
	}
}

// BenchmarkAppendSizes measures unkeyed appends of commits from a few events (single
// requests under load) to a bulk request's, in the process and in PostgreSQL.
func BenchmarkAppendSizes(b *testing.B) {
	for _, n := range []int{16, 64, 128, 256, 512, 1000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchAppend(b, false, n) })
	}
}

// benchAppend appends commits of n events, with a key record each when keyed. It reports
// events/s and the CPU time per commit (user and system) of the process, from getrusage,
// and of PostgreSQL's backends, from /proc: wall time mixes the two.
func benchAppend(b *testing.B, keyed bool, n int) {
	s := benchStore(b)
	w := benchWriter(b, s)
	evs := disbursements(n)
	var keys []ledger.KeyRecord
	if keyed {
		keys = make([]ledger.KeyRecord, n)
	}
	var head int64
	var prev [32]byte
	b.ReportAllocs()
	cpu0, pg0 := processCPU(b), backendsCPU(b, s)
	for b.Loop() {
		for i, e := range evs {
			e.ID, e.RecordedAt = [16]byte{}, time.Time{}
			if keyed {
				keys[i] = ledger.KeyRecord{Key: fmt.Sprintf("k%d", head+int64(i)), First: head + int64(i) + 1, Last: head + int64(i) + 1}
			}
		}
		chain(head, prev, evs...)
		if err := w.Append(context.Background(), evs, keys); err != nil {
			b.Fatal(err)
		}
		head, prev = evs[len(evs)-1].Position, evs[len(evs)-1].Hash
	}
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64((backendsCPU(b, s)-pg0).Microseconds())/float64(b.N), "pg-cpu-µs/op")
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

// backendsCPU is the user and system CPU time the PostgreSQL backends connected to s's
// database have used, read from /proc: 0 when the server runs elsewhere.
func backendsCPU(b *testing.B, s *pgstore.Store) time.Duration {
	rows, err := s.Pool().Query(context.Background(), `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`)
	if err != nil {
		b.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(utime+stime) * time.Second / 100 // clock ticks: USER_HZ is 100 on Linux
	}
	return total
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReadFrom measures reading events back, decoded; it reports events/s.
func BenchmarkReadFrom(b *testing.B) {
	const n = 50_000
	s := benchStore(b)
	w := benchWriter(b, s)
	if err := w.Append(context.Background(), chain(0, [32]byte{}, disbursements(n)...), nil); err != nil {
		b.Fatal(err)
	}
	w.Close()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ReadFrom(context.Background(), 0, func(*ledger.Event) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkReadModel measures the read-model writer folding commits of benchBatch
// disbursements on one line and day, each commit with one recording time as the
// sequencer gives it; it reports events/s of the writer alone (the appends are not
// timed).
func BenchmarkReadModel(b *testing.B) {
	s := benchStore(b)
	w := benchWriter(b, s)
	rm := s.NewReadModelWriter(nil)
	if _, err := rm.CatchUp(context.Background()); err != nil {
		b.Fatal(err)
	}
	var head int64
	var prev [32]byte
	var wal int64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		evs := disbursements(benchBatch)
		at := clock.Add(time.Duration(i) * time.Second)
		for _, e := range evs {
			e.RecordedAt = at
		}
		chain(head, prev, evs...)
		if err := w.Append(context.Background(), evs, nil); err != nil {
			b.Fatal(err)
		}
		head, prev = evs[len(evs)-1].Position, evs[len(evs)-1].Hash
		lsn := walPosition(b, s)
		b.StartTimer()
		rm.Notify(evs)
		if pos, err := rm.CatchUp(context.Background()); err != nil || pos != head {
			b.Fatalf("catch up: %d %v, want %d", pos, err, head)
		}
		b.StopTimer()
		wal += walPosition(b, s) - lsn
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
	// PostgreSQL's own work per event, free of the machine's noise: the WAL it writes
	// (other sessions of the cluster add theirs, so it is an upper bound).
	b.ReportMetric(float64(wal)/float64(b.N*benchBatch), "WAL-B/event")
}

// walPosition returns the cluster's current WAL insert position in bytes (what is
// written, flushed or not: the read model commits without waiting for the flush).
func walPosition(b *testing.B, s *pgstore.Store) int64 {
	var lsn int64
	if err := s.Pool().QueryRow(context.Background(), `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint`).Scan(&lsn); err != nil {
		b.Fatal(err)
	}
	return lsn
}

// BenchmarkBulkWithReadModel measures the bulk path below HTTP: 4 clients submitting
// atomic requests of benchBatch disbursements to a sequencer on PostgreSQL while the
// read-model writer follows the commits, as `ledger serve` wires it (without NATS). It
// reports events/s; the read model's share is what it costs the writer's PostgreSQL.
func BenchmarkBulkWithReadModel(b *testing.B) {
	const clients = 4
	ctx := context.Background()
	s := benchStore(b)
	w, err := s.AcquireWriter(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rm := s.NewReadModelWriter(nil)
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w, OnCommit: rm.Notify})
	if err := seq.Load(ctx); err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go func() { _ = seq.Run(runCtx) }()
	go func() { _ = rm.Run(runCtx) }()
	from := ledger.MakeDate(2021, 1, 1)
	setup := &ledger.Request{Atomic: true, Commands: []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo", Validity: ledger.Validity{ValidFrom: from}}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: ledger.Validity{ValidFrom: from}}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: ledger.Validity{ValidFrom: from}}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Bắc Kạn", Level: ledger.LevelProvince, Validity: ledger.Validity{ValidFrom: from}}},
		&ledger.Allocate{Line: lineA, Amount: 1 << 50, EffectiveDate: day, Decision: "QĐ 1"},
	}}
	if res, err := seq.Submit(ctx, setup); err != nil || res.Err != nil {
		b.Fatalf("setup: %v %v", err, res.Err)
	}
	var next atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				cmds := make([]ledger.Command, benchBatch)
				for j := range cmds {
					cmds[j] = &ledger.Disburse{Line: lineA, Amount: 1000, Kind: ledger.KindPayment, EffectiveDate: day, Payee: "Nhà thầu",
						Voucher: ledger.Voucher{Office: "KB062", Type: "C2-02", Number: fmt.Sprint(n, "-", j), Date: day}}
				}
				if res, err := seq.Submit(ctx, &ledger.Request{Atomic: true, Commands: cmds}); err != nil || res.Err != nil {
					b.Errorf("batch %d: %v %v", n, err, res.Err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "events/s")
}
