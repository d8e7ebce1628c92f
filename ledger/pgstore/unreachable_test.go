package pgstore

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vnntp/ledger/ledger"
)

// TestStoreUnreachable: a token lookup, the token list or an event read against a
// PostgreSQL that refuses the connection is ledger.ErrUnavailable (the API's 503, retry),
// not an internal error; a query error that is not about reaching the server stays what
// it is.
func TestStoreUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more: connections are refused
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@"+addr+"/ledger?sslmode=disable&connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := &Store{pool: pool}
	if _, err := s.TokenBySecret(context.Background(), "some-secret"); !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("token lookup with PostgreSQL unreachable: %v, want ledger.ErrUnavailable", err)
	}
	if _, err := s.Events(context.Background(), 0, 10); !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("events with PostgreSQL unreachable: %v, want ledger.ErrUnavailable", err)
	}
	if _, err := s.Tokens(context.Background()); !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("token list with PostgreSQL unreachable: %v, want ledger.ErrUnavailable", err)
	}
	for _, code := range []string{"08006", "57P01", "57P03"} {
		if !isUnreachable(&pgconn.PgError{Code: code}) {
			t.Errorf("SQLSTATE %s: not unreachable, want unreachable", code)
		}
	}
	if err := unreachable(&pgconn.PgError{Code: "42P01"}); errors.Is(err, ledger.ErrUnavailable) {
		t.Errorf("SQLSTATE 42P01 (undefined table): %v, want it unwrapped", err)
	}
}
