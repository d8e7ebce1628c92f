// Package snapshot takes, stores, checks and loads snapshots: the write model
// (ledger.State) and the in-memory projections (projections.Balances and Progress)
// folded up to one position, so that a server starts from the newest snapshot and the
// events after it instead of replaying the whole log (docs/design.md, snapshots).
//
// A snapshot is derived data and never trusted: it is loaded only when its format and
// the fingerprint of the Go types it was encoded from are this build's, its bytes match
// their SHA-256, the event at its position still has the chain hash it recorded, and
// the decoded folds stand at that position and hash. One that fails is logged and
// skipped (the next older one is tried, then a full replay). Verify goes further for an
// auditor: it replays the log from the first event and compares the bytes.
//
// A snapshot is taken from its own fold — the newest loadable snapshot plus the events
// after it, read from the store — never from the live write model, so taking one never
// blocks the writer; it costs a second copy of the folds while it is taken.
package snapshot

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/ledger/snapcodec"
	"github.com/vnntp/ledger/projections"
)

// Format is the version of the snapshot layout; change it when the encoding changes in
// a way the type fingerprint does not see (the order of fields, a value's meaning).
const Format = 1

// Defaults of the server's background snapshots (ledger serve --snapshot-every,
// --snapshot-interval).
const (
	// DefaultEvery is how many events may follow the newest snapshot before the next is
	// taken: at the rebuild rate of docs/benchmarks.md, start-up replays at most a few
	// seconds of tail.
	DefaultEvery = 1_000_000
	// DefaultInterval is the longest a new event waits to be in a snapshot when the load
	// is light.
	DefaultInterval = time.Hour
	// pollInterval is how often the background loop looks at the head.
	pollInterval = time.Second
	// retryDelay is the least a failed snapshot waits before the next attempt: each one
	// reads the newest snapshot and folds the tail again.
	retryDelay = 5 * time.Minute
	// foldChunk is how many events are handed to the projections at once.
	foldChunk = 1024
)

// fingerprint is the layout of the types a snapshot holds (snapcodec.Fingerprint).
var fingerprint = snapcodec.Fingerprint(ledger.State{}, projections.Balances{}, projections.Progress{})

// Set is what a snapshot holds: the write model and the projections at one position.
type Set struct {
	State    *ledger.State
	Balances *projections.Balances
	Progress *projections.Progress
}

// NewSet returns the folds of an empty ledger. The write model is the sequencer's kind
// (ledger.NewBoundedState): it keeps no record of each disbursement and voucher, which
// the sequencer looks up in the store, so neither the fold nor the snapshot grows by them.
func NewSet() *Set {
	return &Set{State: ledger.NewBoundedState(), Balances: &projections.Balances{}, Progress: &projections.Progress{}}
}

// Position is the last event folded.
func (s *Set) Position() int64 { return s.State.Head }

// apply folds events, which follow on from the set's position.
func (s *Set) apply(events []*ledger.Event) {
	for _, e := range events {
		s.State.Apply(e)
	}
	s.Balances.Apply(events)
	s.Progress.Apply(events)
}

// encode returns the set's bytes: deterministic, so two folds of the same events give
// the same bytes. sizeHint is about how many there will be (0: unknown).
func (s *Set) encode(sizeHint int64) []byte {
	var e snapcodec.Encoder
	e.Grow(int(sizeHint))
	s.State.EncodeSnapshot(&e)
	s.Balances.EncodeSnapshot(&e)
	s.Progress.EncodeSnapshot(&e)
	return e.Bytes()
}

// decode reads bytes encode wrote.
func decode(b []byte) (*Set, error) {
	// Zero folds: the bytes say whether the write model is bounded.
	s := &Set{State: &ledger.State{}, Balances: &projections.Balances{}, Progress: &projections.Progress{}}
	d := snapcodec.NewDecoder(b)
	if err := s.State.DecodeSnapshot(d); err != nil {
		return nil, err
	}
	if err := s.Balances.DecodeSnapshot(d); err != nil {
		return nil, err
	}
	if err := s.Progress.DecodeSnapshot(d); err != nil {
		return nil, err
	}
	if err := d.Done(); err != nil {
		return nil, err
	}
	return s, nil
}

// errStop ends a read of the store at the position asked for.
var errStop = errors.New("stop")

// fold reads the events after the set's position up to position to and folds them,
// checking that each links to the one before. progress, when not nil, is called with
// the events folded so far.
func fold(ctx context.Context, store *pgstore.Store, s *Set, to int64, progress func(done int64)) error {
	chunk := make([]*ledger.Event, 0, foldChunk)
	var done int64
	flush := func() {
		s.apply(chunk)
		done += int64(len(chunk))
		chunk = chunk[:0]
		if progress != nil {
			progress(done)
		}
	}
	head, hash := s.State.Head, s.State.HeadHash
	err := store.ReadFrom(ctx, s.Position(), func(e *ledger.Event) error {
		if e.Position > to {
			return errStop
		}
		if e.Position != head+1 || e.PrevHash != hash {
			return fmt.Errorf("event at position %d does not link to position %d: the store is damaged; run ledger verify", e.Position, head)
		}
		head, hash = e.Position, e.Hash
		if chunk = append(chunk, e); len(chunk) == foldChunk {
			flush()
		}
		return nil
	})
	flush()
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if s.Position() != to {
		return fmt.Errorf("the store ends at position %d, before %d", s.Position(), to)
	}
	return nil
}

// check returns why the stored snapshot info cannot be loaded, looking at what needs
// no bytes: format, fingerprint and the chain hash at its position. A nil error means
// it may be loaded; a store error is returned as the second value.
func check(ctx context.Context, store *pgstore.Store, info pgstore.SnapshotInfo) (reason, err error) {
	if info.Format != Format {
		return fmt.Errorf("format %d, this build reads %d", info.Format, Format), nil
	}
	if info.Fingerprint != fingerprint {
		return errors.New("taken by a build whose folds have another layout"), nil
	}
	h, ok, err := store.HashAt(ctx, info.Position)
	if err != nil {
		return nil, err
	}
	if !ok {
		return fmt.Errorf("position %d is beyond the log's head", info.Position), nil
	}
	if h != info.Hash {
		return fmt.Errorf("the chain hash at position %d is %x, the snapshot recorded %x", info.Position, h[:8], info.Hash[:8]), nil
	}
	return nil, nil
}

// read returns the decoded snapshot info, or why it cannot be loaded (reason), or a
// store error.
func read(ctx context.Context, store *pgstore.Store, info pgstore.SnapshotInfo) (s *Set, data []byte, reason, err error) {
	if reason, err = check(ctx, store, info); reason != nil || err != nil {
		return nil, nil, reason, err
	}
	if data, err = store.SnapshotData(ctx, info.ID); err != nil {
		if errors.Is(err, pgstore.ErrNoSnapshot) {
			return nil, nil, errors.New("deleted while being read"), nil
		}
		return nil, nil, nil, err
	}
	if sha256.Sum256(data) != info.Checksum || int64(len(data)) != info.Size {
		return nil, nil, errors.New("its bytes do not match their checksum"), nil
	}
	if s, reason = decode(data); reason != nil {
		return nil, nil, fmt.Errorf("cannot be decoded: %w", reason), nil
	}
	if s.State.LinesOnly {
		return nil, nil, errors.New("its write model keeps lines only"), nil
	}
	if s.State.Head != info.Position || s.State.HeadHash != info.Hash ||
		s.Balances.Position() != info.Position || s.Progress.Position() != info.Position {
		return nil, nil, errors.New("its folds do not stand at its position and hash"), nil
	}
	return s, data, nil, nil
}

// Load returns the newest stored snapshot that checks, decoded, and its description;
// a nil Set when none does (start from the first event). Each snapshot skipped is
// logged with the reason. An error is a store that cannot be read.
func Load(ctx context.Context, store *pgstore.Store, log *slog.Logger) (*Set, pgstore.SnapshotInfo, error) {
	infos, err := store.Snapshots(ctx)
	if err != nil {
		return nil, pgstore.SnapshotInfo{}, err
	}
	for _, info := range infos {
		s, _, reason, err := read(ctx, store, info)
		if err != nil {
			return nil, pgstore.SnapshotInfo{}, err
		}
		if reason != nil {
			log.Warn("snapshot ignored: it does not verify", "snapshot", info.ID, "position", info.Position, "reason", reason.Error())
			continue
		}
		return s, info, nil
	}
	return nil, pgstore.SnapshotInfo{}, nil
}

// Options of Take.
type Options struct {
	// FromScratch folds from the first event instead of the newest snapshot.
	FromScratch bool
	// Progress, when not nil, is called with the events folded so far and the number to
	// fold.
	Progress func(done, total int64)
	Log      *slog.Logger
}

// Take folds the newest loadable snapshot (or, with FromScratch or when there is none,
// nothing) and the events after it up to the current head, and stores the result as a
// new snapshot. When the newest loadable snapshot is already at the head it stores
// nothing and returns that one, with taken false.
func Take(ctx context.Context, store *pgstore.Store, opt Options) (info pgstore.SnapshotInfo, taken bool, err error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	s := NewSet()
	if !opt.FromScratch {
		var base *Set
		if base, info, err = Load(ctx, store, log); err != nil {
			return info, false, err
		}
		if base != nil {
			s = base
		}
	}
	head, _, err := store.Head(ctx)
	if err != nil {
		return info, false, err
	}
	if head == s.Position() && info.ID != 0 {
		return info, false, nil
	}
	var progress func(int64)
	if opt.Progress != nil {
		from := s.Position()
		progress = func(done int64) { opt.Progress(done, head-from) }
	}
	if err := fold(ctx, store, s, head, progress); err != nil {
		return info, false, err
	}
	// The new snapshot is about the size of the one it grew from, plus its tail.
	data := s.encode(info.Size + info.Size/8)
	info = pgstore.SnapshotInfo{Position: s.Position(), Hash: s.State.HeadHash, Format: Format, Fingerprint: fingerprint,
		TakenAt: time.Now(), Duration: time.Since(start)}
	if info, err = store.SaveSnapshot(ctx, info, data); err != nil {
		return info, false, err
	}
	return info, true, nil
}

// Finding is the outcome of checking one snapshot: Err is nil when it verifies.
type Finding struct {
	Info pgstore.SnapshotInfo
	Err  error
}

// Verify checks the snapshots infos: what Load checks and, deep, that a replay of the
// log from the first event up to each one's position encodes to the same bytes (one
// replay for all, in position order), the replay going on to position through when
// that is further. It returns the replay's folds (nil when not deep). progress, when not
// nil, follows the replay. An error is a store that cannot be read or a log that does
// not link; what is wrong with a snapshot is in its Finding.
func Verify(ctx context.Context, store *pgstore.Store, infos []pgstore.SnapshotInfo, deep bool, through int64,
	progress func(done, total int64)) ([]Finding, *Set, error) {
	findings := make([]Finding, len(infos))
	data := make([][]byte, len(infos))
	order := make([]int, 0, len(infos)) // the snapshots to compare with the replay
	to := through
	for i, info := range infos {
		findings[i].Info = info
		_, b, reason, err := read(ctx, store, info)
		if err != nil {
			return nil, nil, err
		}
		findings[i].Err, data[i] = reason, b
		if reason == nil {
			order = append(order, i)
			to = max(to, info.Position)
		}
	}
	if !deep {
		return findings, nil, nil
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(infos[a].Position, infos[b].Position) })
	s := NewSet()
	var fn func(int64)
	foldTo := func(pos int64) error {
		if progress != nil {
			base := s.Position()
			fn = func(done int64) { progress(base+done, to) }
		}
		return fold(ctx, store, s, pos, fn)
	}
	for _, i := range order {
		if err := foldTo(infos[i].Position); err != nil {
			return nil, nil, err
		}
		if !bytes.Equal(s.encode(int64(len(data[i]))), data[i]) {
			findings[i].Err = fmt.Errorf("a replay from the first event to position %d gives other folds", infos[i].Position)
		}
	}
	if err := foldTo(max(through, s.Position())); err != nil {
		return nil, nil, err
	}
	return findings, s, nil
}

// Schedule is when a server takes snapshots: once Every events follow the newest one,
// or once Interval has passed since it and an event follows it. A value ≤ 0 turns its
// trigger off.
type Schedule struct {
	Every    int64
	Interval time.Duration
}

// Run takes snapshots on sch until ctx ends; last is the position of the snapshot the
// server started from (0: none loaded, so one is due as soon as Every events exist), head
// returns the writer's head position, and taken, when not nil, is told of every snapshot
// stored. A failure is logged and tried again at the next trigger, retryDelay later at
// the soonest. It returns when ctx ends.
func Run(ctx context.Context, store *pgstore.Store, log *slog.Logger, sch Schedule, last int64, head func() int64, taken func(pgstore.SnapshotInfo)) {
	if sch.Every <= 0 && sch.Interval <= 0 {
		return
	}
	lastAt := time.Now()
	var failedAt time.Time
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h := head()
		due := sch.Every > 0 && h-last >= sch.Every || sch.Interval > 0 && h > last && time.Since(lastAt) >= sch.Interval
		if !due || time.Since(failedAt) < retryDelay {
			continue
		}
		log.Info("taking a snapshot", "head", h, "newest", last)
		info, stored, err := Take(ctx, store, Options{Log: log})
		// The fold the snapshot was taken from is garbage now: give its memory back to the
		// system rather than keep the server's resident size at twice its folds.
		debug.FreeOSMemory()
		if err != nil {
			if ctx.Err() == nil {
				log.Error("taking a snapshot failed; trying again at the next trigger", "retry_after", retryDelay, "err", err)
			}
			failedAt = time.Now()
			continue
		}
		last, lastAt = info.Position, time.Now()
		if stored {
			log.Info("snapshot taken", "snapshot", info.ID, "position", info.Position, "bytes", info.Size,
				"duration", info.Duration.Round(time.Millisecond))
			if taken != nil {
				taken(info)
			}
		}
	}
}
