package pgstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver that goose uses
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/migrations"
)

// Limits of the read path.
const (
	// ReadPageEvents is how many events ReadFrom fetches per query: enough to amortise the
	// round trip, few enough that a replay of ten million events never holds more than one
	// page in the driver's buffers.
	ReadPageEvents = 10_000
	// ReadPageKeys is how many key records ReadKeys fetches per query.
	ReadPageKeys = 10_000
	// EventsLimitMax bounds the events one call of Events or LineEvents returns.
	EventsLimitMax = 1_000
	// EventsRangeMax bounds the events one call of EventsRange returns: a replayed batch
	// request is answered from its range, so it is far above any batch the API accepts.
	EventsRangeMax = 100_000
	// migrateLockSeconds and migrateLockAttempts bound how long Migrate waits for another
	// process that is migrating the same database (goose's session lock).
	migrateLockSeconds  = 1
	migrateLockAttempts = 300
)

// eventColumns is the column list every event query selects; scanEvent reads it.
const eventColumns = `position, id, type, effective_date, recorded_at, data, metadata, prev_hash, hash`

// Migrate applies the embedded migrations (migrations/) that databaseURL's database
// lacks, with goose. Concurrent calls on the same database wait for each other (goose's
// session advisory lock). It returns the first migration error, wrapped.
func Migrate(ctx context.Context, databaseURL string) error {
	db, err := sql.Open("pgx", databaseURL)
	if err != nil {
		return fmt.Errorf("migrate: open database: %w", err)
	}
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(migrateLockSeconds, migrateLockAttempts))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Store reads the event store through a connection pool. It is safe for concurrent use.
// Appending needs a Writer (AcquireWriter).
type Store struct {
	pool *pgxpool.Pool
}

// Open connects a pool to databaseURL (a postgres:// URL or a key=value string; pool
// options such as pool_max_conns are accepted) and checks that the server answers and
// that the schema is migrated to this binary's version. It does not migrate: call
// Migrate first.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("parse database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL at %s:%d: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, err)
	}
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool; it waits for connections in use to be released. Writers
// acquired from s have their own connection and must be closed separately.
func (s *Store) Close() { s.pool.Close() }

// Pool returns the connection pool, for read models and tools that query PostgreSQL
// themselves.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// ReadFrom calls fn for every event with position > after, in position order, fetching
// ReadPageEvents events per query. It stops at the first error of fn and returns it
// unwrapped; store errors are wrapped. fn may keep the events it is given.
func (s *Store) ReadFrom(ctx context.Context, after int64, fn func(*ledger.Event) error) error {
	var d decoder
	for {
		n := 0
		err := s.queryEvents(ctx, &d, `SELECT `+eventColumns+` FROM events WHERE position > $1 ORDER BY position LIMIT $2`,
			func(e *ledger.Event) error {
				n++
				after = e.Position
				return fn(e)
			}, after, ReadPageEvents)
		if err != nil {
			return err
		}
		if n < ReadPageEvents {
			return nil
		}
	}
}

// LookupKeys returns the idempotency key records of those of keys that are recorded, in
// any order, in one query (the primary key's index). Store errors are wrapped.
func (s *Store) LookupKeys(ctx context.Context, keys []string) ([]ledger.KeyRecord, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT key, request_hash, first_position, last_position, rejections
		FROM idempotency_keys WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, fmt.Errorf("look up %d idempotency keys: %w", len(keys), err)
	}
	defer rows.Close()
	var out []ledger.KeyRecord
	for rows.Next() {
		var k ledger.KeyRecord
		var hash pgtype.DriverBytes
		if err := rows.Scan(&k.Key, &hash, &k.First, &k.Last, &k.Rejections); err != nil {
			return nil, fmt.Errorf("look up idempotency keys: %w", err)
		}
		if len(hash) != len(k.RequestHash) {
			return nil, fmt.Errorf("idempotency key %q: request hash has %d bytes", k.Key, len(hash))
		}
		copy(k.RequestHash[:], hash)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up idempotency keys: %w", err)
	}
	return out, nil
}

// ReadKeys calls fn for every idempotency key record whose first position is > after, in
// order of first position, ReadPageKeys per query. It returns fn's first error unwrapped;
// store errors are wrapped.
func (s *Store) ReadKeys(ctx context.Context, after int64, fn func(ledger.KeyRecord) error) error {
	// Pages continue after the last (first_position, key) read: a failed batch could not
	// have left two records at one first position, but the order must not depend on it.
	const firstPage = `SELECT key, request_hash, first_position, last_position, rejections
		FROM idempotency_keys WHERE first_position > $1 ORDER BY first_position, key LIMIT $2`
	const nextPage = `SELECT key, request_hash, first_position, last_position, rejections
		FROM idempotency_keys WHERE (first_position, key) > ($1, $3) ORDER BY first_position, key LIMIT $2`
	sql, args := firstPage, []any{after, ReadPageKeys}
	for {
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("read idempotency keys after position %d: %w", args[0], err)
		}
		n := 0
		var fnErr error
		for rows.Next() {
			var k ledger.KeyRecord
			var hash pgtype.DriverBytes
			if err := rows.Scan(&k.Key, &hash, &k.First, &k.Last, &k.Rejections); err != nil {
				rows.Close()
				return fmt.Errorf("read idempotency keys: %w", err)
			}
			if len(hash) != len(k.RequestHash) {
				rows.Close()
				return fmt.Errorf("idempotency key %q: request hash has %d bytes", k.Key, len(hash))
			}
			copy(k.RequestHash[:], hash)
			n++
			sql, args = nextPage, []any{k.First, ReadPageKeys, k.Key}
			if fnErr = fn(k); fnErr != nil {
				break
			}
		}
		rows.Close()
		if fnErr != nil {
			return fnErr
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read idempotency keys: %w", err)
		}
		if n < ReadPageKeys {
			return nil
		}
	}
}

// Events returns up to limit events with position > after, in position order. A limit
// outside 1..EventsLimitMax means EventsLimitMax.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]*ledger.Event, error) {
	limit = clampLimit(limit)
	return s.collect(ctx, limit, `SELECT `+eventColumns+` FROM events WHERE position > $1 ORDER BY position LIMIT $2`,
		after, limit)
}

// EventsRange returns the events at positions first..last inclusive, in position order
// (fewer if the head is before last). It returns an invalid_argument *ledger.Error when
// the range is empty or longer than EventsRangeMax.
func (s *Store) EventsRange(ctx context.Context, first, last int64) ([]*ledger.Event, error) {
	if first < 1 || last < first {
		return nil, &ledger.Error{Code: ledger.CodeInvalidArgument, Field: "range",
			Message: fmt.Sprintf("positions %d..%d are not a range of positions from 1", first, last)}
	}
	if last-first >= EventsRangeMax {
		return nil, &ledger.Error{Code: ledger.CodeInvalidArgument, Field: "range",
			Message: fmt.Sprintf("at most %d events can be read at once", EventsRangeMax)}
	}
	return s.collect(ctx, int(last-first+1), `SELECT `+eventColumns+` FROM events WHERE position BETWEEN $1 AND $2 ORDER BY position`,
		first, last)
}

// Event returns the event with id, or ledger.ErrNotFound.
func (s *Store) Event(ctx context.Context, id uuid.UUID) (*ledger.Event, error) {
	evs, err := s.collect(ctx, 1, `SELECT `+eventColumns+` FROM events WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(evs) == 0 {
		return nil, ledger.ErrNotFound
	}
	return evs[0], nil
}

// LineEvents returns up to limit events with position > after that debit or credit the
// line with canonical id lineID (as its line, or as the line a transfer credits), in
// position order. A limit outside 1..EventsLimitMax means EventsLimitMax. An unknown line
// has no events: the result is empty, not an error.
func (s *Store) LineEvents(ctx context.Context, lineID string, after int64, limit int) ([]*ledger.Event, error) {
	limit = clampLimit(limit)
	// Two index range scans, one per column, merged: an OR over both columns would not use
	// the (line, position) and (counter_line, position) indexes for the ordered limit.
	return s.collect(ctx, limit, `SELECT `+eventColumns+` FROM events WHERE position IN (
			(SELECT position FROM events WHERE line = $1 AND position > $2 ORDER BY position LIMIT $3)
			UNION
			(SELECT position FROM events WHERE counter_line = $1 AND position > $2 ORDER BY position LIMIT $3))
		ORDER BY position LIMIT $3`, lineID, after, limit)
}

// Head returns the position and hash of the last event; 0 and 32 zero bytes (the
// genesis hash) when the store is empty.
func (s *Store) Head(ctx context.Context) (position int64, hash [32]byte, err error) {
	var h []byte
	err = s.pool.QueryRow(ctx, `SELECT position, hash FROM events ORDER BY position DESC LIMIT 1`).Scan(&position, &h)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, hash, nil
	}
	if err != nil {
		return 0, hash, fmt.Errorf("read the head: %w", err)
	}
	copy(hash[:], h)
	return position, hash, nil
}

func clampLimit(limit int) int {
	if limit < 1 || limit > EventsLimitMax {
		return EventsLimitMax
	}
	return limit
}

// collect runs an event query and returns its events; capHint sizes the slice.
func (s *Store) collect(ctx context.Context, capHint int, sql string, args ...any) ([]*ledger.Event, error) {
	evs := make([]*ledger.Event, 0, min(capHint, EventsLimitMax))
	var d decoder
	err := s.queryEvents(ctx, &d, sql, func(e *ledger.Event) error {
		evs = append(evs, e)
		return nil
	}, args...)
	return evs, err
}

// queryEvents runs sql, which selects eventColumns, and calls fn with each decoded event.
// fn's error is returned unwrapped; a store that cannot be reached is
// ledger.ErrUnavailable (wrapped).
func (s *Store) queryEvents(ctx context.Context, d *decoder, sql string, fn func(*ledger.Event) error, args ...any) error {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("read events: %w", unreachable(err))
	}
	defer rows.Close()
	for rows.Next() {
		e, err := d.scan(rows)
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read events: %w", unreachable(err))
	}
	return nil
}

// decoder turns rows of eventColumns into events. The jsonb and bytea columns are read
// as pgtype.DriverBytes, without copying, and decoded before the next row.
type decoder struct {
	effective, recorded        time.Time
	data, meta, prevHash, hash pgtype.DriverBytes
	typ                        pgtype.DriverBytes
}

func (d *decoder) scan(rows pgx.Rows) (*ledger.Event, error) {
	e := new(ledger.Event)
	if err := rows.Scan(&e.Position, &e.ID, &d.typ, &d.effective, &d.recorded, &d.data, &d.meta, &d.prevHash, &d.hash); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return d.decode(e)
}

// decode fills e from the columns scan read into d.
func (d *decoder) decode(e *ledger.Event) (*ledger.Event, error) {
	typ, ok := ledger.ParseEventType(string(d.typ))
	if !ok {
		return nil, fmt.Errorf("event at position %d: unknown event type %q (written by a newer version?)", e.Position, d.typ)
	}
	e.Type = typ
	e.EffectiveDate = ledger.DateOf(d.effective)
	e.RecordedAt = d.recorded.UTC()
	if err := decodeData(d.data, &e.Data); err != nil {
		return nil, fmt.Errorf("event at position %d: decode data: %w", e.Position, err)
	}
	if err := decodeMeta(d.meta, &e.Meta); err != nil {
		return nil, fmt.Errorf("event at position %d: decode metadata: %w", e.Position, err)
	}
	if len(d.prevHash) != len(e.PrevHash) || len(d.hash) != len(e.Hash) {
		return nil, fmt.Errorf("event at position %d: hashes must have %d bytes", e.Position, len(e.Hash))
	}
	copy(e.PrevHash[:], d.prevHash)
	copy(e.Hash[:], d.hash)
	return e, nil
}

// VoucherEvents returns up to limit events that carry a State Treasury voucher of office
// dated from..to (disbursements and settlements), in position order: the ledger's side
// of a reconciliation with the Treasury's statement.
func (s *Store) VoucherEvents(ctx context.Context, office string, from, to ledger.Date, limit int) ([]*ledger.Event, error) {
	return s.collect(ctx, limit, `SELECT `+eventColumns+` FROM events
		WHERE voucher_office = $1 AND voucher_date BETWEEN $2 AND $3 ORDER BY position LIMIT $4`,
		office, from.Time(), to.Time(), limit)
}

// legacyVoucherIdentity is ledger.Voucher.Identity less its date, in SQL, for the events
// recorded before voucher_key existed (migration 00008), which keep it NULL. It must
// stay the expression of the index events_legacy_voucher_identity (migration 00012),
// which serves the lookup; TestLookupVouchersLegacy checks it against Identity.
const legacyVoucherIdentity = `(upper(voucher_office) || ' ' || upper(voucher_type) || ' ' || upper(regexp_replace(voucher_number, '^0+(?=[0-9])', '')))`

// LookupVouchers returns the identities (ledger.Voucher.Identity) of those of vouchers
// that a recorded event carries, in any order, in one query: voucher_key's unique index,
// and for the events recorded before voucher_key existed, the index of their identities
// computed in SQL. Store errors are wrapped.
func (s *Store) LookupVouchers(ctx context.Context, vouchers []ledger.Voucher) ([]string, error) {
	if len(vouchers) == 0 {
		return nil, nil
	}
	identities := make([]string, len(vouchers))
	prefixes := make([]string, len(vouchers))
	dates := make([]time.Time, len(vouchers))
	for i := range vouchers {
		identities[i] = vouchers[i].Identity()
		// The identity ends with " " and the date, which holds no space.
		prefixes[i] = identities[i][:strings.LastIndexByte(identities[i], ' ')]
		dates[i] = vouchers[i].Date.Time()
	}
	rows, err := s.pool.Query(ctx, `SELECT voucher_key, NULL, NULL FROM events WHERE voucher_key = ANY($1)
		UNION ALL
		SELECT NULL, `+legacyVoucherIdentity+`, voucher_date FROM events
		WHERE voucher_key IS NULL AND voucher_number IS NOT NULL
			AND (`+legacyVoucherIdentity+`, voucher_date) IN (SELECT * FROM unnest($2::text[], $3::date[]))`,
		identities, prefixes, dates)
	if err != nil {
		return nil, fmt.Errorf("look up %d vouchers: %w", len(vouchers), err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var key, prefix pgtype.Text
		var date pgtype.Date
		if err := rows.Scan(&key, &prefix, &date); err != nil {
			return nil, fmt.Errorf("look up vouchers: %w", err)
		}
		if key.Valid {
			out = append(out, key.String)
		} else {
			out = append(out, prefix.String+" "+ledger.DateOf(date.Time).String())
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up vouchers: %w", err)
	}
	return out, nil
}

// ReadVouchers calls fn with the identity of every voucher a recorded event carries, in
// position order, ReadPageEvents rows per query; the identity of an event recorded before
// voucher_key existed is computed from its voucher. It returns fn's first error
// unwrapped; store errors are wrapped.
func (s *Store) ReadVouchers(ctx context.Context, fn func(identity string) error) error {
	var after int64
	for {
		rows, err := s.pool.Query(ctx, `SELECT position, voucher_key, voucher_office, voucher_type, voucher_number, voucher_date
			FROM events WHERE position > $1 AND voucher_number IS NOT NULL ORDER BY position LIMIT $2`, after, ReadPageEvents)
		if err != nil {
			return fmt.Errorf("read vouchers after position %d: %w", after, err)
		}
		n := 0
		var fnErr error
		for rows.Next() {
			var key pgtype.Text
			var v ledger.Voucher
			var date pgtype.Date
			if err := rows.Scan(&after, &key, &v.Office, &v.Type, &v.Number, &date); err != nil {
				rows.Close()
				return fmt.Errorf("read vouchers: %w", err)
			}
			n++
			if !key.Valid {
				if date.Valid {
					v.Date = ledger.DateOf(date.Time)
				}
				key.String = v.Identity()
			}
			if fnErr = fn(key.String); fnErr != nil {
				break
			}
		}
		rows.Close()
		if fnErr != nil {
			return fnErr
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read vouchers: %w", err)
		}
		if n < ReadPageEvents {
			return nil
		}
	}
}

// LookupDisbursements returns, of ids, those that are recorded disbursements, each with
// the sums of the reversals and settlements recorded against it, in any order, in one
// query (the unique index on id, and events_original_id for the sums). Store errors are
// wrapped.
func (s *Store) LookupDisbursements(ctx context.Context, ids []uuid.UUID) ([]ledger.DisbursementRecord, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+`,
			(SELECT COALESCE(sum(r.amount), 0)::bigint FROM events r WHERE r.original_id = events.id AND r.type = $2),
			(SELECT COALESCE(sum(r.amount), 0)::bigint FROM events r WHERE r.original_id = events.id AND r.type = $3)
		FROM events WHERE id = ANY($1) AND type = $4`,
		ids, string(ledger.TypeReversed), string(ledger.TypeAdvanceSettled), string(ledger.TypeDisbursed))
	if err != nil {
		return nil, fmt.Errorf("look up %d disbursements: %w", len(ids), err)
	}
	defer rows.Close()
	var out []ledger.DisbursementRecord
	var d decoder
	for rows.Next() {
		var r ledger.DisbursementRecord
		e := new(ledger.Event)
		if err := rows.Scan(&e.Position, &e.ID, &d.typ, &d.effective, &d.recorded, &d.data, &d.meta, &d.prevHash, &d.hash,
			&r.Reversed, &r.Settled); err != nil {
			return nil, fmt.Errorf("look up disbursements: %w", err)
		}
		if r.Event, err = d.decode(e); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up disbursements: %w", err)
	}
	return out, nil
}
