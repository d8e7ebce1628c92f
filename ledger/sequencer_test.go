package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
)

// memStore is a TEST DOUBLE of the event store, used only to inject commit and read
// failures into the sequencer at exact points. It is not a second store
// implementation: the PostgreSQL store and its integration tests live in
// ledger/pgstore. Like PostgreSQL it refuses a batch that does not continue the log
// (the primary key on position) or that reuses an idempotency key (the unique index),
// and it hands out decoded copies, never the sequencer's own event values.
type memStore struct {
	mu     sync.Mutex
	events []*Event
	keys   []KeyRecord
	// steps scripts the next Append calls, one each; without a step Append commits.
	steps []appendStep
	// readFails is how many of the next ReadFrom calls fail.
	readFails   int
	appendCalls int
	readCalls   int
	lookupCalls int
	inAppend    atomic.Bool
}

// appendStep says what one Append call does.
type appendStep struct {
	gate  chan struct{} // if set, Append waits until it is closed
	store bool          // commit the batch even though err is returned (outcome unknown)
	err   error
}

var (
	errConnReset = errors.New("test: connection reset by peer")
	errReadDown  = errors.New("test: store unreachable")
)

func (m *memStore) script(steps ...appendStep) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.steps = append(m.steps, steps...)
}

func (m *memStore) failReads(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.readFails = n
}

func (m *memStore) Append(ctx context.Context, events []*Event, keys []KeyRecord) error {
	m.mu.Lock()
	m.appendCalls++
	step := appendStep{store: true}
	if len(m.steps) > 0 {
		step, m.steps = m.steps[0], m.steps[1:]
	}
	m.mu.Unlock()
	if step.gate != nil {
		m.inAppend.Store(true)
		select {
		case <-step.gate:
		case <-ctx.Done():
			m.inAppend.Store(false)
			return ctx.Err()
		}
		m.inAppend.Store(false)
	}
	if step.err != nil && !step.store {
		return step.err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	prev, next := [32]byte{}, int64(len(m.events)+1)
	if n := len(m.events); n > 0 {
		prev = m.events[n-1].Hash
	}
	copies := make([]*Event, len(events))
	for i, e := range events {
		if e.Position != next+int64(i) || e.PrevHash != prev {
			return fmt.Errorf("test store: event at %d does not continue the log at %d", e.Position, next+int64(i))
		}
		if h, _ := ChainHash(nil, e.PrevHash, e); h != e.Hash {
			return fmt.Errorf("test store: event %d has a wrong hash", e.Position)
		}
		prev = e.Hash
		c, err := copyEvent(e)
		if err != nil {
			return err
		}
		copies[i] = c
	}
	for _, k := range keys {
		if slices.ContainsFunc(m.keys, func(o KeyRecord) bool { return o.Key == k.Key }) {
			return fmt.Errorf("test store: idempotency key %q already stored", k.Key)
		}
	}
	m.events = append(m.events, copies...)
	m.keys = append(m.keys, keys...)
	return step.err
}

func (m *memStore) ReadFrom(ctx context.Context, after int64, fn func(*Event) error) error {
	m.mu.Lock()
	m.readCalls++
	if m.readFails > 0 {
		m.readFails--
		m.mu.Unlock()
		return errReadDown
	}
	var tail []*Event
	if after < int64(len(m.events)) {
		tail = slices.Clone(m.events[after:])
	}
	m.mu.Unlock()
	for _, e := range tail {
		c, err := copyEvent(e)
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) ReadKeys(ctx context.Context, after int64, fn func(KeyRecord) error) error {
	m.mu.Lock()
	keys := slices.Clone(m.keys)
	m.mu.Unlock()
	for _, k := range keys {
		if k.First > after {
			if err := fn(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) LookupKeys(ctx context.Context, keys []string) ([]KeyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookupCalls++
	var out []KeyRecord
	for _, k := range m.keys {
		if slices.Contains(keys, k.Key) {
			out = append(out, k)
		}
	}
	return out, nil
}

func (m *memStore) LookupVouchers(ctx context.Context, vouchers []Voucher) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[string]bool{}
	for i := range vouchers {
		want[vouchers[i].Identity()] = true
	}
	var out []string
	for _, e := range m.events {
		if v := e.Data.Voucher; v != nil && want[v.Identity()] {
			out = append(out, v.Identity())
		}
	}
	return out, nil
}

func (m *memStore) ReadVouchers(ctx context.Context, fn func(string) error) error {
	m.mu.Lock()
	evs := slices.Clone(m.events)
	m.mu.Unlock()
	for _, e := range evs {
		if v := e.Data.Voucher; v != nil {
			if err := fn(v.Identity()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (m *memStore) LookupDisbursements(ctx context.Context, ids []uuid.UUID) ([]DisbursementRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	recs := map[uuid.UUID]*DisbursementRecord{}
	var out []DisbursementRecord
	for _, e := range m.events {
		if e.Type == TypeDisbursed && slices.Contains(ids, e.ID) {
			c, err := copyEvent(e)
			if err != nil {
				return nil, err
			}
			recs[e.ID] = &DisbursementRecord{Event: c}
		}
		named, _ := uuid.Parse(e.Data.EventID) // uuid.Nil when the event names none
		if r := recs[named]; r != nil {
			switch e.Type {
			case TypeReversed:
				r.Reversed += e.Data.Amount
			case TypeAdvanceSettled:
				r.Settled += e.Data.Amount
			}
		}
	}
	for _, r := range recs {
		out = append(out, *r)
	}
	return out, nil
}

func (m *memStore) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.events)
}

func (m *memStore) reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readCalls
}

func (m *memStore) calls() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.appendCalls
}

// fold returns the write model rebuilt from what the store holds: what every sequencer
// state must equal once it is stopped.
func (m *memStore) fold(t *testing.T) *State {
	t.Helper()
	st := &State{}
	st.init()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range m.events {
		c, err := copyEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		st.Apply(c)
	}
	return st
}

// copyEvent decodes a fresh copy of e from its JSON form, as a real store decodes rows.
func copyEvent(e *Event) (*Event, error) {
	var c Event
	if err := c.UnmarshalJSON(e.AppendJSON(nil)); err != nil {
		return nil, fmt.Errorf("test store: copy event %d: %w", e.Position, err)
	}
	return &c, nil
}

// commitLog records what OnCommit was handed, in order.
type commitLog struct {
	mu        sync.Mutex
	positions []int64
}

func (c *commitLog) onCommit(events []*Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range events {
		c.positions = append(c.positions, e.Position)
	}
}

func (c *commitLog) get() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.positions)
}

// runningSequencer is a sequencer over a memStore, loaded and running.
type runningSequencer struct {
	*Sequencer
	store   *memStore
	commits *commitLog
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

const seqTestTimeout = 10 * time.Second

func startSequencer(t *testing.T, store *memStore, opts ...func(*SequencerConfig)) *runningSequencer {
	t.Helper()
	var tick atomic.Int64
	commits := &commitLog{}
	cfg := SequencerConfig{Store: store, OnCommit: commits.onCommit,
		Now: func() time.Time { return clockBase.Add(time.Duration(tick.Add(1)) * time.Microsecond) }}
	for _, o := range opts {
		o(&cfg)
	}
	seq := NewSequencer(cfg)
	if err := seq.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningSequencer{Sequencer: seq, store: store, commits: commits, cancel: cancel, done: make(chan error, 1)}
	go func() { rs.done <- seq.Run(ctx) }()
	t.Cleanup(func() { rs.stop(t) })
	return rs
}

// stop ends Run and returns the write model, which may then be inspected.
func (rs *runningSequencer) stop(t *testing.T) *State {
	t.Helper()
	if !rs.stopped {
		rs.stopped = true
		rs.cancel()
		select {
		case <-rs.done:
		case <-time.After(seqTestTimeout):
			t.Fatalf("the sequencer did not stop within %v", seqTestTimeout)
		}
	}
	return rs.State()
}

// checkState stops the sequencer and checks that its write model is the fold of the log.
func (rs *runningSequencer) checkState(t *testing.T) {
	t.Helper()
	if d := diffState(rs.store.fold(t), rs.stop(t)); len(d) > 0 {
		t.Errorf("the write model differs from the fold of the stored log:\n%v", d)
	}
}

func submit(t *testing.T, seq *runningSequencer, req *Request) *Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), seqTestTimeout)
	defer cancel()
	res, err := seq.Submit(ctx, req)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return res
}

// submitAsync submits req on its own goroutine; the result arrives on the channel.
func submitAsync(seq *runningSequencer, req *Request) <-chan *Result {
	ch := make(chan *Result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), seqTestTimeout)
		defer cancel()
		res, err := seq.Submit(ctx, req)
		if err != nil {
			res = &Result{Err: err}
		}
		ch <- res
	}()
	return ch
}

func wait(t *testing.T, ch <-chan *Result) *Result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(seqTestTimeout):
		t.Fatalf("no answer within %v", seqTestTimeout)
		return nil
	}
}

func one(c Command) *Request { return &Request{Commands: []Command{c}, Meta: Metadata{Actor: "test"}} }

func keyed(key string, hash byte, cmds ...Command) *Request {
	return &Request{Commands: cmds, Key: key, Hash: [32]byte{hash}, Meta: Metadata{Actor: "test", IdempotencyKey: key}}
}

// newFundedSequencer starts a sequencer whose store holds the fixture catalog and
// 1,000,000,000 đồng on each of the lines ln("060","DA1") and ln("062","DA1").
func newFundedSequencer(t *testing.T, opts ...func(*SequencerConfig)) *runningSequencer {
	t.Helper()
	seq := startSequencer(t, &memStore{}, opts...)
	cat := submit(t, seq, &Request{Commands: testCatalog(), Atomic: true})
	if cat.Err != nil {
		t.Fatalf("catalog: %v", cat.Err)
	}
	for _, u := range []string{"060", "062"} {
		if r := submit(t, seq, one(allocate(ln(u, "DA1"), 1_000_000_000, day(2024, 3, 1)))); r.Err != nil {
			t.Fatalf("funding %s: %v", u, r.Err)
		}
	}
	return seq
}

// blockNextAppend makes the next Append wait, submits a request so that the sequencer
// sits in that Append, and returns the gate and the request's answer. While it waits,
// later requests queue up and form the next batch.
func blockNextAppend(t *testing.T, seq *runningSequencer) (gate chan struct{}, first <-chan *Result) {
	t.Helper()
	gate = make(chan struct{})
	seq.store.script(appendStep{gate: gate, store: true})
	first = submitAsync(seq, one(allocate(ln("062", "DA3"), 1, day(2024, 3, 2))))
	eventually(t, seqTestTimeout, "the sequencer to block in Append", seq.store.inAppend.Load)
	return gate, first
}

// waitQueued waits until n requests wait behind the commit in flight: queued, or
// already decided into the next commit (the sequencer decides while it appends).
func waitQueued(t *testing.T, seq *runningSequencer, n int) {
	t.Helper()
	eventually(t, seqTestTimeout, fmt.Sprintf("%d requests queued", n), func() bool { return len(seq.in)+int(seq.waiting.Load()) == n })
}

func TestSequencerGroupCommitAnswersEachRequest(t *testing.T) {
	seq := newFundedSequencer(t)
	gate, first := blockNextAppend(t, seq)
	const n = 10
	var answers []<-chan *Result
	for i := range n {
		answers = append(answers, submitAsync(seq, one(&Allocate{Line: ln("060", "DA3"), Amount: int64(i + 1), EffectiveDate: day(2024, 3, 3),
			Decision: fmt.Sprintf("QĐ %d", i)})))
	}
	waitQueued(t, seq, n)
	callsBefore := seq.store.calls()
	close(gate)
	if r := wait(t, first); r.Err != nil {
		t.Fatalf("blocked request: %v", r.Err)
	}
	seen := map[int64]bool{}
	for i, ch := range answers {
		r := wait(t, ch)
		if r.Err != nil || len(r.Events) != 1 {
			t.Fatalf("request %d: err %v, %d events", i, r.Err, len(r.Events))
		}
		e := r.Events[0]
		if e.Data.Decision != fmt.Sprintf("QĐ %d", i) || e.Data.Amount != int64(i+1) {
			t.Errorf("request %d got another request's event: %+v", i, e.Data)
		}
		if r.First != e.Position || r.Last != e.Position || seen[e.Position] {
			t.Errorf("request %d: First %d Last %d position %d (seen before: %v)", i, r.First, r.Last, e.Position, seen[e.Position])
		}
		seen[e.Position] = true
	}
	if got := seq.store.calls() - callsBefore; got != 1 {
		t.Errorf("%d requests queued behind a commit took %d Append calls, want 1 (group commit)", n, got)
	}
	seq.checkState(t)
}

func TestSequencerPositionsGaplessUnderConcurrency(t *testing.T) {
	seq := newFundedSequencer(t)
	base := seq.Head().Position
	const (
		submitters = 64
		each       = 16
	)
	type answer struct {
		accepted bool
		pos      int64
		err      error
	}
	answers := make(chan answer, submitters*each)
	var wg sync.WaitGroup
	for g := range submitters {
		wg.Go(func() {
			for i := range each {
				var c Command = allocate(ln("062", "DA1"), 1, day(2024, 4, 1))
				refused := (g+i)%5 == 0
				if refused {
					c = &Cancel{Line: ln("060", "DA3"), Amount: 1, EffectiveDate: day(2024, 4, 1), Decision: "QĐ"} // never funded
				}
				ctx, cancel := context.WithTimeout(context.Background(), seqTestTimeout)
				r, err := seq.Submit(ctx, one(c))
				cancel()
				switch {
				case err != nil:
					answers <- answer{err: err}
				case refused != (r.Err != nil):
					answers <- answer{err: fmt.Errorf("refused=%v but result err=%v", refused, r.Err)}
				case r.Err == nil:
					answers <- answer{accepted: true, pos: r.First}
				default:
					answers <- answer{}
				}
			}
		})
	}
	wg.Wait()
	close(answers)
	var positions []int64
	for a := range answers {
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.accepted {
			positions = append(positions, a.pos)
		}
	}
	slices.Sort(positions)
	for i, p := range positions {
		if p != base+int64(i)+1 {
			t.Fatalf("positions are not gapless: %d accepted requests, position #%d is %d, want %d", len(positions), i, p, base+int64(i)+1)
		}
	}
	if got, want := seq.store.len(), int(base)+len(positions); got != want {
		t.Errorf("store holds %d events, want %d", got, want)
	}
	if h := seq.Head(); h.Position != base+int64(len(positions)) {
		t.Errorf("head %d, want %d", h.Position, base+int64(len(positions)))
	}
	if got := seq.commits.get(); !isSeq(got, 1, int64(seq.store.len())) {
		t.Errorf("OnCommit saw positions %v…, want 1..%d once each in order", head(got), seq.store.len())
	}
	seq.checkState(t)
}

// isSeq reports whether got is exactly from, from+1, …, to.
func isSeq(got []int64, from, to int64) bool {
	if int64(len(got)) != to-from+1 {
		return false
	}
	for i, p := range got {
		if p != from+int64(i) {
			return false
		}
	}
	return true
}

func head(p []int64) []int64 { return p[:min(len(p), 40)] }

func TestSequencerAtomicBatchWithOneBadCommandStoresNothing(t *testing.T) {
	seq := newFundedSequencer(t)
	before, stored := seq.Head(), seq.store.len()
	res := submit(t, seq, &Request{Atomic: true, Commands: []Command{
		// A later effective date than any stored event, so that a trace of it would show.
		allocate(ln("062", "DA3"), 5, day(2030, 1, 1)),
		pay(ln("062", "DA1"), 100, day(2024, 5, 1), "B-1"),
		&Cancel{Line: ln("060", "DA1"), Amount: 1_000_000_001, EffectiveDate: day(2024, 5, 1), Decision: "QĐ"},
	}})
	if Code(res.Err) != CodeInsufficientFunds || Field(res.Err) != "commands[2].line" {
		t.Fatalf("err %v (code %q field %q), want insufficient_funds on commands[2].line", res.Err, Code(res.Err), Field(res.Err))
	}
	if len(res.Events) != 0 || seq.store.len() != stored || seq.Head() != before {
		t.Fatalf("a refused atomic batch left a trace: %d events, store %d→%d, head %+v→%+v",
			len(res.Events), stored, seq.store.len(), before, seq.Head())
	}
	// The voucher of the refused batch is free again, and the next position is unused.
	r := submit(t, seq, one(pay(ln("062", "DA1"), 100, day(2024, 5, 1), "B-1")))
	if r.Err != nil || r.First != before.Position+1 {
		t.Fatalf("next request: err %v, position %d, want %d", r.Err, r.First, before.Position+1)
	}
	seq.checkState(t)
}

func TestSequencerNonAtomicBatchStoresTheGoodCommands(t *testing.T) {
	seq := newFundedSequencer(t)
	base := seq.Head().Position
	req := keyed("batch-1", 1,
		allocate(ln("062", "DA3"), 5, day(2024, 5, 1)),
		pay(ln("060", "DA1"), 1_000_000_001, day(2024, 5, 1), "N-1"),
		pay(ln("060", "DA1"), 10, day(2024, 5, 1), "N-2"),
		allocate(ln("063", "DA1"), 5, day(2024, 5, 1)))
	res := submit(t, seq, req)
	if res.Err != nil {
		t.Fatalf("err %v", res.Err)
	}
	if len(res.Events) != 2 || res.First != base+1 || res.Last != base+2 {
		t.Fatalf("%d events at %d..%d, want 2 at %d..%d", len(res.Events), res.First, res.Last, base+1, base+2)
	}
	if res.Events[0].Type != TypeAllocated || res.Events[1].Data.Voucher.Number != "N-2" {
		t.Errorf("stored the wrong commands: %s, %+v", res.Events[0].Type, res.Events[1].Data)
	}
	wantRej := []struct {
		index       int
		code, field string
	}{{1, CodeInsufficientFunds, "commands[1].line"}, {3, CodeUnknownReference, "commands[3].line.unit"}}
	checkRejections := func(what string, got []Rejection) {
		t.Helper()
		if len(got) != len(wantRej) {
			t.Fatalf("%s: rejections %v, want %v", what, got, wantRej)
		}
		for i, w := range wantRej {
			if got[i].Index != w.index || Code(got[i].Err) != w.code || Field(got[i].Err) != w.field {
				t.Errorf("%s: rejection %d = index %d code %q field %q, want %+v", what, i, got[i].Index, Code(got[i].Err), Field(got[i].Err), w)
			}
		}
	}
	checkRejections("answer", res.Rejections)
	if seq.store.len() != int(base)+2 {
		t.Errorf("store holds %d events, want %d", seq.store.len(), base+2)
	}
	// A retry gets the original answer, refusals included.
	again := submit(t, seq, keyed("batch-1", 1, req.Commands...))
	if !again.Replayed || again.First != res.First || again.Last != res.Last {
		t.Fatalf("retry: replayed %v %d..%d, want %d..%d", again.Replayed, again.First, again.Last, res.First, res.Last)
	}
	checkRejections("replay", again.Rejections)
	// A batch refused whole answers with the first refusal.
	all := submit(t, seq, &Request{Commands: []Command{pay(ln("060", "DA1"), 1_000_000_001, day(2024, 5, 1), "N-3"),
		allocate(ln("063", "DA1"), 5, day(2024, 5, 1))}})
	if Code(all.Err) != CodeInsufficientFunds || Field(all.Err) != "commands[0].line" {
		t.Errorf("all refused: err %v, want insufficient_funds on commands[0].line", all.Err)
	}
	seq.checkState(t)
}

func TestSequencerIdempotency(t *testing.T) {
	seq := newFundedSequencer(t)
	first := submit(t, seq, keyed("k-1", 1, allocate(ln("062", "DA3"), 7, day(2024, 5, 1)), allocate(ln("060", "DA3"), 8, day(2024, 5, 1))))
	if first.Err != nil || first.Replayed {
		t.Fatalf("first: %+v", first)
	}
	stored := seq.store.len()

	same := submit(t, seq, keyed("k-1", 1, allocate(ln("062", "DA3"), 7, day(2024, 5, 1)), allocate(ln("060", "DA3"), 8, day(2024, 5, 1))))
	if same.Err != nil || !same.Replayed || same.First != first.First || same.Last != first.Last || same.Events != nil {
		t.Errorf("same key and body: %+v, want a replay of %d..%d", same, first.First, first.Last)
	}
	other := submit(t, seq, keyed("k-1", 2, allocate(ln("062", "DA3"), 9, day(2024, 5, 1))))
	if !errors.Is(other.Err, ErrIdempotencyConflict) {
		t.Errorf("same key, other body: err %v, want ErrIdempotencyConflict", other.Err)
	}
	if seq.store.len() != stored {
		t.Errorf("replays stored events: %d → %d", stored, seq.store.len())
	}

	t.Run("same key twice in one batch", func(t *testing.T) {
		gate, blocked := blockNextAppend(t, seq)
		a := submitAsync(seq, keyed("k-2", 3, allocate(ln("062", "DA3"), 11, day(2024, 5, 2))))
		waitQueued(t, seq, 1)
		b := submitAsync(seq, keyed("k-2", 3, allocate(ln("062", "DA3"), 11, day(2024, 5, 2))))
		waitQueued(t, seq, 2)
		close(gate)
		wait(t, blocked)
		ra, rb := wait(t, a), wait(t, b)
		if ra.Err != nil || ra.Replayed || len(ra.Events) != 1 {
			t.Fatalf("first of the pair: %+v", ra)
		}
		if rb.Err != nil || !rb.Replayed || rb.First != ra.First || rb.Last != ra.Last {
			t.Fatalf("second of the pair: %+v, want a replay of %d", rb, ra.First)
		}
	})

	t.Run("after a restart", func(t *testing.T) {
		stored := seq.store.len()
		seq.stop(t)
		restarted := startSequencer(t, seq.store)
		r := submit(t, restarted, keyed("k-1", 1, allocate(ln("062", "DA3"), 7, day(2024, 5, 1))))
		if !r.Replayed || r.First != first.First || r.Last != first.Last {
			t.Errorf("after restart: %+v, want a replay of %d..%d", r, first.First, first.Last)
		}
		if c := submit(t, restarted, keyed("k-2", 4, allocate(ln("062", "DA3"), 7, day(2024, 5, 1)))); !errors.Is(c.Err, ErrIdempotencyConflict) {
			t.Errorf("after restart, other body: %v", c.Err)
		}
		if restarted.store.len() != stored {
			t.Errorf("replays after restart stored events")
		}
		restarted.checkState(t)
	})
}

func TestSequencerAppendFailureAnswersUnavailable(t *testing.T) {
	seq := newFundedSequencer(t)
	gate, blocked := blockNextAppend(t, seq)
	seq.store.script(appendStep{err: errConnReset}) // the batch queued behind the gate
	var answers []<-chan *Result
	for i := range 3 {
		answers = append(answers, submitAsync(seq, keyed(fmt.Sprintf("u-%d", i), 1,
			allocate(ln("062", "DA3"), 1, day(2031, 1, 1)), pay(ln("062", "DA1"), 1, day(2024, 5, 1), fmt.Sprintf("U-%d", i)))))
	}
	waitQueued(t, seq, 3)
	close(gate)
	if r := wait(t, blocked); r.Err != nil {
		t.Fatal(r.Err)
	}
	before, stored := seq.Head(), seq.store.len()
	for i, ch := range answers {
		if r := wait(t, ch); !errors.Is(r.Err, ErrUnavailable) || len(r.Events) != 0 {
			t.Errorf("caller %d: err %v, %d events; want ErrUnavailable", i, r.Err, len(r.Events))
		}
	}
	if seq.store.len() != stored || seq.Head() != before {
		t.Fatalf("a failed commit moved the log: store %d→%d, head %+v→%+v", stored, seq.store.len(), before, seq.Head())
	}
	// A retry with the same key is recorded, at the next position, once.
	r := submit(t, seq, keyed("u-0", 1, allocate(ln("062", "DA3"), 1, day(2031, 1, 1)), pay(ln("062", "DA1"), 1, day(2024, 5, 1), "U-0")))
	if r.Err != nil || r.Replayed || r.First != before.Position+1 {
		t.Fatalf("retry: %+v, want new events from %d", r, before.Position+1)
	}
	if got := seq.commits.get(); !isSeq(got, 1, int64(seq.store.len())) {
		t.Errorf("OnCommit saw %v…, want 1..%d once each", head(got), seq.store.len())
	}
	seq.checkState(t)
}

// TestSequencerAppendOutcomeUnknown: the store committed but the connection died before
// it said so. The sequencer must read the tail back and answer success.
func TestSequencerAppendOutcomeUnknown(t *testing.T) {
	seq := newFundedSequencer(t)
	base := seq.Head().Position
	seq.store.script(appendStep{store: true, err: errConnReset})
	r := submit(t, seq, keyed("x-1", 1, allocate(ln("062", "DA3"), 5, day(2024, 5, 1)), pay(ln("062", "DA1"), 1, day(2024, 5, 1), "X-1")))
	if r.Err != nil || len(r.Events) != 2 || r.First != base+1 || r.Last != base+2 {
		t.Fatalf("outcome unknown but committed: %+v, want success at %d..%d", r, base+1, base+2)
	}
	if seq.store.len() != int(base)+2 || seq.Head().Position != base+2 {
		t.Fatalf("store %d, head %d; want %d", seq.store.len(), seq.Head().Position, base+2)
	}
	if again := submit(t, seq, keyed("x-1", 1, allocate(ln("062", "DA3"), 5, day(2024, 5, 1)))); !again.Replayed || again.First != base+1 {
		t.Errorf("retry after an unknown outcome: %+v, want a replay from %d", again, base+1)
	}
	next := submit(t, seq, one(pay(ln("062", "DA1"), 1, day(2024, 5, 1), "X-2")))
	if next.Err != nil || next.First != base+3 {
		t.Errorf("next request: %+v, want position %d", next, base+3)
	}
	if got := seq.commits.get(); !isSeq(got, 1, int64(seq.store.len())) {
		t.Errorf("OnCommit must see every committed position once, in order; saw %v (want 1..%d)", got[base-1:], seq.store.len())
	}
	seq.checkState(t)
}

func TestSequencerReadFailureAfterAppendFailure(t *testing.T) {
	t.Run("batch was stored", func(t *testing.T) {
		seq := newFundedSequencer(t)
		base := seq.Head().Position
		seq.store.script(appendStep{store: true, err: errConnReset})
		seq.store.failReads(1)
		req := func() *Request {
			return keyed("r-1", 1, allocate(ln("062", "DA3"), 5, day(2024, 5, 1)), pay(ln("062", "DA1"), 1, day(2024, 5, 1), "R-1"))
		}
		if r := submit(t, seq, req()); !errors.Is(r.Err, ErrUnavailable) {
			t.Fatalf("append and read-back failed: err %v, want ErrUnavailable (outcome unknown)", r.Err)
		}
		reads := seq.store.reads()
		// The next batch first re-reads the store and so learns the batch committed.
		r := submit(t, seq, req())
		if seq.store.reads() <= reads {
			t.Errorf("the next batch did not re-read the store first")
		}
		if r.Err != nil || !r.Replayed || r.First != base+1 || r.Last != base+2 {
			t.Fatalf("retry: %+v, want a replay of %d..%d", r, base+1, base+2)
		}
		next := submit(t, seq, one(pay(ln("062", "DA1"), 1, day(2024, 5, 1), "R-1")))
		if Code(next.Err) != CodeInvalidArgument || Field(next.Err) != "voucher" {
			t.Errorf("the re-read batch's voucher is not known: %v", next.Err)
		}
		if n := submit(t, seq, one(pay(ln("062", "DA1"), 1, day(2024, 5, 1), "R-2"))); n.Err != nil || n.First != base+3 {
			t.Errorf("next: %+v, want position %d", n, base+3)
		}
		if got := seq.commits.get(); !isSeq(got, 1, int64(seq.store.len())) {
			t.Errorf("OnCommit saw %v, want 1..%d once each", got[base-1:], seq.store.len())
		}
		seq.checkState(t)
	})
	t.Run("batch was not stored", func(t *testing.T) {
		seq := newFundedSequencer(t)
		base := seq.Head().Position
		seq.store.script(appendStep{err: errConnReset})
		seq.store.failReads(2) // the read-back and the next batch's first re-sync
		req := func() *Request { return keyed("r-2", 1, pay(ln("062", "DA1"), 1, day(2024, 5, 1), "R-1")) }
		if r := submit(t, seq, req()); !errors.Is(r.Err, ErrUnavailable) {
			t.Fatalf("err %v, want ErrUnavailable", r.Err)
		}
		if r := submit(t, seq, req()); !errors.Is(r.Err, ErrUnavailable) {
			t.Fatalf("while the store stays unreadable: err %v, want ErrUnavailable", r.Err)
		}
		r := submit(t, seq, req())
		if r.Err != nil || r.Replayed || r.First != base+1 {
			t.Fatalf("retry once the store answers: %+v, want new event at %d", r, base+1)
		}
		if seq.store.len() != int(base)+1 {
			t.Errorf("store holds %d events, want %d", seq.store.len(), base+1)
		}
		seq.checkState(t)
	})
}

// process decides, commits and answers one batch with nothing in flight, as Run does
// one round: tests drive the sequencer by hand with it.
func (s *Sequencer) process(ctx context.Context, batch []*Request) {
	c := &commit{}
	s.decide(ctx, c, batch)
	if p := s.start(ctx, c); p != nil {
		s.settle(ctx, p, nil)
	}
	s.state.refs.release()
}

// TestSequencerValidatesCommands drives one batch by hand (Run is not running) so that
// a panic in the write path fails this test instead of the whole test binary.
func TestSequencerValidatesCommands(t *testing.T) {
	store := &memStore{}
	seq := NewSequencer(SequencerConfig{Store: store, Now: func() time.Time { return clockBase }})
	ctx := context.Background()
	process := func(c ...Command) (res *Result, panicked any) {
		req := &Request{Commands: c, Atomic: true, reply: make(chan *Result, 1)}
		func() {
			defer func() { panicked = recover() }()
			seq.process(ctx, []*Request{req})
		}()
		if panicked != nil {
			return nil, panicked
		}
		return <-req.reply, nil
	}
	if r, p := process(testCatalog()...); p != nil || r.Err != nil {
		t.Fatalf("catalog: %v %v", p, r)
	}
	for _, tc := range []struct {
		name  string
		cmd   Command
		field string
	}{
		{"negative amount", allocate(ln("062", "DA1"), -5, day(2024, 3, 1)), "amount"},
		{"zero amount", allocate(ln("062", "DA1"), 0, day(2024, 3, 1)), "amount"},
		{"amount above MaxAmount", allocate(ln("062", "DA1"), MaxAmount+1, day(2024, 3, 1)), "amount"},
		{"no decision", &Allocate{Line: ln("062", "DA1"), Amount: 1, EffectiveDate: day(2024, 3, 1)}, "decision"},
		{"unit without an id or level", &RegisterUnit{Unit{Code: "063", Name: "Bạch Thông"}}, "level"},
	} {
		stored := store.len()
		r, p := process(tc.cmd)
		switch {
		case p != nil:
			t.Errorf("%s: the sequencer panicked instead of refusing the command: %v", tc.name, p)
			seq = NewSequencer(SequencerConfig{Store: store, Now: func() time.Time { return clockBase }})
			if err := seq.Load(ctx); err != nil {
				t.Fatal(err)
			}
		case Code(r.Err) != CodeInvalidArgument || Field(r.Err) != tc.field:
			t.Errorf("%s: err %v (code %q field %q), want invalid_argument on %q; store %d→%d",
				tc.name, r.Err, Code(r.Err), Field(r.Err), tc.field, stored, store.len())
		}
	}
}

// TestSequencerKeyFilterSparesLookups: once the key filter is loaded, a request under a
// new key is decided without a store lookup; a retry of a key older than the cache
// looks it up once and is replayed.
func TestSequencerKeyFilterSparesLookups(t *testing.T) {
	seq := newFundedSequencer(t)
	seq.keys = newKeyCache(2) // before any keyed request: only the sequencer goroutine uses it after
	deadline := time.Now().Add(seqTestTimeout)
	for !seq.filter.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the key filter was not loaded")
		}
		time.Sleep(time.Millisecond)
	}
	lookups := func() int {
		seq.store.mu.Lock()
		defer seq.store.mu.Unlock()
		return seq.store.lookupCalls
	}
	var first *Result
	for i := range 10 {
		r := submit(t, seq, keyed(fmt.Sprint("new-", i), 1, allocate(ln("062", "DA3"), int64(i+1), day(2024, 5, 1))))
		if r.Err != nil || r.Replayed {
			t.Fatalf("request %d: %+v", i, r)
		}
		if i == 0 {
			first = r
		}
	}
	if n := lookups(); n != 0 {
		t.Errorf("%d store lookups for 10 new keys, want none", n)
	}
	r := submit(t, seq, keyed("new-0", 1, allocate(ln("062", "DA3"), 1, day(2024, 5, 1))))
	if r.Err != nil || !r.Replayed || r.First != first.First {
		t.Errorf("retry of the oldest key: %+v, want a replay of %d", r, first.First)
	}
	if n := lookups(); n != 1 {
		t.Errorf("%d store lookups for a key older than the cache, want 1", n)
	}
}

// TestSequencerTinyCaches: with caches of one disbursement and one voucher, a batch
// still sees what its own earlier commands recorded (a voucher twice, reversals that
// add up beyond the disbursement), older ones through the store, and a batch whose
// append fails leaves every cached fact true to the store.
func TestSequencerTinyCaches(t *testing.T) {
	seq := newFundedSequencer(t, func(c *SequencerConfig) { c.DisbursementCacheSize, c.VoucherCacheSize = 1, 1 })
	l, d := ln("062", "DA1"), day(2024, 5, 1)
	first := submit(t, seq, one(pay(l, 100, d, "V-1")))
	if first.Err != nil {
		t.Fatal(first.Err)
	}
	id := first.Events[0].ID
	batch := &Request{Commands: []Command{pay(l, 1, d, "V-2"), pay(l, 1, d, "V-3"), pay(l, 1, d, "V-2"), pay(l, 1, d, "v-1")}}
	r := submit(t, seq, batch)
	if len(r.Rejections) != 2 || r.Rejections[0].Index != 2 || Field(r.Rejections[0].Err) != "commands[2].voucher" ||
		r.Rejections[1].Index != 3 || Field(r.Rejections[1].Err) != "commands[3].voucher" {
		t.Fatalf("a batch repeating its own voucher and an older one: %+v, want commands 2 and 3 refused on voucher", r)
	}
	rev := func(amount int64) *Reverse {
		return &Reverse{EventID: id, Amount: amount, EffectiveDate: d, Reason: "sai"}
	}
	r = submit(t, seq, &Request{Commands: []Command{rev(30), pay(l, 1, d, "V-4"), rev(30), pay(l, 1, d, "V-5"), rev(50)}})
	var ife *InsufficientFundsError
	if len(r.Rejections) != 1 || r.Rejections[0].Index != 4 || !errors.As(r.Rejections[0].Err, &ife) || ife.Available != 40 {
		t.Fatalf("reversals of 30, 30 and 50 of 100 in one batch: %+v, want the third refused with 40 available", r)
	}
	seq.store.script(appendStep{err: errConnReset})
	if r := submit(t, seq, &Request{Atomic: true, Commands: []Command{rev(40), pay(l, 1, d, "V-6")}}); !errors.Is(r.Err, ErrUnavailable) {
		t.Fatalf("a batch whose append fails: %v, want unavailable", r.Err)
	}
	if r := submit(t, seq, one(rev(41))); !errors.As(r.Err, &ife) || ife.Available != 40 {
		t.Fatalf("after a failed append, a reversal of 41: %v, want 40 available", r.Err)
	}
	if r := submit(t, seq, one(pay(l, 1, d, "V-6"))); r.Err != nil {
		t.Fatalf("after a failed append, its voucher: %v, want recorded", r.Err)
	}
	seq.checkState(t)
}

// TestSequencerDecidesWhileAppending: a request that arrives while a commit is appended
// is decided at once, on top of that commit (it spends what the commit allocates), and
// committed as soon as the append ends, at the next positions.
func TestSequencerDecidesWhileAppending(t *testing.T) {
	seq := newFundedSequencer(t)
	fresh := ln("060", "DA3") // no capital until the allocation in flight
	gate := make(chan struct{})
	seq.store.script(appendStep{gate: gate, store: true})
	first := submitAsync(seq, one(allocate(fresh, 500, day(2024, 4, 1))))
	eventually(t, seqTestTimeout, "the sequencer to block in Append", seq.store.inAppend.Load)
	second := submitAsync(seq, one(pay(fresh, 400, day(2024, 4, 2), "P-1")))
	eventually(t, seqTestTimeout, "the payment decided behind the append", func() bool {
		return len(seq.in) == 0 && seq.waiting.Load() == 1
	})
	calls := seq.store.calls()
	close(gate)
	a, b := wait(t, first), wait(t, second)
	if a.Err != nil || b.Err != nil || b.First != a.Last+1 {
		t.Fatalf("allocation %+v, payment %+v; want both recorded, the payment next", a, b)
	}
	if got := seq.store.calls() - calls; got != 1 {
		t.Errorf("the decided payment took %d more Append calls, want 1", got)
	}
	if got := seq.commits.get(); !isSeq(got, 1, int64(seq.store.len())) {
		t.Errorf("OnCommit saw %v…, want 1..%d once each", head(got), seq.store.len())
	}
	seq.checkState(t)
}

// TestSequencerDecidesWhileAppendingWithFullCaches: once the ledger has more
// disbursements than the caches hold, every cache is at its max for good; a commit in
// flight still lets the next one be decided on top of it, within the caches' headroom.
// (Without it, every commit with a disbursement left the caches over their max and the
// sequencer waited for each append before deciding anything more.)
func TestSequencerDecidesWhileAppendingWithFullCaches(t *testing.T) {
	const size = 4
	seq := newFundedSequencer(t, func(c *SequencerConfig) { c.DisbursementCacheSize, c.VoucherCacheSize = size, size })
	l, d := ln("062", "DA1"), day(2024, 5, 1)
	for i := range 2 * size {
		if r := submit(t, seq, one(pay(l, 1, d, fmt.Sprintf("F-%d", i)))); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	gate := make(chan struct{})
	seq.store.script(appendStep{gate: gate, store: true})
	first := submitAsync(seq, one(pay(l, 1, d, "G-1")))
	eventually(t, seqTestTimeout, "the sequencer to block in Append", seq.store.inAppend.Load)
	second := submitAsync(seq, one(pay(l, 1, d, "G-2")))
	eventually(t, seqTestTimeout, "the second payment decided behind the append", func() bool {
		return len(seq.in) == 0 && seq.waiting.Load() == 1
	})
	close(gate)
	a, b := wait(t, first), wait(t, second)
	if a.Err != nil || b.Err != nil || b.First != a.Last+1 {
		t.Fatalf("first %+v, second %+v; want both recorded, the second next", a, b)
	}
	seq.checkState(t)
}

// TestSequencerRedecidesWhenTheAppendBeforeFails: requests decided on top of a commit
// whose append then fails were decided on a state that never was. They are undone and
// decided again: the payment that needed the failed allocation is refused, a retry of the
// failed request (same key) is recorded once, and nothing of the failed commit is stored.
func TestSequencerRedecidesWhenTheAppendBeforeFails(t *testing.T) {
	seq := newFundedSequencer(t)
	fresh := ln("060", "DA3")
	gate := make(chan struct{})
	seq.store.script(appendStep{gate: gate, err: errConnReset})
	alloc := func() *Request { return keyed("f-1", 1, allocate(fresh, 500, day(2024, 4, 1))) }
	first := submitAsync(seq, alloc())
	eventually(t, seqTestTimeout, "the sequencer to block in Append", seq.store.inAppend.Load)
	spend := submitAsync(seq, one(pay(fresh, 400, day(2024, 4, 2), "P-1")))
	retry := submitAsync(seq, alloc())
	other := submitAsync(seq, one(pay(ln("062", "DA1"), 7, day(2024, 4, 2), "P-2")))
	waitQueued(t, seq, 3)
	stored := seq.store.len()
	close(gate)
	if r := wait(t, first); !errors.Is(r.Err, ErrUnavailable) {
		t.Fatalf("the failed append: %+v, want ErrUnavailable", r)
	}
	if r := wait(t, spend); Code(r.Err) != CodeInsufficientFunds {
		t.Errorf("a payment decided on the failed allocation: %+v, want insufficient_funds once decided again", r)
	}
	r := wait(t, retry)
	if r.Err != nil || r.Replayed || len(r.Events) != 1 {
		t.Fatalf("the retry of the failed request: %+v, want it recorded", r)
	}
	if o := wait(t, other); o.Err != nil || len(o.Events) != 1 {
		t.Errorf("an unrelated payment decided behind the failed append: %+v, want it recorded", o)
	}
	if got := seq.store.len(); got != stored+2 {
		t.Errorf("store holds %d events, want %d (the retry and the unrelated payment)", got, stored+2)
	}
	if got := seq.commits.get(); !isSeq(got, 1, int64(seq.store.len())) {
		t.Errorf("OnCommit saw %v…, want 1..%d once each", head(got), seq.store.len())
	}
	seq.checkState(t)
}
