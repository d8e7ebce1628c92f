package pgstore_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// Sizes of the tamper scenario: a chain of tamperEvents events with one signed checkpoint
// at tamperCheckpoint.
const (
	tamperEvents     = 40
	tamperCheckpoint = 30
	// pollEvery and pollMax bound the waits for the checkpointer.
	pollEvery = 10 * time.Millisecond
	pollMax   = 10 * time.Second
)

// auditKey is the checkpoint key of these tests, from a fixed seed.
var auditKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// seedChain stores every event type followed by disbursements, tamperEvents in all, and
// a checkpoint signed with auditKey at tamperCheckpoint. It returns the events.
func seedChain(t *testing.T, s *pgstore.Store) []*ledger.Event {
	t.Helper()
	ctx := testContext(t)
	events := chain(0, ledger.GenesisHash, append(everyType(), disbursements(tamperEvents-len(everyType()))...)...)
	w := acquire(t, s)
	if err := w.Append(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if _, err := s.RegisterKey(ctx, auditKey.Public().(ed25519.PublicKey), clock); err != nil {
		t.Fatal(err)
	}
	cp := ledger.SignCheckpoint(auditKey, tamperCheckpoint, events[tamperCheckpoint-1].Hash, clock.Add(time.Hour))
	if err := s.InsertCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}
	return events
}

// superuser connects to the test database as its owner (the tests run as a superuser), to
// do what the application's role cannot: switch the immutability triggers off.
func superuser(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(testContext(t), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(testContext(t), `ALTER TABLE events DISABLE TRIGGER ALL; ALTER TABLE checkpoints DISABLE TRIGGER ALL`); err != nil {
		t.Fatal(err)
	}
	return conn
}

// exportJSONL writes the store's JSON Lines export to a file and returns its path.
func exportJSONL(t *testing.T, s *pgstore.Store) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "events.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, err := ledger.NewExporter(f, ledger.ExportJSONL, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ReadFrom(testContext(t), 0, x.Write); err != nil {
		t.Fatal(err)
	}
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}

// pythonVerify runs tools/verify_chain.py on an export and returns its verdict in the
// words of Go's report: "ok <head>" or "<kind> at <position>". python3 is a test
// dependency, like for the canonical encoding tests.
func pythonVerify(t *testing.T, path string) string {
	t.Helper()
	if _, err := osexec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is needed to run tools/verify_chain.py: %v", err)
	}
	cmd := osexec.CommandContext(testContext(t), "python3", filepath.Join("..", "..", "tools", "verify_chain.py"), path)
	out, err := cmd.CombinedOutput()
	var exit *osexec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("verify_chain.py: %v\n%s", err, out)
	}
	var n, pos int64
	var head, kind string
	switch line := strings.TrimSpace(string(out)); {
	case err == nil && strings.HasPrefix(line, "ok "):
		if _, err := fmt.Sscanf(line, "ok %d events head %s", &n, &head); err != nil {
			t.Fatalf("verify_chain.py: %q: %v", line, err)
		}
		return "ok " + head
	case exit != nil && exit.ExitCode() == 1:
		if _, err := fmt.Sscanf(line, "bad position %d: %s", &pos, &kind); err != nil {
			t.Fatalf("verify_chain.py: %q: %v", line, err)
		}
		return fmt.Sprintf("%s at %d", strings.TrimSuffix(kind, ":"), pos)
	}
	t.Fatalf("verify_chain.py: unexpected outcome %v:\n%s", err, out)
	return ""
}

func verdict(r ledger.VerifyReport) string {
	if r.OK {
		return "ok " + r.LastHash
	}
	return fmt.Sprintf("%s at %d", r.Finding.Kind, r.Finding.Position)
}

// TestVerifyDetectsTampering changes a real database behind the application's back, as a
// superuser would, and checks that Verify (what `ledger verify` and GET /v1/verify run)
// names the first bad position and kind, and that tools/verify_chain.py, run on an export,
// agrees wherever the chain alone can tell.
func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		sql    string
		rewind int64 // > 0: rewrite the tail from this position with recomputed hashes (Go)
		want   string
		python string // "" means the same as want
	}{
		{name: "clean", want: "ok"},
		{name: "amount changed in data", sql: `UPDATE events SET data = jsonb_set(data, '{amount}', '999') WHERE position = 17`,
			want: "hash_mismatch at 17"},
		{name: "typed column changed", sql: `UPDATE events SET amount = amount + 1 WHERE position = 18`,
			want: "column_mismatch at 18", python: "ok"},
		{name: "voucher identity column changed", sql: `UPDATE events SET voucher_key = 'KB OTHER 1 2024-01-01' WHERE position = 20`,
			want: "column_mismatch at 20", python: "ok"},
		{name: "member added to data", sql: `UPDATE events SET data = data || '{"approved_by":"x"}' WHERE position = 19`,
			want: "hash_mismatch at 19", python: "ok"}, // the export carries only the event format's members
		{name: "row deleted", sql: `DELETE FROM events WHERE position = 12`, want: "missing_position at 12"},
		{name: "row inserted", sql: `INSERT INTO events (position, id, type, effective_date, recorded_at, amount, line, data, metadata, prev_hash, hash)
			SELECT position + 1, gen_random_uuid(), type, effective_date, recorded_at, amount, line, data, metadata, prev_hash, hash
			FROM events WHERE position = 40`, want: "broken_link at 41"},
		{name: "positions swapped", sql: `UPDATE events SET position = 1000 WHERE position = 14;
			UPDATE events SET position = 14 WHERE position = 15; UPDATE events SET position = 15 WHERE position = 1000`,
			want: "broken_link at 14"},
		{name: "tail cut after a checkpoint", sql: `DELETE FROM events WHERE position > 25`, want: "missing_position at 26", python: "ok"},
		{name: "tail rewritten with recomputed hashes", rewind: 22, want: "checkpoint_mismatch at 30", python: "ok"},
		{name: "checkpoint signature altered", sql: `UPDATE checkpoints SET signed_at = signed_at + interval '1 second'`,
			want: "bad_signature at 30", python: "ok"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, url := open(t)
			events := seedChain(t, s)
			ctx := testContext(t)
			if tc.sql != "" {
				if _, err := superuser(t, url).Exec(ctx, tc.sql); err != nil {
					t.Fatal(err)
				}
			}
			if tc.rewind > 0 {
				rewriteTail(t, superuser(t, url), events, tc.rewind)
			}
			rep, err := s.Verify(ctx, ledger.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := verdict(rep)
			want := tc.want
			if want == "ok" {
				want = "ok " + hex.EncodeToString(events[len(events)-1].Hash[:])
			}
			if got != want {
				t.Fatalf("Verify: %s (%+v), want %s", got, rep.Finding, want)
			}
			py := pythonVerify(t, exportJSONL(t, s))
			if tc.python == "ok" && !strings.HasPrefix(py, "ok ") {
				t.Errorf("verify_chain.py: %s, want ok (the chain alone cannot tell)", py)
			} else if tc.python == "" && py != got {
				t.Errorf("verify_chain.py: %s, Go: %s", py, got)
			}
		})
	}
}

// rewriteTail forges the chain from position from: a changed amount, then every hash
// recomputed and written back, so that every link and hash is right again.
func rewriteTail(t *testing.T, conn *pgx.Conn, events []*ledger.Event, from int64) {
	t.Helper()
	forged := make([]*ledger.Event, len(events))
	for i, e := range events {
		c := *e
		forged[i] = &c
	}
	forged[from-1].Data.Amount = 1
	for i := from - 1; i < int64(len(forged)); i++ {
		e := forged[i]
		e.PrevHash = forged[i-1].Hash
		e.Hash, _ = ledger.ChainHash(nil, e.PrevHash, e)
		_, err := conn.Exec(testContext(t), `UPDATE events SET data = $2, amount = $3, prev_hash = $4, hash = $5 WHERE position = $1`,
			e.Position, ledger.AppendCanonicalData(nil, &e.Data), e.Data.Amount, e.PrevHash[:], e.Hash[:])
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyRange(t *testing.T) {
	t.Parallel()
	s, url := open(t)
	seedChain(t, s)
	ctx := testContext(t)
	rep, err := s.Verify(ctx, ledger.VerifyOptions{From: 5, To: 20})
	if err != nil || !rep.OK || rep.First != 5 || rep.Last != 20 || rep.Events != 16 || rep.Checkpoints != 0 {
		t.Fatalf("range 5..20: %+v %v", rep, err)
	}
	if _, err := superuser(t, url).Exec(ctx, `UPDATE events SET data = jsonb_set(data, '{amount}', '5') WHERE position = 25`); err != nil {
		t.Fatal(err)
	}
	// A range before the damage is still good; one across it is not.
	if rep, _ := s.Verify(ctx, ledger.VerifyOptions{To: 24}); !rep.OK {
		t.Fatalf("range ..24: %+v", rep.Finding)
	}
	if rep, _ := s.Verify(ctx, ledger.VerifyOptions{From: 21, To: 30}); verdict(rep) != "hash_mismatch at 25" {
		t.Fatalf("range 21..30: %s", verdict(rep))
	}
	if rep, _ := s.Verify(ctx, ledger.VerifyOptions{From: 30, To: 60}); verdict(rep) != "missing_position at 41" {
		t.Fatalf("range 30..60: %s", verdict(rep))
	}
}

// TestRestoreReproducesTheChain exports one ledger and restores it into an empty one:
// the same events, ids, times and hashes; and refuses a non-empty ledger or a broken
// export.
func TestRestoreReproducesTheChain(t *testing.T) {
	t.Parallel()
	src, _ := open(t)
	want := seedChain(t, src)
	path := exportJSONL(t, src)
	fromFile := func(path string) func(func(*ledger.Event) error) error {
		return func(yield func(*ledger.Event) error) error {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			return ledger.ReadJSONL(f, yield)
		}
	}
	dst, _ := open(t)
	ctx := testContext(t)
	n, err := dst.Restore(ctx, fromFile(path), nil)
	if err != nil || n != tamperEvents {
		t.Fatalf("Restore: %d events, %v", n, err)
	}
	if got := readAll(t, dst, 0); !reflect.DeepEqual(got, readAll(t, src, 0)) || got[len(got)-1].Hash != want[len(want)-1].Hash {
		t.Fatal("the restored chain differs from the exported one")
	}
	if rep, err := dst.Verify(ctx, ledger.VerifyOptions{}); err != nil || !rep.OK {
		t.Fatalf("Verify after restore: %+v %v", rep, err)
	}
	if _, err := dst.Restore(ctx, fromFile(path), nil); ledger.Code(err) != ledger.CodeInvalidArgument {
		t.Fatalf("restore into a non-empty ledger: %v", err)
	}

	// A broken export stops at the bad event.
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	broken := filepath.Join(t.TempDir(), "broken.jsonl")
	if err := os.WriteFile(broken, []byte(strings.Join(append(lines[:9:9], lines[10:]...), "")), 0o600); err != nil {
		t.Fatal(err)
	}
	empty, _ := open(t)
	n, err = empty.Restore(ctx, fromFile(broken), nil)
	var f *ledger.Finding
	if !errors.As(err, &f) || f.Position != 10 || f.Kind != ledger.FindingMissingPosition || n != 9 {
		t.Fatalf("broken export: %d events, %v", n, err)
	}
}

// TestCheckpointer runs the checkpointer beside appends: it signs every Every events,
// signs the head once more when it stops, and the checkpoints verify.
func TestCheckpointer(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	ctx := testContext(t)
	w := acquire(t, s)
	var head atomic.Pointer[ledger.Head]
	head.Store(&ledger.Head{})
	var published atomic.Int64
	cp := pgstore.NewCheckpointer(pgstore.CheckpointerConfig{Store: s, Key: auditKey, Every: 10, Interval: -1, Poll: pollEvery,
		Head: func() ledger.Head { return *head.Load() }, OnCheckpoint: func(ledger.Checkpoint) { published.Add(1) }})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cp.Run(runCtx) }()

	var prev [32]byte
	var pos int64
	appendN := func(n int) {
		evs := chain(pos, prev, disbursements(n)...)
		if err := w.Append(ctx, evs, nil); err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		pos, prev = last.Position, last.Hash
		head.Store(&ledger.Head{Position: pos, Hash: prev})
	}
	appendN(12)
	waitFor(t, "a checkpoint at position 12", func() bool {
		c, ok, err := s.LatestCheckpoint(ctx)
		return err == nil && ok && c.Position == 12
	})
	appendN(3) // below Every: signed only when the checkpointer stops
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cps, err := s.Checkpoints(ctx, 0, 0)
	if err != nil || len(cps) != 2 || cps[0].Position != 12 || cps[1].Position != 15 || published.Load() != 2 {
		t.Fatalf("checkpoints %+v (%v), published %d", cps, err, published.Load())
	}
	rep, err := s.Verify(ctx, ledger.VerifyOptions{})
	if err != nil || !rep.OK || rep.Checkpoints != 2 {
		t.Fatalf("Verify: %+v %v", rep, err)
	}
	keys, err := s.SigningKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].KeyID != ledger.KeyID(auditKey.Public().(ed25519.PublicKey)) {
		t.Fatalf("keys %+v %v", keys, err)
	}
}

// waitFor polls cond every pollEvery until it holds, failing the test after pollMax.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(pollMax)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", pollMax, what)
		}
		<-tick.C
	}
}
