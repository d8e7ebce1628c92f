package pgstore

import (
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/vnntp/ledger/ledger"
)

// unreachable returns err wrapped with ledger.ErrUnavailable when it says PostgreSQL
// could not be reached or the session was lost — the connection refused, reset or timed
// out, the server shutting down or starting — so that callers answer "retry later"
// (503) rather than "internal error"; any other error is returned as it is.
func unreachable(err error) error {
	if err == nil || !isUnreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ledger.ErrUnavailable, err)
}

func isUnreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr), pgconn.Timeout(err), pgconn.SafeToRetry(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &pgErr):
		// Class 08: connection exception; 57P01-57P03: the server is shutting down, has
		// crashed, or cannot accept connections yet.
		return pgErr.Code[:2] == "08" || pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	return false
}
