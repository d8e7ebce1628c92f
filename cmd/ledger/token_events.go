package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// tokenNotifyChannel is the PostgreSQL channel on which `ledger token` tells a running
// writer that token_audit has entries to record in the hash chain.
const tokenNotifyChannel = "ledger_tokens"

// tokenListenRetry is how long the writer waits before listening again after its
// listening connection failed.
const tokenListenRetry = 2 * time.Second

// syncTokenEvents records, as access events, every token_audit entry after seq `after`,
// in order, through submit (the sequencer), and returns the last entry recorded. Each
// request carries the idempotency key of its entry (ledger.TokenAccessRequest), so an
// entry the API already recorded is a replay, not a second event.
func syncTokenEvents(ctx context.Context, st *pgstore.Store, submit func(context.Context, *ledger.Request) (*ledger.Result, error), after int64) (int64, error) {
	for {
		entries, err := st.TokenAudit(ctx, after)
		if err != nil {
			return after, err
		}
		for _, e := range entries {
			res, err := submit(ctx, ledger.TokenAccessRequest(e.Action, &e.Token, e.Actor, e.At))
			if err != nil {
				return after, err
			}
			if res.Err != nil {
				return after, fmt.Errorf("record token %s %s: %w", e.Token.ID, e.Action, res.Err)
			}
			after = e.Seq
		}
		if len(entries) < pgstore.TokenAuditPage {
			return after, nil
		}
	}
}

// runTokenSync keeps the hash chain in step with token_audit until ctx ends: it records
// what is pending whenever `ledger token` notifies tokenNotifyChannel. The API records
// its own creations and revocations as it answers; start-up records whatever is left
// (startNode). after is the last entry already recorded.
func runTokenSync(ctx context.Context, st *pgstore.Store, seq *ledger.Sequencer, after int64, log *slog.Logger) {
	for ctx.Err() == nil {
		err := listenTokens(ctx, st, func() {
			var err error
			if after, err = syncTokenEvents(ctx, st, seq.Submit, after); err != nil && ctx.Err() == nil {
				log.Warn("recording token events in the hash chain", "error", err)
			}
		})
		if ctx.Err() != nil {
			return
		}
		log.Warn("listening for token changes; retrying", "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(tokenListenRetry):
		}
	}
}

// listenTokens calls fn once listening, and after every notification, until ctx ends
// or the connection fails.
func listenTokens(ctx context.Context, st *pgstore.Store, fn func()) error {
	conn, err := st.Pool().Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+tokenNotifyChannel); err != nil {
		return err
	}
	defer func() { _, _ = conn.Exec(context.Background(), "UNLISTEN "+tokenNotifyChannel) }()
	fn() // what was created while no one listened
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		fn()
	}
}

// notifyTokens tells a running writer that token_audit has entries to record.
func notifyTokens(ctx context.Context, st *pgstore.Store) error {
	_, err := st.Pool().Exec(ctx, "SELECT pg_notify($1, '')", tokenNotifyChannel)
	return err
}

// recordTokenEventsDirectly records the pending access events of `ledger token` when no
// writer is running: it takes the writer lock, loads the write model and appends them
// as a writer would, so the chain stays whole. When a writer runs, it returns false and
// the caller notifies that writer (notifyTokens), which records them.
func recordTokenEventsDirectly(ctx context.Context, st *pgstore.Store) (bool, error) {
	session, err := st.TryAcquireWriter(ctx)
	if err != nil || session == nil {
		return false, err
	}
	defer session.Close()
	seq := ledger.NewSequencer(ledger.SequencerConfig{Store: session})
	if err := seq.Load(ctx); err != nil {
		return false, fmt.Errorf("load the write model: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- seq.Run(runCtx) }()
	_, err = syncTokenEvents(ctx, st, seq.Submit, 0)
	cancel()
	if rerr := <-done; rerr != nil && !errors.Is(rerr, context.Canceled) && err == nil {
		err = rerr
	}
	return err == nil, err
}
