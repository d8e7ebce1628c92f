package pgstore

import (
	"context"
	"fmt"

	"github.com/vnntp/ledger/ledger"
)

// UnitExists reports whether a unit with this id was ever registered. It looks in the
// read model first (read.units, by primary key) and, when the read model does not have
// it — it may trail the log —, in the log itself, so that the answer never depends on
// whether a server is running. `ledger token create --unit` uses it.
func (s *Store) UnitExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM read.units WHERE id = $1)
		OR EXISTS (SELECT 1 FROM events WHERE type = $2
			AND coalesce(data->'unit'->>'id', data->'unit'->>'code') = $1)`, id, string(ledger.TypeUnitRegistered)).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("unit %s: %w", id, err)
	}
	return ok, nil
}
