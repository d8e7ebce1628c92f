package natsbus_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
)

// Sizes of the benchmarks. Run them with
//
//	go test -run '^$' -bench . -benchtime 1x ./ledger/natsbus/
const (
	// benchEvents is the history the throughput benchmarks publish or follow.
	benchEvents = 100_000
	// lagRate and lagDuration shape the steady load of the latency benchmark: lagRate
	// events/s as one request every lagTick.
	lagRate     = 5000
	lagTick     = 10 * time.Millisecond
	lagDuration = 5 * time.Second
)

// embedded starts an embedded server with an in-process connection.
func embedded(b *testing.B) (*natsbus.Server, func()) {
	b.Helper()
	srv, err := natsbus.StartEmbedded(natsbus.EmbeddedConfig{StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	return srv, srv.Shutdown
}

// BenchmarkRelayThroughput measures publishing a history of benchEvents events from
// PostgreSQL to an empty embedded server (what a rebuild of a lost store does).
func BenchmarkRelayThroughput(b *testing.B) {
	l := newLedger(b)
	l.disburse(testContext(b), benchEvents, requestCommands)
	var total int64
	var elapsed time.Duration
	for b.Loop() {
		srv, stop := embedded(b)
		nc, err := srv.Connect()
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		r := runRelay(b, l, nc, natsbus.RelayConfig{})
		waitPublished(b, r, l)
		elapsed += time.Since(start)
		total += r.Published()
		_ = r.stop()
		nc.Close()
		stop()
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
}

// BenchmarkFollowerCatchUp measures a new replica following a stream of benchEvents
// events from position 0.
func BenchmarkFollowerCatchUp(b *testing.B) {
	l := newLedger(b)
	l.disburse(testContext(b), benchEvents, requestCommands)
	srv, stop := embedded(b)
	defer stop()
	nc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := runRelay(b, l, nc, natsbus.RelayConfig{})
	waitPublished(b, r, l)
	var total int64
	var elapsed time.Duration
	i := 0
	for b.Loop() {
		i++
		start := time.Now()
		f := runFollower(b, nc, fmt.Sprint("bench-", i), nil)
		waitFor(b, "the follower to catch up", func() bool { return f.Applied() == l.head() })
		elapsed += time.Since(start)
		total += f.Applied()
		_ = f.stop()
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "events/s")
}

// BenchmarkEndToEndLag measures commit → applied by a follower at a steady lagRate
// events/s on the embedded server: p50 and p99 over lagDuration.
func BenchmarkEndToEndLag(b *testing.B) {
	l := newLedger(b)
	srv, stop := embedded(b)
	defer stop()
	nc, err := srv.Connect()
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	r := runRelay(b, l, nc, natsbus.RelayConfig{})
	var mu sync.Mutex
	committed := map[int64]time.Time{}
	lags := make([]time.Duration, 0, lagRate*int(lagDuration/time.Second))
	onCommit := func(evs []*ledger.Event) {
		now := time.Now()
		mu.Lock()
		for _, e := range evs {
			committed[e.Position] = now
		}
		mu.Unlock()
		r.Notify(evs)
	}
	l.onCommit.Store(&onCommit)
	waitPublished(b, r, l)
	f, err := natsbus.NewFollower(natsbus.FollowerConfig{Conn: nc, Durable: "bench-lag", After: l.head(),
		AfterHash: l.seq.Head().Hash, Apply: func(evs []*ledger.Event) {
			now := time.Now()
			mu.Lock()
			for _, e := range evs {
				if t, ok := committed[e.Position]; ok {
					lags = append(lags, now.Sub(t))
					delete(committed, e.Position)
				}
			}
			mu.Unlock()
		}})
	if err != nil {
		b.Fatal(err)
	}
	fr := startBackground(b, f.Run, nil)
	defer fr.stop()
	ctx := testContext(b)
	perTick := lagRate * int(lagTick) / int(time.Second)
	var written int
	var ran time.Duration
	for b.Loop() {
		tick := time.NewTicker(lagTick)
		start := time.Now()
		for time.Since(start) < lagDuration {
			<-tick.C
			l.disburse(ctx, perTick, perTick)
			written += perTick
		}
		tick.Stop()
		ran += time.Since(start)
		waitFor(b, "the follower to apply the head", func() bool { return f.Applied() == l.head() })
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lags)
	q := func(p float64) float64 { return float64(lags[int(p*float64(len(lags)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(float64(written)/ran.Seconds(), "events/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(q(1), "max-ms")
}
