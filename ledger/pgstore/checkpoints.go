package pgstore

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/ledger"
)

// Checkpoint defaults and limits (docs/hash-chain.md).
const (
	// DefaultCheckpointEvery is how many events may be recorded before the head is signed:
	// at the write path's rate that is about one checkpoint a second under full load.
	DefaultCheckpointEvery = 10_000
	// DefaultCheckpointInterval is the longest a new head waits to be signed when the
	// load is light.
	DefaultCheckpointInterval = time.Minute
	// DefaultCheckpointPoll is how often the Checkpointer looks at the head: the delay
	// between reaching Every events and signing.
	DefaultCheckpointPoll = 500 * time.Millisecond
	// CheckpointsLimitMax bounds the checkpoints one call of Checkpoints returns.
	CheckpointsLimitMax = 1_000
	// checkpointWriteTimeout bounds storing one checkpoint, including the final one
	// signed while the server stops.
	checkpointWriteTimeout = 5 * time.Second
)

// RegisterKey records pub in signing_keys, unless it is there, and returns its key id.
// Keys are never removed, so checkpoints signed with a retired key stay verifiable.
func (s *Store) RegisterKey(ctx context.Context, pub ed25519.PublicKey, now time.Time) (string, error) {
	if len(pub) != ed25519.PublicKeySize {
		return "", fmt.Errorf("register signing key: %d bytes is not an Ed25519 public key", len(pub))
	}
	id := ledger.KeyID(pub)
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (key_id, public_key, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (key_id) DO NOTHING`, id, []byte(pub), now.UTC())
	if err != nil {
		return "", fmt.Errorf("register signing key %s: %w", id, err)
	}
	return id, nil
}

// SigningKeys returns every registered public key, oldest first.
func (s *Store) SigningKeys(ctx context.Context) ([]ledger.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT key_id, public_key, created_at FROM signing_keys ORDER BY created_at, key_id`)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.SigningKey, error) {
		var k ledger.SigningKey
		var pub []byte
		err := r.Scan(&k.KeyID, &pub, &k.CreatedAt)
		k.PublicKey, k.CreatedAt = pub, k.CreatedAt.UTC()
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	return keys, nil
}

// InsertCheckpoint stores cp; its key must be registered (RegisterKey).
func (s *Store) InsertCheckpoint(ctx context.Context, cp ledger.Checkpoint) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO checkpoints (position, hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)`,
		cp.Position, cp.Hash[:], cp.SignedAt, cp.KeyID, cp.Signature)
	if err != nil {
		return fmt.Errorf("store checkpoint at position %d: %w", cp.Position, err)
	}
	return nil
}

// Checkpoints returns up to limit checkpoints with position > after, in position order.
// A limit outside 1..CheckpointsLimitMax means CheckpointsLimitMax.
func (s *Store) Checkpoints(ctx context.Context, after int64, limit int) ([]ledger.Checkpoint, error) {
	if limit < 1 || limit > CheckpointsLimitMax {
		limit = CheckpointsLimitMax
	}
	return s.checkpoints(ctx, `WHERE position > $1 ORDER BY position, key_id LIMIT $2`, after, limit)
}

// checkpointsRange returns every checkpoint with first ≤ position ≤ last (last 0: no
// bound), in position order. Checkpoints are few (one per DefaultCheckpointEvery events
// at most, under load), so a verification holds them all.
func (s *Store) checkpointsRange(ctx context.Context, first, last int64) ([]ledger.Checkpoint, error) {
	if last == 0 {
		return s.checkpoints(ctx, `WHERE position >= $1 ORDER BY position, key_id`, first)
	}
	return s.checkpoints(ctx, `WHERE position BETWEEN $1 AND $2 ORDER BY position, key_id`, first, last)
}

// LatestCheckpoint returns the checkpoint at the highest position (the latest signed
// among them); ok is false when there is none.
func (s *Store) LatestCheckpoint(ctx context.Context) (cp ledger.Checkpoint, ok bool, err error) {
	cps, err := s.checkpoints(ctx, `ORDER BY position DESC, signed_at DESC LIMIT 1`)
	if err != nil || len(cps) == 0 {
		return cp, false, err
	}
	return cps[0], true, nil
}

func (s *Store) checkpoints(ctx context.Context, where string, args ...any) ([]ledger.Checkpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT position, hash, signed_at, key_id, signature FROM checkpoints `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	cps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ledger.Checkpoint, error) {
		var cp ledger.Checkpoint
		var hash []byte
		if err := r.Scan(&cp.Position, &hash, &cp.SignedAt, &cp.KeyID, &cp.Signature); err != nil {
			return cp, err
		}
		if len(hash) != len(cp.Hash) {
			return cp, fmt.Errorf("checkpoint at position %d: hash has %d bytes", cp.Position, len(hash))
		}
		copy(cp.Hash[:], hash)
		cp.SignedAt = cp.SignedAt.UTC()
		return cp, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return cps, nil
}

// CheckpointerConfig configures a Checkpointer. Store, Key and Head are required.
type CheckpointerConfig struct {
	Store *Store
	// Key signs the checkpoints; its public key is registered at start.
	Key ed25519.PrivateKey
	// Head returns the last committed position and hash: the sequencer's Head. The
	// checkpointer signs what the writer computed in memory, not what it reads back from
	// the database, so that a row changed in the database after commit is never signed.
	Head func() ledger.Head
	// Every is the number of events after which the head is signed; 0 means
	// DefaultCheckpointEvery, a negative value disables this trigger.
	Every int64
	// Interval is the longest a new head waits to be signed; 0 means
	// DefaultCheckpointInterval, a negative value disables this trigger.
	Interval time.Duration
	// Poll is how often the head is looked at; 0 means DefaultCheckpointPoll.
	Poll time.Duration
	// OnCheckpoint, when set, is called with every stored checkpoint, for example to
	// publish it on NATS so that copies are kept off the database host.
	OnCheckpoint func(ledger.Checkpoint)
	// Now returns the signing time; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Checkpointer signs the head every Every events or Interval, whichever comes first, and
// stores the checkpoints. It runs beside the sequencer of the writing server.
type Checkpointer struct {
	cfg        CheckpointerConfig
	lastPos    int64
	lastSigned time.Time
}

// NewCheckpointer returns a Checkpointer over cfg, with defaults filled in. It panics
// when Store, Key or Head is missing: a wiring bug found at start.
func NewCheckpointer(cfg CheckpointerConfig) *Checkpointer {
	if cfg.Store == nil || len(cfg.Key) != ed25519.PrivateKeySize || cfg.Head == nil {
		panic("pgstore.NewCheckpointer: Store, Key and Head are required")
	}
	if cfg.Every == 0 {
		cfg.Every = DefaultCheckpointEvery
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultCheckpointInterval
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultCheckpointPoll
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Checkpointer{cfg: cfg}
}

// Run registers the public key, then signs checkpoints until ctx ends; it signs the head
// one last time on the way out, so that a clean shutdown leaves the whole chain signed.
// A failed write is logged and retried at the next poll: a database hiccup must not stop
// the server. Run returns a wrapped error only when the key cannot be registered or the
// last checkpoint cannot be read at start; otherwise nil once ctx ends.
func (c *Checkpointer) Run(ctx context.Context) error {
	log := c.cfg.Logger
	// The start does not depend on ctx: a server stopped at once must still sign its head.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointWriteTimeout)
	defer cancel()
	keyID, err := c.cfg.Store.RegisterKey(sctx, c.cfg.Key.Public().(ed25519.PublicKey), c.cfg.Now())
	if err != nil {
		return fmt.Errorf("checkpointer: %w", err)
	}
	last, ok, err := c.cfg.Store.LatestCheckpoint(sctx)
	if err != nil {
		return fmt.Errorf("checkpointer: %w", err)
	}
	c.lastPos, c.lastSigned = 0, c.cfg.Now()
	if ok {
		c.lastPos, c.lastSigned = last.Position, last.SignedAt
	}
	log.Info("checkpointer started", "key_id", keyID, "position", c.lastPos, "every", c.cfg.Every, "interval", c.cfg.Interval)
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			// The last head deserves a signature even though ctx is over.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkpointWriteTimeout)
			if _, err := c.sign(fctx, c.cfg.Head()); err != nil {
				log.Warn("final checkpoint not stored", "error", err)
			}
			cancel()
			return nil
		case <-t.C:
			h := c.cfg.Head()
			if !ledger.CheckpointDue(h.Position, c.lastPos, c.lastSigned, c.cfg.Now(), c.cfg.Every, c.cfg.Interval) {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, checkpointWriteTimeout)
			if _, err := c.sign(wctx, h); err != nil {
				log.Warn("checkpoint not stored; retrying at the next poll", "position", h.Position, "error", err)
			}
			cancel()
		}
	}
}

// sign signs and stores the head when it is past the last checkpoint; ok says whether it
// did.
func (c *Checkpointer) sign(ctx context.Context, h ledger.Head) (ok bool, err error) {
	if h.Position <= c.lastPos {
		return false, nil
	}
	cp := ledger.SignCheckpoint(c.cfg.Key, h.Position, h.Hash, c.cfg.Now())
	if err := c.cfg.Store.InsertCheckpoint(ctx, cp); err != nil {
		return false, err
	}
	c.lastPos, c.lastSigned = cp.Position, cp.SignedAt
	c.cfg.Logger.Debug("checkpoint signed", "position", cp.Position, "key_id", cp.KeyID)
	if c.cfg.OnCheckpoint != nil {
		c.cfg.OnCheckpoint(cp)
	}
	return true, nil
}
