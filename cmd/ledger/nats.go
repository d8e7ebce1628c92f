package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// NATSConfig is serve's event distribution: the embedded server or an external one, the
// stream's replicas, and the replica mode.
type NATSConfig struct {
	Listen      string // embedded server's client listener; "" = in-process only
	Replicas    int    // LEDGER stream replicas: 1 embedded, 3 on a production cluster
	Replica     bool   // serve reads only, following the stream
	ReplicaName string // durable consumer name of this replica
}

func (n *NATSConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	if cmd != "serve" {
		return
	}
	c.str(fs, &n.Listen, "nats-listen", "LEDGER_NATS_LISTEN", "", "host:port where the embedded NATS server accepts clients (replicas, consumers); empty = in-process only")
	fs.IntVar(&n.Replicas, "nats-replicas", 1, "replicas of the LEDGER stream (3 on a 3-node cluster) [LEDGER_NATS_REPLICAS]")
	c.envs["nats-replicas"] = "LEDGER_NATS_REPLICAS"
	c.boolean(fs, &n.Replica, "replica", "LEDGER_REPLICA", "serve reads only: bootstrap from PostgreSQL, then follow the NATS stream (needs --nats-url)")
	host, _ := os.Hostname()
	c.str(fs, &n.ReplicaName, "replica-name", "LEDGER_REPLICA_NAME", "replica-"+natsbus.Token(host), "durable consumer name of this replica; keep it across restarts to resume")
}

func (n *NATSConfig) check(c *Config) []error {
	var errs []error
	if n.Listen != "" && c.NATSURL != "" {
		errs = append(errs, errors.New("nats-listen: only for the embedded server, not with --nats-url"))
	}
	if n.Replica && c.NATSURL == "" {
		errs = append(errs, errors.New("replica: needs --nats-url (the writer's --nats-listen address or the cluster)"))
	}
	if n.Replicas < 1 || n.Replicas > 5 {
		errs = append(errs, fmt.Errorf("nats-replicas: must be 1 to 5, got %d", n.Replicas))
	}
	return errs
}

// bus is the NATS side of a node: the embedded server (unless --nats-url), the
// connection and, on the writer, the relay.
type bus struct {
	srv       *natsbus.Server // nil with --nats-url
	nc        *nats.Conn
	relay     atomic.Pointer[natsbus.Relay]
	stopRelay context.CancelFunc
	relayDone chan struct{}
}

// connectBus starts the embedded server under <data-dir>/nats, or connects to --nats-url.
func connectBus(cfg *Config, log *slog.Logger) (*bus, error) {
	b := &bus{}
	if cfg.NATSURL == "" {
		srv, err := natsbus.StartEmbedded(natsbus.EmbeddedConfig{StoreDir: filepath.Join(cfg.DataDir, "nats"),
			Listen: cfg.NATS.Listen, Logger: log})
		if err != nil {
			return nil, fmt.Errorf("embedded NATS: %w", err)
		}
		b.srv = srv
		if b.nc, err = srv.Connect(); err != nil {
			srv.Shutdown()
			return nil, fmt.Errorf("embedded NATS: %w", err)
		}
		if u := srv.ClientURL(); u != "" {
			log.Info("embedded NATS accepts clients", "url", u)
		}
		return b, nil
	}
	opts := append([]nats.Option{nats.Name("ledger"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true)}, cfg.Secure.natsOptions()...)
	nc, err := nats.Connect(cfg.NATSURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect NATS %s: %w", cfg.NATSURL, err)
	}
	b.nc = nc
	return b, nil
}

// startRelay starts publishing committed events from store, seeded with the write
// model's catalog at position pos. The relay's failure never stops the writer:
// PostgreSQL is the source of truth and a restarted relay catches up.
func (b *bus) startRelay(cfg *Config, store *pgstore.Store, catalog *ledger.Catalog, pos int64, log *slog.Logger) error {
	r, err := natsbus.NewRelay(natsbus.RelayConfig{Conn: b.nc, Events: store,
		Stream: natsbus.StreamConfig{Replicas: cfg.NATS.Replicas}, Catalog: catalog, CatalogPosition: pos, Logger: log})
	if err != nil {
		return err
	}
	b.relay.Store(r)
	var ctx context.Context
	ctx, b.stopRelay = context.WithCancel(context.Background())
	b.relayDone = make(chan struct{})
	go func() {
		defer close(b.relayDone)
		if err := r.Run(ctx); err != nil {
			log.Error("relay stopped; writes go on, NATS no longer receives events until restart", "err", err)
		}
	}()
	return nil
}

// notify tells the relay, if any, that the head moved. It never blocks.
func (b *bus) notify(events []*ledger.Event) {
	if r := b.relay.Load(); r != nil {
		r.Notify(events)
	}
}

// Close stops the relay, then the connection, then the embedded server.
func (b *bus) Close() {
	if b.stopRelay != nil {
		b.stopRelay()
		<-b.relayDone
	}
	b.nc.Close()
	if b.srv != nil {
		b.srv.Shutdown()
	}
}

// publishCheckpoint returns the checkpointer's hook that sends each signed checkpoint to
// the CHECKPOINTS stream, off the database host. It runs on the checkpointer's goroutine;
// a failure is logged, the checkpoint stays in PostgreSQL, and the next one is published
// as usual.
func (b *bus) publishCheckpoint(cfg *Config, log *slog.Logger) func(ledger.Checkpoint) {
	js, err := jetstream.New(b.nc)
	if err != nil {
		log.Error("checkpoints will not be published on NATS", "err", err)
		return nil
	}
	p := natsbus.NewCheckpointPublisher(js, cfg.NATS.Replicas)
	return func(cp ledger.Checkpoint) {
		if err := p.Publish(context.Background(), cp); err != nil {
			log.Warn("checkpoint not published on NATS; it is stored in PostgreSQL", "position", cp.Position, "err", err)
		}
	}
}
