package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Limits of the sequencer. Every queue and batch is bounded (docs/design.md §11).
const (
	// BatchMaxEvents bounds the events of one group commit. A single request larger than
	// this is still committed whole, alone.
	BatchMaxEvents = 8192
	// QueueMax bounds the requests waiting for the sequencer; Submit blocks beyond it.
	QueueMax = 4096
	// commitTimeout bounds one append transaction.
	commitTimeout = 15 * time.Second
	// syncChunk is how many events read back from the store are handed to OnCommit at once.
	syncChunk = 1024
	// syncRetryDelay spaces attempts to re-read the store after a failed commit.
	syncRetryDelay = 200 * time.Millisecond
)

// KeyRecord remembers an idempotent request: its key, the fingerprint of its body, the
// positions of the events it recorded and, for a batch that was not atomic, the commands
// it refused (JSON), so a retry gets the original answer forever.
type KeyRecord struct {
	Key         string
	RequestHash [32]byte
	First, Last int64
	Rejections  []byte // JSON array of {index, code, field, message}; nil when none
}

// WriterSession is what the sequencer needs of the event store: a session that holds the
// writer lock, appends on it, and reads back (*pgstore.WriterSession). It is not called
// Store, which names the whole event store (*pgstore.Store, mostly read through a pool).
type WriterSession interface {
	// Append stores events (positions head+1, head+2, … in order) and keys in one
	// transaction. It returns an error when the transaction did not commit or its outcome
	// is unknown; the sequencer then reads the tail back to learn which.
	Append(ctx context.Context, events []*Event, keys []KeyRecord) error
	// ReadFrom calls fn for every event with position > after, in position order.
	ReadFrom(ctx context.Context, after int64, fn func(*Event) error) error
	// ReadKeys calls fn for every key record whose first position is > after (the
	// sequencer fills its key filter with it, in the background).
	ReadKeys(ctx context.Context, after int64, fn func(KeyRecord) error) error
	// LookupKeys returns the records of those of keys that are recorded, in any order, in
	// one round trip: the sequencer asks once per batch for the keys its bounded cache
	// does not hold (KeyCacheMax).
	LookupKeys(ctx context.Context, keys []string) ([]KeyRecord, error)
	// LookupVouchers returns the identities (Voucher.Identity) of those of vouchers that
	// a recorded event carries, in any order, in one round trip: the sequencer asks once
	// per batch for the vouchers its cache and filter cannot answer for (VoucherCacheMax).
	LookupVouchers(ctx context.Context, vouchers []Voucher) ([]string, error)
	// ReadVouchers calls fn with the identity of every voucher a recorded event carries,
	// in any order (the sequencer fills its voucher filter with it, in the background).
	ReadVouchers(ctx context.Context, fn func(identity string) error) error
	// LookupDisbursements returns, of ids, those that are recorded disbursements, with
	// the sums of the settlements and reversals recorded against each, in any order, in
	// one round trip: the sequencer asks once per batch for the disbursements its cache
	// does not hold (DisbursementCacheMax) that a settlement or reversal names.
	LookupDisbursements(ctx context.Context, ids []uuid.UUID) ([]DisbursementRecord, error)
}

// Request is what a client asks the sequencer to record: one command, or a batch.
type Request struct {
	Commands []Command
	// Atomic makes the request all-or-nothing. A single command is always atomic.
	Atomic bool
	// Key is the Idempotency-Key ("" for none) and Hash the fingerprint of the request
	// body; the same key with another hash is an idempotency conflict.
	Key  string
	Hash [32]byte
	Meta Metadata
	// Principal is who asks; the writer refuses a command that touches a line outside
	// the principal's unit subtree (forbidden). Nil is the ledger itself (the demo,
	// tools), to which every line is in scope.
	Principal *Principal

	reply chan *Result
	res   Result
	first int // index of the request's first event in the batch
	n     int // number of its events
}

// Result is the sequencer's answer to a Request.
type Result struct {
	// Events are the committed events, in order; nil for a replay.
	Events []*Event
	// Replayed is true when the key was seen before with the same body: First..Last are
	// the positions of the original events and Rejections its original refusals.
	Replayed    bool
	First, Last int64
	// Rejections lists the commands a non-atomic batch of two or more commands refused.
	// A request of one command is atomic: its refusal is Err, with an unprefixed field.
	Rejections []Rejection
	// Err is set when the whole request failed; nothing of it was stored.
	Err error
}

// Rejection is one refused command of a batch.
type Rejection struct {
	Index int
	Err   error
}

// Head is the last committed position and hash.
type Head struct {
	Position   int64     `json:"position"`
	Hash       [32]byte  `json:"-"`
	RecordedAt time.Time `json:"recorded_at"`
}

// SequencerConfig configures a Sequencer.
type SequencerConfig struct {
	// Store is the writer's session on the event store; required.
	Store WriterSession
	// OnCommit, if set, is called by the sequencer goroutine with every committed batch in
	// position order. It must not block for long and must not modify the events.
	OnCommit func(events []*Event)
	// OnBatch, if set, is called by the sequencer goroutine once per committed batch with
	// its number of events and how long the store's Append took (metrics). It is called
	// once per batch, never per event, and must be cheap (an atomic update).
	OnBatch func(events int, commit time.Duration)
	// Now returns the recording time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// AvailabilityAtHeadOnly checks a line's available amount at the head only, not at
	// every business date (State.AvailabilityAtHeadOnly): the baseline `make bench`
	// measures the rule-2 check against, and a way for tests to build the histories
	// older ledgers hold. Never set in a server.
	AvailabilityAtHeadOnly bool
	// KeyCacheSize bounds the idempotency key records kept in memory; 0 means KeyCacheMax.
	// Tests set a small one to reach keys older than the cache.
	KeyCacheSize int
	// DisbursementCacheSize and VoucherCacheSize bound the disbursement records and
	// voucher fingerprints kept in memory (ledger/refcache.go); 0 means
	// DisbursementCacheMax and VoucherCacheMax. Tests set small ones to reach
	// disbursements and vouchers older than the caches.
	DisbursementCacheSize, VoucherCacheSize int
}

// Sequencer is the single writer. One goroutine (Run) owns the write model; Submit is
// safe for concurrent use. See docs/design.md §3.
type Sequencer struct {
	cfg      SequencerConfig
	in       chan *Request
	state    State
	keys     *keyCache
	filter   *keyFilter
	deferred []*Request
	needSync bool
	scratch  []byte
	// Per-batch scratch of lookupRefs, reused.
	wantVouchers []Voucher
	wantKeys     map[voucherKey]bool
	wantIDs      []uuid.UUID
	wantIDSet    map[uuid.UUID]bool
	// lastSynced maps positions read by the last sync to their event ids (bounded).
	lastSynced map[int64]uuid.UUID
	// inflightKeys are the idempotency keys of the commit being appended.
	inflightKeys map[string]bool
	// waiting is how many requests the loop holds, decided or deferred, that no commit
	// has answered yet (tests wait for it).
	waiting atomic.Int64
	head    atomic.Pointer[Head]
	running atomic.Bool
	done    chan struct{}
}

// NewSequencer returns a sequencer over cfg.Store. Call Load, then Run.
func NewSequencer(cfg SequencerConfig) *Sequencer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sequencer{cfg: cfg, in: make(chan *Request, QueueMax), keys: newKeyCache(cfg.KeyCacheSize), filter: newKeyFilter(), done: make(chan struct{})}
	s.state.AvailabilityAtHeadOnly = cfg.AvailabilityAtHeadOnly
	// The server's write model is bounded (ledger/refcache.go); set before init, which
	// then makes no full maps.
	s.state.refs = newStoredRefs(cfg.DisbursementCacheSize, cfg.VoucherCacheSize)
	s.wantKeys, s.wantIDSet = map[voucherKey]bool{}, map[uuid.UUID]bool{}
	s.state.init()
	s.publishHead()
	return s
}

// Load rebuilds the write model from the store: every event. Key records are not read,
// and only the most recent disbursements and vouchers stay in memory: the sequencer
// looks a key, a voucher or a disbursement up in the store when its caches do not hold
// it (ledger/refcache.go).
func (s *Sequencer) Load(ctx context.Context) error {
	return s.sync(ctx)
}

// LoadFrom makes st, the write model folded up to some position (a snapshot's), the
// sequencer's, then reads the events after it from the store as Load does. st must be
// a write model (not LinesOnly) and is not to be used afterwards. A full fold's records
// of every disbursement and voucher are dropped: the store holds them.
func (s *Sequencer) LoadFrom(ctx context.Context, st *State) error {
	if st.LinesOnly || st.AvailabilityAtHeadOnly != s.cfg.AvailabilityAtHeadOnly {
		return errors.New("load the write model: the snapshot's state is not a write model of this sequencer's mode")
	}
	refs := s.state.refs
	s.state = *st
	s.state.disbursements, s.state.vouchers, s.state.refs = nil, nil, refs
	s.publishHead()
	return s.sync(ctx)
}

// Head returns the last committed position, hash and time. It is safe for concurrent use.
func (s *Sequencer) Head() Head { return *s.head.Load() }

// QueueDepth returns how many requests wait for the sequencer (at most QueueMax). It
// is safe for concurrent use.
func (s *Sequencer) QueueDepth() int { return len(s.in) }

// State returns the write model. Only for tests and tools, while Run is not running.
func (s *Sequencer) State() *State {
	invariant(!s.running.Load(), "State called while the sequencer runs")
	return &s.state
}

// Submit hands req to the sequencer and waits for its result. The error is ctx's error
// or ErrClosed; when ctx ends after the request was queued, the request may still be
// recorded: the client retries with the same key.
func (s *Sequencer) Submit(ctx context.Context, req *Request) (*Result, error) {
	if len(req.Commands) == 0 {
		return &Result{Err: invalid("commands", "at least one command is required")}, nil
	}
	req.reply = make(chan *Result, 1)
	select {
	case s.in <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrClosed
	}
	select {
	case r := <-req.reply:
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, ErrClosed
	}
}

// Run is the sequencer loop. It returns when ctx ends, once the commit in flight, if
// any, has ended and its callers are answered.
//
// Group commit, pipelined: while one commit is appended, the loop decides the requests
// that arrive, on top of the write model with that commit applied, into the next one;
// when the append ends, the next commit starts with everything that queued meanwhile. If
// the append fails, the next commit was decided on a state that never was: it is undone
// and its requests are decided again (settle).
func (s *Sequencer) Run(ctx context.Context) error {
	s.running.Store(true)
	defer func() { s.running.Store(false); close(s.done) }()
	go s.loadKeyFilter(ctx)
	go s.loadVoucherFilter(ctx)
	var inflight *commit
	defer func() {
		if inflight != nil {
			s.settle(ctx, inflight, nil)
		}
	}()
	batch := make([]*Request, 0, 256)
	for {
		// The first requests: those deferred, else the next to arrive. A commit in flight
		// that ends first is settled, so its callers never wait for another request.
		batch = append(batch[:0], s.deferred...)
		s.deferred = s.deferred[:0]
		for len(batch) == 0 {
			select {
			case r := <-s.in:
				batch = append(batch, r)
			case <-inflight.ended():
				s.settle(ctx, inflight, nil)
				inflight = nil
				s.state.refs.release()
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		c := &commit{}
		for {
			batch = s.takeQueued(batch, c.n)
			s.decide(ctx, c, batch)
			s.waiting.Store(int64(len(c.requests) + len(s.deferred)))
			if inflight == nil || c.n >= BatchMaxEvents || s.state.refs.full() {
				break
			}
			// Decide what arrives while the commit before is appended.
			batch = batch[:0]
			select {
			case r := <-s.in:
				batch = append(batch, r)
				continue
			case <-inflight.ended():
			case <-ctx.Done():
			}
			break
		}
		if inflight != nil {
			s.settle(ctx, inflight, c)
		}
		inflight = s.start(ctx, c)
		s.waiting.Store(int64(len(s.deferred)))
		// The caches evict only while nothing is in flight (the records a commit's events
		// need stay until it has ended); a full cache waits for the commit.
		if inflight != nil && s.state.refs.full() {
			s.settle(ctx, inflight, nil)
			inflight = nil
		}
		if inflight == nil {
			s.state.refs.release()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// takeQueued appends to batch the requests queued now, while the commit holds fewer than
// BatchMaxEvents events with them.
func (s *Sequencer) takeQueued(batch []*Request, events int) []*Request {
	n := events + countCommands(batch)
	for n < BatchMaxEvents {
		select {
		case r := <-s.in:
			batch = append(batch, r)
			n += len(r.Commands)
		default:
			return batch
		}
	}
	return batch
}

func countCommands(reqs []*Request) int {
	n := 0
	for _, r := range reqs {
		n += len(r.Commands)
	}
	return n
}

// commit is one group commit: the requests decided into it, their events (applied to the
// write model tentatively), their key records, and once started the append's outcome.
type commit struct {
	now      time.Time // recorded_at of its events, set by the first decide
	prevTime time.Time // the write model's head time before its first event
	events   []*Event
	keys     []KeyRecord
	n        int // commands decided into it
	// requests are the requests decided into it, in order; live are those with events,
	// the others have their answer in res until start sends it.
	requests []*Request
	live     []*Request
	pending  map[string]bool // keys of live requests, not yet committed

	done chan struct{} // closed when the append has ended
	err  error         // the append's outcome, once done is closed
	took time.Duration // how long the append took
}

// ended returns a channel closed when c's append has ended; nil (never ready) for no commit.
func (c *commit) ended() <-chan struct{} {
	if c == nil {
		return nil
	}
	return c.done
}

// decide validates and sequences batch into c, applying its events to the write model
// tentatively; answers wait in the requests until start. Requests whose key is pending
// in the commit in flight or in c wait for its outcome in s.deferred.
func (s *Sequencer) decide(ctx context.Context, c *commit, batch []*Request) {
	if s.needSync {
		if err := s.sync(ctx); err != nil {
			s.cfg.Logger.Error("store unavailable; refusing writes", "err", err)
			for _, r := range batch {
				r.reply <- &Result{Err: ErrUnavailable}
			}
			sleep(ctx, syncRetryDelay)
			return
		}
	}
	batch = s.lookupKeys(ctx, batch)
	// What the batch looked up stays cached until it is committed or reverted.
	s.state.refs.hold()
	batch = s.lookupRefs(ctx, batch)
	if c.now.IsZero() {
		c.now, c.prevTime = s.recordingTime(), s.state.HeadTime
	}
	for _, r := range batch {
		r.n = 0
		if r.Key != "" {
			if k, ok := s.keys.get(r.Key); ok {
				r.res = *replay(k, r.Hash)
				c.requests = append(c.requests, r)
				continue
			}
			if c.pending[r.Key] || s.inflightKeys[r.Key] {
				// The same key is in this very commit or the one in flight: answer it once
				// the first one's outcome is known.
				s.deferred = append(s.deferred, r)
				continue
			}
		}
		c.requests = append(c.requests, r)
		c.n += len(r.Commands)
		r.res = Result{}
		r.first = len(c.events)
		if err := s.state.authorize(r); err != nil {
			r.res.Err = err
			continue
		}
		for i, cmd := range r.Commands {
			ev, err := s.record(cmd, c.now, r.Meta)
			if err != nil {
				if len(r.Commands) > 1 {
					err = WithFieldPrefix(err, fmt.Sprintf("commands[%d]", i))
				}
				if r.Atomic || len(r.Commands) == 1 {
					for j := len(c.events) - 1; j >= r.first; j-- {
						s.state.Revert(c.events[j], timeBefore(c.events, j, c.prevTime))
					}
					c.events = c.events[:r.first]
					r.res = Result{Err: err}
					break
				}
				r.res.Rejections = append(r.res.Rejections, Rejection{Index: i, Err: err})
				continue
			}
			c.events = append(c.events, ev)
		}
		r.n = len(c.events) - r.first
		if r.n == 0 {
			if r.res.Err == nil {
				r.res.Err = r.res.Rejections[0].Err // a batch refused whole
			}
			continue
		}
		if r.Key != "" {
			if c.pending == nil {
				c.pending = map[string]bool{}
			}
			c.pending[r.Key] = true
			c.keys = append(c.keys, KeyRecord{Key: r.Key, RequestHash: r.Hash, First: c.events[r.first].Position,
				Last: c.events[r.first+r.n-1].Position, Rejections: encodeRejections(r.res.Rejections)})
		}
		c.live = append(c.live, r)
	}
}

// start answers the requests of c that recorded nothing and, if c has events, starts
// appending them; it returns c then, nil otherwise.
func (s *Sequencer) start(ctx context.Context, c *commit) *commit {
	for _, r := range c.requests {
		if r.n == 0 {
			res := r.res
			r.reply <- &res
		}
	}
	if len(c.events) == 0 {
		return nil
	}
	s.inflightKeys = c.pending
	c.done = make(chan struct{})
	go func() {
		cctx, cancel := context.WithTimeout(ctx, commitTimeout)
		defer cancel()
		begin := time.Now()
		c.err = s.cfg.Store.Append(cctx, c.events, c.keys)
		c.took = time.Since(begin)
		close(c.done)
	}()
	return c
}

// settle waits for the append of c to end and answers c's live requests. next, if set, is
// the commit decided on top of c: if c did not commit, next is undone first and its
// requests go back to s.deferred, to be decided again on the state that is.
func (s *Sequencer) settle(ctx context.Context, c *commit, next *commit) {
	<-c.done
	s.inflightKeys = nil
	err := c.err
	if err != nil && next != nil {
		for j := len(next.events) - 1; j >= 0; j-- {
			s.state.Revert(next.events[j], timeBefore(next.events, j, next.prevTime))
		}
		s.deferred = append(next.requests, s.deferred...)
		*next = commit{}
	}
	recovered := false // read back by recoverCommit, which already handed them to OnCommit
	if err != nil {
		// The batch may have committed (an unknown outcome): its keys go into the filter
		// anyway, which only makes a retry of them look in the store.
		for _, k := range c.keys {
			s.filter.add(k.Key)
		}
		err = s.recoverCommit(ctx, c.events, c.prevTime, err)
		recovered = err == nil
	}
	if err != nil {
		for _, r := range c.live {
			r.reply <- &Result{Err: ErrUnavailable}
		}
		return
	}
	for _, k := range c.keys {
		s.keys.put(k)
		s.filter.add(k.Key)
	}
	last := c.events[len(c.events)-1]
	s.head.Store(&Head{Position: last.Position, Hash: last.Hash, RecordedAt: last.RecordedAt})
	if s.cfg.OnCommit != nil && !recovered {
		s.cfg.OnCommit(c.events)
	}
	if s.cfg.OnBatch != nil {
		s.cfg.OnBatch(len(c.events), c.took)
	}
	for _, r := range c.live {
		res := r.res
		res.Events = c.events[r.first : r.first+r.n : r.first+r.n]
		res.First, res.Last = res.Events[0].Position, res.Events[r.n-1].Position
		r.reply <- &res
	}
}

// recoverCommit handles a failed Append: it undoes the batch in the write model, reads
// back what the store actually holds and returns nil if the batch did commit after all.
// It never guesses: if the store cannot be read, the outcome stays unknown to the callers
// (ErrUnavailable) and the next batch re-reads the store first.
func (s *Sequencer) recoverCommit(ctx context.Context, events []*Event, prevTime time.Time, appendErr error) error {
	for j := len(events) - 1; j >= 0; j-- {
		s.state.Revert(events[j], timeBefore(events, j, prevTime))
	}
	s.cfg.Logger.Warn("append failed; reading the store back", "position", events[0].Position, "err", appendErr)
	if err := s.sync(ctx); err != nil {
		s.needSync = true
		return err
	}
	first := events[0]
	if s.state.Head >= events[len(events)-1].Position && s.committedID(first.Position) == first.ID {
		return nil
	}
	return appendErr
}

// committedID returns the id of the event at pos if the write model saw it in the last
// sync, else uuid.Nil.
func (s *Sequencer) committedID(pos int64) uuid.UUID {
	return s.lastSynced[pos]
}

// sync reads every event after the head from the store into the write model (key
// records stay in the store: a key the cache misses is looked up), and hands the events to OnCommit in chunks, so that projections see every
// committed event whoever wrote it.
func (s *Sequencer) sync(ctx context.Context) error {
	from := s.state.Head
	s.lastSynced = map[int64]uuid.UUID{}
	chunk := make([]*Event, 0, syncChunk)
	flush := func() {
		if len(chunk) > 0 && s.cfg.OnCommit != nil {
			s.cfg.OnCommit(chunk)
		}
		chunk = make([]*Event, 0, syncChunk)
	}
	err := s.cfg.Store.ReadFrom(ctx, from, func(e *Event) error {
		if e.Position != s.state.Head+1 || e.PrevHash != s.state.HeadHash {
			return fmt.Errorf("event at position %d does not link to the head %d: the store is damaged; run ledger verify", e.Position, s.state.Head)
		}
		s.state.Apply(e)
		if len(s.lastSynced) < BatchMaxEvents {
			s.lastSynced[e.Position] = e.ID
		}
		if chunk = append(chunk, e); len(chunk) == syncChunk {
			flush()
		}
		return nil
	})
	flush()
	s.publishHead()
	if err != nil {
		return fmt.Errorf("read the store after position %d: %w", from, err)
	}
	s.needSync = false
	return nil
}

// lookupKeys puts in the key cache the stored records of the keys of batch that the cache
// misses, in one query for the whole batch, so that a retry of a request older than the
// cache is answered as the original was. A new key costs that one query per batch, not
// one per request, and none once the key filter is loaded: a key the filter does not hold
// was never recorded. When the store cannot answer, the requests whose keys are unknown get
// ErrUnavailable (their outcome cannot be decided) and are dropped from the batch it
// returns; the others go on.
func (s *Sequencer) lookupKeys(ctx context.Context, batch []*Request) []*Request {
	var missed []string
	seen := map[string]bool{}
	filter := s.filter.ready.Load()
	for _, r := range batch {
		if r.Key == "" || seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		if _, ok := s.keys.get(r.Key); !ok && (!filter || s.filter.mayContain(r.Key)) {
			missed = append(missed, r.Key)
		}
	}
	if len(missed) == 0 {
		return batch
	}
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	recs, err := s.cfg.Store.LookupKeys(cctx, missed)
	cancel()
	if err == nil {
		for _, k := range recs {
			s.keys.put(k)
		}
		return batch
	}
	s.cfg.Logger.Error("idempotency keys cannot be looked up; refusing the requests that name them", "keys", len(missed), "err", err)
	unknown := map[string]bool{}
	for _, k := range missed {
		unknown[k] = true
	}
	kept := make([]*Request, 0, len(batch))
	for _, r := range batch {
		if unknown[r.Key] {
			r.reply <- &Result{Err: ErrUnavailable}
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// loadKeyFilter adds every stored key to the filter, then makes it ready: from then on a
// key the filter does not hold is new without a query. The sequencer adds the keys it
// commits itself, from the start, so none committed while the loader reads is missed;
// the keys stored before are all there when it starts (this process holds the writer
// lock). If the store cannot be read, the filter stays off and every key the cache
// misses is looked up, which is correct, only slower.
func (s *Sequencer) loadKeyFilter(ctx context.Context) {
	touchPages(s.filter.words)
	n := 0
	err := s.cfg.Store.ReadKeys(ctx, 0, func(k KeyRecord) error {
		s.filter.add(k.Key)
		n++
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("idempotency key filter not loaded; every key the cache misses is looked up", "err", err)
		}
		return
	}
	s.filter.ready.Store(true)
	s.cfg.Logger.Debug("idempotency key filter loaded", "keys", n)
}

// lookupRefs makes the write model able to decide every settlement, reversal and
// voucher of batch: it looks up, in one query per kind, the disbursements they name and
// the vouchers they carry that the caches do not hold and (for vouchers) the filter does
// not rule out, and caches the answers, negative ones included, while the batch is
// decided (the caches are held). Until the voucher filter is loaded every voucher the
// cache misses is looked up. When the store cannot answer, the requests that need an
// answer get ErrUnavailable and are dropped from the batch it returns.
func (s *Sequencer) lookupRefs(ctx context.Context, batch []*Request) []*Request {
	refs := s.state.refs
	ready := refs.filter.ready.Load()
	vouchers, ids := s.wantVouchers[:0], s.wantIDs[:0]
	clear(s.wantKeys)
	clear(s.wantIDSet)
	for _, r := range batch {
		if s.replayed(r) {
			continue
		}
		for _, c := range r.Commands {
			v, id := references(c)
			if v != nil {
				k := v.key()
				if _, ok := refs.vouchers.get(k); !ok && !s.wantKeys[k] && (!ready || refs.filter.mayContain(k)) {
					s.wantKeys[k] = true
					vouchers = append(vouchers, *v)
				}
			}
			if id != uuid.Nil {
				if _, ok := refs.disbursements.get(id); !ok && !s.wantIDSet[id] {
					s.wantIDSet[id] = true
					ids = append(ids, id)
				}
			}
		}
	}
	s.wantVouchers, s.wantIDs = vouchers, ids
	if len(vouchers) == 0 && len(ids) == 0 {
		return batch
	}
	cctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	var err error
	if len(vouchers) > 0 {
		var found []string
		if found, err = s.cfg.Store.LookupVouchers(cctx, vouchers); err == nil {
			for i := range vouchers {
				refs.vouchers.put(vouchers[i].key(), false)
			}
			for _, identity := range found {
				refs.vouchers.put(voucherFingerprint(identity), true)
			}
		}
	}
	if err == nil && len(ids) > 0 {
		var recs []DisbursementRecord
		if recs, err = s.cfg.Store.LookupDisbursements(cctx, ids); err == nil {
			for _, id := range ids {
				refs.disbursements.put(id, nil)
			}
			for _, rec := range recs {
				refs.disbursements.put(rec.Event.ID, s.state.disbursementOf(rec))
			}
		}
	}
	if err == nil {
		return batch
	}
	s.cfg.Logger.Error("vouchers or disbursements cannot be looked up; refusing the requests that name them",
		"vouchers", len(vouchers), "disbursements", len(ids), "err", err)
	kept := make([]*Request, 0, len(batch))
	for _, r := range batch {
		if s.needsLookup(r) {
			r.reply <- &Result{Err: ErrUnavailable}
			continue
		}
		kept = append(kept, r)
	}
	return kept
}

// needsLookup reports whether a command of r names a disbursement or voucher the write
// model cannot decide without the store.
func (s *Sequencer) needsLookup(r *Request) bool {
	if s.replayed(r) {
		return false
	}
	refs := s.state.refs
	ready := refs.filter.ready.Load()
	for _, c := range r.Commands {
		v, id := references(c)
		if v != nil {
			k := v.key()
			if _, ok := refs.vouchers.get(k); !ok && (!ready || refs.filter.mayContain(k)) {
				return true
			}
		}
		if id != uuid.Nil {
			if _, ok := refs.disbursements.get(id); !ok {
				return true
			}
		}
	}
	return false
}

// replayed reports whether r's key is in the key cache: r is answered with the recorded
// outcome (process), never decided, so it needs no reference looked up.
func (s *Sequencer) replayed(r *Request) bool {
	if r.Key == "" {
		return false
	}
	_, ok := s.keys.get(r.Key)
	return ok
}

// references returns the voucher c carries and the disbursement it names, if any.
func references(c Command) (*Voucher, uuid.UUID) {
	switch c := c.(type) {
	case *Disburse:
		return &c.Voucher, uuid.Nil
	case *SettleAdvance:
		return &c.Voucher, c.EventID
	case *Reverse:
		return nil, c.EventID
	}
	return nil, uuid.Nil
}

// loadVoucherFilter adds every stored voucher to the filter, then makes it ready, as
// loadKeyFilter does for keys: the write model adds the vouchers it applies itself, from
// the start, so none committed while the loader reads is missed. If the store cannot be
// read, the filter stays off and every voucher the cache misses is looked up.
func (s *Sequencer) loadVoucherFilter(ctx context.Context) {
	f := s.state.refs.filter
	touchPages(f.words)
	n := 0
	err := s.cfg.Store.ReadVouchers(ctx, func(identity string) error {
		f.add(voucherFingerprint(identity))
		n++
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			s.cfg.Logger.Warn("voucher filter not loaded; every voucher the cache misses is looked up", "err", err)
		}
		return
	}
	f.ready.Store(true)
	s.cfg.Logger.Debug("voucher filter loaded", "vouchers", n)
}

// record validates and decides one command, builds its event at the next position, chains its hash
// and applies it tentatively.
func (s *Sequencer) record(c Command, now time.Time, meta Metadata) (*Event, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	typ, date, data, err := s.state.Decide(c)
	if err != nil {
		return nil, err
	}
	if date == 0 {
		date = DateOf(now)
	}
	e := &Event{Position: s.state.Head + 1, ID: uuid.Must(uuid.NewV7()), Type: typ, EffectiveDate: date,
		RecordedAt: now, Data: data, Meta: meta, PrevHash: s.state.HeadHash}
	if err := s.state.checkTurnover(e); err != nil {
		return nil, err
	}
	e.Hash, s.scratch = ChainHash(s.scratch, e.PrevHash, e)
	s.state.Apply(e)
	return e, nil
}

// recordingTime is the time of the next commit: now at microsecond precision (what
// PostgreSQL keeps), and after the head's time even when the clock has not moved on or
// stepped back, so that recorded_at grows with position and no two commits share one —
// the read model groups a commit's events by it (pgstore's read-model writer).
func (s *Sequencer) recordingTime() time.Time {
	now := s.cfg.Now().UTC().Truncate(time.Microsecond)
	if s.state.Head > 0 && !now.After(s.state.HeadTime) {
		now = s.state.HeadTime.Add(time.Microsecond)
	}
	return now
}

func (s *Sequencer) publishHead() {
	s.head.Store(&Head{Position: s.state.Head, Hash: s.state.HeadHash, RecordedAt: s.state.HeadTime})
}

func timeBefore(events []*Event, j int, prev time.Time) time.Time {
	if j == 0 {
		return prev
	}
	return events[j-1].RecordedAt
}

func replay(k KeyRecord, hash [32]byte) *Result {
	if k.RequestHash != hash {
		return &Result{Err: ErrIdempotencyConflict}
	}
	return &Result{Replayed: true, First: k.First, Last: k.Last, Rejections: decodeRejections(k.Rejections)}
}

// rejectionJSON is how a refused command of a non-atomic batch is kept with its key, so a
// replay answers with the same problem, numbers included.
type rejectionJSON struct {
	Index     int    `json:"index"`
	Code      string `json:"code"`
	Field     string `json:"field,omitempty"`
	Message   string `json:"message,omitempty"`
	Line      string `json:"line,omitempty"`
	Requested int64  `json:"requested,omitempty"`
	Available int64  `json:"available,omitempty"`
	Date      Date   `json:"date,omitempty"` // absent in records made before rule 2 named it
	// deadline_passed
	Deadline   Date   `json:"deadline,omitempty"`
	LegalBasis string `json:"legal_basis,omitempty"`
}

func encodeRejections(rs []Rejection) []byte {
	if len(rs) == 0 {
		return nil
	}
	out := make([]rejectionJSON, len(rs))
	for i, r := range rs {
		j := rejectionJSON{Index: r.Index, Code: Code(r.Err), Field: Field(r.Err), Message: r.Err.Error()}
		var ife *InsufficientFundsError
		var dpe *DeadlinePassedError
		var e *Error
		switch {
		case errors.As(r.Err, &ife):
			j.Message, j.Line, j.Requested, j.Available, j.Date = "", ife.Line, ife.Requested, ife.Available, ife.Date
		case errors.As(r.Err, &dpe):
			j.Message, j.Line, j.Date, j.Deadline, j.LegalBasis = "", dpe.Line, dpe.Date, dpe.Deadline, dpe.LegalBasis
		case errors.As(r.Err, &e):
			j.Message = e.Message
		}
		out[i] = j
	}
	b, err := json.Marshal(out)
	invariant(err == nil, "rejections encode")
	return b
}

func decodeRejections(b []byte) []Rejection {
	if len(b) == 0 {
		return nil
	}
	var in []rejectionJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return []Rejection{{Index: -1, Err: fmt.Errorf("stored rejections unreadable: %w", err)}}
	}
	out := make([]Rejection, len(in))
	for i, r := range in {
		var err error = &Error{Code: r.Code, Field: r.Field, Message: r.Message}
		switch r.Code {
		case CodeInsufficientFunds:
			err = &InsufficientFundsError{Field: r.Field, Line: r.Line, Requested: r.Requested, Available: r.Available, Date: r.Date}
		case CodeDeadlinePassed:
			err = &DeadlinePassedError{Field: r.Field, Line: r.Line, Date: r.Date, Deadline: r.Deadline, LegalBasis: r.LegalBasis}
		}
		out[i] = Rejection{Index: r.Index, Err: err}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
