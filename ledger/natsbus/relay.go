package natsbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/ledger"
)

// Limits and timing of the relay.
const (
	// DefaultPublishWindow bounds the publishes in flight (sent, no ack received for them
	// or a later one). Acks are pipelined, so throughput needs a window; a bound keeps
	// memory and the work redone after an error small.
	DefaultPublishWindow = 4096
	// ackEvery: on a stream of one replica the relay asks for an ack on every
	// ackEvery-th position and on the last event of each run it publishes; the others go
	// without a reply subject, which saves JetStream encoding an ack and the client
	// decoding it, per event. That proves as much: every message names the sequence and
	// the id of the message it must follow (Nats-Expected-Last-Sequence,
	// Nats-Expected-Last-Msg-Id) and JetStream stores it only there, so an ack of position
	// p at sequence p means positions 1..p are stored, ours and in order; a message
	// refused in silence makes every later one refused too, up to the next acked one,
	// whose error restarts the session from the stream's state. A replicated stream gets
	// an ack per message and no last message id: nats-server 2.15's replicas do not keep
	// the last message id across a catch-up, and one that refuses the header never
	// becomes current again.
	ackEvery = 64
	// errCodeWrongLastMsgID is JetStream's error code for a message whose
	// Nats-Expected-Last-Msg-Id is not the stream's last message id (nats.go names no
	// constant for it).
	errCodeWrongLastMsgID jetstream.ErrorCode = 10070
	// relayMessageBytes is the first capacity of a message's buffer: an event's JSON form
	// is 600 to 900 bytes, and a buffer is reused from message to message.
	relayMessageBytes = 1024
	// handoffEvents bounds the committed events Notify holds for Run; a relay further
	// behind (NATS down) drops them and reads PostgreSQL when it resumes.
	handoffEvents = 1 << 16
	// publishAckTimeout bounds the wait for one publish ack; after it the session restarts
	// from the stream's state.
	publishAckTimeout = 5 * time.Second
	// streamOpTimeout bounds one stream management call (create, info).
	streamOpTimeout = 10 * time.Second
	// retryDelayMin and retryDelayMax bound the pause between two sessions after an
	// error; it doubles on each failure without progress.
	retryDelayMin = 100 * time.Millisecond
	retryDelayMax = 5 * time.Second
)

// Errors that stop the relay for good: they need an operator, and continuing could only
// make the stream disagree further with PostgreSQL.
var (
	// ErrStreamAhead means the stream holds more events than PostgreSQL, for instance
	// after PostgreSQL was restored from a backup. The relay stops; it deletes nothing.
	ErrStreamAhead = errors.New("the NATS stream is ahead of PostgreSQL")
	// ErrStreamDiverged means the stream holds, at some sequence, another event than
	// PostgreSQL at that position: it was filled from another database.
	ErrStreamDiverged = errors.New("the NATS stream holds other events than PostgreSQL")
)

// EventSource is where the relay reads committed events. *pgstore.Store satisfies it.
// (ledger.Source is a capital source.)
type EventSource interface {
	// ReadFrom calls fn for every event with position > after, in position order, and
	// returns fn's first error unwrapped.
	ReadFrom(ctx context.Context, after int64, fn func(*ledger.Event) error) error
	// Head returns the position of the last committed event (0 when there is none).
	Head(ctx context.Context) (position int64, hash [32]byte, err error)
}

// RelayConfig configures a Relay.
type RelayConfig struct {
	// Conn is the NATS connection; required. The relay does not close it.
	Conn *nats.Conn
	// Events is the event store; required.
	Events EventSource
	// Stream is the LEDGER stream's configuration, applied by EnsureStream at every
	// (re)start of the relay.
	Stream StreamConfig
	// Catalog, if set, seeds the units that subjects need, as of CatalogPosition: pass
	// the sequencer's State().Catalog and Head().Position after Load and before Run
	// (NewRelay copies what it needs). Without it the relay reads the history from
	// position 1 at start to learn the units.
	Catalog         *ledger.Catalog
	CatalogPosition int64
	// Window bounds the publishes in flight; 0 means DefaultPublishWindow.
	Window int
	// Logger; nil discards.
	Logger *slog.Logger
}

// Relay publishes every committed event, in position order, to the LEDGER stream, so
// that stream sequence == ledger position (docs/design.md §8). It reads the events from the
// event source; Notify only tells it that the head moved. On start and after any error it
// reads the stream's last sequence and continues from PostgreSQL after it, so a lost store
// or a crash between commit and publish leaves nothing missing or doubled.
//
// Notify, Lag and Published are safe for concurrent use; Run runs once.
type Relay struct {
	cfg   RelayConfig
	js    jetstream.JetStream
	log   *slog.Logger
	units *UnitTree
	// folded is the position up to which units have learnt the catalog (Run only).
	folded    int64
	handoff   *ledger.Handoff // batches from Notify, so Run rarely reads PostgreSQL back
	head      atomic.Int64
	published atomic.Int64
	wake      chan struct{}
	running   atomic.Bool
	// ring holds the publishes awaiting their ack, oldest at ring[first]: a ring of
	// Window slots (Run only).
	ring         []inflight
	first, count int
	// held is the last message built and not sent yet, and heldAt its position: it is
	// sent without an ack when another follows in the same run, with one otherwise
	// (Run only).
	held   *nats.Msg
	heldAt int64
	// spare is the last message sent without an ack: nats.go copied it, so the next
	// message reuses its buffers (Run only).
	spare *nats.Msg
	// ackEvery is ackEvery, or 1 for a replicated stream.
	ackEvery int64
}

// inflight is a publish awaiting its ack.
type inflight struct {
	position int64
	ack      jetstream.PubAckFuture
}

// NewRelay returns a relay; start it with Run. It returns an error when cfg lacks Conn or
// Events.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.Conn == nil || cfg.Events == nil {
		return nil, errors.New("relay: a NATS connection and an event source are required")
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultPublishWindow
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(cfg.Conn,
		jetstream.WithPublishAsyncMaxPending(cfg.Window),
		jetstream.WithPublishAsyncTimeout(publishAckTimeout),
		jetstream.WithDefaultTimeout(streamOpTimeout))
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &Relay{cfg: cfg, js: js, log: cfg.Logger.With("component", "relay"), units: NewUnitTree(cfg.Catalog),
		wake: make(chan struct{}, 1), ring: make([]inflight, cfg.Window), handoff: ledger.NewHandoff(handoffEvents)}
	if cfg.Catalog != nil {
		r.folded = cfg.CatalogPosition
	}
	r.ackEvery = ackEvery
	if cfg.Stream.Replicas > 1 {
		r.ackEvery = 1
	}
	return r, nil
}

// Notify tells the relay that events were committed. It is meant to be called from the
// sequencer's OnCommit and never blocks: it records the new head and signals Run.
func (r *Relay) Notify(events []*ledger.Event) {
	if len(events) == 0 {
		return
	}
	r.handoff.Put(events)
	r.noteHead(events[len(events)-1].Position)
	select {
	case r.wake <- struct{}{}:
	default: // a signal is already pending; Run will see the new head
	}
}

// noteHead raises the known head to pos.
func (r *Relay) noteHead(pos int64) {
	for {
		old := r.head.Load()
		if pos <= old || r.head.CompareAndSwap(old, pos) {
			return
		}
	}
}

// Published returns the last position the stream has acknowledged.
func (r *Relay) Published() int64 { return r.published.Load() }

// Lag returns how many committed events the stream has not acknowledged yet.
func (r *Relay) Lag() int64 { return max(r.head.Load()-r.published.Load(), 0) }

// Run publishes until ctx ends, then returns nil. After a NATS or store error it logs,
// waits (retryDelayMin doubling up to retryDelayMax) and restarts from the stream's
// state. It returns an error wrapping ErrStreamAhead or ErrStreamDiverged, or naming an
// event whose unit is unknown, when continuing would be wrong: writes go on, the stream
// stops growing, and an operator must look.
func (r *Relay) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return errors.New("relay: Run called twice")
	}
	delay := retryDelayMin
	for {
		before := r.published.Load()
		err := r.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var f fatalError
		if errors.As(err, &f) {
			r.log.Error("relay stopped", "error", f.err)
			return f.err
		}
		if r.published.Load() > before {
			delay = retryDelayMin
		}
		r.log.Warn("relay restarts from the stream's state", "error", err, "published", r.published.Load(),
			"retry_in", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil
		}
		delay = min(2*delay, retryDelayMax)
	}
}

// fatalError marks an error that must stop Run.
type fatalError struct{ err error }

func (f fatalError) Error() string { return f.err.Error() }
func (f fatalError) Unwrap() error { return f.err }

// session syncs with the stream once and then publishes until an error.
func (r *Relay) session(ctx context.Context) error {
	clear(r.ring)
	r.first, r.count = 0, 0
	r.held, r.heldAt, r.spare = nil, 0, nil
	opCtx, cancel := context.WithTimeout(ctx, streamOpTimeout)
	defer cancel()
	stream, err := EnsureStream(opCtx, r.js, r.cfg.Stream)
	if err != nil {
		return err
	}
	info, err := stream.Info(opCtx)
	if err != nil {
		return fmt.Errorf("read stream %s state: %w", StreamName, err)
	}
	last := int64(info.State.LastSeq)
	var lastID string
	if last > 0 {
		m, err := stream.GetMsg(opCtx, uint64(last))
		if err != nil {
			return fmt.Errorf("read the stream's last message %d: %w", last, err)
		}
		lastID = m.Header.Get(jetstream.MsgIDHeader)
	}
	// The store's head is read after the stream's: the stream only ever holds committed
	// events, so last > head cannot be a race.
	head, _, err := r.cfg.Events.Head(ctx)
	if err != nil {
		return err
	}
	r.noteHead(head)
	if last > head {
		return fatalError{fmt.Errorf("%w: stream %s ends at sequence %d, PostgreSQL at position %d; "+
			"nothing was deleted: restore PostgreSQL, or move the stream away if PostgreSQL is right", ErrStreamAhead,
			StreamName, last, head)}
	}
	r.published.Store(last)
	r.log.Info("relay publishing", "stream_last", last, "position", head)

	sent := last
	// prev is the id of the event at position sent, which the next message must follow
	// (zero before position 1).
	var prev uuid.UUID
	// Read from one before the stream's last event, to check that it is PostgreSQL's
	// event at that position, or from further back if the units are not known that far.
	from := min(r.folded, max(last-1, 0))
	for {
		if r.head.Load() > sent || from < sent {
			err := r.readFrom(ctx, from, func(e *ledger.Event) error {
				r.units.Apply(e)
				r.folded = max(r.folded, e.Position)
				if e.Position == last && e.ID.String() != lastID {
					return fatalError{fmt.Errorf("%w: at sequence %d the stream has event %s, PostgreSQL has %s",
						ErrStreamDiverged, last, lastID, e.ID)}
				}
				if e.Position <= sent {
					prev = e.ID
					return nil
				}
				if e.Position != sent+1 {
					return fatalError{fmt.Errorf("store returned position %d after %d", e.Position, sent)}
				}
				// The first message of the session expects no last message id: a NATS
				// server restarted since the last publish may not know it (2.9, which
				// Debian ships, knows it again only when it is younger than the duplicate
				// window). The session has checked the stream's last message, and the
				// expected last sequence refuses anything that came after it.
				expect := prev
				if e.Position == last+1 {
					expect = uuid.Nil
				}
				if err := r.publish(ctx, e, expect); err != nil {
					return err
				}
				sent, prev = e.Position, e.ID
				return nil
			})
			if err != nil {
				return err
			}
			if err := r.sendHeld(ctx, true); err != nil {
				return err
			}
			from = sent
			for r.count > 0 {
				if err := r.awaitOldest(ctx); err != nil {
					return err
				}
			}
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readFrom calls fn for the events after position after: those Notify handed over when
// they follow on, else read from PostgreSQL.
func (r *Relay) readFrom(ctx context.Context, after int64, fn func(*ledger.Event) error) error {
	if events, ok := r.handoff.Take(after); ok && len(events) > 0 {
		for _, e := range events {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	return r.cfg.Events.ReadFrom(ctx, after, fn)
}

// publish builds e's message, to follow the event prev (uuid.Nil: no expected last
// message id), and holds it; it sends the message held before, which has a successor,
// so needs an ack only on every r.ackEvery-th position.
func (r *Relay) publish(ctx context.Context, e *ledger.Event, prev uuid.UUID) error {
	subject, err := Subject(e, r.units)
	if err != nil {
		return fatalError{err}
	}
	msg := r.spare
	r.spare = nil
	if msg == nil {
		msg = &nats.Msg{Data: make([]byte, 0, relayMessageBytes), Header: nats.Header{}}
	}
	msg.Subject, msg.Data = subject, e.AppendJSON(msg.Data[:0])
	setHeader(msg.Header, jetstream.MsgIDHeader, e.ID.String())
	setHeader(msg.Header, jetstream.ExpectedLastSeqHeader, strconv.FormatInt(e.Position-1, 10))
	if prev != uuid.Nil && r.ackEvery > 1 {
		setHeader(msg.Header, jetstream.ExpectedLastMsgIDHeader, prev.String())
	} else {
		delete(msg.Header, jetstream.ExpectedLastMsgIDHeader)
	}
	if err := r.sendHeld(ctx, false); err != nil {
		return err
	}
	r.held, r.heldAt = msg, e.Position
	return nil
}

// sendHeld sends the held message, if any, asking for an ack when last (it ends a run)
// or its position is a multiple of r.ackEvery; it first waits for acks while more than
// the window's positions would be unacknowledged (acks in flight never outnumber them).
func (r *Relay) sendHeld(ctx context.Context, last bool) error {
	if r.held == nil {
		return nil
	}
	for r.count > 0 && r.heldAt-r.published.Load() > int64(len(r.ring)) {
		if err := r.awaitOldest(ctx); err != nil {
			return err
		}
	}
	msg, position := r.held, r.heldAt
	r.held = nil
	if !last && position%r.ackEvery != 0 {
		if err := r.cfg.Conn.PublishMsg(msg); err != nil {
			return fmt.Errorf("publish position %d: %w", position, err)
		}
		r.spare = msg
		return nil
	}
	f, err := r.js.PublishMsgAsync(msg)
	if err != nil {
		return fmt.Errorf("publish position %d: %w", position, err)
	}
	r.ring[(r.first+r.count)%len(r.ring)] = inflight{position: position, ack: f}
	r.count++
	return nil
}

// setHeader sets h's key to the one value v, reusing the value's slice.
func setHeader(h nats.Header, key, v string) {
	h[key] = append(h[key][:0], v)
}

// awaitOldest waits for the ack of the oldest publish in flight. A wrong last sequence or
// last message id means the stream changed under the relay (another relay, a foreign
// message, a restored stream): the session ends and the next one re-reads the stream's
// state.
func (r *Relay) awaitOldest(ctx context.Context) error {
	p := r.ring[r.first]
	select {
	case ack := <-p.ack.Ok():
		if int64(ack.Sequence) != p.position {
			return fatalError{fmt.Errorf("%w: position %d was stored at stream sequence %d", ErrStreamDiverged,
				p.position, ack.Sequence)}
		}
	case err := <-p.ack.Err():
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant ||
			apiErr.ErrorCode == errCodeWrongLastMsgID) {
			return fmt.Errorf("position %d: the stream's last message is not position %d, re-reading its state: %w",
				p.position, p.position-1, err)
		}
		return fmt.Errorf("publish position %d: %w", p.position, err)
	case <-ctx.Done():
		return ctx.Err()
	}
	r.published.Store(p.position)
	r.ring[r.first] = inflight{}
	r.first = (r.first + 1) % len(r.ring)
	r.count--
	return nil
}
