package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/ledger"
)

// Limits and timing of the follower.
const (
	// DefaultFollowerBatch bounds the events handed to Apply at once, and the messages
	// the consumer pulls ahead.
	DefaultFollowerBatch = 1024
	// followerMaxAckPending bounds the messages the server sends before an ack. The
	// follower acks every batch (AckAll), so a few batches' worth keeps the pipe full.
	followerMaxAckPending = 4 * DefaultFollowerBatch
	// followerAckWait is how long the server waits for an ack before it redelivers; the
	// follower then sees a sequence it already applied and skips it.
	followerAckWait = 30 * time.Second
	// followerInactiveThreshold removes the durable consumer of a replica that has been
	// gone this long; a returning replica creates it again from its own position.
	followerInactiveThreshold = 24 * time.Hour
)

// ErrChainBroken means an event on the stream does not continue the hash chain of the
// events before it: its position is not its stream sequence, its prev_hash is not the
// previous hash, or its hash is wrong. The follower stops; the replica must not serve a
// state built from it.
var ErrChainBroken = errors.New("the stream breaks the hash chain")

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// Conn is the NATS connection; required. The follower does not close it.
	Conn *nats.Conn
	// Durable names the replica's consumer on the LEDGER stream, one per replica (for
	// instance "replica-" + host name); required. Consumer names may not contain '.',
	// '*', '>' or white space.
	Durable string
	// After and AfterHash are the position and hash the replica's state is at: what it
	// loaded from PostgreSQL before following (0 and 32 zero bytes for an empty state).
	After     int64
	AfterHash [32]byte
	// Apply receives the events after After, in position order, in batches of at most
	// BatchMax; required. It runs on the follower's goroutine and must not keep the
	// slice (the events it may keep).
	Apply func(events []*ledger.Event)
	// BatchMax; 0 means DefaultFollowerBatch.
	BatchMax int
	// Logger; nil discards.
	Logger *slog.Logger
}

// Follower feeds a read replica from the LEDGER stream through a durable consumer. It
// applies events strictly in order, checks each against the hash chain, and acks what it
// applied, so a restart with the same durable name and position resumes where it
// stopped. Applied and Lag are safe for concurrent use; Run runs once.
type Follower struct {
	cfg      FollowerConfig
	js       jetstream.JetStream
	log      *slog.Logger
	applied  atomic.Int64
	lag      atomic.Int64
	running  atomic.Bool
	lastHash [32]byte // hash at applied (Run only)
	batch    []*ledger.Event
	scratch  []byte
}

// NewFollower returns a follower; start it with Run. It returns an error when cfg lacks
// Conn, Durable or Apply.
func NewFollower(cfg FollowerConfig) (*Follower, error) {
	if cfg.Conn == nil || cfg.Durable == "" || cfg.Apply == nil {
		return nil, errors.New("follower: a NATS connection, a durable name and an Apply function are required")
	}
	if cfg.BatchMax <= 0 {
		cfg.BatchMax = DefaultFollowerBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(cfg.Conn, jetstream.WithDefaultTimeout(streamOpTimeout))
	if err != nil {
		return nil, fmt.Errorf("follower: %w", err)
	}
	f := &Follower{cfg: cfg, js: js, log: cfg.Logger.With("component", "follower", "durable", cfg.Durable),
		lastHash: cfg.AfterHash, batch: make([]*ledger.Event, 0, cfg.BatchMax)}
	f.applied.Store(cfg.After)
	return f, nil
}

// Applied returns the position of the last event applied.
func (f *Follower) Applied() int64 { return f.applied.Load() }

// Lag returns how many events the stream held after the last one applied, as the server
// counted when that one was delivered.
func (f *Follower) Lag() int64 { return f.lag.Load() }

// Run follows the stream until ctx ends, then returns nil. After a NATS error, or a gap
// in what it receives, it waits and starts again from the last applied position. It
// returns an error wrapping ErrChainBroken, or a message it cannot decode, for good.
func (f *Follower) Run(ctx context.Context) error {
	if !f.running.CompareAndSwap(false, true) {
		return errors.New("follower: Run called twice")
	}
	delay := retryDelayMin
	for {
		before := f.applied.Load()
		err := f.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var fe fatalError
		if errors.As(err, &fe) {
			f.log.Error("follower stopped", "error", fe.err, "position", f.applied.Load())
			return fe.err
		}
		if f.applied.Load() > before {
			delay = retryDelayMin
		}
		f.log.Warn("follower restarts", "error", err, "position", f.applied.Load(), "retry_in", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil
		}
		delay = min(2*delay, retryDelayMax)
	}
}

// consumer returns the durable consumer positioned right after the applied position: the
// existing one when it stands exactly there with nothing in flight, else a new one.
func (f *Follower) consumer(ctx context.Context) (jetstream.Consumer, error) {
	applied := f.applied.Load()
	c, err := f.js.Consumer(ctx, StreamName, f.cfg.Durable)
	switch {
	case err == nil:
		info := c.CachedInfo()
		if int64(info.AckFloor.Stream) == applied && int64(info.Delivered.Stream) == applied {
			return c, nil
		}
		// Elsewhere (the replica loaded another position from PostgreSQL) or with
		// deliveries in flight that would come back only after followerAckWait: start over.
		f.log.Info("follower repositions its consumer", "consumer_ack_floor", info.AckFloor.Stream,
			"consumer_delivered", info.Delivered.Stream, "position", applied)
		if err := f.js.DeleteConsumer(ctx, StreamName, f.cfg.Durable); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			return nil, fmt.Errorf("delete consumer %s: %w", f.cfg.Durable, err)
		}
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, fmt.Errorf("look up consumer %s: %w", f.cfg.Durable, err)
	}
	cfg := jetstream.ConsumerConfig{
		Durable:           f.cfg.Durable,
		Description:       "ledger read replica",
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       uint64(applied + 1),
		AckPolicy:         jetstream.AckAllPolicy,
		AckWait:           followerAckWait,
		MaxDeliver:        -1,
		MaxAckPending:     followerMaxAckPending,
		ReplayPolicy:      jetstream.ReplayInstantPolicy,
		InactiveThreshold: followerInactiveThreshold,
	}
	c, err = f.js.CreateConsumer(ctx, StreamName, cfg)
	if err != nil {
		return nil, fmt.Errorf("create consumer %s at %d: %w", f.cfg.Durable, applied+1, err)
	}
	return c, nil
}

// session consumes until an error.
func (f *Follower) session(ctx context.Context) error {
	opCtx, cancel := context.WithTimeout(ctx, streamOpTimeout)
	cons, err := f.consumer(opCtx)
	cancel()
	if err != nil {
		return err
	}
	// A batch an earlier session could not finish is dropped: the consumer starts after
	// the applied position, so its events come again.
	clear(f.batch)
	f.batch = f.batch[:0]
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	// The handler runs on the subscription's goroutine; the bounded channel hands the
	// messages to this one and holds the subscription back when Apply is slower.
	msgs := make(chan jetstream.Msg, f.cfg.BatchMax)
	errs := make(chan error, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-sctx.Done():
		}
	}, jetstream.PullMaxMessages(f.cfg.BatchMax), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		select {
		case errs <- err:
		default:
		}
	}))
	if err != nil {
		return fmt.Errorf("consume %s: %w", f.cfg.Durable, err)
	}
	defer cc.Stop()
	for {
		var m, last jetstream.Msg
		select {
		case m = <-msgs:
		case err := <-errs:
			// The client retries pulls by itself after most errors, but not when the
			// server lost the consumer (a new, empty store), and it would only notice
			// through missed heartbeats much later: ask.
			f.log.Debug("consume", "error", err)
			opCtx, cancel := context.WithTimeout(ctx, streamOpTimeout)
			_, err = cons.Info(opCtx)
			cancel()
			if err != nil {
				return fmt.Errorf("consumer %s: %w", f.cfg.Durable, err)
			}
			continue
		case <-cc.Closed():
			return fmt.Errorf("consumer %s stopped", f.cfg.Durable)
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := f.take(m, &last); err != nil {
			return err
		}
	drain:
		for len(f.batch) < f.cfg.BatchMax {
			select {
			case m = <-msgs:
				if err := f.take(m, &last); err != nil {
					return err
				}
			default:
				break drain
			}
		}
		if len(f.batch) == 0 {
			continue // only redeliveries of applied events
		}
		f.cfg.Apply(f.batch)
		end := f.batch[len(f.batch)-1]
		f.lastHash = end.Hash
		f.applied.Store(end.Position)
		clear(f.batch)
		f.batch = f.batch[:0]
		// AckAll: one ack covers the batch; a lost ack only causes a redelivery, skipped.
		if err := last.Ack(); err != nil {
			return fmt.Errorf("ack position %d: %w", f.applied.Load(), err)
		}
	}
}

// take checks m against the chain and adds its event to the batch, setting *last to m; a
// redelivery of an event already applied or taken is skipped.
func (f *Follower) take(m jetstream.Msg, last *jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return fmt.Errorf("message metadata: %w", err)
	}
	seq := int64(md.Sequence.Stream)
	next := f.applied.Load() + int64(len(f.batch)) + 1
	if seq < next {
		return nil
	}
	if seq > next {
		return fmt.Errorf("gap: received stream sequence %d, expected %d", seq, next)
	}
	e := new(ledger.Event)
	if err := e.UnmarshalJSON(m.Data()); err != nil {
		return fatalError{fmt.Errorf("stream sequence %d: decode event: %w", seq, err)}
	}
	prev := f.lastHash
	if n := len(f.batch); n > 0 {
		prev = f.batch[n-1].Hash
	}
	if e.Position != seq {
		return fatalError{fmt.Errorf("%w: stream sequence %d holds position %d", ErrChainBroken, seq, e.Position)}
	}
	if e.PrevHash != prev {
		return fatalError{fmt.Errorf("%w at position %d: prev_hash %x, previous hash %x", ErrChainBroken, seq, e.PrevHash, prev)}
	}
	var h [32]byte
	h, f.scratch = ledger.ChainHash(f.scratch, prev, e)
	if h != e.Hash {
		return fatalError{fmt.Errorf("%w at position %d: hash %x, computed %x", ErrChainBroken, seq, e.Hash, h)}
	}
	f.batch = append(f.batch, e)
	*last = m
	f.lag.Store(int64(md.NumPending))
	return nil
}
