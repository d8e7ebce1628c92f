package pgstore_test

import (
	"context"
	"testing"

	"github.com/vnntp/ledger/ledger"
)

// benchVerifyEvents is the chain BenchmarkVerify checks; the figure is one million
// (extrapolate, or raise it for one manual run).
const benchVerifyEvents = 200_000

// BenchmarkVerify measures Store.Verify, the check of `ledger verify`, over
// benchVerifyEvents stored disbursements; it reports events/s.
//
//	go test ./ledger/pgstore -run '^$' -bench Verify -benchtime 3x
func BenchmarkVerify(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	w, err := s.AcquireWriter(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var head int64
	var prev [32]byte
	for head < benchVerifyEvents {
		evs := chain(head, prev, disbursements(10_000)...)
		if err := w.Append(ctx, evs, nil); err != nil {
			b.Fatal(err)
		}
		head, prev = evs[len(evs)-1].Position, evs[len(evs)-1].Hash
	}
	w.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rep, err := s.Verify(ctx, ledger.VerifyOptions{})
		if err != nil || !rep.OK || rep.Events != benchVerifyEvents {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(benchVerifyEvents)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
