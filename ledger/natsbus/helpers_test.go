package natsbus_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// Limits of the tests.
const (
	// testTimeout bounds one test's context.
	testTimeout = 90 * time.Second
	// waitTimeout bounds every wait for an asynchronous result.
	waitTimeout = 30 * time.Second
	// pollInterval spaces the checks of a wait.
	pollInterval = 5 * time.Millisecond
	// requestCommands is how many disbursements one request of the test writer carries.
	requestCommands = 5000
)

var (
	day      = ledger.MakeDate(2024, time.March, 15)
	validity = ledger.Validity{ValidFrom: ledger.MakeDate(2021, time.January, 1)}
	// The three levels of the unit tree, and one line held by each.
	province = ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"}
	district = ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "062.01"}
	commune  = ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "06201-01"}
	lines    = []ledger.Line{province, district, commune}
	// setupEvents is how many events newLedger writes before any disbursement.
	setupEvents = 9
)

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// testLogger logs to t, so a failing test shows what the relay and follower did.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// waitFor polls cond every pollInterval until it holds, failing t after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(pollInterval)
	}
}

// testLedger is a sequencer writing to a fresh PostgreSQL database, with a catalog of one
// province, one district and one commune and money on a line of each.
type testLedger struct {
	t        testing.TB
	store    *pgstore.Store
	seq      *ledger.Sequencer
	onCommit atomic.Pointer[func([]*ledger.Event)]
	voucher  atomic.Int64
}

func newLedger(t testing.TB) *testLedger {
	t.Helper()
	ctx := testContext(t)
	store, err := pgstore.Open(ctx, testenv.DB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	w, err := store.AcquireWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	l := &testLedger{t: t, store: store}
	l.seq = ledger.NewSequencer(ledger.SequencerConfig{Store: w, OnCommit: func(evs []*ledger.Event) {
		if f := l.onCommit.Load(); f != nil {
			(*f)(evs)
		}
	}})
	if err := l.seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.seq.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done; w.Close() })

	cmds := []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo bền vững", Validity: validity}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: validity}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW đầu tư", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: validity}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Bắc Kạn", Level: ledger.LevelProvince, Validity: validity}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062.01", Code: "058", Name: "Ba Bể", Level: ledger.LevelDistrict,
			Parent: "062", Validity: validity}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "06201-01", Code: "01842", Name: "Chợ Rã", Level: ledger.LevelCommune,
			Parent: "062.01", Validity: validity}},
	}
	for _, line := range lines {
		cmds = append(cmds, &ledger.Allocate{Line: line, Amount: 1 << 50, EffectiveDate: day, Decision: "QĐ 1"})
	}
	l.submit(ctx, &ledger.Request{Atomic: true, Commands: cmds})
	return l
}

// submit records req and fails t unless every command was accepted.
func (l *testLedger) submit(ctx context.Context, req *ledger.Request) {
	l.t.Helper()
	res, err := l.seq.Submit(ctx, req)
	if err != nil {
		l.t.Fatal(err)
	}
	if res.Err != nil || len(res.Rejections) > 0 {
		l.t.Fatalf("request refused: %v %v", res.Err, res.Rejections)
	}
}

// disburse records n disbursements, spread over the three lines, in requests of up to
// perRequest commands.
func (l *testLedger) disburse(ctx context.Context, n, perRequest int) {
	l.t.Helper()
	for n > 0 {
		k := min(n, perRequest)
		cmds := make([]ledger.Command, k)
		for i := range cmds {
			v := l.voucher.Add(1)
			cmds[i] = &ledger.Disburse{Line: lines[v%3], Amount: 1000, Kind: ledger.KindPayment, EffectiveDate: day,
				Payee: "Công ty A", Voucher: ledger.Voucher{Office: "KB062", Type: "C2-02", Number: strconv.FormatInt(v, 10), Date: day}}
		}
		l.submit(ctx, &ledger.Request{Commands: cmds})
		n -= k
	}
}

func (l *testLedger) head() int64 { return l.seq.Head().Position }

// events reads every event of the store.
func (l *testLedger) events(ctx context.Context) []*ledger.Event {
	l.t.Helper()
	var evs []*ledger.Event
	if err := l.store.ReadFrom(ctx, 0, func(e *ledger.Event) error { evs = append(evs, e); return nil }); err != nil {
		l.t.Fatal(err)
	}
	return evs
}

// background runs a Run(ctx) error method until stopped.
type background struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
	before func() // called by stop before cancelling
}

func startBackground(t testing.TB, run func(context.Context) error, before func()) *background {
	ctx, cancel := context.WithCancel(context.Background())
	b := &background{cancel: cancel, done: make(chan error, 1), before: before}
	go func() { b.done <- run(ctx) }()
	t.Cleanup(func() { _ = b.stop() })
	return b
}

// stop stops Run and returns its error.
func (b *background) stop() error {
	b.once.Do(func() {
		if b.before != nil {
			b.before()
		}
		b.cancel()
		b.err = <-b.done
	})
	return b.err
}

// stopped waits until Run returns by itself and returns its error.
func (b *background) stopped(t testing.TB) error {
	t.Helper()
	select {
	case err := <-b.done:
		b.done <- err
		return b.stop()
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return")
		return nil
	}
}

// relayRun is a relay running over a test ledger.
type relayRun struct {
	*natsbus.Relay
	*background
}

// runRelay starts a relay over l's store, fed by its sequencer; stop detaches it from
// the sequencer and stops it, and cleanup does so at the latest.
func runRelay(t testing.TB, l *testLedger, nc *nats.Conn, cfg natsbus.RelayConfig) *relayRun {
	t.Helper()
	cfg.Conn, cfg.Events = nc, l.store
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	r, err := natsbus.NewRelay(cfg)
	if err != nil {
		t.Fatal(err)
	}
	notify := r.Notify
	l.onCommit.Store(&notify)
	return &relayRun{Relay: r, background: startBackground(t, r.Run, func() { l.onCommit.CompareAndSwap(&notify, nil) })}
}

// replica collects what a follower applies.
type replica struct {
	*natsbus.Follower
	*background
	mu     sync.Mutex
	events []*ledger.Event
}

// runFollower starts a follower that appends to a replica.
func runFollower(t testing.TB, nc *nats.Conn, durable string, after *ledger.Event) *replica {
	t.Helper()
	rep := &replica{}
	cfg := natsbus.FollowerConfig{Conn: nc, Durable: durable, Logger: testLogger(t), Apply: func(evs []*ledger.Event) {
		rep.mu.Lock()
		rep.events = append(rep.events, evs...)
		rep.mu.Unlock()
	}}
	if after != nil {
		cfg.After, cfg.AfterHash = after.Position, after.Hash
	}
	f, err := natsbus.NewFollower(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rep.Follower = f
	rep.background = startBackground(t, f.Run, nil)
	return rep
}

// inProcess starts an embedded server without a listener and connects to it in-process;
// cleanup closes both.
func inProcess(t testing.TB) (*natsbus.Server, *nats.Conn) {
	t.Helper()
	srv, err := natsbus.StartEmbedded(natsbus.EmbeddedConfig{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return srv, connect(t, srv)
}

// connect opens another in-process connection to srv; cleanup closes it.
func connect(t testing.TB, srv *natsbus.Server) *nats.Conn {
	t.Helper()
	nc, err := srv.Connect()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// startServer starts an embedded server over dir listening on 127.0.0.1:port (0: any).
func startServer(t testing.TB, dir string, port int) (*natsbus.Server, int) {
	t.Helper()
	s, err := natsbus.StartEmbedded(natsbus.EmbeddedConfig{StoreDir: dir, Listen: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	u, err := url.Parse(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(u.Port())
	return s, p
}

// dial connects to urls and keeps reconnecting forever, as the ledger does.
func dial(t testing.TB, urls string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(urls, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond),
		nats.RetryOnFailedConnect(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// checkStream reads the whole stream with an ordered consumer and checks it against the
// store: sequence == position, each event once, same id, same body, subject as Subject
// computes it.
func checkStream(t testing.TB, nc *nats.Conn, l *testLedger) {
	t.Helper()
	ctx := testContext(t)
	evs := l.events(ctx)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var info *jetstream.StreamInfo
	waitFor(t, "stream info", func() bool {
		s, err := js.Stream(ctx, natsbus.StreamName)
		if err == nil {
			info, err = s.Info(ctx)
		}
		return err == nil
	})
	if int(info.State.LastSeq) != len(evs) || int(info.State.Msgs) != len(evs) || (len(evs) > 0 && info.State.FirstSeq != 1) {
		t.Fatalf("stream holds %d messages, %d..%d; store holds %d events", info.State.Msgs, info.State.FirstSeq,
			info.State.LastSeq, len(evs))
	}
	// Right after a node restart the cluster may briefly have no JetStream API responder
	// (a meta-leader election): on such an error the reading resumes, with a new ordered
	// consumer, from the first sequence not yet checked, until waitTimeout.
	consumerFrom := func(i int) jetstream.Consumer {
		var cons jetstream.Consumer
		waitFor(t, "an ordered consumer", func() bool {
			c, err := js.OrderedConsumer(ctx, natsbus.StreamName, jetstream.OrderedConsumerConfig{
				DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: uint64(i + 1)})
			cons = c
			return err == nil
		})
		return cons
	}
	deadline := time.Now().Add(waitTimeout)
	cons := consumerFrom(0)
	units := natsbus.NewUnitTree(nil)
	for i := 0; i < len(evs); {
		if time.Now().After(deadline) {
			t.Fatalf("reading the stream: still at sequence %d of %d after %s", i, len(evs), waitTimeout)
		}
		batch, err := cons.Fetch(min(10_000, len(evs)-i), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			cons = consumerFrom(i)
			continue
		}
		n := 0
		for m := range batch.Messages() {
			n++
			want := evs[i]
			units.Apply(want)
			md, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			subject, err := natsbus.Subject(want, units)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := want.MarshalJSON()
			if int64(md.Sequence.Stream) != want.Position || m.Headers().Get(jetstream.MsgIDHeader) != want.ID.String() ||
				string(m.Data()) != string(body) || m.Subject() != subject {
				t.Fatalf("stream sequence %d: subject %s, id %s; want position %d, subject %s, id %s",
					md.Sequence.Stream, m.Subject(), m.Headers().Get(jetstream.MsgIDHeader), want.Position, subject, want.ID)
			}
			i++
		}
		if err := batch.Error(); (err != nil && !errors.Is(err, nats.ErrTimeout)) || n == 0 {
			cons = consumerFrom(i) // a transient cluster error or a slow leader: resume here
		}
	}
}

// waitPublished waits until r has published l's head.
func waitPublished(t testing.TB, r *relayRun, l *testLedger) {
	t.Helper()
	waitFor(t, fmt.Sprintf("the relay to publish up to %d", l.head()), func() bool {
		return r.Published() == l.head() && r.Lag() == 0
	})
}
