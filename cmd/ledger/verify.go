package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// progressMinInterval is the least time between two redraws of a progress line, so that
// a fast run does not spend its time writing to the terminal.
const progressMinInterval = 200 * time.Millisecond

// AuditConfig holds the flags of the auditors' commands (verify, export, import, keys)
// and the checkpoint flags of serve. Config.Audit holds it; newConfig registers it.
type AuditConfig struct {
	From, To, After int64  // verify --from/--to, export --after
	Format          string // export --format
	Out             string // export and keys --out
	In              string // import --in
	Generate        bool   // keys --generate
	BOM             bool   // export --bom: a CSV starts with the UTF-8 byte order mark
	Rules           bool   // verify --rules

	// Serve: the checkpointer. SigningKey empty means no checkpoints are signed.
	SigningKey         string
	CheckpointEvery    int64
	CheckpointInterval time.Duration

	// Stderr receives progress lines; nil means os.Stderr.
	Stderr io.Writer
}

// register defines the flags of cmd that AuditConfig holds.
func (a *AuditConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	env := func(name, variable string) { c.envs[name] = variable }
	switch cmd {
	case "verify":
		fs.Int64Var(&a.From, "from", 1, "first position to check")
		fs.Int64Var(&a.To, "to", 0, "last position to check; 0 means the head")
		fs.BoolVar(&a.Rules, "rules", false, "also fold the whole log and list the events that break a rule the writer enforces today (rule 2: no line negative as of any date); changes nothing")
	case "export":
		fs.StringVar(&a.Format, "format", ledger.ExportJSONL, "jsonl (one event per line, what import restores) or csv")
		fs.Int64Var(&a.After, "after", 0, "export the events after this position")
		fs.StringVar(&a.Out, "out", "-", "output file; - is standard output")
		fs.BoolVar(&a.BOM, "bom", true, "with --format csv: start with the UTF-8 byte order mark that Excel needs (--bom=false: none)")
	case "import":
		fs.StringVar(&a.In, "in", "-", "JSONL export to restore; - is standard input")
	case "keys":
		fs.BoolVar(&a.Generate, "generate", false, "generate a checkpoint signing key into --out (else: list the registered public keys)")
		fs.StringVar(&a.Out, "out", "", "private key file to create (mode 0600; never overwritten)")
	case "serve":
		fs.StringVar(&a.SigningKey, "signing-key", "", "Ed25519 private key file (ledger keys --generate) that signs checkpoints; empty signs none [LEDGER_SIGNING_KEY]")
		env("signing-key", "LEDGER_SIGNING_KEY")
		fs.Int64Var(&a.CheckpointEvery, "checkpoint-every", pgstore.DefaultCheckpointEvery, "sign a checkpoint after this many events; negative disables [LEDGER_CHECKPOINT_EVERY]")
		env("checkpoint-every", "LEDGER_CHECKPOINT_EVERY")
		fs.DurationVar(&a.CheckpointInterval, "checkpoint-interval", pgstore.DefaultCheckpointInterval, "sign new events at least this often; negative disables [LEDGER_CHECKPOINT_INTERVAL]")
		env("checkpoint-interval", "LEDGER_CHECKPOINT_INTERVAL")
	}
}

func (a *AuditConfig) stderr() io.Writer {
	if a.Stderr == nil {
		return os.Stderr
	}
	return a.Stderr
}

// progress draws "label: done/total" on one terminal line, at most every
// progressMinInterval; end finishes the line.
type progress struct {
	w     io.Writer
	label string
	start time.Time
	drawn time.Time
}

func newProgress(w io.Writer, label string) *progress {
	return &progress{w: w, label: label, start: time.Now()}
}

func (p *progress) update(done, total int64) {
	now := time.Now()
	if now.Sub(p.drawn) < progressMinInterval {
		return
	}
	p.drawn = now
	if total > 0 {
		fmt.Fprintf(p.w, "\r%s: %d/%d (%d%%) %s", p.label, done, total, done*100/total, p.rate(done, now))
	} else {
		fmt.Fprintf(p.w, "\r%s: %d %s", p.label, done, p.rate(done, now))
	}
}

func (p *progress) rate(n int64, now time.Time) string {
	s := now.Sub(p.start).Seconds()
	if s <= 0 {
		return ""
	}
	return fmt.Sprintf("%.0f/s", float64(n)/s)
}

func (p *progress) end() {
	if !p.drawn.IsZero() {
		fmt.Fprintln(p.w)
	}
}

// verify checks the chain and the checkpoints offline, from PostgreSQL.
func verify(ctx context.Context, cfg *Config, stdout io.Writer) error {
	if cfg.Audit.From < 1 || cfg.Audit.To < 0 || (cfg.Audit.To != 0 && cfg.Audit.To < cfg.Audit.From) {
		return fmt.Errorf("verify: --from %d --to %d is not a range of positions from 1", cfg.Audit.From, cfg.Audit.To)
	}
	store, err := pgstore.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer store.Close()
	head, _, err := store.Head(ctx)
	if err != nil {
		return err
	}
	// A range beyond the head is a mistake in the command, not a finding about the chain.
	if cfg.Audit.From > max(head, 1) || cfg.Audit.To > head {
		return fmt.Errorf("verify: --from %d --to %d is beyond the head (position %d); nothing to check there",
			cfg.Audit.From, cfg.Audit.To, head)
	}
	rep, err := verifyStore(ctx, store, ledger.VerifyOptions{From: cfg.Audit.From, To: cfg.Audit.To}, stdout, cfg.Audit.stderr())
	if err != nil {
		return err
	}
	if !rep.OK {
		return findingsError{fmt.Errorf("verify: the chain is NOT intact: %w", rep.Finding)}
	}
	if cfg.Audit.Rules {
		n, err := verifyRules(ctx, store, stdout)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("verify: %d events break the rules the writer enforces today", n)
		}
	}
	return nil
}

// verifyRules folds the whole log through ledger.RuleChecker and prints each finding:
// histories recorded before the writer checked availability at every business date may
// hold back-dated events that leave a line negative as of an earlier date. It reads
// only; it returns the number of findings.
func verifyRules(ctx context.Context, store *pgstore.Store, stdout io.Writer) (int, error) {
	var (
		rc       ledger.RuleChecker
		buf      []ledger.RuleFinding
		events   int64
		findings int
	)
	err := store.ReadFrom(ctx, 0, func(e *ledger.Event) error {
		events++
		buf = rc.Add(buf[:0], e)
		for _, f := range buf {
			fmt.Fprintf(stdout, "rule %d: position %d line %s negative as of %s (%d đồng available from %s on, %d taken)\n",
				f.Rule, f.Position, f.Line, f.Date, f.Available, e.EffectiveDate, f.Amount)
		}
		findings += len(buf)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("verify --rules: %w", err)
	}
	if findings == 0 {
		fmt.Fprintf(stdout, "rules ok: %d events, no line negative as of any date\n", events)
	}
	return findings, nil
}

// verifyStore runs the check, drawing progress on stderr, and prints the outcome on
// stdout. It is what `ledger verify` does, shared with the tests.
func verifyStore(ctx context.Context, store *pgstore.Store, opt ledger.VerifyOptions, stdout, stderr io.Writer) (ledger.VerifyReport, error) {
	bar := newProgress(stderr, "verify")
	opt.Progress = bar.update
	start := time.Now()
	rep, err := store.Verify(ctx, opt)
	bar.end()
	if err != nil {
		return rep, err
	}
	took := time.Since(start)
	if rep.OK {
		fmt.Fprintf(stdout, "ok %d events (positions %d..%d) head %s, %d checkpoints verified, %.1fs (%.0f events/s)\n",
			rep.Events, rep.First, rep.Last, rep.LastHash, rep.Checkpoints, took.Seconds(), float64(rep.Events)/max(took.Seconds(), 1e-9))
		return rep, nil
	}
	f := rep.Finding
	fmt.Fprintf(stdout, "FAILED at position %d: %s: %s\n(positions %d..%d verified good, %d checkpoints)\n",
		f.Position, f.Kind, f.Detail, rep.First, rep.Last, rep.Checkpoints)
	return rep, nil
}
