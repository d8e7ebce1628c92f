package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/vnntp/ledger/ledger"
)

// Limits of Restore.
const (
	// RestoreBatchEvents is how many events Restore appends per transaction (one COPY).
	RestoreBatchEvents = 10_000
	// RestoreLockWait bounds how long Restore waits for the writer lock: a running server
	// holds it, and restoring beside a live writer is a mistake to report, not to wait out.
	RestoreLockWait = 5 * time.Second
)

// Restore appends pre-built events, as a JSONL export holds them, to an EMPTY store,
// keeping their ids, recording times and hashes: the restored chain is the exported one,
// byte for byte. It does not go through the sequencer, which would assign new ids and
// times. Each event is checked first (gapless positions from 1, link, hash) and nothing
// after a bad event is written; the events before it stay, in batches of
// RestoreBatchEvents, each one transaction.
//
// events calls its argument with each event in order and returns its first error.
// progress, when set, is called with the last position stored after each batch.
// Restore takes the writer lock (waiting at most RestoreLockWait) so that no server
// writes meanwhile. It returns the number of events stored and:
//   - an invalid_argument *ledger.Error on field "ledger" when the store is not empty;
//   - a *ledger.Finding when an event breaks the chain;
//   - a wrapped error when the lock or the store fails.
//
// Idempotency keys and checkpoints are not part of an export and are not restored.
func (s *Store) Restore(ctx context.Context, events func(yield func(*ledger.Event) error) error, progress func(position int64)) (int64, error) {
	lctx, cancel := context.WithTimeout(ctx, RestoreLockWait)
	w, err := s.AcquireWriter(lctx)
	cancel()
	if err != nil {
		return 0, fmt.Errorf("restore: is a server running on this database? %w", err)
	}
	defer w.Close()
	head, _, err := s.Head(ctx)
	if err != nil {
		return 0, err
	}
	if head != 0 {
		return 0, &ledger.Error{Code: ledger.CodeInvalidArgument, Field: "ledger",
			Message: fmt.Sprintf("the ledger is not empty (head at position %d): restore only into an empty ledger", head)}
	}
	v := ledger.NewVerifier(1, ledger.GenesisHash, 0, nil, nil)
	batch := make([]*ledger.Event, 0, RestoreBatchEvents)
	var stored int64
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := w.Append(ctx, batch, nil); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		stored += int64(len(batch))
		if progress != nil {
			progress(batch[len(batch)-1].Position)
		}
		batch = batch[:0]
		return nil
	}
	err = events(func(e *ledger.Event) error {
		if err := v.Add(e); err != nil {
			return err
		}
		batch = append(batch, e)
		if len(batch) == RestoreBatchEvents {
			return flush()
		}
		return nil
	})
	if err != nil {
		// The events before the bad one are valid: store them, so that the report of
		// what was restored matches what is in the database.
		if ferr := flush(); ferr != nil {
			return stored, ferr
		}
		return stored, err
	}
	return stored, flush()
}
