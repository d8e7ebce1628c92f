package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/dashboard"
	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/metrics"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/snapshot"
)

// Server timeouts and shutdown grace. Named so that operations can find them.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownGrace     = 10 * time.Second
)

// node is one writing server: store, writer lock, sequencer, projections and the HTTP
// handler, wired together. serve and bench both run one.
type node struct {
	store    *pgstore.Store
	session  *pgstore.WriterSession // holds the writer lock; the sequencer appends through it
	seq      *ledger.Sequencer
	balances *projections.Balances
	// readModel keeps the read-model tables (schema read) for SQL and BI; it runs on its
	// own goroutine, woken after each commit, and never holds up the writer.
	readModel *pgstore.ReadModelWriter
	rmDone    chan error
	// fanout feeds balances and progress on goroutines of their own, so that a query
	// holding a projection never delays a commit.
	fanout   *projections.Fanout
	fanDone  chan error
	handler  http.Handler
	ready    atomic.Bool
	seqDone  chan error
	cancel   context.CancelFunc
	stopCP   func() // stops the checkpointer after signing the last head
	progress *projections.Progress
	bus      *bus
	metrics  *metrics.Metrics
	// tokDone ends with the goroutine that records token events (runTokenSync).
	tokDone chan struct{}
	// snapDone ends with the goroutine that takes snapshots in the background.
	snapDone chan struct{}
	snapInfo pgstore.SnapshotInfo // the snapshot loaded at start, for the metrics
}

// snapshotTaken shows the newest snapshot in the metrics.
func (n *node) snapshotTaken(i pgstore.SnapshotInfo) {
	n.metrics.Snapshot(i.Position, i.TakenAt, i.Size, i.Duration)
}

// onCommit hands every committed batch, in position order, to the in-memory projections,
// the read-model writer and the relay. It runs on the sequencer goroutine: each of them
// only queues the batch (bounded, never blocking) and folds it on its own goroutine.
func (n *node) onCommit(events []*ledger.Event) {
	n.fanout.Notify(events)
	n.readModel.Notify(events)
	n.bus.notify(events)
}

// startNode starts, in order: migrations, store, writer lock (a standby waits here while
// another server writes), write model, sequencer. Close stops them in reverse.
func startNode(ctx context.Context, cfg *Config) (*node, error) {
	log := cfg.Logger
	if err := pgstore.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	n := &node{store: store, balances: &projections.Balances{}, progress: &projections.Progress{}, seqDone: make(chan error, 1),
		readModel: store.NewReadModelWriter(log), rmDone: make(chan error, 1), fanDone: make(chan error, 1),
		snapDone: make(chan struct{})}
	log.Info("acquiring the writer lock; a standby waits here while another server writes")
	if n.session, err = store.AcquireWriter(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("acquire writer lock: %w", err)
	}
	start := time.Now()
	var snap *snapshot.Set
	if !cfg.Snapshot.FromScratch {
		var info pgstore.SnapshotInfo
		if snap, info, err = snapshot.Load(ctx, store, log); err != nil {
			n.session.Close()
			store.Close()
			return nil, fmt.Errorf("load a snapshot: %w", err)
		}
		if snap != nil {
			n.balances, n.progress, n.snapInfo = snap.Balances, snap.Progress, info
			log.Info("snapshot loaded", "snapshot", info.ID, "position", info.Position, "duration", time.Since(start).Round(time.Millisecond))
		}
	}
	n.fanout = projections.NewFanout(store, log, n.balances, n.progress)
	// NATS starts after the lock, so that a standby never relays.
	if n.bus, err = connectBus(cfg, log); err != nil {
		n.session.Close()
		store.Close()
		return nil, err
	}
	n.metrics = nodeMetrics(n)
	if n.snapInfo.ID != 0 {
		n.snapshotTaken(n.snapInfo)
	}
	n.seq = ledger.NewSequencer(ledger.SequencerConfig{Store: n.session, OnCommit: n.onCommit, OnBatch: n.metrics.Batch, Logger: log,
		AvailabilityAtHeadOnly: cfg.availabilityAtHeadOnly})
	var runCtx context.Context
	runCtx, n.cancel = context.WithCancel(context.Background())
	// The projections fold the log while the write model loads it, each on its own core.
	go func() { n.fanDone <- n.fanout.Run(runCtx) }()
	stopFanout := func() {
		n.cancel()
		<-n.fanDone
		n.bus.Close()
		n.session.Close()
		store.Close()
	}
	load := n.seq.Load
	switch {
	case snap == nil:
	case snap.State.AvailabilityAtHeadOnly != cfg.availabilityAtHeadOnly:
		// Only the bench's baseline runs in that mode: its projections serve, its write
		// model is folded again.
		log.Warn("the snapshot's write model is of another mode; folding the write model from the first event")
	default:
		load = func(ctx context.Context) error { return n.seq.LoadFrom(ctx, snap.State) }
	}
	if err := load(ctx); err != nil {
		stopFanout()
		return nil, fmt.Errorf("load the write model: %w", err)
	}
	head := n.seq.Head().Position
	log.Info("write model loaded", "position", head, "duration", time.Since(start).Round(time.Millisecond))
	// Serve only once the projections have every event the write model has: a read then
	// never waits for the start-up's backlog.
	if err := n.fanout.Wait(ctx, head); err != nil {
		stopFanout()
		return nil, fmt.Errorf("fold the projections: %w", err)
	}
	log.Info("projections loaded", "position", head, "duration", time.Since(start).Round(time.Millisecond))
	if err := n.bus.startRelay(cfg, store, &n.seq.State().Catalog, head, log); err != nil {
		stopFanout()
		return nil, fmt.Errorf("start the relay: %w", err)
	}
	go func() { n.seqDone <- n.seq.Run(runCtx) }()
	go func() { n.rmDone <- n.readModel.Run(runCtx) }()
	// Token creations and revocations not yet in the hash chain (made by `ledger token`
	// while no writer ran) are recorded before serving; later ones as they are notified.
	tokAfter, err := syncTokenEvents(ctx, store, n.seq.Submit, 0)
	if err != nil {
		log.Warn("recording token events in the hash chain; the next notification retries", "error", err)
	}
	n.tokDone = make(chan struct{})
	go func() { runTokenSync(runCtx, store, n.seq, tokAfter, log); close(n.tokDone) }()
	sch := snapshot.Schedule{Every: cfg.Snapshot.Every, Interval: cfg.Snapshot.Interval}
	go func() {
		snapshot.Run(runCtx, store, log, sch, n.snapInfo.Position, func() int64 { return n.seq.Head().Position }, n.snapshotTaken)
		close(n.snapDone)
	}()
	if n.stopCP, err = startCheckpointer(cfg, store, n.seq.Head, n.bus.publishCheckpoint(cfg, log)); err != nil {
		n.cancel()
		<-n.seqDone
		<-n.rmDone
		<-n.tokDone
		<-n.snapDone
		stopFanout()
		return nil, err
	}
	ac := api.Config{
		Writer:         n.seq,
		Events:         store,
		Audit:          store,
		Balances:       n.balances,
		Progress:       n.progress,
		Positions:      store,
		Vouchers:       store,
		Logger:         log,
		BootstrapToken: cfg.BootstrapToken,
		Tokens:         store,
		Limits:         cfg.Access.limits(),
		Ready: func() error {
			if !n.ready.Load() {
				return errors.New("starting")
			}
			return nil
		},
	}
	exposeMetrics(cfg, &ac, n.metrics)
	n.handler = httpHandler(ac)
	return n, nil
}

// httpHandler is the HTTP side of a node: the API, with the leaders' dashboard mounted
// beside it on the same server. A replica's dashboard has no Excel import (it records
// nothing).
func httpHandler(cfg api.Config) http.Handler {
	srv := api.New(cfg)
	submit := cfg.Writer.Submit
	if _, replica := cfg.Writer.(*replica); replica {
		submit = nil
	}
	srv.Mount(dashboard.New(dashboard.Config{API: srv, Writer: cfg.Writer, Events: cfg.Events,
		Balances: cfg.Balances, Progress: cfg.Progress, Logger: cfg.Logger, Now: cfg.Now, Submit: submit}))
	return srv.Handler()
}

// Close stops, in order, the sequencer, the read-model writer and the projections' fan-out,
// the checkpointer, the relay and NATS, the writer lock and the store.
func (n *node) Close() {
	n.cancel()
	<-n.tokDone
	<-n.snapDone
	<-n.seqDone
	<-n.rmDone
	<-n.fanDone
	n.stopCP()
	n.bus.Close()
	n.session.Close()
	n.store.Close()
}

// serve runs the single writer and the HTTP API until ctx ends.
func serve(ctx context.Context, cfg *Config, stdout io.Writer) error {
	if cfg.NATS.Replica {
		return serveReplica(ctx, cfg, stdout)
	}
	log := cfg.Logger
	// Listen first: while this server waits for the writer lock as a standby, it answers
	// /healthz (alive) and /readyz (503, standby), so orchestrators can probe it.
	h := &switchHandler{}
	h.set(http.HandlerFunc(standbyHandler))
	httpSrv, url, httpDone, err := startHTTP(cfg, h)
	if err != nil {
		return err
	}
	n, err := startNode(ctx, cfg)
	if err != nil {
		return stopHTTP(ctx, httpSrv, err, log)
	}
	defer n.Close()
	h.set(n.handler)

	if cfg.BootstrapToken == DemoBootstrapToken {
		log.Warn("!!! THE BOOTSTRAP TOKEN IS THE README'S PUBLIC DEMO TOKEN: anyone can act as admin on this server. " +
			"Demo use only; set LEDGER_BOOTSTRAP_TOKEN_FILE to a secret of your own for anything else !!!")
	}
	if cfg.Demo {
		if err := loadDemo(ctx, n.seq, log); err != nil {
			return err
		}
	}
	n.ready.Store(true)
	fmt.Fprintf(stdout, "ledger serving on %s (position %d)\n  dashboard: %s/  (sign in with a token)\n  API:       curl -s -H \"Authorization: Bearer $T\" %s/v1/head  (T: the bootstrap token)\n",
		url, n.seq.Head().Position, url, url)
	stopMetrics, err := serveMetrics(cfg, n.metrics, stdout)
	if err != nil {
		return stopHTTP(ctx, httpSrv, err, log)
	}
	defer stopMetrics()

	select {
	case err = <-httpDone:
	case err = <-n.seqDone:
		n.seqDone <- err // let Close see it
		err = fmt.Errorf("sequencer stopped: %w", err)
	case <-ctx.Done():
	}
	return stopHTTP(ctx, httpSrv, err, log)
}

// startHTTP listens on --http-addr and serves h with the server's timeouts. It returns
// the server, its base URL and a channel that receives Serve's error.
func startHTTP(cfg *Config, h http.Handler) (*http.Server, string, chan error, error) {
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
		ErrorLog: slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn)}
	scheme := "http"
	if t := cfg.Secure.tls; t != nil {
		// Direct TLS (--tls-cert): the dashboard's session cookie is then Secure.
		srv.TLSConfig = t.Clone()
		ln, scheme = tls.NewListener(ln, srv.TLSConfig), "https"
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return srv, scheme + "://" + ln.Addr().String(), done, nil
}

// stopHTTP shuts srv down within shutdownGrace. A stop asked for by ctx is not an error.
func stopHTTP(ctx context.Context, srv *http.Server, err error, log *slog.Logger) error {
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if ctx.Err() != nil {
		log.Info("stopped")
		return nil
	}
	return err
}

// loadDemo loads the sample scenario through the command path, only into an empty ledger.
func loadDemo(ctx context.Context, seq *ledger.Sequencer, log *slog.Logger) error {
	if p := seq.Head().Position; p != 0 {
		log.Info("demo not loaded: the ledger is not empty", "position", p)
		return nil
	}
	start := time.Now()
	if err := demo.Load(ctx, seq.Submit); err != nil {
		return fmt.Errorf("load demo: %w", err)
	}
	log.Info("demo loaded", "position", seq.Head().Position, "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

func migrate(ctx context.Context, cfg *Config, stdout io.Writer) error {
	if err := pgstore.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "migrations applied")
	return nil
}

// switchHandler serves through the handler set last; serve swaps the standby handler for
// the API once it holds the writer lock.
type switchHandler struct{ h atomic.Pointer[http.Handler] }

func (s *switchHandler) set(h http.Handler) { s.h.Store(&h) }
func (s *switchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// standbyHandler answers while the server waits for the writer lock: alive, not ready,
// and every other request refused with 503 unavailable.
func standbyHandler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
		return
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Retry-After", "5")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `{"title":"Standby","status":503,"code":"unavailable","detail":"this server is a standby waiting for the writer lock"}`)
}
