package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/ledger"
)

// Limits of the read-model writer (migrations/00006_read_model.sql).
const (
	// ReadModelBatchEvents is how many events one read-model transaction folds in: large
	// enough to amortise the commit, small enough that the rows of one transaction stay a
	// few megabytes.
	ReadModelBatchEvents = 10_000
	// ReadModelHandoffEvents bounds the committed events held for the writer between two
	// passes (so also the events of one transaction); beyond it the writer reads the store.
	ReadModelHandoffEvents = 2 * ReadModelBatchEvents
	// ReadModelPollInterval is how often the writer looks for new events when no commit
	// woke it: commits made by another process (a replay, a previous writer) are picked
	// up within this delay.
	ReadModelPollInterval = 2 * time.Second
	// readModelRetryDelay spaces attempts after a failed read-model transaction.
	readModelRetryDelay = time.Second
	// ReadModelLinger is how long the writer waits after folding something before it
	// folds again, so that under load one transaction takes the commits of that time
	// instead of one transaction each (five round trips and a commit record): the read
	// model trails the head by at most this much more. A commit after a quiet spell is
	// folded at once.
	ReadModelLinger = 20 * time.Millisecond
)

// lineProgressColumns are the columns ReadModelWriter copies into read.line_progress.
var lineProgressColumns = []string{"position", "line", "program", "year", "source", "project", "top_project", "unit",
	"province", "district", "commune", "effective_date", "plan_delta", "disbursed_delta", "carried_into_year", "carried"}

// positionAtSQL finds the last position recorded at or before $1 by a binary search over
// positions, about 25 primary-key reads at 10 million events: positions run without a gap
// from 1 and recorded_at never decreases along them, so no index on recorded_at is needed
// (migration 00013 dropped it). The answer stays in [lo, hi]; lo is 0 or a position
// recorded by $1.
const positionAtSQL = `WITH RECURSIVE search(lo, hi) AS (
    SELECT 0::bigint, coalesce((SELECT max(position) FROM events), 0)
  UNION ALL
    SELECT CASE WHEN (SELECT recorded_at FROM events WHERE position = (lo + hi + 1) / 2) <= $1 THEN (lo + hi + 1) / 2 ELSE lo END,
           CASE WHEN (SELECT recorded_at FROM events WHERE position = (lo + hi + 1) / 2) <= $1 THEN hi ELSE (lo + hi + 1) / 2 - 1 END
    FROM search WHERE lo < hi
)
SELECT lo FROM search WHERE lo = hi`

// PositionAt returns the last position recorded at or before t, 0 when none was. Times
// are recorded in position order (the sequencer never lets the clock go back), so the
// events recorded by t are a prefix of the log: this is "as known at t".
func (s *Store) PositionAt(ctx context.Context, t time.Time) (int64, error) {
	var pos int64
	err := s.pool.QueryRow(ctx, positionAtSQL, t).Scan(&pos)
	if err != nil {
		return 0, fmt.Errorf("find the position recorded at %s: %w", t.Format(time.RFC3339Nano), err)
	}
	return pos, nil
}

// ReadModelPosition returns the position of read.checkpoint: the read-model tables hold
// every event up to it.
func (s *Store) ReadModelPosition(ctx context.Context) (int64, error) {
	var pos int64
	if err := s.pool.QueryRow(ctx, `SELECT position FROM read.checkpoint`).Scan(&pos); err != nil {
		return 0, fmt.Errorf("read the read-model checkpoint: %w", err)
	}
	return pos, nil
}

// rmCatalog is what the read-model rows need of the catalog: each unit's ancestors by
// level and each project's top-level project. Entries are registered once and never
// change, like the write model's.
type rmCatalog struct {
	units    map[string][ledger.LevelCount]*string // id → province, district, commune (nil where none)
	projects map[[2]string]string                  // (program, code) → top-level project code
}

func newRMCatalog() *rmCatalog {
	return &rmCatalog{units: map[string][ledger.LevelCount]*string{}, projects: map[[2]string]string{}}
}

// load reads the catalog back from the read tables, in tx.
func (c *rmCatalog) load(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT id, province, district, commune FROM read.units`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var anc [ledger.LevelCount]*string
		if err := rows.Scan(&id, &anc[0], &anc[1], &anc[2]); err != nil {
			rows.Close()
			return err
		}
		c.units[id] = anc
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = tx.Query(ctx, `SELECT program, code, top_project FROM read.projects`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var program, code, top string
		if err := rows.Scan(&program, &code, &top); err != nil {
			return err
		}
		c.projects[[2]string{program, code}] = top
	}
	return rows.Err()
}

// rmKey identifies a row of read.line_progress: the postings of the events recorded at
// one time (one commit: the sequencer gives a commit's events one recording time) on
// one line and effective date, carry-overs apart by the year they go into. Folding a
// commit's events into one row per key keeps every figure "as known at position K"
// exact for each K that ends a commit — the only states of the log anyone could see —
// while a bulk import of a thousand vouchers on a line and day writes one row, not a
// thousand (docs/benchmarks.md, issue 18).
type rmKey struct {
	line     ledger.Line
	date     ledger.Date
	intoYear int // 0 except on carry-over rows
}

// rmRow is one row of read.line_progress being summed. Sums cannot overflow: every
// amount is a posting's, and the ledger's turnover, the sum of all of them, stays within
// int64 (ledger.TurnoverMax).
type rmRow struct {
	key                 rmKey
	position            int64 // the last event folded in
	top                 string
	anc                 [ledger.LevelCount]*string
	plan, disb, carried int64
}

// rmBatch is the rows of a run of events, ready to write.
type rmBatch struct {
	rows []rmRow
	// at is the recording time of the rows that index points to; a new time starts new
	// rows.
	at      time.Time
	index   map[rmKey]int // key → rows index, for the events recorded at at
	catalog pgx.Batch
}

// row returns the row of key for an event at position pos recorded at at, adding it.
func (b *rmBatch) row(c *rmCatalog, key rmKey, pos int64, at time.Time) *rmRow {
	if !at.Equal(b.at) || b.index == nil {
		if b.index == nil {
			b.index = map[rmKey]int{}
		}
		clear(b.index)
		b.at = at
	}
	if i, ok := b.index[key]; ok {
		r := &b.rows[i]
		r.position = pos
		return r
	}
	l := key.line
	top, ok := c.projects[[2]string{l.Program, l.Project}]
	if !ok {
		top = l.Project
	}
	b.index[key] = len(b.rows)
	b.rows = append(b.rows, rmRow{key: key, position: pos, top: top, anc: c.units[l.Unit]})
	return &b.rows[len(b.rows)-1]
}

// add folds e into the batch and, for catalog events, into c.
func (c *rmCatalog) add(b *rmBatch, e *ledger.Event) {
	d := &e.Data
	pos := e.Position
	switch e.Type {
	case ledger.TypeProgramRegistered:
		b.catalog.Queue(`INSERT INTO read.programs (code, name, position) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			d.Program.Code, d.Program.Name, pos)
	case ledger.TypeProjectRegistered:
		p := d.Project
		key := [2]string{p.Program, p.Code}
		if _, dup := c.projects[key]; dup {
			return // registered once; keep the first, as the projections do
		}
		top := p.Code
		if p.Parent != "" {
			if t, ok := c.projects[[2]string{p.Program, p.Parent}]; ok {
				top = t
			}
		}
		c.projects[key] = top
		b.catalog.Queue(`INSERT INTO read.projects (program, code, name, parent, top_project, position)
			VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6) ON CONFLICT DO NOTHING`, p.Program, p.Code, p.Name, p.Parent, top, pos)
	case ledger.TypeUnitRegistered:
		u := d.Unit
		if _, dup := c.units[u.ID]; dup {
			return
		}
		var parent [ledger.LevelCount]*string
		if u.Parent != "" {
			parent = c.units[u.Parent]
		}
		id := u.ID
		anc := ledger.PlaceUnit(parent, u.Level, &id, nil)
		c.units[u.ID] = anc
		b.catalog.Queue(`INSERT INTO read.units (id, code, name, level, parent, province, district, commune, position)
			VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
			u.ID, u.Code, u.Name, string(u.Level), u.Parent, anc[0], anc[1], anc[2], pos)
	case ledger.TypeSourceRegistered:
		s := d.Source
		b.catalog.Queue(`INSERT INTO read.sources (code, name, budget, nature, counterpart, position)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, s.Code, s.Name, s.Budget, s.Nature, s.Counterpart, pos)
	default:
		var buf [ledger.PostingsMax]ledger.Posting
		for _, p := range e.Postings(buf[:0]) {
			key := rmKey{line: p.Line, date: e.EffectiveDate}
			switch p.Measure() {
			case ledger.MeasurePlan:
				b.row(c, key, pos, e.RecordedAt).plan += p.Delta()
			case ledger.MeasureDisbursed:
				b.row(c, key, pos, e.RecordedAt).disb += p.Delta()
			case ledger.MeasureCarriedOver:
				key.intoYear = d.IntoYear
				b.row(c, key, pos, e.RecordedAt).carried += p.Delta()
			case ledger.MeasureAdvanceOutstanding, ledger.MeasureCommitted:
				// Not in read.line_progress yet: the SQL view postings has them.
			default:
				panic("pgstore: read model: unknown measure " + p.Measure().String())
			}
		}
	}
}

// write stores the batch's rows and moves the checkpoint to last, in tx. lazy lets tx's
// commit skip waiting for its WAL flush.
func (b *rmBatch) write(ctx context.Context, tx pgx.Tx, last int64, lazy bool) error {
	// Catalog rows first: a line row never needs them (it carries its ancestors), but a
	// reader of the same snapshot joins on them.
	if b.catalog.Len() > 0 {
		if err := tx.SendBatch(ctx, &b.catalog).Close(); err != nil {
			return fmt.Errorf("write read-model catalog: %w", err)
		}
	}
	if len(b.rows) > 0 {
		// pgx encodes each row before asking for the next, so one slice serves them all.
		vals := make([]any, len(lineProgressColumns))
		src := pgx.CopyFromSlice(len(b.rows), func(i int) ([]any, error) {
			r := &b.rows[i]
			l := r.key.line
			var intoYear *int
			if r.key.intoYear != 0 {
				intoYear = &r.key.intoYear
			}
			vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6], vals[7] =
				r.position, l.ID(), l.Program, l.Year, l.Source, l.Project, r.top, l.Unit
			vals[8], vals[9], vals[10] = r.anc[0], r.anc[1], r.anc[2]
			vals[11], vals[12], vals[13], vals[14], vals[15] = r.key.date.Time(), r.plan, r.disb, intoYear, r.carried
			return vals, nil
		})
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"read", "line_progress"}, lineProgressColumns, src); err != nil {
			return fmt.Errorf("write read.line_progress: %w", err)
		}
	}
	// The setting is read at commit: one round trip with the update.
	var fin pgx.Batch
	if lazy {
		fin.Queue(`SET LOCAL synchronous_commit = off`)
	}
	fin.Queue(`UPDATE read.checkpoint SET position = $1, updated_at = now()`, last)
	if err := tx.SendBatch(ctx, &fin).Close(); err != nil {
		return fmt.Errorf("move the read-model checkpoint: %w", err)
	}
	return nil
}

// wholeCommits returns events without the last commit's events (those recorded at the
// last one's time) when more of them may follow: a page read with a limit may end
// inside a commit, and a commit split over two transactions would give its rows twice
// and make the rows depend on where pages end. A page that is one commit is kept whole.
func wholeCommits(events []*ledger.Event, limit int) []*ledger.Event {
	if len(events) < limit {
		return events
	}
	at := events[len(events)-1].RecordedAt
	for i := len(events) - 1; i > 0; i-- {
		if !events[i-1].RecordedAt.Equal(at) {
			return events[:i]
		}
	}
	return events
}

// ReadModelWriter keeps the read-model tables (schema read) up to date with the events.
// It never sits in the commit path: Notify only wakes it, and Run reads the committed
// events back from the store after its checkpoint, ReadModelBatchEvents per transaction,
// each transaction writing the rows and the checkpoint together. A writer that finds the
// checkpoint moved by someone else (a `ledger replay`) reloads the catalog and continues
// from there, so two writers never fold an event twice. Its methods are safe for
// concurrent use; Run is called once.
type ReadModelWriter struct {
	s    *Store
	log  *slog.Logger
	wake chan struct{} // capacity 1: a pending wake-up is enough
	pos  atomic.Int64  // last checkpoint written or read; -1 before the first
	cat  *rmCatalog    // owned by Run's goroutine; valid for pos
	// handoff holds the batches Notify handed over, bounded by ReadModelHandoffEvents.
	handoff *ledger.Handoff
}

// NewReadModelWriter returns a writer of the read-model tables of s; log receives its
// failures (nil discards).
func (s *Store) NewReadModelWriter(log *slog.Logger) *ReadModelWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	w := &ReadModelWriter{s: s, log: log, wake: make(chan struct{}, 1), handoff: ledger.NewHandoff(ReadModelHandoffEvents)}
	w.pos.Store(-1)
	return w
}

// Notify tells the writer that events were committed and hands them over, so that it
// need not read them back. It never blocks: it is called by the sequencer's goroutine
// after each commit. events may be nil (the writer then reads the store).
func (w *ReadModelWriter) Notify(events []*ledger.Event) {
	if len(events) > 0 {
		w.handoff.Put(events)
	}
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Position returns the last checkpoint the writer wrote or read, -1 before its first
// pass.
func (w *ReadModelWriter) Position() int64 { return w.pos.Load() }

// Run folds new events in until ctx ends, after each Notify and every
// ReadModelPollInterval; a failed pass is logged and retried. It returns ctx's error.
func (w *ReadModelWriter) Run(ctx context.Context) error {
	poll := time.NewTicker(ReadModelPollInterval)
	defer poll.Stop()
	for {
		before := w.pos.Load()
		if cp, err := w.CatchUp(ctx); err != nil && ctx.Err() == nil {
			w.log.Error("read model update failed; retrying", "position", w.pos.Load(), "error", err)
			select {
			case <-time.After(readModelRetryDelay):
			case <-ctx.Done():
			}
		} else if cp > before {
			select {
			case <-time.After(ReadModelLinger):
			case <-ctx.Done():
			}
		}
		select {
		case <-w.wake:
		case <-poll.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// CatchUp folds in every event committed after the checkpoint and returns the new
// checkpoint. It must not run concurrently with itself (Run calls it).
func (w *ReadModelWriter) CatchUp(ctx context.Context) (int64, error) {
	for {
		more, err := w.step(ctx)
		if err != nil {
			w.pos.Store(-1) // the catalog may be ahead of the tables: reload it next time
			return 0, err
		}
		if !more {
			return w.pos.Load(), nil
		}
	}
}

// step folds in up to ReadModelBatchEvents events in one transaction and reports whether
// more may follow: the events of a commit arrive through the handoff, so when it holds
// nothing more (and the store's page was not full) the writer is caught up, without a
// transaction more to find nothing — one per commit on the write path. A commit whose
// Notify comes later wakes Run again.
func (w *ReadModelWriter) step(ctx context.Context) (bool, error) {
	tx, err := w.s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("begin read-model transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var cp int64
	// FOR UPDATE: a concurrent writer or replay waits here, then sees the new checkpoint.
	if err := tx.QueryRow(ctx, `SELECT position FROM read.checkpoint FOR UPDATE`).Scan(&cp); err != nil {
		return false, fmt.Errorf("read the read-model checkpoint: %w", err)
	}
	if cp != w.pos.Load() || w.cat == nil {
		w.cat = newRMCatalog()
		if err := w.cat.load(ctx, tx); err != nil {
			return false, fmt.Errorf("load the read-model catalog: %w", err)
		}
		w.pos.Store(cp)
	}
	events, ok := w.handoff.Take(cp)
	var more bool
	if ok && len(events) > 0 {
		more = w.handoff.Held()
	} else {
		events, err = w.s.collect(ctx, ReadModelBatchEvents,
			`SELECT `+eventColumns+` FROM events WHERE position > $1 ORDER BY position LIMIT $2`, cp, ReadModelBatchEvents)
		if err != nil {
			return false, err
		}
		more = len(events) == ReadModelBatchEvents
		events = wholeCommits(events, ReadModelBatchEvents)
	}
	if len(events) == 0 {
		return false, nil
	}
	var b rmBatch
	for _, e := range events {
		w.cat.add(&b, e)
	}
	last := events[len(events)-1].Position
	// The tables are derived and hold their checkpoint: a crash of PostgreSQL that loses
	// the last of these commits leaves an older, whole prefix, folded again on start. So
	// the commit need not wait for its WAL flush, which would compete with the
	// sequencer's own. (A rebuild, which an operator waits for, stays durable.)
	if err := b.write(ctx, tx, last, true); err != nil {
		return false, err
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit read model at position %d: %w", last, err)
	}
	w.pos.Store(last)
	return more, nil
}

// RebuildReadModel empties the read-model tables and refills them from every event, in
// one transaction: readers see the old tables until it commits, then the new ones. A
// ReadModelWriter running meanwhile waits on the checkpoint and then continues from the
// rebuilt one. progress, if set, is called with the position reached and the head after
// each batch of ReadModelBatchEvents events. It returns the events folded in.
func (s *Store) RebuildReadModel(ctx context.Context, progress func(done, total int64)) (int64, error) {
	head, _, err := s.Head(ctx)
	if err != nil {
		return 0, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("begin rebuild: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, `SELECT position FROM read.checkpoint FOR UPDATE`); err != nil {
		return 0, fmt.Errorf("lock the read-model checkpoint: %w", err)
	}
	if _, err := tx.Exec(ctx, `TRUNCATE read.line_progress, read.programs, read.projects, read.units, read.sources`); err != nil {
		return 0, fmt.Errorf("empty the read model: %w", err)
	}
	cat := newRMCatalog()
	var b rmBatch
	var n, last int64
	pending := 0 // events folded into b
	var lastAt time.Time
	flush := func() error {
		if err := b.write(ctx, tx, last, false); err != nil {
			return err
		}
		b = rmBatch{}
		if progress != nil {
			progress(last, head)
		}
		return nil
	}
	// Events come from the pool (another session): they are immutable, so reading them
	// outside the transaction sees the same rows.
	err = s.ReadFrom(ctx, 0, func(e *ledger.Event) error {
		if e.Position > head {
			return errStopRead // committed after the rebuild began: the writer folds it in
		}
		// Flush between commits only, so that the rows are the live writer's
		// (wholeCommits).
		if pending >= ReadModelBatchEvents && !e.RecordedAt.Equal(lastAt) {
			if err := flush(); err != nil {
				return err
			}
			pending = 0
		}
		cat.add(&b, e)
		n++
		pending++
		last, lastAt = e.Position, e.RecordedAt
		return nil
	})
	if err != nil && !errors.Is(err, errStopRead) {
		return 0, err
	}
	if err := flush(); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("commit the rebuilt read model: %w", err)
	}
	return n, nil
}

// errStopRead ends a ReadFrom early; it never leaves this file.
var errStopRead = errors.New("stop reading")
