package pgstore_test

import (
	"context"
	"testing"
	"time"

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
	w, err := s.AcquireWriter(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	evs := disbursements(benchBatch)
	var head int64
	var prev [32]byte
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
}

// BenchmarkReadFrom measures reading events back, decoded; it reports events/s.
func BenchmarkReadFrom(b *testing.B) {
	const n = 50_000
	s := benchStore(b)
	w, err := s.AcquireWriter(context.Background())
	if err != nil {
		b.Fatal(err)
	}
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
