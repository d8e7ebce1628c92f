package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// auditTestTimeout bounds each audit command test.
const auditTestTimeout = 60 * time.Second

// demoLedger returns the URL of a fresh database holding the demo scenario, recorded
// through the sequencer as `ledger serve --demo` records it.
func demoLedger(t *testing.T, ctx context.Context) string {
	t.Helper()
	url := testenv.DB(t)
	store, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	w, err := store.AcquireWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()
	err = demo.Load(ctx, seq.Submit)
	stop()
	<-done
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// TestExportImportVerifyCommands runs `ledger export`, `ledger import` into an empty
// database and `ledger verify` on both, in process: the restored chain has the same head,
// and the Python verifier agrees with `ledger verify`.
func TestExportImportVerifyCommands(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), auditTestTimeout)
	defer cancel()
	src := demoLedger(t, ctx)
	dir := t.TempDir()
	export := filepath.Join(dir, "events.jsonl")

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"export", "--database-url", src, "--out", export}, &out, &errOut); err != nil {
		t.Fatalf("export: %v\n%s", err, errOut.String())
	}
	if !strings.HasPrefix(out.String(), "exported ") {
		t.Fatalf("export printed %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"verify", "--database-url", src}, &out, &errOut); err != nil {
		t.Fatalf("verify: %v", err)
	}
	srcVerdict := out.String()
	if !strings.HasPrefix(srcVerdict, "ok ") {
		t.Fatalf("verify printed %q", srcVerdict)
	}
	head := strings.Fields(srcVerdict)[6] // ok N events (positions a..b) head H, …
	py, err := pythonVerdict(ctx, export)
	if err != nil || !strings.HasSuffix(py, "head "+strings.TrimSuffix(head, ",")) {
		t.Fatalf("verify_chain.py: %q %v; ledger verify: %q", py, err, srcVerdict)
	}

	dst := testenv.DB(t)
	out.Reset()
	if err := run(ctx, []string{"import", "--database-url", dst, "--in", export}, &out, &errOut); err != nil {
		t.Fatalf("import: %v", err)
	}
	out.Reset()
	if err := run(ctx, []string{"verify", "--database-url", dst}, &out, &errOut); err != nil {
		t.Fatalf("verify after import: %v", err)
	}
	if got := strings.Fields(out.String())[6]; got != head {
		t.Fatalf("restored head %s, exported %s", got, head)
	}

	// CSV goes to standard output when --out is -.
	out.Reset()
	if err := run(ctx, []string{"export", "--database-url", src, "--format", "csv", "--after", "3"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), ledger.UTF8BOM+strings.Join(ledger.ExportCSVColumns, ",")+"\n4,") {
		t.Fatalf("csv export starts %.200q", out.String())
	}
}

func pythonVerdict(ctx context.Context, path string) (string, error) {
	out, err := exec.CommandContext(ctx, "python3", filepath.Join("..", "..", "tools", "verify_chain.py"), path).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func TestKeysGenerate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), auditTestTimeout)
	defer cancel()
	path := filepath.Join(t.TempDir(), "checkpoint.key")
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"keys", "--generate", "--out", path}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != keyFileMode {
		t.Fatalf("key file: %v %v", st, err)
	}
	key, err := loadSigningKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "key id     "+ledger.KeyID(key.Public().(ed25519.PublicKey))) {
		t.Fatalf("keys printed %q", out.String())
	}
	// Never overwrite a key.
	if err := run(ctx, []string{"keys", "--generate", "--out", path}, &out, &errOut); err == nil {
		t.Fatal("an existing key file was overwritten")
	}
}

// TestStartCheckpointer is serve's wiring: with --signing-key the head is signed (at the
// latest when the checkpointer stops) and `ledger verify` checks the checkpoint.
func TestStartCheckpointer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), auditTestTimeout)
	defer cancel()
	url := demoLedger(t, ctx)
	store, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	pos, hash, err := store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(t.TempDir(), "k")
	if _, err := generateKey(keyPath); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Logger: slog.New(slog.DiscardHandler), Audit: AuditConfig{SigningKey: keyPath, CheckpointEvery: 1_000_000, CheckpointInterval: time.Hour}}
	stop, err := startCheckpointer(cfg, store, func() ledger.Head { return ledger.Head{Position: pos, Hash: hash} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	rep, err := store.Verify(ctx, ledger.VerifyOptions{})
	if err != nil || !rep.OK || rep.Checkpoints != 1 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}
