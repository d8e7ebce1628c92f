package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/vnntp/ledger/ledger"
)

// WriterLockKey is the key of the session advisory lock that makes a process the writer
// of a database (advisory locks are per database). It is part of the operating contract:
// `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid =
// 1818584167 AND objsubid = 1` shows the writer of each database (a bigint key appears
// split in its high and low 32 bits). Never change it: two versions with different keys
// would both write.
const WriterLockKey int64 = 0x6c656467 // "ledg"

// Timing of the writer session.
const (
	// writerLockPoll is how often a standby retries the writer lock. A short interval
	// makes fail-over quick; each try is one cheap query.
	writerLockPoll = 250 * time.Millisecond
	// cleanupTimeout bounds the unlock of a session that may be broken.
	cleanupTimeout = 5 * time.Second
)

// Constraint names the store translates; they are defined in migrations/00001_events.sql.
const (
	constraintPosition = "events_pkey"
	// constraintVoucherIdentity is the unique index of voucher identities (migration
	// 00008): the same voucher, however it is spelt. It replaced events_voucher_key
	// (migration 00013).
	constraintVoucherIdentity = "events_voucher_identity"
	sqlstateUnique            = "23505"
)

// ErrFenced means another writer has already recorded a position this writer tried to
// append: this process lost the writer lock (or never should have held it) and must not
// write. The sequencer reads the store back and answers from what is there.
var ErrFenced = &ledger.Error{Code: ledger.CodeUnavailable,
	Message: "another writer has recorded this position; this process is not the writer"}

// ErrSessionClosed is returned by Append after Close.
var ErrSessionClosed = &ledger.Error{Code: ledger.CodeUnavailable, Message: "the writer session is closed"}

// errGap is what Append returns, storing nothing, for a batch whose positions do not
// continue the head one by one: stored, it would break the gapless chain that every
// reader and auditor relies on. Only a bug in the caller sends one.
var errGap = errors.New("positions must continue the head one by one")

// headUnknown is WriterSession.head when the writer must read the head from the store: on a new
// session, and after a failed append, whose outcome may be unknown.
const headUnknown = -1

// errDuplicateVoucher is what a violation of the voucher index becomes: the sequencer
// checks vouchers in memory, so it only happens when another writer recorded the voucher.
var errDuplicateVoucher = &ledger.Error{Code: ledger.CodeInvalidArgument, Field: "voucher",
	Message: "this treasury voucher was already recorded"}

// WriterSession appends events on the dedicated connection that holds the writer lock:
// it is the database session of the writer (the sequencer), and implements
// ledger.WriterSession. It is not called Writer, which in this repository means the
// sequencer. Its methods are safe for concurrent use, but appends are serialised: the
// sequencer is its only caller.
type WriterSession struct {
	s      *Store
	mu     sync.Mutex
	conn   *pgx.Conn // nil after the connection broke; the next Append reconnects
	closed bool
	// head is the last position stored, or headUnknown. While the session holds the writer
	// lock only this writer's commits move it, so it is read once per session.
	head    int64
	inserts inserter
}

// AcquireWriter connects a dedicated session and blocks, trying pg_try_advisory_lock
// every writerLockPoll, until that session holds the writer lock; a second server waits
// here as a standby. It returns ctx's error (wrapped) when ctx ends first, or a wrapped
// connection error.
func (s *Store) AcquireWriter(ctx context.Context) (*WriterSession, error) {
	w := &WriterSession{s: s, head: headUnknown}
	conn, err := s.lockedConn(ctx)
	if err != nil {
		return nil, err
	}
	w.conn = conn
	return w, nil
}

// lockedConn opens a connection outside the pool and waits until it holds the lock.
func (s *Store) lockedConn(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.pool.Config().ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "ledger writer"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect the writer session: %w", err)
	}
	t := time.NewTicker(writerLockPoll)
	defer t.Stop()
	for {
		var locked bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, WriterLockKey).Scan(&locked); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("take the writer lock: %w", err)
		}
		if locked {
			return conn, nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			conn.Close(context.Background())
			return nil, fmt.Errorf("wait for the writer lock: %w", ctx.Err())
		}
	}
}

// Close releases the writer lock and closes the session. A standby waiting in
// AcquireWriter takes over. Append returns ErrSessionClosed afterwards.
func (w *WriterSession) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	w.dropConn()
}

// dropConn closes the session; ending it releases the advisory lock too, so the explicit
// unlock only saves the server noticing the closed socket.
func (w *WriterSession) dropConn() {
	if w.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if !w.conn.IsClosed() {
		_, _ = w.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, WriterLockKey)
	}
	_ = w.conn.Close(ctx)
	w.conn = nil
	w.head = headUnknown
}

// dropIfBroken drops the session after err unless err is one the server reported in an
// otherwise healthy session: then the session is broken or in an unknown state.
func (w *WriterSession) dropIfBroken(err error) {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || w.conn.IsClosed() {
		w.dropConn()
	}
}

// Append stores events and keys in one transaction on the writer's session, the events
// with COPY (without keys, the COPY alone: a statement is its own transaction). Events
// must be in position order, continuing the store's head; their data and metadata are
// stored as their canonical bytes. It returns, storing nothing:
//   - ErrFenced (wrapped) when one of the positions is already recorded, by another
//     writer (or by this one, if its caller is out of step);
//   - a wrapped error when the positions do not continue the head one by one (a gap, or
//     a batch out of order);
//   - an invalid_argument *ledger.Error on field "voucher" when a voucher was already
//     recorded;
//   - ErrSessionClosed after Close;
//   - otherwise a wrapped driver error, and then the outcome may be unknown (a connection
//     lost during COMMIT): the caller reads the store back.
//
// When the session breaks, Append closes it; the next Append reconnects and waits for the
// writer lock again, as a standby would, for as long as its ctx allows.
func (w *WriterSession) Append(ctx context.Context, events []*ledger.Event, keys []ledger.KeyRecord) error {
	if len(events) == 0 && len(keys) == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrSessionClosed
	}
	first := int64(0)
	if len(events) > 0 {
		first = events[0].Position
	}
	if w.conn == nil {
		conn, err := w.s.lockedConn(ctx)
		if err != nil {
			return fmt.Errorf("append at position %d: %w", first, err)
		}
		w.conn = conn
	}
	if len(events) > 0 {
		if err := w.followHead(ctx, events); err != nil {
			return fmt.Errorf("append at position %d: %w", first, err)
		}
	}
	err := w.inserts.insert(ctx, w.conn, events, keys)
	if err == nil {
		if len(events) > 0 {
			w.head = events[len(events)-1].Position
		}
		return nil
	}
	w.head = headUnknown
	w.dropIfBroken(err)
	return fmt.Errorf("append at position %d: %w", first, translate(err))
}

// followHead checks, before anything is sent, that events continue the head one by one,
// reading the head first when the session does not know it. A position at or below the
// head is ErrFenced, as the primary key would report it; a gap or a batch out of order is
// errGap.
func (w *WriterSession) followHead(ctx context.Context, events []*ledger.Event) error {
	if w.head == headUnknown {
		var head int64
		if err := w.conn.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM events`).Scan(&head); err != nil {
			w.dropIfBroken(err)
			return fmt.Errorf("read the head: %w", err)
		}
		w.head = head
	}
	if p := events[0].Position; p <= w.head {
		return fmt.Errorf("%w (position %d, head %d)", ErrFenced, p, w.head)
	}
	for i, e := range events {
		if want := w.head + int64(i) + 1; e.Position != want {
			return fmt.Errorf("%w: event %d of the batch is at position %d, want %d", errGap, i, e.Position, want)
		}
	}
	return nil
}

// translate maps the driver errors callers can act on to ledger errors.
func translate(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == sqlstateUnique {
		switch pgErr.ConstraintName {
		case constraintPosition:
			return fmt.Errorf("%w (%s)", ErrFenced, pgErr.Detail)
		case constraintVoucherIdentity:
			return errDuplicateVoucher
		}
	}
	return err
}

// ReadFrom calls fn for every event with position > after, in position order; see
// Store.ReadFrom. It reads through the pool, not the writer's session, so that the
// sequencer can read the store back while that session is being re-established.
func (w *WriterSession) ReadFrom(ctx context.Context, after int64, fn func(*ledger.Event) error) error {
	return w.s.ReadFrom(ctx, after, fn)
}

// ReadKeys calls fn for every key record whose first position is > after; see
// Store.ReadKeys.
func (w *WriterSession) ReadKeys(ctx context.Context, after int64, fn func(ledger.KeyRecord) error) error {
	return w.s.ReadKeys(ctx, after, fn)
}

// LookupKeys returns the records of those of keys that are recorded; see
// Store.LookupKeys. Like ReadFrom it reads through the pool.
func (w *WriterSession) LookupKeys(ctx context.Context, keys []string) ([]ledger.KeyRecord, error) {
	return w.s.LookupKeys(ctx, keys)
}

// LookupVouchers, ReadVouchers and LookupDisbursements read through the pool, as
// LookupKeys does; see the Store's methods.
func (w *WriterSession) LookupVouchers(ctx context.Context, vouchers []ledger.Voucher) ([]string, error) {
	return w.s.LookupVouchers(ctx, vouchers)
}

func (w *WriterSession) ReadVouchers(ctx context.Context, fn func(identity string) error) error {
	return w.s.ReadVouchers(ctx, fn)
}

func (w *WriterSession) LookupDisbursements(ctx context.Context, ids []uuid.UUID) ([]ledger.DisbursementRecord, error) {
	return w.s.LookupDisbursements(ctx, ids)
}

var _ ledger.WriterSession = (*WriterSession)(nil)
