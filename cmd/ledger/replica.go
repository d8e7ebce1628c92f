package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/metrics"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/snapshot"
)

// replicaLagMax is how far behind the stream a replica may fall and still call itself
// ready: a load balancer then sends reads elsewhere.
const replicaLagMax = 10_000

// replicaChunk is how many events the bootstrap hands to the read models at once.
const replicaChunk = 4096

// replica is a read-only node: read models bootstrapped from PostgreSQL and then fed by
// the NATS stream. It never writes: it takes no writer lock and runs no migrations.
type replica struct {
	balances *projections.Balances
	progress *projections.Progress
	head     atomic.Pointer[ledger.Head]
}

func (r *replica) apply(events []*ledger.Event) {
	r.balances.Apply(events)
	r.progress.Apply(events)
	last := events[len(events)-1]
	r.head.Store(&ledger.Head{Position: last.Position, Hash: last.Hash, RecordedAt: last.RecordedAt})
}

// Submit refuses every write: a replica serves reads only.
func (r *replica) Submit(context.Context, *ledger.Request) (*ledger.Result, error) {
	return &ledger.Result{Err: &ledger.Error{Code: ledger.CodeUnavailable,
		Message: "this server is a read replica; send writes to the writer"}}, nil
}

// Head is the last event the replica applied.
func (r *replica) Head() ledger.Head { return *r.head.Load() }

// serveReplica runs `serve --replica`.
func serveReplica(ctx context.Context, cfg *Config, stdout io.Writer) error {
	log := cfg.Logger.With("replica", cfg.NATS.ReplicaName)
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	r := &replica{balances: &projections.Balances{}, progress: &projections.Progress{}}
	r.head.Store(&ledger.Head{})

	start := time.Now()
	if !cfg.Snapshot.FromScratch {
		// The projections of the newest snapshot that checks; the write model in it is
		// not needed here.
		snap, info, err := snapshot.Load(ctx, store, log)
		if err != nil {
			return fmt.Errorf("load a snapshot: %w", err)
		}
		if snap != nil {
			r.balances, r.progress = snap.Balances, snap.Progress
			r.head.Store(&ledger.Head{Position: snap.State.Head, Hash: snap.State.HeadHash, RecordedAt: snap.State.HeadTime})
			log.Info("snapshot loaded", "snapshot", info.ID, "position", info.Position, "duration", time.Since(start).Round(time.Millisecond))
		}
	}
	chunk := make([]*ledger.Event, 0, replicaChunk)
	err = store.ReadFrom(ctx, r.Head().Position, func(e *ledger.Event) error {
		if chunk = append(chunk, e); len(chunk) == replicaChunk {
			r.apply(chunk)
			chunk = make([]*ledger.Event, 0, replicaChunk)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("bootstrap from PostgreSQL: %w", err)
	}
	if len(chunk) > 0 {
		r.apply(chunk)
	}
	head := r.Head()
	log.Info("replica bootstrapped from PostgreSQL", "position", head.Position, "duration", time.Since(start).Round(time.Millisecond))

	b, err := connectBus(cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	f, err := natsbus.NewFollower(natsbus.FollowerConfig{Conn: b.nc, Durable: cfg.NATS.ReplicaName,
		After: head.Position, AfterHash: head.Hash, Apply: r.apply, Logger: log})
	if err != nil {
		return err
	}
	fctx, stopFollower := context.WithCancel(ctx)
	defer stopFollower()
	followDone := make(chan error, 1)
	go func() { followDone <- f.Run(fctx) }()

	m := metrics.New(metrics.Sources{
		Head:        func() int64 { return r.Head().Position },
		Projections: map[string]func() int64{"balances": r.balances.Position, "progress": r.progress.Position},
	})
	ac := api.Config{
		Writer:         r,
		Events:         store,
		Audit:          store,
		Balances:       r.balances,
		Progress:       r.progress,
		Positions:      store,
		Logger:         log,
		BootstrapToken: cfg.BootstrapToken,
		Tokens:         replicaTokens{store},
		Limits:         cfg.Access.limits(),
		Ready: func() error {
			if lag := f.Lag(); lag > replicaLagMax {
				return fmt.Errorf("replica is %d events behind the stream", lag)
			}
			return nil
		},
	}
	exposeMetrics(cfg, &ac, m)
	srv, url, httpDone, err := startHTTP(cfg, httpHandler(ac))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ledger replica serving on %s (position %d)\n", url, r.Head().Position)
	stopMetrics, err := serveMetrics(cfg, m, stdout)
	if err != nil {
		return stopHTTP(ctx, srv, err, log)
	}
	defer stopMetrics()
	select {
	case err = <-httpDone:
	case err = <-followDone:
		if errors.Is(err, natsbus.ErrChainBroken) {
			err = fmt.Errorf("the stream breaks the hash chain; stopping: %w", err)
		} else if err == nil && ctx.Err() == nil {
			err = errors.New("follower stopped")
		}
	case <-ctx.Done():
	}
	return stopHTTP(ctx, srv, err, log)
}

// replicaTokens reads tokens from PostgreSQL but refuses to create or revoke them: a
// replica never writes.
type replicaTokens struct{ *pgstore.Store }

var errReplicaWrite = &ledger.Error{Code: ledger.CodeUnavailable, Message: "this server is a read replica; manage tokens on the writer"}

func (replicaTokens) CreateToken(context.Context, ledger.TokenSpec, string, time.Time) (*ledger.Token, string, error) {
	return nil, "", errReplicaWrite
}

func (replicaTokens) RevokeToken(context.Context, uuid.UUID, string, time.Time) (*ledger.Token, error) {
	return nil, errReplicaWrite
}
