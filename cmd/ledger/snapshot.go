package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/snapshot"
)

// SnapshotConfig is the configuration of snapshots: the server's schedule and start,
// `ledger snapshot` and `ledger replay --from-scratch`.
type SnapshotConfig struct {
	Every       int64         // serve: events after the newest snapshot that trigger one
	Interval    time.Duration // serve: the longest a new event waits to be in a snapshot
	FromScratch bool          // serve: start from the first event; take, replay: fold from it
	Quick       bool          // snapshot verify: skip the replay from the first event
}

func (s *SnapshotConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	switch cmd {
	case "serve":
		fs.Int64Var(&s.Every, "snapshot-every", snapshot.DefaultEvery, "take a snapshot in the background once this many events follow the newest; ≤ 0 disables [LEDGER_SNAPSHOT_EVERY]")
		c.envs["snapshot-every"] = "LEDGER_SNAPSHOT_EVERY"
		fs.Var(durationFlag{&s.Interval}, "snapshot-interval", "take a snapshot at least this often while events are recorded; 0 disables [LEDGER_SNAPSHOT_INTERVAL]")
		c.envs["snapshot-interval"] = "LEDGER_SNAPSHOT_INTERVAL"
		s.Interval = snapshot.DefaultInterval
		c.boolean(fs, &s.FromScratch, "from-scratch", "LEDGER_FROM_SCRATCH", "start by folding every event, without loading a snapshot")
	case "snapshot":
		fs.BoolVar(&s.FromScratch, "from-scratch", false, "take: fold every event instead of starting from the newest snapshot")
		fs.BoolVar(&s.Quick, "quick", false, "verify: check format, layout, checksum and chain hash only, without the replay from the first event")
		fs.BoolVar(&c.Report.Progress, "progress", false, "draw the progress bar on stderr even when it is not a terminal")
	case "replay":
		fs.BoolVar(&s.FromScratch, "from-scratch", false, "also fold the write model and projections from the first event, ignoring snapshots, and check every stored snapshot against that replay")
	}
}

// snapshotUsage is the help of `ledger snapshot`'s subcommands.
const snapshotUsage = `take | list | verify [ID ...]`

// snapshotCmd runs `ledger snapshot take|list|verify`.
func snapshotCmd(ctx context.Context, cfg *Config, stdout io.Writer) error {
	if len(cfg.Args) == 0 {
		return fmt.Errorf("snapshot: say what to do: %s", snapshotUsage)
	}
	sub, args := cfg.Args[0], cfg.Args[1:]
	var do func(*pgstore.Store) error
	switch sub {
	case "take":
		do = func(st *pgstore.Store) error { return snapshotTake(ctx, cfg, st, stdout) }
	case "list":
		do = func(st *pgstore.Store) error { return snapshotList(ctx, st, stdout) }
	case "verify":
		do = func(st *pgstore.Store) error { return snapshotVerify(ctx, cfg, st, args, stdout) }
	default:
		return fmt.Errorf("snapshot: unknown subcommand %q: %s", sub, snapshotUsage)
	}
	if sub != "verify" && len(args) > 0 {
		return fmt.Errorf("snapshot %s: unexpected arguments %q", sub, args)
	}
	if err := pgstore.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	return do(store)
}

func snapshotTake(ctx context.Context, cfg *Config, store *pgstore.Store, stdout io.Writer) error {
	opt := snapshot.Options{FromScratch: cfg.Snapshot.FromScratch, Log: cfg.Logger}
	bar := cfg.progressBar("snapshot")
	if bar != nil {
		opt.Progress = bar.update
	}
	info, taken, err := snapshot.Take(ctx, store, opt)
	if bar != nil {
		bar.end()
	}
	if err != nil {
		return fmt.Errorf("snapshot take: %w", err)
	}
	if !taken {
		fmt.Fprintf(stdout, "snapshot %d is already at the head (position %d): nothing taken\n", info.ID, info.Position)
		return nil
	}
	fmt.Fprintf(stdout, "snapshot %d taken at position %d: %s in %s\n", info.ID, info.Position, formatBytes(info.Size),
		info.Duration.Round(time.Millisecond))
	return nil
}

func snapshotList(ctx context.Context, store *pgstore.Store, stdout io.Writer) error {
	infos, err := store.Snapshots(ctx)
	if err != nil {
		return err
	}
	if len(infos) == 0 {
		fmt.Fprintln(stdout, "no snapshots; a server takes one in the background, or run: ledger snapshot take")
		return nil
	}
	fmt.Fprintf(stdout, "%-6s %12s %-20s %10s %10s %s\n", "ID", "POSITION", "TAKEN AT (UTC)", "SIZE", "TOOK", "HASH")
	for _, i := range infos {
		fmt.Fprintf(stdout, "%-6d %12d %-20s %10s %10s %x\n", i.ID, i.Position, i.TakenAt.Format(time.DateTime),
			formatBytes(i.Size), i.Duration.Round(time.Millisecond), i.Hash[:8])
	}
	return nil
}

func snapshotVerify(ctx context.Context, cfg *Config, store *pgstore.Store, ids []string, stdout io.Writer) error {
	infos, err := store.Snapshots(ctx)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		byID := map[int64]pgstore.SnapshotInfo{}
		for _, i := range infos {
			byID[i.ID] = i
		}
		infos = infos[:0:0]
		for _, a := range ids {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return fmt.Errorf("snapshot verify: %q is not a snapshot id (see ledger snapshot list)", a)
			}
			i, ok := byID[id]
			if !ok {
				return fmt.Errorf("snapshot verify: no snapshot %d (see ledger snapshot list)", id)
			}
			infos = append(infos, i)
		}
	}
	if len(infos) == 0 {
		fmt.Fprintln(stdout, "no snapshots to verify")
		return nil
	}
	return reportFindings(ctx, cfg, store, infos, !cfg.Snapshot.Quick, "snapshot verify", stdout)
}

// reportFindings verifies infos (snapshot.Verify), prints a line per snapshot and
// returns a findingsError when one does not verify.
func reportFindings(ctx context.Context, cfg *Config, store *pgstore.Store, infos []pgstore.SnapshotInfo, deep bool, label string, stdout io.Writer) error {
	bar := cfg.progressBar("replay")
	var fn func(done, total int64)
	if bar != nil {
		fn = bar.update
	}
	findings, _, err := snapshot.Verify(ctx, store, infos, deep, 0, fn)
	if bar != nil {
		bar.end()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	how := "format, layout, checksum and chain hash check"
	if deep {
		how += "; a replay from the first event gives the same bytes"
	}
	return printFindings(findings, how, label, stdout)
}

// printFindings prints a line per snapshot checked, "ok (how)" or why it does not
// verify, and returns a findingsError when one does not.
func printFindings(findings []snapshot.Finding, how, label string, stdout io.Writer) error {
	bad := 0
	for _, f := range findings {
		if f.Err != nil {
			bad++
			fmt.Fprintf(stdout, "snapshot %d at position %d: DOES NOT VERIFY: %v\n", f.Info.ID, f.Info.Position, f.Err)
			continue
		}
		fmt.Fprintf(stdout, "snapshot %d at position %d: ok (%s)\n", f.Info.ID, f.Info.Position, how)
	}
	if bad > 0 {
		return findingsError{fmt.Errorf("%s: %d of %d snapshots do not verify; a server ignores them", label, bad, len(findings))}
	}
	return nil
}

// progressBar returns a progress bar on stderr when one is to be drawn, else nil.
func (c *Config) progressBar(label string) *progress {
	if w := c.Report.stderr(); c.Report.showProgress(w) {
		return newProgress(w, label)
	}
	return nil
}

// formatBytes prints n in the largest binary unit under which it is at least 1.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
