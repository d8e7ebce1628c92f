package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/ledgertest"
)

// EventReader is the API's read interface (api.EventReader), declared again here so that
// this package does not import the API. The API's tests check that MemStore satisfies the
// API's own declaration, and cmd/ledger that *pgstore.Store does.
type EventReader interface {
	Events(ctx context.Context, after int64, limit int) ([]*ledger.Event, error)
	EventsRange(ctx context.Context, first, last int64) ([]*ledger.Event, error)
	Event(ctx context.Context, id uuid.UUID) (*ledger.Event, error)
	LineEvents(ctx context.Context, lineID string, after int64, limit int) ([]*ledger.Event, error)
}

// Stores is one new, empty event store under test, seen through the two interfaces the
// suite checks, with the limits it documents.
type Stores struct {
	// Store appends and reads back, as the sequencer uses it.
	Store ledger.WriterSession
	// Events reads the same store, as the API uses it.
	Events EventReader
	// EventsLimitMax is the most events one Events or LineEvents call returns; a limit
	// outside 1..EventsLimitMax means EventsLimitMax.
	EventsLimitMax int
	// EventsRangeMax is the longest range EventsRange accepts.
	EventsRangeMax int64
}

// testTimeout bounds the store calls of one subtest.
const testTimeout = 60 * time.Second

// Run runs the conformance suite: one parallel subtest per behaviour, each on the new,
// empty store that open returns for it. open may call t.Fatal and register cleanups on
// the subtest's t.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s Stores)
	}{
		{"EmptyStore", testEmptyStore},
		{"RoundTripEveryField", testRoundTrip},
		{"ReadsAreCopies", testReadsAreCopies},
		{"PositionsFollowTheHead", testPositionsFollowHead},
		{"DuplicateEventIDRefused", testDuplicateEventID},
		{"DuplicateIdempotencyKeyRefused", testDuplicateKey},
		{"DuplicateVoucherRefused", testDuplicateVoucher},
		{"MalformedRowsRefused", testMalformed},
		{"ReadFromAfter", testReadFrom},
		{"ReadKeysByFirstPosition", testReadKeys},
		{"EventsPages", testEventsPages},
		{"LimitOutsideRangeMeansMax", testLimitClamp},
		{"EventsRangeBounds", testEventsRange},
		{"EventByID", testEventByID},
		{"LineEventsBothSidesOfATransfer", testLineEvents},
		{"SequencerRestartsFromStore", testSequencerRestart},
		{"LookupKeys", testLookupKeys},
		{"SequencerKeysOlderThanItsCache", testKeysOlderThanCache},
		{"LookupVouchers", testLookupVouchers},
		{"LookupDisbursements", testLookupDisbursements},
		{"SequencerReferencesOlderThanItsCaches", testRefsOlderThanCaches},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if s.Store == nil || s.Events == nil || s.EventsLimitMax < 1 || s.EventsRangeMax < 1 {
				t.Fatalf("open returned an incomplete Stores: %+v", s)
			}
			tc.fn(t, s)
		})
	}
}

// The fixture: two lines of one district and a fixed clock, so that events, ids aside,
// are the same on every run.
var (
	lineA = ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"}
	lineB = ledger.Line{Program: "GNBV", Year: 2024, Source: "NSTW-DTPT", Project: "DA1", Unit: "063"}
	// lineA2025 differs from lineA in its plan year only: another line.
	lineA2025 = ledger.Line{Program: "GNBV", Year: 2025, Source: "NSTW-DTPT", Project: "DA1", Unit: "062"}
	day       = ledger.MakeDate(2024, time.March, 15)
	clock     = time.Date(2024, time.March, 15, 8, 30, 0, 123456000, time.UTC)
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// chain is ledgertest.Chain with this package's clock and day.
func chain(head int64, prev [32]byte, events ...*ledger.Event) []*ledger.Event {
	return ledgertest.Chain(head, prev, clock, day, events...)
}

// after chains events after the last of stored (after the genesis when it is empty).
func after(stored []*ledger.Event, events ...*ledger.Event) []*ledger.Event {
	if len(stored) == 0 {
		return chain(0, ledger.GenesisHash, events...)
	}
	last := stored[len(stored)-1]
	return chain(last.Position, last.Hash, events...)
}

func allocation(l ledger.Line, amount int64) *ledger.Event {
	return &ledger.Event{Type: ledger.TypeAllocated, Data: ledger.EventData{Line: &l, Amount: amount, Decision: "QĐ 1/UBND"}}
}

func transfer(from, to ledger.Line, amount int64) *ledger.Event {
	return &ledger.Event{Type: ledger.TypeTransferred, Data: ledger.EventData{From: &from, To: &to, Amount: amount,
		Kind: string(ledger.KindSuballocation), Decision: "QĐ 2/UBND"}}
}

func voucher(number string) *ledger.Voucher {
	return &ledger.Voucher{Office: "KB062", Type: "C2-02", Number: number, Date: day}
}

func disbursement(l ledger.Line, amount int64, v *ledger.Voucher) *ledger.Event {
	return &ledger.Event{Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &l, Amount: amount,
		Kind: string(ledger.KindPayment), Payee: "Công ty A", Voucher: v}}
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
		{Type: ledger.TypeAllocated, Meta: meta, Data: ledger.EventData{Line: &a, Amount: ledger.MaxAmount, Decision: "QĐ 12/QĐ-UBND",
			Note: "giao vốn \\ đợt 1\t😀"}},
		{Type: ledger.TypeTransferred, Data: ledger.EventData{From: &a, To: &b, Amount: 300, Kind: string(ledger.KindSuballocation),
			Decision: "QĐ 13", Note: "phân bổ"}},
		{Type: ledger.TypeCarriedOver, Data: ledger.EventData{Line: &a, Amount: 50, IntoYear: 2025, Decision: "QĐ 14", Note: "chuyển nguồn"}},
		{Type: ledger.TypeCancelled, Data: ledger.EventData{Line: &a, Amount: 20, Decision: "QĐ 15", Note: "hủy"}},
		{ID: disbursed, Type: ledger.TypeDisbursed, Data: ledger.EventData{Line: &b, Amount: 100, Kind: string(ledger.KindAdvance),
			Payee: "Công ty A", Voucher: &ledger.Voucher{Office: "KB062", Type: "C2-03", Number: "0001", Date: day}, Note: "tạm ứng"}},
		{Type: ledger.TypeAdvanceSettled, Data: ledger.EventData{Line: &b, EventID: disbursed.String(), Amount: 60,
			Voucher: &ledger.Voucher{Office: "KB062", Type: "C2-03", Number: "0002", Date: day}, Note: "thu hồi tạm ứng"}},
		{Type: ledger.TypeReversed, Meta: meta, Data: ledger.EventData{Line: &b, EventID: disbursed.String(), Amount: 10,
			Reason: "sai số tiền"}},
	}
}

// mustAppend appends events and keys and fails the test on an error.
func mustAppend(t *testing.T, s Stores, events []*ledger.Event, keys ...ledger.KeyRecord) {
	t.Helper()
	if err := s.Store.Append(testContext(t), events, keys); err != nil {
		t.Fatalf("append at position %d: %v", events[0].Position, err)
	}
}

func readAll(t *testing.T, s Stores, after int64) []*ledger.Event {
	t.Helper()
	var got []*ledger.Event
	if err := s.Store.ReadFrom(testContext(t), after, func(e *ledger.Event) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatalf("ReadFrom(%d): %v", after, err)
	}
	return got
}

func readKeys(t *testing.T, s Stores, after int64) []ledger.KeyRecord {
	t.Helper()
	var got []ledger.KeyRecord
	if err := s.Store.ReadKeys(testContext(t), after, func(k ledger.KeyRecord) error {
		got = append(got, k)
		return nil
	}); err != nil {
		t.Fatalf("ReadKeys(%d): %v", after, err)
	}
	return got
}

// must returns a function that returns the events of a read, failing t if the read
// failed: must(t)(s.Events.Events(ctx, 0, 10)).
func must(t *testing.T) func([]*ledger.Event, error) []*ledger.Event {
	return func(evs []*ledger.Event, err error) []*ledger.Event {
		t.Helper()
		if err != nil {
			t.Fatalf("read events: %v", err)
		}
		return evs
	}
}

func positions(evs []*ledger.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.Position
	}
	return out
}

// span returns the positions first..last (none when last < first).
func span(first, last int64) []int64 {
	var out []int64
	for p := first; p <= last; p++ {
		out = append(out, p)
	}
	return out
}

func assertPositions(t *testing.T, what string, evs []*ledger.Event, want []int64) {
	t.Helper()
	if got := positions(evs); !slices.Equal(got, want) {
		t.Errorf("%s: positions %v, want %v", what, got, want)
	}
}

// assertEvents checks that got equals want field for field, and that every event still
// hashes to its hash.
func assertEvents(t *testing.T, what string, got, want []*ledger.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events (positions %v), want %d", what, len(got), positions(got), len(want))
	}
	var buf []byte
	for i, e := range got {
		if !reflect.DeepEqual(e, want[i]) {
			t.Errorf("%s: event %d (%s) read back differs:\n got %+v\nwant %+v", what, want[i].Position, want[i].Type, e, want[i])
		}
		var h [32]byte
		if h, buf = ledger.ChainHash(buf, e.PrevHash, e); h != e.Hash {
			t.Errorf("%s: event %d (%s) read back does not hash to its hash", what, e.Position, e.Type)
		}
	}
}

// contents is what a store holds, to check that a refused append stored nothing.
type contents struct {
	events []*ledger.Event
	keys   []ledger.KeyRecord
}

func snapshot(t *testing.T, s Stores) contents {
	t.Helper()
	return contents{readAll(t, s, 0), readKeys(t, s, 0)}
}

// assertRefused appends events and keys, wants an error, and checks that the store still
// holds exactly before. It returns the error.
func assertRefused(t *testing.T, s Stores, before contents, events []*ledger.Event, keys ...ledger.KeyRecord) error {
	t.Helper()
	err := s.Store.Append(testContext(t), events, keys)
	if err == nil {
		t.Fatalf("append of positions %v with %d keys was accepted", positions(events), len(keys))
	}
	if now := snapshot(t, s); !reflect.DeepEqual(now, before) {
		t.Fatalf("a refused append (%v) changed the store: %d events and %d keys, want %d and %d",
			err, len(now.events), len(now.keys), len(before.events), len(before.keys))
	}
	return err
}

func testEmptyStore(t *testing.T, s Stores) {
	ctx := testContext(t)
	if got := readAll(t, s, 0); len(got) != 0 {
		t.Errorf("ReadFrom(0) on an empty store: %d events", len(got))
	}
	if got := readKeys(t, s, 0); len(got) != 0 {
		t.Errorf("ReadKeys(0) on an empty store: %d key records", len(got))
	}
	assertPositions(t, "Events(0, 10)", must(t)(s.Events.Events(ctx, 0, 10)), nil)
	assertPositions(t, "EventsRange(1, 10)", must(t)(s.Events.EventsRange(ctx, 1, 10)), nil)
	assertPositions(t, "LineEvents(A)", must(t)(s.Events.LineEvents(ctx, lineA.ID(), 0, 10)), nil)
	if _, err := s.Events.Event(ctx, uuid.Must(uuid.NewV7())); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("Event on an empty store: %v, want ErrNotFound", err)
	}
	// An empty append is no transaction at all.
	if err := s.Store.Append(ctx, nil, nil); err != nil {
		t.Errorf("empty Append: %v", err)
	}
	if got := readAll(t, s, 0); len(got) != 0 {
		t.Errorf("an empty Append stored %d events", len(got))
	}
}

// testRoundTrip appends one event of every type, every field set, in two batches (the
// second continues a chain the store holds) and reads it back through every reader.
func testRoundTrip(t *testing.T, s Stores) {
	ctx := testContext(t)
	want := chain(0, ledger.GenesisHash, everyType()...)
	mustAppend(t, s, want[:4])
	mustAppend(t, s, want[4:])

	assertEvents(t, "ReadFrom(0)", readAll(t, s, 0), want)
	assertEvents(t, "ReadFrom(4)", readAll(t, s, 4), want[4:])
	assertEvents(t, "Events(0, max)", must(t)(s.Events.Events(ctx, 0, s.EventsLimitMax)), want)
	assertEvents(t, "EventsRange(1, head)", must(t)(s.Events.EventsRange(ctx, 1, int64(len(want)))), want)
	for _, w := range want {
		e, err := s.Events.Event(ctx, w.ID)
		if err != nil {
			t.Fatalf("Event(%s): %v", w.ID, err)
		}
		assertEvents(t, fmt.Sprintf("Event(%s)", w.ID), []*ledger.Event{e}, []*ledger.Event{w})
	}
	for _, l := range []ledger.Line{lineA, lineB} {
		var wantLine []*ledger.Event
		for _, w := range want {
			if touches(w, l) {
				wantLine = append(wantLine, w)
			}
		}
		assertEvents(t, "LineEvents("+l.ID()+")", must(t)(s.Events.LineEvents(ctx, l.ID(), 0, s.EventsLimitMax)), wantLine)
	}
}

// touches reports whether e debits or credits l.
func touches(e *ledger.Event, l ledger.Line) bool {
	d := &e.Data
	return d.Line != nil && *d.Line == l || d.From != nil && *d.From == l || d.To != nil && *d.To == l
}

// testReadsAreCopies changes the events given to Append and the events every reader
// returns, and checks that the store did not change: a store hands out what it holds
// as copies, never its own memory.
func testReadsAreCopies(t *testing.T, s Stores) {
	ctx := testContext(t)
	evs := chain(0, ledger.GenesisHash, allocation(lineA, 100), transfer(lineA, lineB, 10))
	mustAppend(t, s, evs)
	evs[0].Data.Amount, evs[0].Data.Line.Unit, evs[1].Data.To.Unit = 1, "990", "991"

	read := readAll(t, s, 0)
	read[0].Data.Amount, read[0].Data.Line.Unit = 2, "992"
	page := must(t)(s.Events.Events(ctx, 0, 10))
	page[1].Data.From.Unit, page[1].Meta.Actor = "993", "someone"
	rng := must(t)(s.Events.EventsRange(ctx, 1, 2))
	rng[0].Data.Decision = "changed"
	byLine := must(t)(s.Events.LineEvents(ctx, lineB.ID(), 0, 10))
	if len(byLine) != 1 {
		t.Fatalf("LineEvents(B): %d events, want 1", len(byLine))
	}
	byLine[0].Data.To.Unit = "994"
	one, err := s.Events.Event(ctx, evs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	one.Data.Amount, one.Hash[0] = 3, one.Hash[0]+1

	got := readAll(t, s, 0)
	if len(got) != 2 {
		t.Fatalf("ReadFrom(0): %d events, want 2", len(got))
	}
	var buf []byte
	for _, e := range got {
		var h [32]byte
		if h, buf = ledger.ChainHash(buf, e.PrevHash, e); h != e.Hash {
			t.Errorf("event %d changed in the store: %+v", e.Position, e)
		}
	}
	if d := got[0].Data; d.Amount != 100 || *d.Line != lineA {
		t.Errorf("event 1 holds %d on %s, want 100 on %s", d.Amount, d.Line.ID(), lineA.ID())
	}
	if d := got[1].Data; d.Amount != 10 || *d.From != lineA || *d.To != lineB || got[1].Meta.Actor != "" {
		t.Errorf("event 2 holds %d from %s to %s by %q, want 10 from %s to %s", d.Amount, d.From.ID(), d.To.ID(),
			got[1].Meta.Actor, lineA.ID(), lineB.ID())
	}
}

// testPositionsFollowHead: a batch must continue the head one position at a time. A
// gap, a position already recorded or a batch out of order is refused whole, with its
// keys, and the store takes the right batch afterwards.
func testPositionsFollowHead(t *testing.T, s Stores) {
	key := ledger.KeyRecord{Key: "refused", First: 3, Last: 3}
	// The first event of a store is at position 1.
	assertRefused(t, s, contents{}, chain(1, ledger.GenesisHash, allocation(lineA, 1)), ledger.KeyRecord{Key: "refused", First: 2, Last: 2})
	base := chain(0, ledger.GenesisHash, allocation(lineA, 1), allocation(lineA, 2))
	mustAppend(t, s, base, ledger.KeyRecord{Key: "base", First: 1, Last: 2})
	before := snapshot(t, s)

	for _, c := range []struct {
		name   string
		events func() []*ledger.Event
	}{
		{"a gap after the head", func() []*ledger.Event { return chain(3, base[1].Hash, allocation(lineA, 3)) }},
		{"the head again", func() []*ledger.Event { return chain(1, base[0].Hash, allocation(lineA, 3), allocation(lineA, 4)) }},
		{"position 1 again", func() []*ledger.Event { return chain(0, ledger.GenesisHash, allocation(lineA, 3)) }},
		{"a gap inside the batch", func() []*ledger.Event {
			evs := after(base, allocation(lineA, 3), allocation(lineA, 4), allocation(lineA, 5))
			return []*ledger.Event{evs[0], evs[2]}
		}},
		{"out of order", func() []*ledger.Event {
			evs := after(base, allocation(lineA, 3), allocation(lineA, 4))
			return []*ledger.Event{evs[1], evs[0]}
		}},
		{"one position twice", func() []*ledger.Event {
			return append(after(base, allocation(lineA, 3)), after(base, allocation(lineA, 4))...)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertRefused(t, s, before, c.events(), key)
		})
	}
	mustAppend(t, s, after(base, allocation(lineA, 3)), key)
	assertPositions(t, "after the refusals", readAll(t, s, 0), span(1, 3))
}

func testDuplicateEventID(t *testing.T, s Stores) {
	base := chain(0, ledger.GenesisHash, allocation(lineA, 1))
	mustAppend(t, s, base)
	before := snapshot(t, s)

	again := allocation(lineA, 2)
	again.ID = base[0].ID
	assertRefused(t, s, before, after(base, again))

	id := uuid.Must(uuid.NewV7())
	twice := []*ledger.Event{allocation(lineA, 3), allocation(lineA, 4)}
	twice[0].ID, twice[1].ID = id, id
	assertRefused(t, s, before, after(base, twice...))
}

func testDuplicateKey(t *testing.T, s Stores) {
	base := chain(0, ledger.GenesisHash, allocation(lineA, 1))
	mustAppend(t, s, base, ledger.KeyRecord{Key: "k1", RequestHash: [32]byte{1}, First: 1, Last: 1})
	before := snapshot(t, s)

	// A key is recorded once, forever, whatever the request it would now stand for.
	assertRefused(t, s, before, after(base, allocation(lineA, 2)),
		ledger.KeyRecord{Key: "k1", RequestHash: [32]byte{2}, First: 2, Last: 2})
	assertRefused(t, s, before, after(base, allocation(lineA, 2), allocation(lineA, 3)),
		ledger.KeyRecord{Key: "k2", First: 2, Last: 2}, ledger.KeyRecord{Key: "k2", First: 3, Last: 3})
	mustAppend(t, s, after(base, allocation(lineA, 2)), ledger.KeyRecord{Key: "k2", First: 2, Last: 2})
	if got := readKeys(t, s, 0); len(got) != 2 || got[0].Key != "k1" || got[1].Key != "k2" {
		t.Errorf("key records %+v, want k1 and k2", got)
	}
}

// testDuplicateVoucher: a State Treasury voucher (office, type, number, date) is stored
// once, whatever event carries it; the refusal names the field "voucher".
func testDuplicateVoucher(t *testing.T, s Stores) {
	base := chain(0, ledger.GenesisHash, allocation(lineA, 100), disbursement(lineA, 5, voucher("7")))
	mustAppend(t, s, base)
	before := snapshot(t, s)

	a := lineA
	settlement := &ledger.Event{Type: ledger.TypeAdvanceSettled, Data: ledger.EventData{Line: &a,
		EventID: base[1].ID.String(), Amount: 1, Voucher: voucher("7")}}
	for _, c := range []struct {
		name   string
		events []*ledger.Event
	}{
		{"already stored", after(base, disbursement(lineA, 5, voucher("8")), disbursement(lineA, 5, voucher("7")))},
		{"on another event type", after(base, settlement)},
		{"twice in the batch", after(base, disbursement(lineA, 5, voucher("9")), disbursement(lineB, 6, voucher("9")))},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := assertRefused(t, s, before, c.events, ledger.KeyRecord{Key: "refused", First: 3, Last: 3})
			if ledger.Code(err) != ledger.CodeInvalidArgument || ledger.Field(err) != "voucher" {
				t.Errorf("error %v (code %s, field %q), want invalid_argument on voucher", err, ledger.Code(err), ledger.Field(err))
			}
		})
	}

	// Each of the four parts tells vouchers apart.
	other := []*ledger.Voucher{voucher("7"), voucher("7"), voucher("7"), voucher("8")}
	other[0].Office, other[1].Type, other[2].Date = "KB063", "C2-03", day+1
	var evs []*ledger.Event
	for _, v := range other {
		evs = append(evs, disbursement(lineA, 5, v))
	}
	mustAppend(t, s, after(base, evs...))
}

// testMalformed: what the PostgreSQL schema's checks forbid, every store refuses.
func testMalformed(t *testing.T, s Stores) {
	base := chain(0, ledger.GenesisHash, allocation(lineA, 100))
	mustAppend(t, s, base)
	before := snapshot(t, s)
	ok := func() []*ledger.Event { return after(base, allocation(lineA, 1)) }

	for _, c := range []struct {
		name   string
		events []*ledger.Event
		keys   []ledger.KeyRecord
	}{
		{"empty type", after(base, &ledger.Event{Data: ledger.EventData{Line: &lineA, Amount: 1}}), nil},
		{"zero amount", after(base, allocation(lineA, 0)), nil},
		{"negative amount", after(base, allocation(lineA, -1)), nil},
		{"event_id not a UUID", after(base, &ledger.Event{Type: ledger.TypeReversed, Data: ledger.EventData{Line: &lineA,
			EventID: "not-a-uuid", Amount: 1, Reason: "x"}}), nil},
		{"key before position 1", ok(), []ledger.KeyRecord{{Key: "k", First: 0, Last: 2}}},
		{"key ending before it starts", ok(), []ledger.KeyRecord{{Key: "k", First: 2, Last: 1}}},
		{"rejections not JSON", ok(), []ledger.KeyRecord{{Key: "k", First: 2, Last: 2, Rejections: []byte(`[{"index":`)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			assertRefused(t, s, before, c.events, c.keys...)
		})
	}
	mustAppend(t, s, ok(), ledger.KeyRecord{Key: "k", First: 2, Last: 2})
}

func testReadFrom(t *testing.T, s Stores) {
	evs := chain(0, ledger.GenesisHash, allocation(lineA, 1), allocation(lineA, 2), allocation(lineB, 3),
		allocation(lineA, 4), allocation(lineB, 5))
	mustAppend(t, s, evs[:2])
	mustAppend(t, s, evs[2:])
	for a := int64(-1); a <= 6; a++ {
		assertPositions(t, fmt.Sprintf("ReadFrom(%d)", a), readAll(t, s, a), span(max(a, 0)+1, 5))
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Store.ReadFrom(testContext(t), 0, func(*ledger.Event) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("ReadFrom returned %v after %d calls, want fn's error unwrapped after 1", err, calls)
	}
}

func testReadKeys(t *testing.T, s Stores) {
	evs := chain(0, ledger.GenesisHash, allocation(lineA, 1), allocation(lineA, 2), allocation(lineA, 3), allocation(lineA, 4))
	rejections := []byte(`[{"index":2,"code":"invalid_argument","field":"commands[2].amount","message":"must be positive"}]`)
	// Given out of order: they are read in order of first position.
	mustAppend(t, s, evs[:3],
		ledger.KeyRecord{Key: "z-3 ý", RequestHash: [32]byte{31: 9}, First: 3, Last: 3},
		ledger.KeyRecord{Key: "b-1", RequestHash: [32]byte{1, 2, 3}, First: 1, Last: 2, Rejections: rejections})
	// An empty list of rejections is none.
	mustAppend(t, s, evs[3:], ledger.KeyRecord{Key: "a-4", RequestHash: [32]byte{4}, First: 4, Last: 4, Rejections: []byte{}})

	want := []ledger.KeyRecord{
		{Key: "b-1", RequestHash: [32]byte{1, 2, 3}, First: 1, Last: 2, Rejections: rejections},
		{Key: "z-3 ý", RequestHash: [32]byte{31: 9}, First: 3, Last: 3},
		{Key: "a-4", RequestHash: [32]byte{4}, First: 4, Last: 4},
	}
	got := readKeys(t, s, 0)
	if len(got) != len(want) {
		t.Fatalf("ReadKeys(0): %d records, want %d", len(got), len(want))
	}
	for i, k := range want {
		g := got[i]
		if g.Key != k.Key || g.RequestHash != k.RequestHash || g.First != k.First || g.Last != k.Last {
			t.Errorf("key record %d read back as %+v, want %+v", i, g, k)
		}
		if (g.Rejections == nil) != (k.Rejections == nil) {
			t.Errorf("key record %q: rejections %q, want %q", k.Key, g.Rejections, k.Rejections)
		} else if k.Rejections != nil {
			// PostgreSQL re-formats the JSON (jsonb): compare canonical forms.
			a, errA := ledger.Canonicalize(g.Rejections)
			b, errB := ledger.Canonicalize(k.Rejections)
			if errA != nil || errB != nil || string(a) != string(b) {
				t.Errorf("key record %q: rejections %s, want %s (%v, %v)", k.Key, g.Rejections, k.Rejections, errA, errB)
			}
		}
	}
	// After a position: by first position, so the record of 1..2 is not after 1.
	for a, keys := range map[int64][]string{1: {"z-3 ý", "a-4"}, 3: {"a-4"}, 4: nil} {
		var names []string
		for _, k := range readKeys(t, s, a) {
			names = append(names, k.Key)
		}
		if !slices.Equal(names, keys) {
			t.Errorf("ReadKeys(%d) = %q, want %q", a, names, keys)
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := s.Store.ReadKeys(testContext(t), 0, func(ledger.KeyRecord) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Errorf("ReadKeys returned %v after %d calls, want fn's error unwrapped after 1", err, calls)
	}
}

func testEventsPages(t *testing.T, s Stores) {
	ctx := testContext(t)
	var evs []*ledger.Event
	for i := range 7 {
		evs = append(evs, allocation(lineA, int64(i+1)))
	}
	mustAppend(t, s, chain(0, ledger.GenesisHash, evs...))
	for _, c := range []struct {
		after int64
		limit int
		want  []int64
	}{
		{0, 3, span(1, 3)}, {3, 3, span(4, 6)}, {6, 3, span(7, 7)}, {7, 3, nil}, {100, 3, nil}, {2, 1, span(3, 3)},
	} {
		assertPositions(t, fmt.Sprintf("Events(%d, %d)", c.after, c.limit), must(t)(s.Events.Events(ctx, c.after, c.limit)), c.want)
	}
	// Paging on next_after visits every event once.
	var seen []*ledger.Event
	for a := int64(0); ; {
		page := must(t)(s.Events.Events(ctx, a, 2))
		if len(page) == 0 {
			break
		}
		seen = append(seen, page...)
		a = page[len(page)-1].Position
	}
	assertPositions(t, "paging by 2", seen, span(1, 7))
}

// testLimitClamp: a limit outside 1..EventsLimitMax means EventsLimitMax, for Events and
// LineEvents alike.
func testLimitClamp(t *testing.T, s Stores) {
	ctx := testContext(t)
	n := s.EventsLimitMax + 2
	evs := make([]*ledger.Event, n)
	for i := range evs {
		evs[i] = allocation(lineA, int64(i+1))
	}
	mustAppend(t, s, chain(0, ledger.GenesisHash, evs...))
	limitMax := int64(s.EventsLimitMax)
	for _, limit := range []int{0, -1, s.EventsLimitMax + 1, s.EventsLimitMax} {
		assertPositions(t, fmt.Sprintf("Events(0, %d)", limit), must(t)(s.Events.Events(ctx, 0, limit)), span(1, limitMax))
		assertPositions(t, fmt.Sprintf("LineEvents(A, 0, %d)", limit),
			must(t)(s.Events.LineEvents(ctx, lineA.ID(), 0, limit)), span(1, limitMax))
	}
	assertPositions(t, "Events(max, 0)", must(t)(s.Events.Events(ctx, limitMax, 0)), span(limitMax+1, limitMax+2))
	assertPositions(t, "LineEvents(A, max, 0)", must(t)(s.Events.LineEvents(ctx, lineA.ID(), limitMax, 0)),
		span(limitMax+1, limitMax+2))
}

func testEventsRange(t *testing.T, s Stores) {
	ctx := testContext(t)
	mustAppend(t, s, chain(0, ledger.GenesisHash, allocation(lineA, 1), allocation(lineA, 2), allocation(lineA, 3),
		allocation(lineA, 4), allocation(lineA, 5)))
	for _, c := range []struct {
		first, last int64
		want        []int64
	}{
		{1, 5, span(1, 5)}, {2, 4, span(2, 4)}, {3, 3, span(3, 3)}, {4, 10, span(4, 5)}, {6, 10, nil},
		{1, s.EventsRangeMax, span(1, 5)},
	} {
		assertPositions(t, fmt.Sprintf("EventsRange(%d, %d)", c.first, c.last),
			must(t)(s.Events.EventsRange(ctx, c.first, c.last)), c.want)
	}
	for _, r := range [][2]int64{{0, 3}, {-1, 3}, {3, 2}, {1, 1 + s.EventsRangeMax}} {
		evs, err := s.Events.EventsRange(ctx, r[0], r[1])
		if ledger.Code(err) != ledger.CodeInvalidArgument || ledger.Field(err) != "range" {
			t.Errorf("EventsRange(%d, %d) = %d events, %v (code %s, field %q); want invalid_argument on range",
				r[0], r[1], len(evs), err, ledger.Code(err), ledger.Field(err))
		}
	}
}

func testEventByID(t *testing.T, s Stores) {
	ctx := testContext(t)
	evs := chain(0, ledger.GenesisHash, allocation(lineA, 1), transfer(lineA, lineB, 1), allocation(lineB, 3))
	mustAppend(t, s, evs)
	for _, w := range evs {
		e, err := s.Events.Event(ctx, w.ID)
		if err != nil {
			t.Fatalf("Event(%s): %v", w.ID, err)
		}
		assertEvents(t, "Event", []*ledger.Event{e}, []*ledger.Event{w})
	}
	for _, id := range []uuid.UUID{uuid.Must(uuid.NewV7()), uuid.Nil} {
		if e, err := s.Events.Event(ctx, id); !errors.Is(err, ledger.ErrNotFound) {
			t.Errorf("Event(%s) = %v, %v; want ErrNotFound", id, e, err)
		}
	}
}

// testLineEvents: a line's events are those that name it as their line, or as either
// side of a transfer; the line id is the whole canonical id.
func testLineEvents(t *testing.T, s Stores) {
	ctx := testContext(t)
	a, b := lineA, lineB
	evs := chain(0, ledger.GenesisHash,
		everyType()[0],                         // 1 catalog: no line
		allocation(lineA, 1000),                // 2 A
		allocation(lineA2025, 500),             // 3 A 2025
		transfer(lineA, lineB, 300),            // 4 A → B
		disbursement(lineB, 100, voucher("1")), // 5 B
		transfer(lineB, lineA, 50),             // 6 B → A
		&ledger.Event{Type: ledger.TypeCancelled, Data: ledger.EventData{Line: &a, Amount: 20, Decision: "QĐ 3"}}, // 7 A
		&ledger.Event{Type: ledger.TypeCarriedOver, Data: ledger.EventData{Line: &b, Amount: 5, IntoYear: 2025}},  // 8 B
	)
	mustAppend(t, s, evs)
	for _, c := range []struct {
		line         string
		after        int64
		limit        int
		wantPosition []int64
	}{
		{lineA.ID(), 0, 10, []int64{2, 4, 6, 7}},
		{lineB.ID(), 0, 10, []int64{4, 5, 6, 8}},
		{lineA2025.ID(), 0, 10, []int64{3}},
		{lineB.ID(), 4, 2, []int64{5, 6}},
		{lineB.ID(), 6, 2, []int64{8}},
		{lineB.ID(), 8, 2, nil},
		{lineA.ID(), 0, 1, []int64{2}},
		{"GNBV:2024:NSTW-DTPT:DA1:999", 0, 10, nil},
		{"not a line", 0, 10, nil},
	} {
		got := must(t)(s.Events.LineEvents(ctx, c.line, c.after, c.limit))
		assertPositions(t, fmt.Sprintf("LineEvents(%s, %d, %d)", c.line, c.after, c.limit), got, c.wantPosition)
	}
}

// testSequencerRestartsFromStore runs the store's real caller: a sequencer records
// requests with idempotency keys, then a second sequencer loaded from the same store
// reaches the same head and answers a retried request from its key record, refusals
// included.
func testSequencerRestart(t *testing.T, s Stores) {
	ctx := testContext(t)
	from := ledger.Validity{ValidFrom: ledger.MakeDate(2021, 1, 1)}
	setup := &ledger.Request{Atomic: true, Key: "setup", Hash: [32]byte{1}, Commands: []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo", Validity: from}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: from}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: from}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Bắc Kạn", Level: ledger.LevelProvince, Validity: from}},
		&ledger.Allocate{Line: lineA, Amount: 1_000, EffectiveDate: day, Decision: "QĐ 1"},
	}}
	disburse := func(amount int64, number string) ledger.Command {
		return &ledger.Disburse{Line: lineA, Amount: amount, Kind: ledger.KindPayment, EffectiveDate: day, Payee: "A",
			Voucher: ledger.Voucher{Office: "KB062", Type: "C2-02", Number: number, Date: day}}
	}
	// Not atomic: the second disbursement is refused for want of funds, the others stand.
	batch := func() *ledger.Request {
		return &ledger.Request{Key: "batch", Hash: [32]byte{2}, Commands: []ledger.Command{
			disburse(100, "1"), disburse(1_000_000, "2"), disburse(200, "3")}}
	}

	first := ledger.NewSequencer(ledger.SequencerConfig{Store: s.Store, Now: func() time.Time { return clock }})
	stop := runSequencer(t, first)
	var recorded []*ledger.Event
	for _, req := range []*ledger.Request{setup, batch()} {
		res, err := first.Submit(ctx, req)
		if err != nil || res.Err != nil {
			t.Fatalf("request %q: %v, %v", req.Key, err, res.Err)
		}
		recorded = append(recorded, res.Events...)
	}
	head := first.Head()
	stop()
	if head.Position != 7 {
		t.Fatalf("head at %d after the setup and the batch, want 7", head.Position)
	}
	assertEvents(t, "the sequencer's events read back", readAll(t, s, 0), recorded)

	again := ledger.NewSequencer(ledger.SequencerConfig{Store: s.Store, Now: func() time.Time { return clock }})
	defer runSequencer(t, again)()
	if again.Head() != head {
		t.Fatalf("a sequencer loaded from the store has head %+v, want %+v", again.Head(), head)
	}
	res, err := again.Submit(ctx, batch())
	if err != nil || res.Err != nil || !res.Replayed || res.First != 6 || res.Last != 7 {
		t.Fatalf("the retried batch: %+v, %v; want a replay of positions 6..7", res, err)
	}
	var funds *ledger.InsufficientFundsError
	if len(res.Rejections) != 1 || res.Rejections[0].Index != 1 || !errors.As(res.Rejections[0].Err, &funds) ||
		funds.Requested != 1_000_000 || funds.Available != 900 {
		t.Errorf("the retried batch's rejections: %+v, want command 1 refused: 1000000 requested, 900 available", res.Rejections)
	}
	if again.Head() != head {
		t.Errorf("a replay moved the head to %+v", again.Head())
	}
}

// runSequencer loads seq from its store and runs it until the returned stop is called.
func runSequencer(t *testing.T, seq *ledger.Sequencer) (stop func()) {
	t.Helper()
	if err := seq.Load(testContext(t)); err != nil {
		t.Fatalf("load the sequencer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = seq.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func testLookupKeys(t *testing.T, s Stores) {
	ctx := testContext(t)
	evs := chain(0, ledger.GenesisHash, allocation(lineA, 1), allocation(lineA, 2), allocation(lineA, 3))
	rejections := []byte(`[{"index":1,"code":"invalid_argument","field":"commands[1].amount","message":"must be positive"}]`)
	stored := []ledger.KeyRecord{
		{Key: "b-1", RequestHash: [32]byte{1, 2, 3}, First: 1, Last: 2, Rejections: rejections},
		{Key: "z-3 ý", RequestHash: [32]byte{31: 9}, First: 3, Last: 3},
	}
	mustAppend(t, s, evs, stored...)
	if got, err := s.Store.LookupKeys(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("LookupKeys(nil) = %+v, %v; want none", got, err)
	}
	got, err := s.Store.LookupKeys(ctx, []string{"missing", "z-3 ý", "b-1", "B-1"})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b ledger.KeyRecord) int { return int(a.First - b.First) })
	if len(got) != len(stored) {
		t.Fatalf("LookupKeys found %d records, want %d (keys are case-sensitive, unknown ones absent): %+v", len(got), len(stored), got)
	}
	for i, k := range stored {
		g := got[i]
		if g.Key != k.Key || g.RequestHash != k.RequestHash || g.First != k.First || g.Last != k.Last {
			t.Errorf("looked up %+v, want %+v", g, k)
		}
		if (g.Rejections == nil) != (k.Rejections == nil) {
			t.Errorf("key %q: rejections %q, want %q", k.Key, g.Rejections, k.Rejections)
		} else if k.Rejections != nil {
			a, errA := ledger.Canonicalize(g.Rejections)
			b, errB := ledger.Canonicalize(k.Rejections)
			if errA != nil || errB != nil || string(a) != string(b) {
				t.Errorf("key %q: rejections %s, want %s", k.Key, g.Rejections, k.Rejections)
			}
		}
	}
}

// testKeysOlderThanCache: a sequencer keeps a bounded cache of key records; a retry of a
// request whose key has left the cache is still answered from the store, as the original
// was (same body: the original positions; another body: a conflict), before and after a
// restart, and a new key is still recorded.
func testKeysOlderThanCache(t *testing.T, s Stores) {
	ctx := testContext(t)
	const cache, requests = 4, 11
	from := ledger.Validity{ValidFrom: ledger.MakeDate(2021, 1, 1)}
	setup := &ledger.Request{Atomic: true, Commands: []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo", Validity: from}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: from}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: from}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Bắc Kạn", Level: ledger.LevelProvince, Validity: from}},
	}}
	keyed := func(i int, hash byte) *ledger.Request {
		return &ledger.Request{Key: fmt.Sprintf("k%d", i), Hash: [32]byte{hash, byte(i)}, Commands: []ledger.Command{
			&ledger.Allocate{Line: lineA, Amount: int64(i + 1), EffectiveDate: day, Decision: "QĐ 1"}}}
	}
	cfg := ledger.SequencerConfig{Store: s.Store, Now: func() time.Time { return clock }, KeyCacheSize: cache}
	first := ledger.NewSequencer(cfg)
	stop := runSequencer(t, first)
	if res, err := first.Submit(ctx, setup); err != nil || res.Err != nil {
		t.Fatalf("setup: %v, %v", err, res.Err)
	}
	positions := make([]int64, requests)
	for i := range requests {
		res, err := first.Submit(ctx, keyed(i, 1))
		if err != nil || res.Err != nil || res.Replayed {
			t.Fatalf("request %d: %+v, %v", i, res, err)
		}
		positions[i] = res.First
	}
	check := func(seq *ledger.Sequencer, when string) {
		t.Helper()
		head := seq.Head()
		for _, i := range []int{0, 1, requests - 1} {
			res, err := seq.Submit(ctx, keyed(i, 1))
			if err != nil || res.Err != nil || !res.Replayed || res.First != positions[i] || res.Last != positions[i] {
				t.Errorf("%s: retry of request %d: %+v, %v; want a replay of position %d", when, i, res, err, positions[i])
			}
			res, err = seq.Submit(ctx, keyed(i, 2))
			if err != nil || !errors.Is(res.Err, ledger.ErrIdempotencyConflict) {
				t.Errorf("%s: request %d's key with another body: %+v, %v; want an idempotency conflict", when, i, res, err)
			}
		}
		if seq.Head() != head {
			t.Errorf("%s: replays moved the head from %d to %d", when, head.Position, seq.Head().Position)
		}
	}
	check(first, "past the cache")
	stop()
	again := ledger.NewSequencer(cfg)
	defer runSequencer(t, again)()
	check(again, "after a restart")
	res, err := again.Submit(ctx, keyed(requests, 1))
	if err != nil || res.Err != nil || res.Replayed || res.First != positions[requests-1]+1 {
		t.Errorf("a new key after the restart: %+v, %v; want recorded at %d", res, err, positions[requests-1]+1)
	}
}

func testLookupVouchers(t *testing.T, s Stores) {
	ctx := testContext(t)
	evs := chain(0, ledger.GenesisHash, allocation(lineA, 100), disbursement(lineA, 1, voucher("000123")),
		disbursement(lineA, 1, &ledger.Voucher{Office: "kb062", Type: "c2-02", Number: "7", Date: ledger.MakeDate(2024, time.March, 16)}))
	mustAppend(t, s, evs)
	if got, err := s.Store.LookupVouchers(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("LookupVouchers(nil) = %v, %v; want none", got, err)
	}
	asked := []ledger.Voucher{
		{Office: "KB062", Type: "C2-02", Number: "123", Date: day},                                 // the first, re-spelt
		{Office: "KB062", Type: "C2-02", Number: "7", Date: day},                                   // the second's number, another date
		{Office: "KB062", Type: "C2-02", Number: "7", Date: ledger.MakeDate(2024, time.March, 16)}, // the second, re-spelt
		{Office: "KB062", Type: "C2-02", Number: "1230", Date: day},                                // never recorded
	}
	got, err := s.Store.LookupVouchers(ctx, asked)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	want := []string{asked[0].Identity(), asked[2].Identity()}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("LookupVouchers = %q, want %q", got, want)
	}
	var read []string
	if err := s.Store.ReadVouchers(ctx, func(id string) error { read = append(read, id); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(read)
	if !slices.Equal(read, want) {
		t.Errorf("ReadVouchers read %q, want %q", read, want)
	}
}

func testLookupDisbursements(t *testing.T, s Stores) {
	ctx := testContext(t)
	paid := disbursement(lineA, 50, voucher("1"))
	adv := disbursement(lineA, 40, voucher("2"))
	adv.Data.Kind = string(ledger.KindAdvance)
	evs := chain(0, ledger.GenesisHash, allocation(lineA, 100), paid, adv)
	mustAppend(t, s, evs)
	paid, adv = evs[1], evs[2]
	l := lineA
	named := func(typ ledger.EventType, of *ledger.Event, amount int64, v *ledger.Voucher) *ledger.Event {
		return &ledger.Event{Type: typ, Data: ledger.EventData{Line: &l, EventID: of.ID.String(), Amount: amount, Voucher: v, Reason: "sai"}}
	}
	mustAppend(t, s, after(evs, named(ledger.TypeReversed, paid, 5, nil), named(ledger.TypeReversed, paid, 7, nil),
		named(ledger.TypeAdvanceSettled, adv, 10, voucher("3")), named(ledger.TypeReversed, adv, 3, nil)))
	if got, err := s.Store.LookupDisbursements(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("LookupDisbursements(nil) = %+v, %v; want none", got, err)
	}
	// An allocation's id and an unknown id name no disbursement.
	got, err := s.Store.LookupDisbursements(ctx, []uuid.UUID{adv.ID, evs[0].ID, uuid.New(), paid.ID})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(a, b ledger.DisbursementRecord) int { return int(a.Event.Position - b.Event.Position) })
	if len(got) != 2 {
		t.Fatalf("LookupDisbursements found %d, want the 2 disbursements: %+v", len(got), got)
	}
	for i, w := range []struct {
		e                 *ledger.Event
		reversed, settled int64
	}{{paid, 12, 0}, {adv, 3, 10}} {
		g := got[i]
		if g.Event.ID != w.e.ID || g.Event.Hash != w.e.Hash || g.Event.Data.Amount != w.e.Data.Amount ||
			g.Event.Data.Kind != w.e.Data.Kind || *g.Event.Data.Line != lineA || g.Reversed != w.reversed || g.Settled != w.settled {
			t.Errorf("record %d: %+v (reversed %d, settled %d), want event %d reversed %d settled %d",
				i, g.Event, g.Reversed, g.Settled, w.e.Position, w.reversed, w.settled)
		}
	}
}

// testRefsOlderThanCaches: a sequencer keeps bounded caches of disbursements and
// vouchers; a voucher, a settlement and a reversal naming a disbursement that has left
// the caches are decided as if it had not: the voucher again is refused, the limits of
// the settlement and the reversal are the disbursement's, before and after a restart.
func testRefsOlderThanCaches(t *testing.T, s Stores) {
	ctx := testContext(t)
	const cache = 3
	from := ledger.Validity{ValidFrom: ledger.MakeDate(2021, 1, 1)}
	cfg := ledger.SequencerConfig{Store: s.Store, Now: func() time.Time { return clock },
		DisbursementCacheSize: cache, VoucherCacheSize: cache}
	seq := ledger.NewSequencer(cfg)
	stop := runSequencer(t, seq)
	submit := func(what string, c ledger.Command) *ledger.Result {
		t.Helper()
		res, err := seq.Submit(ctx, &ledger.Request{Commands: []ledger.Command{c}})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return res
	}
	accept := func(what string, c ledger.Command) *ledger.Result {
		t.Helper()
		res := submit(what, c)
		if res.Err != nil {
			t.Fatalf("%s: %v", what, res.Err)
		}
		return res
	}
	refuse := func(what string, c ledger.Command, code, field string, available int64) {
		t.Helper()
		res := submit(what, c)
		var ife *ledger.InsufficientFundsError
		switch {
		case ledger.Code(res.Err) != code || ledger.Field(res.Err) != field:
			t.Errorf("%s: %v, want %s on %s", what, res.Err, code, field)
		case code == ledger.CodeInsufficientFunds && (!errors.As(res.Err, &ife) || ife.Available != available):
			t.Errorf("%s: %v, want %d available", what, res.Err, available)
		}
	}
	for _, c := range []ledger.Command{
		&ledger.RegisterProgram{Program: ledger.Program{Code: "GNBV", Name: "Giảm nghèo", Validity: from}},
		&ledger.RegisterProject{Project: ledger.Project{Program: "GNBV", Code: "DA1", Name: "Dự án 1", Validity: from}},
		&ledger.RegisterSource{Source: ledger.Source{Code: "NSTW-DTPT", Name: "NSTW", Budget: ledger.BudgetCentral,
			Nature: ledger.NatureInvestment, Validity: from}},
		&ledger.RegisterUnit{Unit: ledger.Unit{ID: "062", Code: "062", Name: "Bắc Kạn", Level: ledger.LevelProvince, Validity: from}},
		&ledger.Allocate{Line: lineA, Amount: 1_000_000, EffectiveDate: day, Decision: "QĐ 1"},
	} {
		accept("setup", c)
	}
	n := 0
	pay := func(kind ledger.DisbursementKind, amount int64) *ledger.Result {
		n++
		return accept(fmt.Sprint("disbursement ", n), &ledger.Disburse{Line: lineA, Amount: amount, Kind: kind, EffectiveDate: day,
			Payee: "A", Voucher: *voucher(fmt.Sprint("00", n))})
	}
	// The oldest: an advance of 100, then more than the caches hold.
	oldest := pay(ledger.KindAdvance, 100).Events[0].ID
	evict := func() {
		for range cache + 2 {
			pay(ledger.KindPayment, 1)
		}
	}
	evict()
	settle := func(amount int64, number string) *ledger.SettleAdvance {
		return &ledger.SettleAdvance{EventID: oldest, Amount: amount, EffectiveDate: day,
			Voucher: ledger.Voucher{Office: "KB062", Type: "C2-02", Number: number, Date: day}}
	}
	reverse := func(amount int64) *ledger.Reverse {
		return &ledger.Reverse{EventID: oldest, Amount: amount, EffectiveDate: day, Reason: "sai"}
	}
	// The oldest's voucher, as entered and re-spelt.
	again := func(number string) *ledger.Disburse {
		return &ledger.Disburse{Line: lineA, Amount: 1, Kind: ledger.KindPayment, EffectiveDate: day, Payee: "A",
			Voucher: ledger.Voucher{Office: "kb062", Type: "C2-02", Number: number, Date: day}}
	}
	refuse("the oldest voucher again", again("001"), ledger.CodeInvalidArgument, "voucher", 0)
	evict()
	refuse("the oldest voucher re-spelt", again("1"), ledger.CodeInvalidArgument, "voucher", 0)
	refuse("a settlement with the oldest voucher", settle(1, "0001"), ledger.CodeInvalidArgument, "voucher", 0)
	evict()
	refuse("an over-settlement", settle(101, "S-1"), ledger.CodeInsufficientFunds, "amount", 100)
	evict()
	accept("a settlement of 30", settle(30, "S-1"))
	evict()
	refuse("a settlement of the outstanding 70 and 1", settle(71, "S-2"), ledger.CodeInsufficientFunds, "amount", 70)
	evict()
	refuse("an over-reversal", reverse(101), ledger.CodeInsufficientFunds, "amount", 100)
	evict()
	rev := accept("a reversal of 60", reverse(60))
	if got := rev.Events[0].Data.AdvanceReversed; got != 60 {
		t.Errorf("a reversal of 60 of an advance with 70 outstanding reverses %d of the advance, want 60", got)
	}
	evict()
	refuse("a reversal of the remaining 40 and 1", reverse(41), ledger.CodeInsufficientFunds, "amount", 40)
	refuse("a reversal of no disbursement", &ledger.Reverse{EventID: uuid.New(), Amount: 1, EffectiveDate: day, Reason: "sai"},
		ledger.CodeUnknownReference, "event_id", 0)
	stop()

	// After a restart, the write model folds the log again with the same caches.
	seq = ledger.NewSequencer(cfg)
	stop2 := runSequencer(t, seq)
	refuse("after a restart, the oldest voucher again", again("1"), ledger.CodeInvalidArgument, "voucher", 0)
	refuse("after a restart, a settlement of the outstanding 10 and 1", settle(11, "S-2"), ledger.CodeInsufficientFunds, "amount", 10)
	evict()
	refuse("after a restart, a reversal of the remaining 40 and 1", reverse(41), ledger.CodeInsufficientFunds, "amount", 40)
	evict()
	rev = accept("after a restart, a reversal of 40", reverse(40))
	if got := rev.Events[0].Data.AdvanceReversed; got != 10 {
		t.Errorf("a reversal of 40 of an advance with 10 outstanding reverses %d of the advance, want 10", got)
	}
	evict()
	refuse("after a restart, a reversal of a reversed disbursement", reverse(1), ledger.CodeInsufficientFunds, "amount", 0)
	refuse("after a restart, the settlement voucher again", again("S-1"), ledger.CodeInvalidArgument, "voucher", 0)
	stop2()

	// From a snapshot's state, a full fold with every record in memory: the sequencer
	// drops the records and still finds them in the store.
	var fold ledger.State
	if err := s.Store.ReadFrom(ctx, 0, func(e *ledger.Event) error { fold.Apply(e); return nil }); err != nil {
		t.Fatal(err)
	}
	seq = ledger.NewSequencer(cfg)
	if err := seq.LoadFrom(ctx, &fold); err != nil {
		t.Fatal(err)
	}
	defer runSequencer(t, seq)()
	refuse("from a snapshot, the oldest voucher again", again("001"), ledger.CodeInvalidArgument, "voucher", 0)
	refuse("from a snapshot, a reversal of a reversed disbursement", reverse(1), ledger.CodeInsufficientFunds, "amount", 0)
	refuse("from a snapshot, a settlement of a reversed advance", settle(1, "S-3"), ledger.CodeInsufficientFunds, "amount", 0)
}
