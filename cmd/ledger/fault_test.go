package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/internal/checker"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/projections"
)

// Fault tests (docs/reliability.md). Each injects one fault under a write load recorded
// by internal/checker, retries what the client could not learn with the same key, and
// has the checker judge the store and the live projections. The short forms run in
// `make test`; LEDGER_SOAK=1 (make soak) runs the long forms, and the build tag soak adds
// TestSoakKillDuringLoad (soak_test.go).

// soak reports whether the long forms were asked for.
func soak() bool { return os.Getenv("LEDGER_SOAK") == "1" }

// Bounds of the fault tests.
const (
	soakKillCycles  = 60                      // ≥ 50 kill -9 cycles in make soak
	outageShort     = 1500 * time.Millisecond // how long PostgreSQL or NATS stays down
	faultLoadBefore = 800 * time.Millisecond  // load before the fault is injected
	recoverMax      = 60 * time.Second        // bound on recovering after a fault ends
	soakOutages     = 5                       // outages per fault in make soak
	outagePause     = 20 * time.Millisecond   // a client's pause after a failed request
	outageWritesMin = 10                      // writes acknowledged while NATS is down
	pgBin           = "/usr/lib/postgresql/15/bin"
	natsServerBin   = "/usr/sbin/nats-server"
)

// localPG is a PostgreSQL cluster of the test's own, in a temp dir, so that the test
// can stop it with `pg_ctl stop -m immediate` (a crash) without touching the shared
// server. As root the binaries run as postgres (PostgreSQL refuses to run as root).
type localPG struct {
	dir, port string
}

func (p *localPG) run(t *testing.T, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(pgBin, name), args...)
	if os.Geteuid() == 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pgBin, name)}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func startLocalPG(t *testing.T) (*localPG, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ledger-fault-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "-R", "postgres", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
	}
	p := &localPG{dir: dir, port: strconv.Itoa(freePort(t))}
	p.run(t, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")
	p.start(t)
	t.Cleanup(func() {
		cmd := exec.Command("runuser", "-u", "postgres", "--", filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "stop", "-m", "immediate")
		if os.Geteuid() != 0 {
			cmd = exec.Command(filepath.Join(pgBin, "pg_ctl"), "-D", filepath.Join(dir, "data"), "stop", "-m", "immediate")
		}
		_ = cmd.Run()
	})
	return p, fmt.Sprintf("postgres://postgres@127.0.0.1:%s/postgres?sslmode=disable", p.port)
}

func (p *localPG) start(t *testing.T) {
	t.Helper()
	p.run(t, "pg_ctl", "-D", filepath.Join(p.dir, "data"), "-l", filepath.Join(p.dir, "log"), "-w", "start",
		"-o", "-p "+p.port+" -k "+p.dir+" -c listen_addresses=127.0.0.1")
}

// crash stops the cluster the way a power cut would: no shutdown checkpoint.
func (p *localPG) crash(t *testing.T) {
	t.Helper()
	p.run(t, "pg_ctl", "-D", filepath.Join(p.dir, "data"), "stop", "-m", "immediate")
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// awaitStatus posts probes (recorded, with keys) until one is answered with a status
// that ok accepts, within limit; it returns the time it took.
func awaitStatus(t *testing.T, rec *checker.Recorder, c *checker.Client, lines []ledger.Line, prefix string, limit time.Duration, ok func(status int, code string) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for i := 0; ; i++ {
		r := rec.Post(context.Background(), c, "/v1/disbursements", fmt.Sprintf("%s-%d", prefix, i), checker.Disbursement(lines[0], fmt.Sprintf("%s-%d", prefix, i)))
		_, status, _ := r.Outcome()
		if ok(status, r.Problem()) {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("%s: no awaited answer within %s (last status %d %q)", prefix, limit, status, r.Problem())
		}
		time.Sleep(outagePause) // a probe every outagePause, bounded by limit above
	}
}

// TestPostgresCrashUnderLoad is fault (b): the test's own PostgreSQL is stopped with
// `pg_ctl stop -m immediate` under load. Meanwhile the API answers 503 unavailable; once
// PostgreSQL is back the server recovers by itself, and the checker finds nothing lost,
// doubled or unexpected after the unknown requests are retried.
func TestPostgresCrashUnderLoad(t *testing.T) {
	pg, adminURL := startLocalPG(t)
	dbURL, drop, err := scratchDatabase(context.Background(), adminURL, "ledger_fault")
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	s := startServer(t, dbURL)
	c, rec := newChecker(s.url)
	ctx := context.Background()
	lines, err := checker.Setup(ctx, rec, c, "setup", 4, 1_000_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	outages := 1
	if soak() {
		outages = soakOutages
	}
	for o := range outages {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			checker.Load(ctx, rec, c, checker.LoadConfig{Lines: lines, Clients: 8, Prefix: fmt.Sprintf("p%d", o), Stop: stop, Pause: outagePause})
			close(done)
		}()
		time.Sleep(faultLoadBefore) // load before the fault
		pg.crash(t)
		down := awaitStatus(t, rec, c, lines, fmt.Sprintf("down%d", o), recoverMax, func(status int, code string) bool {
			return status == http.StatusServiceUnavailable && code == "unavailable"
		})
		time.Sleep(outageShort) // PostgreSQL stays down while the load goes on
		pg.start(t)
		back := awaitStatus(t, rec, c, lines, fmt.Sprintf("up%d", o), recoverMax, func(status int, _ string) bool { return status == http.StatusCreated })
		close(stop)
		<-done
		t.Logf("outage %d: 503 unavailable after %s; first write acknowledged %s after PostgreSQL restarted", o, down.Round(time.Millisecond), back.Round(time.Millisecond))
	}
	rctx, cancel := context.WithTimeout(ctx, recoverMax)
	defer cancel()
	if err := rec.RetryUnknown(rctx, c); err != nil {
		t.Fatal(err)
	}
	rep := mustCheck(t, dbURL, c, rec)
	if rep.Unknown != 0 {
		t.Errorf("after retries no request is unknown: %s", rep)
	}
}

// startNATS starts an external nats-server with JetStream stored in dir on port.
func startNATS(t *testing.T, dir string, port int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(natsServerBin, "-js", "-sd", dir, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, recoverMax, func() bool {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn.Close()
		}
		return err == nil
	})
	return cmd
}

// TestNATSOutageUnderLoad is fault (c): the external NATS server is stopped under load.
// Writes go on (PostgreSQL is the source of truth); once NATS is back the relay catches
// up, and the stream then equals the ledger: sequence == position, message id == event id.
func TestNATSOutageUnderLoad(t *testing.T) {
	dbURL := testenv.DB(t)
	natsDir, port := t.TempDir(), freePort(t)
	ns := startNATS(t, natsDir, port)
	natsURL := fmt.Sprintf("nats://127.0.0.1:%d", port)
	s := startServer(t, dbURL, "--nats-url", natsURL)
	c, rec := newChecker(s.url)
	ctx := context.Background()
	lines, err := checker.Setup(ctx, rec, c, "setup", 4, 1_000_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		checker.Load(ctx, rec, c, checker.LoadConfig{Lines: lines, Clients: 8, Prefix: "n", Stop: stop, Pause: outagePause})
		close(done)
	}()
	time.Sleep(faultLoadBefore)
	_ = ns.Process.Signal(os.Interrupt)
	_ = ns.Wait()
	ackedBefore, _, _ := rec.Counts()
	time.Sleep(outageShort) // NATS stays down while the load goes on
	// Writes must go on without NATS: wait (bounded) for some to be acknowledged, rather
	// than demanding them within a fixed window that a loaded machine may miss.
	var ackedDuring int
	waitFor(t, recoverMax, func() bool {
		ackedDuring, _, _ = rec.Counts()
		return ackedDuring >= ackedBefore+outageWritesMin
	})
	t0 := time.Now()
	startNATS(t, natsDir, port)
	close(stop)
	<-done
	if err := rec.RetryUnknown(ctx, c); err != nil {
		t.Fatal(err)
	}
	mustCheck(t, dbURL, c, rec)
	n := checkStreamExact(t, natsURL, dbURL)
	t.Logf("%d writes acknowledged while NATS was down; stream holds positions 1..%d exactly, %s after NATS restarted",
		ackedDuring-ackedBefore, n, time.Since(t0).Round(time.Millisecond))
}

// checkStreamExact waits until the LEDGER stream is as long as the ledger, then checks
// that stream sequence i holds the event at position i; it returns the length.
func checkStreamExact(t *testing.T, natsURL, dbURL string) int {
	t.Helper()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	if err := st.ReadFrom(ctx, 0, func(e *ledger.Event) error { ids = append(ids, e.ID.String()); return nil }); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitFor(t, recoverMax, func() bool {
		str, err := js.Stream(ctx, natsbus.StreamName)
		if err != nil {
			return false
		}
		info, err := str.Info(ctx)
		return err == nil && int(info.State.LastSeq) == len(ids)
	})
	cons, err := js.OrderedConsumer(ctx, natsbus.StreamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ids); {
		batch, err := cons.Fetch(len(ids)-i, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for m := range batch.Messages() {
			md, _ := m.Metadata()
			if int(md.Sequence.Stream) != i+1 || m.Headers().Get(jetstream.MsgIDHeader) != ids[i] {
				t.Fatalf("stream sequence %d holds %s; position %d is %s", md.Sequence.Stream, m.Headers().Get(jetstream.MsgIDHeader), i+1, ids[i])
			}
			i, k = i+1, k+1
		}
		if k == 0 {
			t.Fatalf("stream ends at %d; the ledger has %d events", i, len(ids))
		}
	}
	return len(ids)
}

// TestClientTimeoutRetries is fault (d): a client whose timeout is shorter than the
// server's answer gives up on many requests that the server still records; retried
// with their keys, each is stored exactly once.
func TestClientTimeoutRetries(t *testing.T) {
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL)
	c, rec := newChecker(s.url)
	ctx := context.Background()
	lines, err := checker.Setup(ctx, rec, c, "setup", 4, 1_000_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	impatient := checker.NewClient(s.url, &http.Client{Timeout: 2 * time.Millisecond, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}, c.Auth)
	stop := make(chan struct{})
	time.AfterFunc(faultLoadBefore, func() { close(stop) })
	checker.Load(ctx, rec, impatient, checker.LoadConfig{Lines: lines, Clients: 16, Prefix: "t", Stop: stop})
	_, _, unknown := rec.Counts()
	if unknown == 0 {
		t.Fatal("no request timed out: the fault was not injected")
	}
	if err := rec.RetryUnknown(ctx, c); err != nil {
		t.Fatal(err)
	}
	rep := mustCheck(t, dbURL, c, rec)
	t.Logf("%d requests timed out on the client and were retried with their keys: %s", unknown, rep)
}

// lyingStore is the deliberately broken build of the write path: every lieEvery-th
// Append reports success without committing, as a store that answered before COMMIT
// would. The fault tests must catch it.
type lyingStore struct {
	ledger.WriterSession
	on       atomic.Bool // lies only once the set-up is stored
	n        atomic.Int64
	lieEvery int64
}

func (s *lyingStore) Append(ctx context.Context, events []*ledger.Event, keys []ledger.KeyRecord) error {
	if s.on.Load() && s.n.Add(1)%s.lieEvery == 0 {
		return nil
	}
	return s.WriterSession.Append(ctx, events, keys)
}

// TestCheckerCatchesLostEvents shows that the checker can fail: an in-process server
// whose sequencer appends through lyingStore acknowledges events that are not stored,
// and the checker must report them lost. (The store refuses the next batch, whose
// positions would leave a gap, so writes stop there instead of building on the hole.)
func TestCheckerCatchesLostEvents(t *testing.T) {
	dbURL := testenv.DB(t)
	ctx := context.Background()
	if err := pgstore.Migrate(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w, err := st.AcquireWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	bal, prog := &projections.Balances{}, &projections.Progress{}
	liar := &lyingStore{WriterSession: w, lieEvery: 7}
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: liar,
		OnCommit: func(ev []*ledger.Event) { bal.Apply(ev); prog.Apply(ev) }})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	seqDone := make(chan error, 1)
	go func() { seqDone <- seq.Run(rctx) }()
	defer func() { cancel(); <-seqDone }()
	now := time.Now()
	_, officer, err := st.CreateToken(ctx, ledger.TokenSpec{Name: "officer", Role: ledger.RoleOfficer, ExpiresAt: now.Add(time.Hour)}, "test", now)
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Config{Writer: seq, Events: st, Balances: bal, Progress: prog, BootstrapToken: e2eAdminToken,
		Tokens: st, Limits: api.Limits{RatePerSecond: -1}}).Handler()
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := checker.NewClient(srv.URL, nil, func(path string) string {
		if len(path) > 11 && path[:11] == "/v1/catalog" {
			return "Bearer " + e2eAdminToken
		}
		return "Bearer " + officer
	})
	rec := &checker.Recorder{}
	lines, err := checker.Setup(ctx, rec, c, "setup", 2, 1_000_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	liar.on.Store(true)
	stop := make(chan struct{})
	time.AfterFunc(faultLoadBefore, func() { close(stop) })
	checker.Load(ctx, rec, c, checker.LoadConfig{Lines: lines, Clients: 8, Prefix: "lie", Stop: stop, QuitOnError: true})
	rep, err := checker.CheckAll(ctx, dbURL, nil, rec)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep)
	if rep.OK() || rep.Lost == 0 {
		t.Fatalf("the checker missed acknowledged events that were never committed: %s", rep)
	}
}
