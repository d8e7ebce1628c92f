package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/vnntp/ledger/ledger/pgstore"
)

// replay rebuilds the read-model tables (schema read) from every event in one
// transaction: SQL readers see the old tables until it commits. A running server's
// read-model writer waits on the checkpoint meanwhile and continues from the rebuilt one.
func replay(ctx context.Context, cfg *Config, stdout io.Writer) error {
	if err := pgstore.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	return replayStore(ctx, store, &cfg.Report, stdout)
}

// replayStore rebuilds the read model of store and prints the outcome; it is what
// `ledger replay` does, shared with the tests.
func replayStore(ctx context.Context, store *pgstore.Store, rc *ReportConfig, stdout io.Writer) error {
	var fn func(done, total int64)
	var bar *progress
	if w := rc.stderr(); rc.showProgress(w) {
		bar = newProgress(w, "replay")
		fn = bar.update
	}
	start := time.Now()
	n, err := store.RebuildReadModel(ctx, fn)
	if bar != nil {
		bar.end()
	}
	if err != nil {
		return fmt.Errorf("replay: %w", err)
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "read model rebuilt: %d events to position %d in %.2fs (%.0f events/s)\n",
		n, n, took.Seconds(), float64(n)/max(took.Seconds(), 1e-9))
	return nil
}
