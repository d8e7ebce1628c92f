package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// export streams the events after --after to --out in --format.
func export(ctx context.Context, cfg *Config, stdout io.Writer) error {
	a := &cfg.Audit
	if a.After < 0 {
		return fmt.Errorf("export: --after %d is negative", a.After)
	}
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	out, showProgress := stdout, false
	var f *os.File
	if a.Out != "-" {
		if f, err = os.Create(a.Out); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer f.Close()
		out, showProgress = f, true
	}
	n, err := exportEvents(ctx, store, out, a.Format, a.BOM, a.After, showProgress, a.stderr())
	if err != nil {
		return err
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(stdout, "exported %d events to %s\n", n, a.Out)
	}
	return nil
}

// exportEvents writes the events after `after` to w; progress goes to stderr only when
// asked (never when the export itself is on the terminal's standard output).
func exportEvents(ctx context.Context, store *pgstore.Store, w io.Writer, format string, bom bool, after int64, showProgress bool, stderr io.Writer) (int64, error) {
	x, err := ledger.NewExporter(w, format, bom)
	if err != nil {
		return 0, err
	}
	var bar *progress
	var head int64
	if showProgress {
		if head, _, err = store.Head(ctx); err != nil {
			return 0, err
		}
		bar = newProgress(stderr, "export")
	}
	err = store.ReadFrom(ctx, after, func(e *ledger.Event) error {
		if err := x.Write(e); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if bar != nil && x.Count()%progressEveryEvents == 0 {
			bar.update(e.Position, head)
		}
		return nil
	})
	if bar != nil {
		bar.end()
	}
	if err != nil {
		return x.Count(), err
	}
	return x.Count(), x.Flush()
}

// progressEveryEvents is how many events pass between two progress redraws of export their progress line.
const progressEveryEvents = 10_000

// importEvents restores a JSONL export (`ledger export`) into an EMPTY ledger: the same
// ids, recording times and hashes (pgstore.Store.Restore). Run it with the server
// stopped.
func importEvents(ctx context.Context, cfg *Config, stdout io.Writer) error {
	if cfg.Submit.Commands != "" {
		return submitCommands(ctx, cfg, stdout)
	}
	if cfg.Submit.XLSX != "" {
		return submitXLSX(ctx, cfg, stdout)
	}
	a := &cfg.Audit
	in := io.Reader(os.Stdin)
	if a.In != "-" {
		f, err := os.Open(a.In)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		in = f
	}
	if err := pgstore.Migrate(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := restore(ctx, store, in, a.stderr())
	var f *ledger.Finding
	if errors.As(err, &f) {
		return fmt.Errorf("import: the export is not an intact chain; %d events before position %d were restored, drop the database before trying again: %w", n, f.Position, err)
	}
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	fmt.Fprintf(stdout, "restored %d events\n", n)
	return nil
}

// restore is the work of `ledger import`, shared with the tests.
func restore(ctx context.Context, store *pgstore.Store, in io.Reader, stderr io.Writer) (int64, error) {
	bar := newProgress(stderr, "import")
	n, err := store.Restore(ctx, func(yield func(*ledger.Event) error) error {
		return ledger.ReadJSONL(in, yield)
	}, func(pos int64) { bar.update(pos, 0) })
	bar.end()
	return n, err
}
