package natsbus_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
)

func TestToken(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"062": "062", "062.01": "062%2E01", "a b": "a%20b", "*": "%2A", ">": "%3E", "_": "%5F", "a_b-c": "a_b-c",
		"%": "%25", "Chợ": "Ch%E1%BB%A3",
	} {
		if got := natsbus.Token(in); got != want {
			t.Errorf("Token(%q) = %q, want %q", in, got, want)
		}
	}
	seen := map[string]string{}
	for _, typ := range []ledger.EventType{ledger.TypeProgramRegistered, ledger.TypeProjectRegistered, ledger.TypeUnitRegistered,
		ledger.TypeSourceRegistered, ledger.TypeAllocated, ledger.TypeTransferred, ledger.TypeCarriedOver,
		ledger.TypeCancelled, ledger.TypeDisbursed, ledger.TypeAdvanceSettled, ledger.TypeReversed, ledger.TypeUnitReorganized} {
		tok := natsbus.TypeToken(typ)
		if strings.ContainsAny(tok, ".*> ") || seen[tok] != "" {
			t.Errorf("type %s: token %q is not a unique subject token (also %s)", typ, tok, seen[tok])
		}
		seen[tok] = string(typ)
	}
	if got := natsbus.TypeToken(ledger.TypeDisbursed); got != "funds_disbursed" {
		t.Errorf("TypeToken(funds.disbursed) = %q", got)
	}
}

func TestSubject(t *testing.T) {
	t.Parallel()
	units := natsbus.NewUnitTree(&ledger.Catalog{Units: map[string]*ledger.Unit{
		"062":      {ID: "062", Level: ledger.LevelProvince},
		"062.01":   {ID: "062.01", Level: ledger.LevelDistrict, Parent: "062"},
		"06201-01": {ID: "06201-01", Level: ledger.LevelCommune, Parent: "062.01"},
		// From 1/7/2025 a commune hangs under its province: no district token.
		"01882-2025": {ID: "01882-2025", Level: ledger.LevelCommune, Parent: "062"},
	}})
	other := ledger.Unit{ID: "_", Level: ledger.LevelProvince}
	units.Apply(&ledger.Event{Type: ledger.TypeUnitRegistered, Data: ledger.EventData{Unit: &other}})
	for _, c := range []struct {
		e    ledger.Event
		want string
	}{
		{ledger.Event{Type: ledger.TypeUnitRegistered, Data: ledger.EventData{Unit: &other}}, "ledger.ev._._.catalog_unit_registered"},
		{ledger.Event{Type: ledger.TypeAllocated, Data: ledger.EventData{Line: &province}}, "ledger.ev.062._.funds_allocated"},
		{ledger.Event{Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &district}}, "ledger.ev.062.062%2E01.funds_disbursed"},
		{ledger.Event{Type: ledger.TypeReversed, Data: ledger.EventData{Line: &commune}}, "ledger.ev.062.062%2E01.disbursement_reversed"},
		{ledger.Event{Type: ledger.TypeTransferred, Data: ledger.EventData{From: &province, To: &commune}}, "ledger.ev.062._.funds_transferred"},
		{ledger.Event{Type: ledger.TypeAllocated, Data: ledger.EventData{Line: &ledger.Line{Unit: "_"}}}, "ledger.ev.%5F._.funds_allocated"},
		{ledger.Event{Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &ledger.Line{Unit: "01882-2025"}}}, "ledger.ev.062._.funds_disbursed"},
		{ledger.Event{Type: ledger.TypeUnitReorganized, Data: ledger.EventData{Reorganization: &ledger.Reorganization{}}}, "ledger.ev._._.unit_reorganized"},
	} {
		got, err := natsbus.Subject(&c.e, units)
		if err != nil || got != c.want {
			t.Errorf("%s: Subject = %q, %v; want %q", c.e.Type, got, err, c.want)
		}
	}
	if _, err := natsbus.Subject(&ledger.Event{Type: ledger.TypeAllocated, Data: ledger.EventData{Line: &ledger.Line{Unit: "999"}}}, units); err == nil {
		t.Error("a line of an unknown unit got a subject")
	}
}

// TestRelayPublishes: every event once, stream sequence == position, subjects by unit,
// and a consumer filtered on one district sees only that district.
func TestRelayPublishes(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv, nc := inProcess(t)
	if srv.ClientURL() != "" {
		t.Errorf("embedded server without Listen listens on %s", srv.ClientURL())
	}
	l := newLedger(t)
	const n = 3000
	l.disburse(ctx, n/2, 100)
	r := runRelay(t, l, nc, natsbus.RelayConfig{})
	l.disburse(ctx, n/2, 7)
	waitPublished(t, r, l)
	if r.Published() != int64(setupEvents+n) {
		t.Fatalf("published %d, want %d", r.Published(), setupEvents+n)
	}
	checkStream(t, nc, l)

	js, _ := jetstream.New(nc)
	cons, err := js.OrderedConsumer(ctx, natsbus.StreamName, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"ledger.ev.*." + natsbus.Token(district.Unit) + ".funds_disbursed"}})
	if err != nil {
		t.Fatal(err)
	}
	// Lines alternate province, district, commune; district and commune are both in the
	// district.
	want := 2 * n / 3
	got := 0
	for got < want {
		batch, err := cons.Fetch(want-got, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for m := range batch.Messages() {
			var e ledger.Event
			if err := e.UnmarshalJSON(m.Data()); err != nil || e.Type != ledger.TypeDisbursed || e.Data.Line.Unit == province.Unit {
				t.Fatalf("district consumer got %s on %s (%v)", e.Type, m.Subject(), err)
			}
			k++
		}
		if k == 0 {
			t.Fatalf("district consumer got %d events, want %d", got, want)
		}
		got += k
	}
}

// TestRelayNATSDown: the server stops while writes go on; a new server on the same store
// gets the rest, with no gap and no duplicate.
func TestRelayNATSDown(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	srv, port := startServer(t, dir, 0)
	nc := dial(t, srv.ClientURL())
	l := newLedger(t)
	r := runRelay(t, l, nc, natsbus.RelayConfig{})
	f := runFollower(t, dial(t, srv.ClientURL()), "replica", nil)
	l.disburse(ctx, 1000, 50)
	waitPublished(t, r, l)

	srv.Shutdown()
	l.disburse(ctx, 1000, 50)
	if r.Lag() == 0 {
		t.Fatal("no lag while NATS is down")
	}
	startServer(t, dir, port)
	l.disburse(ctx, 500, 50)
	waitPublished(t, r, l)
	checkStream(t, nc, l)
	waitFor(t, "the follower to apply the head", func() bool { return f.Applied() == l.head() })
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	checkApplied(t, f.events, l.events(ctx), 0)
}

// TestRelayRebuildsLostStore: the NATS store is lost; a new empty server gets the whole
// stream from PostgreSQL.
func TestRelayRebuildsLostStore(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	dir := t.TempDir()
	srv, port := startServer(t, dir, 0)
	nc := dial(t, srv.ClientURL())
	l := newLedger(t)
	r := runRelay(t, l, nc, natsbus.RelayConfig{})
	f := runFollower(t, dial(t, srv.ClientURL()), "replica", nil)
	l.disburse(ctx, 2000, 100)
	waitPublished(t, r, l)
	srv.Shutdown()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	startServer(t, filepath.Join(t.TempDir(), "fresh"), port)
	l.disburse(ctx, 10, 10)
	waitPublished(t, r, l)
	checkStream(t, nc, l)
	// The replica's consumer went with the store; the follower makes a new one after
	// what it applied.
	waitFor(t, "the follower to apply the head", func() bool { return f.Applied() == l.head() })
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	checkApplied(t, f.events, l.events(ctx), 0)
}

// TestRelayRestart: a relay stops between commit and publish; a new relay publishes
// what was missed, once. The second one learns the units from PostgreSQL, the third from
// a catalog seed.
func TestRelayRestart(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	_, nc := inProcess(t)
	l := newLedger(t)
	r1 := runRelay(t, l, nc, natsbus.RelayConfig{})
	l.disburse(ctx, 500, 10)
	waitPublished(t, r1, l)
	if err := r1.stop(); err != nil {
		t.Fatal(err)
	}
	l.disburse(ctx, 500, 10)

	r2 := runRelay(t, l, nc, natsbus.RelayConfig{})
	waitPublished(t, r2, l)
	if err := r2.stop(); err != nil {
		t.Fatal(err)
	}
	l.disburse(ctx, 500, 10)
	// A seed as the sequencer would hand it, taken from a state rebuilt by a second
	// sequencer (the running one owns its state).
	seed := ledger.Catalog{Units: map[string]*ledger.Unit{}}
	for _, e := range l.events(ctx) {
		if e.Type == ledger.TypeUnitRegistered {
			seed.Units[e.Data.Unit.ID] = e.Data.Unit
		}
	}
	r3 := runRelay(t, l, nc, natsbus.RelayConfig{Catalog: &seed, CatalogPosition: l.head()})
	l.disburse(ctx, 500, 10)
	waitPublished(t, r3, l)
	checkStream(t, nc, l)
}

// TestRelayRefusesForeignStream: a stream ahead of PostgreSQL, or holding other events,
// stops the relay with an error and keeps the stream as it is.
func TestRelayRefusesForeignStream(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	_, nc := inProcess(t)
	a := newLedger(t)
	ra := runRelay(t, a, nc, natsbus.RelayConfig{})
	a.disburse(ctx, 100, 10)
	waitPublished(t, ra, a)
	if err := ra.stop(); err != nil {
		t.Fatal(err)
	}

	behind := newLedger(t) // fewer events than the stream: a restored PostgreSQL
	behind.disburse(ctx, 50, 10)
	other := newLedger(t) // more events, other ids
	other.disburse(ctx, 200, 10)
	for _, c := range []struct {
		l    *testLedger
		want error
	}{{behind, natsbus.ErrStreamAhead}, {other, natsbus.ErrStreamDiverged}} {
		if err := runRelay(t, c.l, nc, natsbus.RelayConfig{}).stopped(t); !errors.Is(err, c.want) {
			t.Errorf("relay error %v, want %v", err, c.want)
		}
	}
	checkStream(t, nc, a)
}

// TestRelayStopsAtAForeignMessage: a message published into the stream by someone else
// while the relay publishes a long run (most of it without acks) takes a sequence. Every
// event after it is refused, since each names the id of the message it must follow, so
// the stream holds our events up to the foreign message and nothing after it, and the
// relay stops with ErrStreamDiverged.
func TestRelayStopsAtAForeignMessage(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	srv, nc := inProcess(t)
	other := connect(t, srv)
	l := newLedger(t)
	l.disburse(ctx, 20_000, 500)
	r := runRelay(t, l, nc, natsbus.RelayConfig{})
	waitFor(t, "the relay to publish", func() bool { return r.Published() > 0 })
	if err := other.Publish("ledger.ev.x.x.foreign", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	if err := other.Flush(); err != nil {
		t.Fatal(err)
	}
	// Were the run over, the next one meets the foreign message.
	l.disburse(ctx, 10, 10)
	if err := r.stopped(t); !errors.Is(err, natsbus.ErrStreamDiverged) {
		t.Fatalf("relay error %v, want %v", err, natsbus.ErrStreamDiverged)
	}

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, natsbus.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := info.State.LastSeq
	if m, err := stream.GetMsg(ctx, q); err != nil || m.Subject != "ledger.ev.x.x.foreign" {
		t.Fatalf("the stream's last message %d is on %v (%v), want the foreign message", q, m, err)
	}
	evs := l.events(ctx)
	t.Logf("the foreign message is at sequence %d; the store holds %d events", q, len(evs))
	for seq := uint64(1); seq < q; seq++ {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if id := m.Header.Get(jetstream.MsgIDHeader); id != evs[seq-1].ID.String() {
			t.Fatalf("sequence %d holds event %s, want position %d's %s", seq, id, seq, evs[seq-1].ID)
		}
	}
}
