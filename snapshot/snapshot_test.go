package snapshot_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/snapshot"
)

// ledgerOf returns a store on a new database and a running sequencer writing to it.
func ledgerOf(t *testing.T) (*pgstore.Store, *ledger.Sequencer) {
	t.Helper()
	ctx := context.Background()
	url := testenv.DB(t)
	if err := pgstore.Migrate(ctx, url); err != nil {
		t.Fatal(err)
	}
	store, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	w, err := store.AcquireWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: w})
	if err := seq.Load(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
	return store, seq
}

// load submits the demo steps through the sequencer.
func load(t *testing.T, seq *ledger.Sequencer, steps []demo.Step) {
	t.Helper()
	if err := demo.LoadSteps(context.Background(), seq.Submit, steps); err != nil {
		t.Fatal(err)
	}
}

func take(t *testing.T, store *pgstore.Store, opt snapshot.Options) (pgstore.SnapshotInfo, bool) {
	t.Helper()
	info, taken, err := snapshot.Take(context.Background(), store, opt)
	if err != nil {
		t.Fatal(err)
	}
	return info, taken
}

// TestSnapshotsMatchAReplayFromScratch takes a snapshot of the demo up to C3 from
// scratch, then one of the whole demo from the first snapshot and the events after it:
// both must give the bytes of a replay from the first event, and Load returns the newer.
func TestSnapshotsMatchAReplayFromScratch(t *testing.T) {
	ctx := context.Background()
	store, seq := ledgerOf(t)
	before := demo.StepsBeforeC3()
	load(t, seq, before)
	first, taken := take(t, store, snapshot.Options{})
	if !taken || first.Position != seq.Head().Position || first.Hash != seq.Head().Hash {
		t.Fatalf("first snapshot: taken %v at %d, head %d", taken, first.Position, seq.Head().Position)
	}
	if again, taken := take(t, store, snapshot.Options{}); taken || again.ID != first.ID {
		t.Fatalf("a snapshot at the head was taken again: %+v", again)
	}
	load(t, seq, demo.Steps()[len(before):])
	second, taken := take(t, store, snapshot.Options{})
	if !taken || second.Position != seq.Head().Position || second.Position <= first.Position {
		t.Fatalf("second snapshot: taken %v at %d, head %d", taken, second.Position, seq.Head().Position)
	}

	findings, replay, err := snapshot.Verify(ctx, store, []pgstore.SnapshotInfo{second, first}, true, seq.Head().Position, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		if f.Err != nil {
			t.Errorf("snapshot %d at %d does not verify: %v", f.Info.ID, f.Info.Position, f.Err)
		}
	}
	if replay.Position() != seq.Head().Position {
		t.Errorf("replay stopped at %d, head %d", replay.Position(), seq.Head().Position)
	}

	set, info, err := snapshot.Load(ctx, store, slog.New(slog.DiscardHandler))
	if err != nil || set == nil || info.ID != second.ID {
		t.Fatalf("Load = %v, %+v, %v; want snapshot %d", set != nil, info, err, second.ID)
	}
	// The loaded folds answer as the replay's: the progress report of C1 and the lines.
	q := demoQuery()
	got, err1 := set.Progress.Query(q)
	want, err2 := replay.Progress.Query(q)
	if err1 != nil || err2 != nil || !equalJSON(t, got, want) {
		t.Errorf("progress from the snapshot differs from the replay's (%v, %v)", err1, err2)
	}
	if a, b := set.Balances.Position(), replay.Balances.Position(); a != b {
		t.Errorf("balances at %d, replay at %d", a, b)
	}

	// A sequencer loaded from the snapshot stands at the writer's head (what it decides is
	// checked by cmd/ledger's kill-during-snapshot test, which writes through one).
	from := ledger.NewSequencer(ledger.SequencerConfig{Store: readOnly{store}})
	if err := from.LoadFrom(ctx, set.State); err != nil {
		t.Fatal(err)
	}
	if from.Head() != seq.Head() {
		t.Errorf("sequencer loaded from the snapshot at %+v, the writer at %+v", from.Head(), seq.Head())
	}
}

// readOnly is a sequencer store that can be read and never written: a sequencer that
// only loads.
type readOnly struct{ *pgstore.Store }

func (readOnly) Append(context.Context, []*ledger.Event, []ledger.KeyRecord) error {
	panic("readOnly store written")
}

// TestSnapshotsThatDoNotVerifyAreIgnored damages stored snapshots one way each: Load
// skips each with a logged reason and falls back to the older one, then to none, and
// Verify names what is wrong.
func TestSnapshotsThatDoNotVerifyAreIgnored(t *testing.T) {
	ctx := context.Background()
	store, seq := ledgerOf(t)
	before := demo.StepsBeforeC3()
	load(t, seq, before)
	older, _ := take(t, store, snapshot.Options{})
	load(t, seq, demo.Steps()[len(before):])
	newer, _ := take(t, store, snapshot.Options{})

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := store.Pool().Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	loaded := func() int64 {
		t.Helper()
		set, info, err := snapshot.Load(ctx, store, log)
		if err != nil {
			t.Fatal(err)
		}
		if set == nil {
			return 0
		}
		return info.ID
	}

	// One byte of the newer snapshot changed: its checksum fails.
	exec(`UPDATE snapshot_chunks SET data = overlay(data placing '\xff'::bytea from 100 for 1) WHERE snapshot_id = $1`, newer.ID)
	if id := loaded(); id != older.ID {
		t.Fatalf("with the newer snapshot damaged, Load took snapshot %d, want the older %d", id, older.ID)
	}
	if !strings.Contains(logs.String(), "snapshot ignored") || !strings.Contains(logs.String(), "checksum") {
		t.Errorf("the skipped snapshot is not logged with its reason:\n%s", logs.String())
	}
	// The older one from another build (format) and with another chain hash: none loads.
	exec(`UPDATE snapshots SET format = format + 1 WHERE id = $1`, older.ID)
	if id := loaded(); id != 0 {
		t.Fatalf("Load took snapshot %d of another format", id)
	}
	exec(`UPDATE snapshots SET format = format - 1, hash = sha256(hash) WHERE id = $1`, older.ID)
	if id := loaded(); id != 0 {
		t.Fatalf("Load took snapshot %d whose chain hash is not the log's", id)
	}
	infos, err := store.Snapshots(ctx)
	if err != nil || len(infos) != 2 || infos[0].ID != newer.ID {
		t.Fatalf("stored snapshots: %+v, %v", infos, err)
	}
	findings, _, err := snapshot.Verify(ctx, store, infos, false, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"checksum", "chain hash"} {
		if f := findings[i]; f.Err == nil || !strings.Contains(f.Err.Error(), want) {
			t.Errorf("finding for snapshot %d = %v, want one naming the %s", f.Info.ID, f.Err, want)
		}
	}
	// Take ignores both and folds from the first event.
	info, taken := take(t, store, snapshot.Options{})
	if !taken || info.Position != seq.Head().Position {
		t.Fatalf("take after the damage: %+v %v", info, taken)
	}
	if id := loaded(); id != info.ID {
		t.Fatalf("Load took %d, want the new snapshot %d", id, info.ID)
	}
	if infos, err := store.Snapshots(ctx); err != nil || len(infos) != pgstore.SnapshotsKept {
		t.Errorf("snapshots kept: %d (%v), want %d", len(infos), err, pgstore.SnapshotsKept)
	}
}

// TestRunTakesSnapshotsOnSchedule starts the background loop with a small Every: once
// that many events follow, a snapshot appears without anyone asking.
func TestRunTakesSnapshotsOnSchedule(t *testing.T) {
	store, seq := ledgerOf(t)
	ctx, cancel := context.WithCancel(context.Background())
	taken := make(chan pgstore.SnapshotInfo, 8)
	done := make(chan struct{})
	go func() {
		snapshot.Run(ctx, store, slog.New(slog.DiscardHandler), snapshot.Schedule{Every: 50}, 0,
			func() int64 { return seq.Head().Position }, func(i pgstore.SnapshotInfo) { taken <- i })
		close(done)
	}()
	defer func() { cancel(); <-done }()
	load(t, seq, demo.StepsBeforeC3())
	select {
	case i := <-taken:
		if i.Position < 50 {
			t.Errorf("snapshot at %d, before Every events", i.Position)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no snapshot taken in 30 s")
	}
}

// demoQuery is the C1 report: Bắc Kạn by district and project as of the published date.
func demoQuery() projections.Query {
	return projections.Query{GroupBy: []projections.Dimension{projections.GroupDistrict, projections.GroupProject},
		Program: "GNBV", Unit: "06", AsOf: demo.C1AsOf}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !bytes.Equal(ja, jb) {
		t.Logf("got  %s\nwant %s", ja, jb)
		return false
	}
	return len(ja) > 2
}
