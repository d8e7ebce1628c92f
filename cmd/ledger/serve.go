package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/projections"
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
	writer   *pgstore.Writer
	seq      *ledger.Sequencer
	balances *projections.Balances
	handler  http.Handler
	ready    atomic.Bool
	seqDone  chan error
	cancel   context.CancelFunc
	stopCP   func() // stops the checkpointer after signing the last head
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
	n := &node{store: store, balances: &projections.Balances{}, seqDone: make(chan error, 1)}
	log.Info("acquiring the writer lock; a standby waits here while another server writes")
	if n.writer, err = store.AcquireWriter(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("acquire writer lock: %w", err)
	}
	n.seq = ledger.NewSequencer(ledger.SequencerConfig{Store: n.writer, OnCommit: n.balances.Apply, Logger: log})
	start := time.Now()
	if err := n.seq.Load(ctx); err != nil {
		n.writer.Close()
		store.Close()
		return nil, fmt.Errorf("load the write model: %w", err)
	}
	log.Info("write model loaded", "position", n.seq.Head().Position, "duration", time.Since(start).Round(time.Millisecond))
	var runCtx context.Context
	runCtx, n.cancel = context.WithCancel(context.Background())
	go func() { n.seqDone <- n.seq.Run(runCtx) }()
	if n.stopCP, err = startCheckpointer(cfg, store, n.seq.Head, nil); err != nil {
		n.cancel()
		<-n.seqDone
		n.writer.Close()
		store.Close()
		return nil, err
	}
	n.handler = api.New(api.Config{
		Writer:         n.seq,
		Events:         store,
		Audit:          store,
		Balances:       n.balances,
		Logger:         log,
		BootstrapToken: cfg.BootstrapToken,
		Tokens:         apiTokens{store},
		Limits:         cfg.Access.limits(),
		Ready: func() error {
			if !n.ready.Load() {
				return errors.New("starting")
			}
			return nil
		},
	}).Handler()
	return n, nil
}

// Close stops the sequencer, releases the writer lock and closes the store.
func (n *node) Close() {
	n.cancel()
	<-n.seqDone
	n.stopCP()
	n.writer.Close()
	n.store.Close()
}

// serve runs the single writer and the HTTP API until ctx ends.
func serve(ctx context.Context, cfg *Config, stdout io.Writer) error {
	log := cfg.Logger
	n, err := startNode(ctx, cfg)
	if err != nil {
		return err
	}
	defer n.Close()

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{Handler: n.handler, ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout: readTimeout, WriteTimeout: writeTimeout, IdleTimeout: idleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	httpDone := make(chan error, 1)
	go func() { httpDone <- httpSrv.Serve(ln) }()

	if cfg.Demo {
		if err := loadDemo(ctx, n.seq, log); err != nil {
			return err
		}
	}
	n.ready.Store(true)
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "ledger serving on %s (position %d)\n  try: curl -s -H \"Authorization: Bearer $T\" %s/v1/head  (T: the bootstrap token)\n",
		url, n.seq.Head().Position, url)

	select {
	case err = <-httpDone:
	case err = <-n.seqDone:
		n.seqDone <- err // let Close see it
		err = fmt.Errorf("sequencer stopped: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	_ = httpSrv.Shutdown(sctx)
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
