package pgstore_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// testTimeout bounds every test's database work.
const testTimeout = 30 * time.Second

// open returns a store on a fresh, migrated database, and the database's URL.
func open(t *testing.T) (*pgstore.Store, string) {
	t.Helper()
	url := testenv.DB(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	s, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, url
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func acquire(t *testing.T, s *pgstore.Store) *pgstore.WriterSession {
	t.Helper()
	w, err := s.AcquireWriter(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

var (
	lineA = ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"}
	lineB = ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "063"}
	day   = ledger.MakeDate(2024, time.March, 15)
	clock = time.Date(2024, time.March, 15, 8, 30, 0, 123456000, time.UTC)
)

// chain is ledgertest.Chain with this package's clock and day.
func chain(head int64, prev [32]byte, events ...*ledger.Event) []*ledger.Event {
	return ledgertest.Chain(head, prev, clock, day, events...)
}

func allocation(l ledger.Line, amount int64) *ledger.Event {
	l2 := l
	return &ledger.Event{Type: ledger.TypeAllocated, Data: ledger.EventData{Line: &l2, Amount: amount, Decision: "QĐ 1/UBND"}}
}

// everyType returns one event of every type with every field its type uses set, texts in
// Vietnamese and with characters the canonical encoding escapes.
func everyType() []*ledger.Event {
	meta := ledger.Metadata{Actor: "kế toán 062", Client: "cli/1.0", IdempotencyKey: "k-1", RequestID: "req-\"1\"\n"}
	validity := ledger.Validity{ValidFrom: ledger.MakeDate(2021, 1, 1), ValidTo: ledger.MakeDate(2025, 12, 31)}
	a, b := lineA, lineB
	disbursed := uuid.Must(uuid.NewV7())
	return []*ledger.Event{
		{Type: ledger.TypeProgramRegistered, Meta: meta, EffectiveDate: validity.ValidFrom,
			Data: ledger.EventData{Program: &ledger.Program{Code: "GNBV", Name: "Giảm nghèo bền vững 2021–2025", Validity: validity}}},
		{Type: ledger.TypeProjectRegistered, Data: ledger.EventData{Project: &ledger.Project{Program: "GNBV", Code: "DA1.TDA1",
			Name: "Tiểu dự án 1", Parent: "DA1", Validity: validity}}},
		{Type: ledger.TypeUnitRegistered, Data: ledger.EventData{Unit: &ledger.Unit{ID: "062", Code: "062", Name: "Tỉnh Bắc Kạn",
			Level: ledger.LevelDistrict, Parent: "06", Validity: ledger.Validity{ValidFrom: ledger.MakeDate(2000, 1, 1)}}}},
		{Type: ledger.TypeSourceRegistered, Data: ledger.EventData{Source: &ledger.Source{Code: "NSTW-DTPT", Name: "Ngân sách trung ương",
			Budget: ledger.BudgetCentral, Nature: ledger.NatureInvestment, Counterpart: true, Validity: validity}}},
		{Type: ledger.TypeAllocated, Meta: meta, Data: ledger.EventData{Line: &a, Amount: ledger.MaxAmount, Decision: "QĐ 12/QĐ-UBND", Note: "giao vốn \\ đợt 1\t😀"}},
		{Type: ledger.TypeTransferred, Data: ledger.EventData{From: &a, To: &b, Amount: 300, Kind: string(ledger.KindSuballocation), Decision: "QĐ 13", Note: "phân bổ"}},
		{Type: ledger.TypeCarriedOver, Data: ledger.EventData{Line: &a, Amount: 50, IntoYear: 2025, Decision: "QĐ 14", Note: "chuyển nguồn"}},
		{Type: ledger.TypeCancelled, Data: ledger.EventData{Line: &a, Amount: 20, Decision: "QĐ 15", Note: "hủy"}},
		{ID: disbursed, Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &b, Amount: 100, Kind: string(ledger.KindAdvance), Payee: "Công ty A",
			Voucher: &ledger.Voucher{Office: "KB062", Type: "C2-03", Number: "0001", Date: day}, Note: "tạm ứng"}},
		{Type: ledger.TypeAdvanceSettled, Data: ledger.EventData{Line: &b, EventID: disbursed.String(), Amount: 60,
			Voucher: &ledger.Voucher{Office: "KB062", Type: "C2-03", Number: "0002", Date: day}, Note: "thu hồi tạm ứng"}},
		{Type: ledger.TypeReversed, Data: ledger.EventData{Line: &b, EventID: disbursed.String(), Amount: 10, AdvanceReversed: 10, Reason: "sai số tiền"}},
	}
}

func readAll(t *testing.T, s *pgstore.Store, after int64) []*ledger.Event {
	t.Helper()
	var got []*ledger.Event
	if err := s.ReadFrom(testContext(t), after, func(e *ledger.Event) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAppendReadRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	want := chain(0, [32]byte{}, everyType()...)
	// Two appends, so the second continues a chain the store already holds.
	if err := w.Append(ctx, want[:4], nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, want[4:], nil); err != nil {
		t.Fatal(err)
	}

	got := readAll(t, s, 0)
	if len(got) != len(want) {
		t.Fatalf("read %d events, want %d", len(got), len(want))
	}
	var buf []byte
	for i, e := range got {
		if !reflect.DeepEqual(e, want[i]) {
			t.Errorf("event %d (%s) read back differs:\n got %+v\nwant %+v", i+1, want[i].Type, e, want[i])
		}
		var h [32]byte
		if h, buf = ledger.ChainHash(buf, e.PrevHash, e); h != e.Hash {
			t.Errorf("event %d (%s) read back does not re-hash to its hash", i+1, e.Type)
		}
	}

	if got := readAll(t, s, 9); len(got) != 2 || got[0].Position != 10 {
		t.Errorf("ReadFrom(9) returned %d events", len(got))
	}
	pos, hash, err := s.Head(ctx)
	if err != nil || pos != 11 || hash != want[10].Hash {
		t.Errorf("Head = %d, %x, %v; want 11, %x", pos, hash, err, want[10].Hash)
	}
	e, err := s.Event(ctx, want[8].ID)
	if err != nil || !reflect.DeepEqual(e, want[8]) {
		t.Errorf("Event(%s) = %+v, %v", want[8].ID, e, err)
	}
	if _, err := s.Event(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Event(unknown) error = %v, want ErrNotFound", err)
	}
	evs, err := s.Events(ctx, 3, 2)
	if err != nil || len(evs) != 2 || evs[0].Position != 4 || evs[1].Position != 5 {
		t.Errorf("Events(3, 2) = %d events, %v", len(evs), err)
	}
	evs, err = s.EventsRange(ctx, 5, 7)
	if err != nil || len(evs) != 3 || evs[0].Position != 5 || evs[2].Position != 7 {
		t.Errorf("EventsRange(5, 7) = %d events, %v", len(evs), err)
	}
	if _, err := s.EventsRange(ctx, 1, pgstore.EventsRangeMax+1); ledger.Code(err) != ledger.CodeInvalidArgument {
		t.Errorf("EventsRange beyond the limit: error %v", err)
	}
	// Line B is credited by the transfer (counter_line) and named by the disbursement,
	// the settlement and the reversal.
	assertPositions(t, "LineEvents(B)", must(s.LineEvents(ctx, lineB.ID(), 0, 0)), 6, 9, 10, 11)
	assertPositions(t, "LineEvents(B, after 6, limit 2)", must(s.LineEvents(ctx, lineB.ID(), 6, 2)), 9, 10)
	assertPositions(t, "LineEvents(A)", must(s.LineEvents(ctx, lineA.ID(), 0, 0)), 5, 6, 7, 8)
	assertPositions(t, "LineEvents(unknown)", must(s.LineEvents(ctx, "X:2024:S:P:U", 0, 0)))
}

func must(evs []*ledger.Event, err error) []*ledger.Event {
	if err != nil {
		panic(err)
	}
	return evs
}

func assertPositions(t *testing.T, what string, evs []*ledger.Event, want ...int64) {
	t.Helper()
	got := make([]int64, len(evs))
	for i, e := range evs {
		got[i] = e.Position
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: positions %v, want %v", what, got, want)
	}
}

func TestEmptyStore(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	pos, hash, err := s.Head(testContext(t))
	if err != nil || pos != 0 || hash != [32]byte{} {
		t.Errorf("Head of an empty store = %d, %x, %v", pos, hash, err)
	}
	if got := readAll(t, s, 0); len(got) != 0 {
		t.Errorf("ReadFrom on an empty store returned %d events", len(got))
	}
}

// TestReadFromPages reads across a page boundary and checks that no event is skipped or
// repeated.
func TestReadFromPages(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	w := acquire(t, s)
	const n = pgstore.ReadPageEvents + 3
	evs := make([]*ledger.Event, n)
	for i := range evs {
		evs[i] = allocation(lineA, int64(i+1))
	}
	chain(0, [32]byte{}, evs...)
	if err := w.Append(testContext(t), evs, nil); err != nil {
		t.Fatal(err)
	}
	next := int64(1)
	err := s.ReadFrom(testContext(t), 0, func(e *ledger.Event) error {
		if e.Position != next || e.Data.Amount != next {
			return fmt.Errorf("got position %d amount %d, want %d", e.Position, e.Data.Amount, next)
		}
		next++
		return nil
	})
	if err != nil || next != n+1 {
		t.Fatalf("ReadFrom stopped at %d of %d: %v", next-1, n, err)
	}
	stop := errors.New("stop")
	if err := s.ReadFrom(testContext(t), 0, func(*ledger.Event) error { return stop }); err != stop {
		t.Errorf("ReadFrom returned %v, want fn's error unwrapped", err)
	}
}

func TestKeysRoundTrip(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	evs := chain(0, [32]byte{}, allocation(lineA, 1), allocation(lineA, 2), allocation(lineA, 3))
	keys := []ledger.KeyRecord{
		{Key: "k1", RequestHash: [32]byte{1, 2, 3}, First: 1, Last: 2,
			Rejections: []byte(`[{"index":2,"code":"invalid_argument","field":"commands[2].amount","message":"must be positive"}]`)},
		{Key: "k-2 ý", RequestHash: [32]byte{31: 9}, First: 3, Last: 3},
	}
	if err := w.Append(ctx, evs, keys); err != nil {
		t.Fatal(err)
	}
	var got []ledger.KeyRecord
	if err := w.ReadKeys(ctx, 0, func(k ledger.KeyRecord) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("read %d keys, want 2", len(got))
	}
	for i := range keys {
		g, k := got[i], keys[i]
		if g.Key != k.Key || g.RequestHash != k.RequestHash || g.First != k.First || g.Last != k.Last {
			t.Errorf("key %d read back as %+v, want %+v", i, g, k)
		}
		if (k.Rejections == nil) != (g.Rejections == nil) {
			t.Errorf("key %d rejections %q, want %q", i, g.Rejections, k.Rejections)
		}
		if k.Rejections != nil {
			// jsonb re-formats the document; compare canonical forms.
			a, _ := ledger.Canonicalize(g.Rejections)
			b, _ := ledger.Canonicalize(k.Rejections)
			if string(a) != string(b) {
				t.Errorf("key %d rejections %s, want %s", i, a, b)
			}
		}
	}
	got = got[:0]
	if err := w.ReadKeys(ctx, 1, func(k ledger.KeyRecord) error { got = append(got, k); return nil }); err != nil || len(got) != 1 || got[0].Key != "k-2 ý" {
		t.Errorf("ReadKeys(1) = %+v, %v", got, err)
	}
	// The primary key is the backstop of the sequencer's key set.
	more := chain(3, evs[2].Hash, allocation(lineA, 4))
	if err := w.Append(ctx, more, keys[1:]); err == nil {
		t.Error("a key recorded twice was accepted")
	}
	if got := readAll(t, s, 3); len(got) != 0 {
		t.Errorf("a failed append stored %d events", len(got))
	}
}

// exec runs sql on a new session of url, after the optional setup statements, and returns
// its error.
func exec(t *testing.T, url string, sql string, setup ...string) error {
	t.Helper()
	ctx := testContext(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range setup {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	_, err = conn.Exec(ctx, sql)
	return err
}

func TestImmutability(t *testing.T) {
	t.Parallel()
	s, url := open(t)
	w := acquire(t, s)
	evs := chain(0, [32]byte{}, allocation(lineA, 100))
	if err := w.Append(testContext(t), evs, []ledger.KeyRecord{{Key: "k", First: 1, Last: 1}}); err != nil {
		t.Fatal(err)
	}
	changes := []string{
		`UPDATE events SET amount = 1`,
		`DELETE FROM events`,
		`TRUNCATE events`,
		`UPDATE idempotency_keys SET last_position = 2`,
		`DELETE FROM idempotency_keys`,
		`TRUNCATE idempotency_keys`,
	}
	for _, sql := range changes {
		// As the superuser the tests connect as: only the triggers stand in the way.
		err := exec(t, url, sql)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "P0001" {
			t.Errorf("%s as superuser: error %v, want the trigger's exception", sql, err)
		}
		// As the application role: no privilege at all.
		err = exec(t, url, sql, `SET ROLE ledger_app`)
		if !errors.As(err, &pgErr) || pgErr.Code != "42501" {
			t.Errorf("%s as ledger_app: error %v, want permission denied (42501)", sql, err)
		}
	}
	err := exec(t, url, `UPDATE events SET amount = 1`)
	if err == nil || !strings.Contains(err.Error(), "events are immutable: record a reversing event") {
		t.Errorf("trigger message: %v", err)
	}
	for _, sql := range []string{`SELECT count(*) FROM events`, `SELECT count(*) FROM idempotency_keys`, `SELECT sum(delta) FROM postings`} {
		if err := exec(t, url, sql, `SET ROLE ledger_app`); err != nil {
			t.Errorf("%s as ledger_app: %v", sql, err)
		}
	}
	if got := readAll(t, s, 0); len(got) != 1 || !reflect.DeepEqual(got[0], evs[0]) {
		t.Error("the event changed")
	}
}

// TestAppRoleSuffices runs the whole store as ledger_app: its grants are enough to
// migrate-check, append and read.
func TestAppRoleSuffices(t *testing.T) {
	t.Parallel()
	_, url := open(t)
	appURL := url + "&options=-c%20role%3Dledger_app"
	ctx := testContext(t)
	if err := pgstore.Migrate(ctx, appURL); err != nil {
		t.Fatalf("Migrate as ledger_app on an up-to-date schema: %v", err)
	}
	s, err := pgstore.Open(ctx, appURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var role string
	if err := s.Pool().QueryRow(ctx, `SELECT current_user`).Scan(&role); err != nil || role != "ledger_app" {
		t.Fatalf("current_user = %q, %v", role, err)
	}
	w := acquire(t, s)
	evs := chain(0, [32]byte{}, everyType()...)
	if err := w.Append(ctx, evs, []ledger.KeyRecord{{Key: "k", First: 1, Last: 11}}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, 0); len(got) != len(evs) {
		t.Errorf("read %d events as ledger_app", len(got))
	}
}

func TestWriterLock(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	first, err := s.AcquireWriter(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	// A standby with a deadline gives up.
	short, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	if w, err := s.AcquireWriter(short); !errors.Is(err, context.DeadlineExceeded) {
		if w != nil {
			w.Close()
		}
		t.Fatalf("AcquireWriter while the lock is held: %v, want a deadline error", err)
	}
	// A standby without one waits until the writer closes.
	type result struct {
		w   *pgstore.WriterSession
		err error
	}
	standby := make(chan result, 1)
	go func() {
		w, err := s.AcquireWriter(testContext(t))
		standby <- result{w, err}
	}()
	select {
	case r := <-standby:
		t.Fatalf("a second writer got the lock while the first held it: %v", r.err)
	case <-time.After(time.Second):
	}
	first.Close()
	if err := first.Append(testContext(t), chain(0, [32]byte{}, allocation(lineA, 1)), nil); !errors.Is(err, pgstore.ErrSessionClosed) {
		t.Errorf("Append after Close: %v, want ErrSessionClosed", err)
	}
	select {
	case r := <-standby:
		if r.err != nil {
			t.Fatal(r.err)
		}
		defer r.w.Close()
		if err := r.w.Append(testContext(t), chain(0, [32]byte{}, allocation(lineA, 1)), nil); err != nil {
			t.Errorf("the new writer cannot append: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the standby did not take the lock after Close")
	}
}

func TestFencing(t *testing.T) {
	t.Parallel()
	s, url := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	evs := chain(0, [32]byte{}, allocation(lineA, 1), allocation(lineA, 2))
	if err := w.Append(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	// A stale writer that believes the head is 1 tries to record position 2.
	stale := chain(1, evs[0].Hash, allocation(lineA, 99), allocation(lineA, 98))
	err := w.Append(ctx, stale, nil)
	if !errors.Is(err, pgstore.ErrFenced) || ledger.Code(err) != ledger.CodeUnavailable {
		t.Fatalf("duplicate position: error %v, want ErrFenced", err)
	}
	if got := readAll(t, s, 0); len(got) != 2 || got[1].Data.Amount != 2 {
		t.Fatalf("after a fenced append the store holds %d events", len(got))
	}
	// The session survives a rejected transaction.
	next := chain(2, evs[1].Hash, allocation(lineA, 3))
	if err := w.Append(ctx, next, nil); err != nil {
		t.Fatalf("append after a fenced one: %v", err)
	}
	// The writer knows its head; the primary key stays the backstop when a row reaches the
	// table behind its back (here a superuser's INSERT) at the position it writes next.
	if err := exec(t, url, `INSERT INTO events (position, id, type, effective_date, recorded_at, data, metadata, prev_hash, hash)
		VALUES (4, gen_random_uuid(), 'funds.allocated', '2024-03-15', now(), '{}', '{}', decode(repeat('00', 32), 'hex'),
		decode(repeat('00', 32), 'hex'))`); err != nil {
		t.Fatal(err)
	}
	err = w.Append(ctx, chain(3, next[0].Hash, allocation(lineA, 4)), nil)
	if !errors.Is(err, pgstore.ErrFenced) {
		t.Fatalf("a position another session recorded: error %v, want ErrFenced", err)
	}
	if err := w.Append(ctx, chain(4, [32]byte{}, allocation(lineA, 5)), nil); err != nil {
		t.Errorf("append after the head read again: %v", err)
	}
}

func TestDuplicateVoucher(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	disburse := func(number string) *ledger.Event {
		l := lineA
		return &ledger.Event{Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &l, Amount: 5, Kind: string(ledger.KindPayment),
			Payee: "A", Voucher: &ledger.Voucher{Office: "KB062", Type: "C2-02", Number: number, Date: day}}}
	}
	evs := chain(0, [32]byte{}, allocation(lineA, 100), disburse("7"))
	if err := w.Append(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	err := w.Append(ctx, chain(2, evs[1].Hash, disburse("8"), disburse("7")), nil)
	if ledger.Code(err) != ledger.CodeInvalidArgument || ledger.Field(err) != "voucher" {
		t.Fatalf("duplicate voucher: error %v (code %s, field %q), want invalid_argument on voucher", err, ledger.Code(err), ledger.Field(err))
	}
	if got := readAll(t, s, 0); len(got) != 2 {
		t.Errorf("the failed batch stored events: %d", len(got))
	}
}

// TestReconnect kills the writer's session: Append fails once, then reconnects, takes
// the lock again and appends.
func TestReconnect(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	evs := chain(0, [32]byte{}, allocation(lineA, 1))
	if err := w.Append(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	var killed int
	if err := s.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'ledger writer'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the writer session: %d, %v", killed, err)
	}
	next := chain(1, evs[0].Hash, allocation(lineA, 2))
	if err := w.Append(ctx, next, nil); err == nil {
		t.Fatal("Append on a killed session succeeded")
	}
	if err := w.Append(ctx, next, nil); err != nil {
		t.Fatalf("Append after reconnecting: %v", err)
	}
	var holders int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND objid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		pgstore.WriterLockKey).Scan(&holders); err != nil || holders != 1 {
		t.Errorf("writer lock holders after reconnecting: %d, %v", holders, err)
	}
}

func TestPostings(t *testing.T) {
	t.Parallel()
	s, _ := open(t)
	w := acquire(t, s)
	ctx := testContext(t)
	evs := chain(0, [32]byte{}, everyType()...)
	if err := w.Append(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	// A: +MaxAmount −300 (transfer out) 0 (carry-over) −20 (cancelled).
	// B: +300 (transfer in) −100 (disbursed) 0 (the advance) 0 (settled) +10 (reversed)
	// 0 (the advance reversed).
	rows, err := s.Pool().Query(ctx, `SELECT unit, sum(delta)::bigint, count(*) FROM postings GROUP BY unit ORDER BY unit`)
	if err != nil {
		t.Fatal(err)
	}
	type sum struct {
		unit     string
		delta, n int64
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (sum, error) {
		var s sum
		return s, r.Scan(&s.unit, &s.delta, &s.n)
	})
	want := []sum{{"062", ledger.MaxAmount - 300 - 20, 4}, {"063", 300 - 100 + 10, 6}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("postings by unit = %v, %v; want %v", got, err, want)
	}
	var kinds string
	if err := s.Pool().QueryRow(ctx, `SELECT string_agg(kind || ':' || delta || ':' || year || ':' || project, ',' ORDER BY position, delta)
		FROM postings`).Scan(&kinds); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("allocation:%d:2024:DA1,transfer_out:-300:2024:DA1,transfer_in:300:2024:DA1,carry_over:0:2024:DA1,"+
		"cancellation:-20:2024:DA1,disbursement:-100:2024:DA1,advance:0:2024:DA1,settlement:0:2024:DA1,"+
		"advance_reversal:0:2024:DA1,reversal:10:2024:DA1", ledger.MaxAmount); kinds != want {
		t.Errorf("postings:\n got %s\nwant %s", kinds, want)
	}
}
