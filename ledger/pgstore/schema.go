package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vnntp/ledger/migrations"
)

// sqlstateUndefinedTable is PostgreSQL's "relation does not exist".
const sqlstateUndefinedTable = "42P01"

// latestMigration is the version of the newest embedded migration file (NNNNN_name.sql).
func latestMigration() (int64, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return 0, err
	}
	var latest int64
	for _, n := range names {
		v, err := strconv.ParseInt(strings.SplitN(n, "_", 2)[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("migration %s: no version prefix", n)
		}
		latest = max(latest, v)
	}
	return latest, nil
}

// checkSchema reports, in words an operator can act on, a database that was never
// migrated or is behind this binary; tools then fail with that instead of a raw
// "relation does not exist".
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	want, err := latestMigration()
	if err != nil {
		return err
	}
	var have int64
	err = pool.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&have)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == sqlstateUndefinedTable {
		return errors.New("the database has no ledger schema: run `ledger migrate` (or `ledger serve`, which migrates)")
	}
	if err != nil {
		return fmt.Errorf("read the schema version: %w", err)
	}
	if have < want {
		return fmt.Errorf("the database schema is at version %d, this binary needs %d: run `ledger migrate`", have, want)
	}
	return nil
}
