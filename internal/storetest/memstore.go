package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vnntp/ledger/ledger"
)

// Limits of MemStore. They equal pgstore.EventsLimitMax and pgstore.EventsRangeMax (the
// PostgreSQL store's conformance test checks it), so that handlers page over the double
// as they do over PostgreSQL.
const (
	MemEventsLimitMax = 1_000
	MemEventsRangeMax = 100_000
)

// MemStore is a TEST DOUBLE: an in-memory event store implementing ledger.WriterSession and the
// API's EventReader, so that handler tests run a real *ledger.Sequencer without a
// database. It is not an event store (nothing outlives the process) and cmd/ledger never
// uses it. It passes Run like the PostgreSQL store, refusals included: positions that do
// not continue the head, a second event id, idempotency key or voucher, and what the
// schema's checks forbid. It does not mirror PostgreSQL's limits on text (no NUL byte,
// valid UTF-8): the API's decoders refuse such input before it reaches a store. Key
// records keep their rejections as given, where PostgreSQL re-formats them (jsonb).
//
// Events are copied in and out, so no caller shares memory with the store, and their
// recording time is kept in UTC to the microsecond, as PostgreSQL keeps it.
//
// The zero value is an empty store, ready to use. A MemStore is safe for concurrent use.
type MemStore struct {
	mu sync.Mutex
	// events[i] is the event at position i+1. Stored events are never changed or handed
	// out, so a reader may walk a snapshot of the slice without the lock.
	events   []*ledger.Event
	ids      map[uuid.UUID]int64 // event id → position
	vouchers map[ledger.Voucher]bool
	keys     []ledger.KeyRecord // in order of first position, then key
	keySet   map[string]ledger.KeyRecord
	// failAppend and failRead, when set, make Append and the readers fail (FailAppends,
	// FailReads).
	failAppend, failRead error
}

var _ ledger.WriterSession = (*MemStore)(nil)
var _ EventReader = (*MemStore)(nil)

// Errors of MemStore.Append, as the PostgreSQL store's constraints would report them.
var (
	errMemRecorded  = errors.New("position already recorded")
	errMemNotNext   = errors.New("positions must continue the head one by one")
	errMemDuplicate = errors.New("already recorded")
	errMemCheck     = errors.New("refused by a check of the schema")
	// errMemVoucher is what the PostgreSQL store returns for its voucher index.
	errMemVoucher = &ledger.Error{Code: ledger.CodeInvalidArgument, Field: "voucher",
		Message: "this treasury voucher was already recorded"}
)

// FailAppends makes every later Append return err without storing anything, as a store
// that is down would; nil makes Append work again.
func (m *MemStore) FailAppends(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failAppend = err
}

// FailReads makes every later read (ReadFrom, ReadKeys, LookupKeys and the EventReader methods)
// return err; nil makes them work again.
func (m *MemStore) FailReads(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failRead = err
}

// Append stores events and keys, all or nothing. It refuses, storing nothing, events
// whose positions do not continue the head one by one, an event id, idempotency key or
// voucher already stored or twice in the batch (the voucher with the invalid_argument
// error on "voucher" the PostgreSQL store returns), and what the schema's checks forbid.
// After FailAppends(err) it returns err. An empty append does nothing.
func (m *MemStore) Append(_ context.Context, events []*ledger.Event, keys []ledger.KeyRecord) error {
	if len(events) == 0 && len(keys) == 0 {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAppend != nil {
		return m.failAppend
	}
	head := int64(len(m.events))
	stored := make([]*ledger.Event, len(events))
	ids := map[uuid.UUID]bool{}
	vouchers := map[ledger.Voucher]bool{}
	for i, e := range events {
		if err := checkEvent(e, head+int64(i)+1); err != nil {
			return fmt.Errorf("memstore: append at position %d: %w", e.Position, err)
		}
		if _, ok := m.ids[e.ID]; ok || ids[e.ID] {
			return fmt.Errorf("memstore: event id %s: %w", e.ID, errMemDuplicate)
		}
		ids[e.ID] = true
		// The unique index covers (office, type, number, date) where a voucher is given;
		// PostgreSQL never finds a NULL date equal to another, so neither does the double.
		if v := e.Data.Voucher; v != nil && v.Date != 0 {
			if m.vouchers[*v] || vouchers[*v] {
				return errMemVoucher
			}
			vouchers[*v] = true
		}
		stored[i] = clone(e)
	}
	newKeys := make([]ledger.KeyRecord, 0, len(keys))
	keySet := map[string]bool{}
	for _, k := range keys {
		if _, ok := m.keySet[k.Key]; ok || keySet[k.Key] {
			return fmt.Errorf("memstore: idempotency key %q: %w", k.Key, errMemDuplicate)
		}
		keySet[k.Key] = true
		if k.First < 1 || k.Last < k.First {
			return fmt.Errorf("memstore: idempotency key %q at positions %d..%d: %w", k.Key, k.First, k.Last, errMemCheck)
		}
		// rejections is a jsonb column, NULL when there are none.
		if len(k.Rejections) == 0 {
			k.Rejections = nil
		} else if !json.Valid(k.Rejections) {
			return fmt.Errorf("memstore: idempotency key %q: rejections are not JSON: %w", k.Key, errMemCheck)
		}
		k.Rejections = slices.Clone(k.Rejections)
		newKeys = append(newKeys, k)
	}

	if m.ids == nil {
		m.ids, m.vouchers, m.keySet = map[uuid.UUID]int64{}, map[ledger.Voucher]bool{}, map[string]ledger.KeyRecord{}
	}
	for _, e := range stored {
		m.ids[e.ID] = e.Position
	}
	for v := range vouchers {
		m.vouchers[v] = true
	}
	for _, k := range newKeys {
		m.keySet[k.Key] = k
	}
	// Appending in place is safe for readers: they walk only up to the length they took.
	m.events = append(m.events, stored...)
	slices.SortFunc(newKeys, compareKeys)
	if len(m.keys) == 0 || len(newKeys) == 0 || compareKeys(m.keys[len(m.keys)-1], newKeys[0]) < 0 {
		// The sequencer's case: the new records come after every stored one.
		m.keys = append(m.keys, newKeys...)
	} else {
		// A new slice, not a sort in place, for the same readers.
		m.keys = slices.Concat(m.keys, newKeys)
		slices.SortFunc(m.keys, compareKeys)
	}
	return nil
}

// compareKeys orders key records as ReadKeys returns them: by first position, then key.
func compareKeys(a, b ledger.KeyRecord) int {
	return cmp.Or(cmp.Compare(a.First, b.First), cmp.Compare(a.Key, b.Key))
}

// checkEvent checks e, which must be at position pos, as the events table's constraints
// do.
func checkEvent(e *ledger.Event, pos int64) error {
	switch {
	case e.Position < pos:
		// A position already stored, or one repeated inside the batch: the primary key
		// refuses both.
		return errMemRecorded
	case e.Position != pos:
		return fmt.Errorf("%w: want position %d", errMemNotNext, pos)
	case e.Type == "":
		return fmt.Errorf("empty type: %w", errMemCheck)
	case e.Data.Amount < 0 || e.MainLine() != nil && e.Data.Amount == 0 && e.Type != ledger.TypeDeadlineExtended:
		return fmt.Errorf("amount %d is not positive: %w", e.Data.Amount, errMemCheck)
	}
	if e.Data.EventID != "" {
		if _, err := uuid.Parse(e.Data.EventID); err != nil {
			return fmt.Errorf("event_id: %w", err)
		}
	}
	return nil
}

// clone returns a deep copy of e with its recording time in UTC to the microsecond, as
// PostgreSQL's timestamptz keeps it. Every reference in an event is a pointer to a struct
// of values; TestCloneSharesNothing fails when a new field would be shared.
func clone(e *ledger.Event) *ledger.Event {
	c := *e
	c.RecordedAt = e.RecordedAt.UTC().Truncate(time.Microsecond)
	d := &c.Data
	d.From, d.Line, d.To = copyOf(d.From), copyOf(d.Line), copyOf(d.To)
	d.Program, d.Project, d.Source, d.Unit = copyOf(d.Program), copyOf(d.Project), copyOf(d.Source), copyOf(d.Unit)
	d.Voucher = copyOf(d.Voucher)
	d.Token = copyOf(d.Token)
	if r := d.Reorganization; r != nil {
		cr := *r
		cr.Levels = slices.Clone(r.Levels)
		cr.Changes = make([]ledger.UnitChange, len(r.Changes))
		for i, ch := range r.Changes {
			ch.Predecessors, ch.Successors = slices.Clone(ch.Predecessors), slices.Clone(ch.Successors)
			cr.Changes[i] = ch
		}
		d.Reorganization = &cr
	}
	d.AdvanceLimit = copyOf(d.AdvanceLimit)
	d.Reconciliation = copyOf(d.Reconciliation)
	d.Deadline = copyOf(d.Deadline)
	d.Target = copyOf(d.Target)
	return &c
}

func copyOf[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// snapshot returns the events stored so far; they are never changed.
func (m *MemStore) snapshot() ([]*ledger.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failRead != nil {
		return nil, m.failRead
	}
	return m.events[:len(m.events):len(m.events)], nil
}

// copies returns copies of evs.
func copies(evs []*ledger.Event) []*ledger.Event {
	out := make([]*ledger.Event, len(evs))
	for i, e := range evs {
		out[i] = clone(e)
	}
	return out
}

// from returns the index in evs of the first event with position > after.
func from(evs []*ledger.Event, after int64) int {
	return int(min(max(after, 0), int64(len(evs))))
}

func clampLimit(limit int) int {
	if limit < 1 || limit > MemEventsLimitMax {
		return MemEventsLimitMax
	}
	return limit
}

// ReadFrom calls fn with a copy of every event with position > after, in position order.
// It returns fn's first error unwrapped.
func (m *MemStore) ReadFrom(_ context.Context, after int64, fn func(*ledger.Event) error) error {
	evs, err := m.snapshot()
	if err != nil {
		return err
	}
	for _, e := range evs[from(evs, after):] {
		if err := fn(clone(e)); err != nil {
			return err
		}
	}
	return nil
}

// ReadKeys calls fn for every key record whose first position is > after, in order of
// first position. It returns fn's first error unwrapped.
func (m *MemStore) ReadKeys(_ context.Context, after int64, fn func(ledger.KeyRecord) error) error {
	m.mu.Lock()
	keys, err := m.keys, m.failRead
	m.mu.Unlock()
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.First > after {
			k.Rejections = slices.Clone(k.Rejections)
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// LookupKeys returns the records of those of keys that are stored, in the order of keys.
func (m *MemStore) LookupKeys(_ context.Context, keys []string) ([]ledger.KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failRead != nil {
		return nil, m.failRead
	}
	var out []ledger.KeyRecord
	for _, key := range keys {
		if k, ok := m.keySet[key]; ok {
			k.Rejections = slices.Clone(k.Rejections)
			out = append(out, k)
		}
	}
	return out, nil
}

// Events returns up to limit events with position > after, in position order. A limit
// outside 1..MemEventsLimitMax means MemEventsLimitMax.
func (m *MemStore) Events(_ context.Context, after int64, limit int) ([]*ledger.Event, error) {
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	i := from(evs, after)
	return copies(evs[i:min(i+clampLimit(limit), len(evs))]), nil
}

// EventsRange returns the events at positions first..last inclusive (fewer if the head
// is before last). It returns an invalid_argument *ledger.Error on "range" when the range
// is empty or longer than MemEventsRangeMax.
func (m *MemStore) EventsRange(_ context.Context, first, last int64) ([]*ledger.Event, error) {
	if first < 1 || last < first {
		return nil, &ledger.Error{Code: ledger.CodeInvalidArgument, Field: "range",
			Message: fmt.Sprintf("positions %d..%d are not a range of positions from 1", first, last)}
	}
	if last-first >= MemEventsRangeMax {
		return nil, &ledger.Error{Code: ledger.CodeInvalidArgument, Field: "range",
			Message: fmt.Sprintf("at most %d events can be read at once", MemEventsRangeMax)}
	}
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	return copies(evs[from(evs, first-1):from(evs, last)]), nil
}

// Event returns a copy of the event with id, or ledger.ErrNotFound.
func (m *MemStore) Event(_ context.Context, id uuid.UUID) (*ledger.Event, error) {
	m.mu.Lock()
	pos, ok := m.ids[id]
	evs, err := m.events, m.failRead
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ledger.ErrNotFound
	}
	return clone(evs[pos-1]), nil
}

// LineEvents returns up to limit events with position > after that debit or credit the
// line with canonical id lineID (as their line, or either line of a transfer), in
// position order. A limit outside 1..MemEventsLimitMax means MemEventsLimitMax.
func (m *MemStore) LineEvents(_ context.Context, lineID string, after int64, limit int) ([]*ledger.Event, error) {
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	limit = clampLimit(limit)
	var out []*ledger.Event
	for _, e := range evs[from(evs, after):] {
		if len(out) == limit {
			break
		}
		// The PostgreSQL store's columns line (MainLine) and counter_line (To).
		if l := e.MainLine(); l != nil && l.ID() == lineID || e.Data.To != nil && e.Data.To.ID() == lineID {
			out = append(out, e)
		}
	}
	return copies(out), nil
}

// LookupVouchers returns the identities of those of vouchers that a stored event
// carries (VoucherIdentities).
func (m *MemStore) LookupVouchers(_ context.Context, vouchers []ledger.Voucher) ([]string, error) {
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	return VoucherIdentities(evs, vouchers), nil
}

// ReadVouchers calls fn with the identity of every voucher a stored event carries, in
// position order. It returns fn's first error unwrapped.
func (m *MemStore) ReadVouchers(_ context.Context, fn func(identity string) error) error {
	evs, err := m.snapshot()
	if err != nil {
		return err
	}
	for _, e := range evs {
		if v := e.Data.Voucher; v != nil {
			if err := fn(v.Identity()); err != nil {
				return err
			}
		}
	}
	return nil
}

// LookupDisbursements returns the stored disbursements among ids with what was reversed
// and settled of them (DisbursementRecords).
func (m *MemStore) LookupDisbursements(_ context.Context, ids []uuid.UUID) ([]ledger.DisbursementRecord, error) {
	evs, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	return DisbursementRecords(evs, ids), nil
}

// VoucherIdentities returns the identities of those of vouchers that one of events
// carries, as a store's LookupVouchers does: for the test doubles of ledger.WriterSession.
func VoucherIdentities(events []*ledger.Event, vouchers []ledger.Voucher) []string {
	want := map[string]bool{}
	for i := range vouchers {
		want[vouchers[i].Identity()] = true
	}
	var out []string
	for _, e := range events {
		if v := e.Data.Voucher; v != nil && want[v.Identity()] {
			out = append(out, v.Identity())
		}
	}
	return out
}

// DisbursementRecords returns, of ids, the disbursements among events (copies) with the
// sums of the reversals and settlements among events that name them, as a store's
// LookupDisbursements does: for the test doubles of ledger.WriterSession.
func DisbursementRecords(events []*ledger.Event, ids []uuid.UUID) []ledger.DisbursementRecord {
	recs := map[uuid.UUID]*ledger.DisbursementRecord{}
	var order []uuid.UUID
	for _, e := range events {
		if e.Type == ledger.TypeDisbursed && slices.Contains(ids, e.ID) {
			recs[e.ID] = &ledger.DisbursementRecord{Event: clone(e)}
			order = append(order, e.ID)
		}
		named, err := uuid.Parse(e.Data.EventID)
		if r := recs[named]; err == nil && r != nil {
			switch e.Type {
			case ledger.TypeReversed:
				r.Reversed += e.Data.Amount
			case ledger.TypeAdvanceSettled:
				r.Settled += e.Data.Amount
			}
		}
	}
	out := make([]ledger.DisbursementRecord, len(order))
	for i, id := range order {
		out[i] = *recs[id]
	}
	return out
}
