package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/snapshot"
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
	if err := replayStore(ctx, store, &cfg.Report, stdout); err != nil {
		return err
	}
	if cfg.Snapshot.FromScratch {
		return replayFromScratch(ctx, cfg, store, stdout)
	}
	return nil
}

// replayFromScratch folds the write model and the projections from the first event,
// as a server started without snapshots would, and checks every stored snapshot
// against that replay: for auditors who trust no snapshot.
func replayFromScratch(ctx context.Context, cfg *Config, store *pgstore.Store, stdout io.Writer) error {
	infos, err := store.Snapshots(ctx)
	if err != nil {
		return err
	}
	head, _, err := store.Head(ctx)
	if err != nil {
		return err
	}
	bar := cfg.progressBar("replay from scratch")
	var fn func(done, total int64)
	if bar != nil {
		fn = bar.update
	}
	start := time.Now()
	findings, set, err := snapshot.Verify(ctx, store, infos, true, head, fn)
	if bar != nil {
		bar.end()
	}
	if err != nil {
		return fmt.Errorf("replay --from-scratch: %w", err)
	}
	took := time.Since(start)
	fmt.Fprintf(stdout, "write model and projections replayed from the first event to position %d (hash %x) in %.2fs (%.0f events/s)\n",
		set.Position(), set.State.HeadHash[:8], took.Seconds(), float64(set.Position())/max(took.Seconds(), 1e-9))
	return printFindings(findings, "the replay gives the same bytes", "replay --from-scratch", stdout)
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
