package pgstore_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/vnntp/ledger/ledger"
)

// benchVerifyEventsDefault is the chain BenchmarkVerify checks; the figure is one
// million: LEDGER_BENCH_VERIFY_EVENTS=1000000 for that run.
const benchVerifyEventsDefault = 200_000

func benchVerifyEvents() int64 {
	if n, err := strconv.ParseInt(os.Getenv("LEDGER_BENCH_VERIFY_EVENTS"), 10, 64); err == nil && n > 0 {
		return n
	}
	return benchVerifyEventsDefault
}

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
	total := benchVerifyEvents()
	var head int64
	var prev [32]byte
	for head < total {
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
		if err != nil || !rep.OK || rep.Events != total {
			b.Fatalf("%+v %v", rep, err)
		}
	}
	b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
