// Package testenv provides what integration tests need: a fresh, migrated PostgreSQL
// database per test, so tests run in parallel without sharing state. PostgreSQL is real
// in every test; when it is missing the tests fail with a message saying how to get it,
// they are never skipped.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/ledger/pgstore"
)

// DefaultAdminURL is the server the tests use when LEDGER_TEST_DATABASE_URL is unset.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Limits of the helper.
const (
	// setupTimeout bounds connecting, creating and migrating one test database.
	setupTimeout = 60 * time.Second
	// dropTimeout bounds dropping it at cleanup.
	dropTimeout = 30 * time.Second
	// dbNamePrefix marks the databases tests create, so leftovers of killed runs are easy
	// to find: SELECT datname FROM pg_database WHERE datname LIKE 'ledger_test_%'.
	dbNamePrefix = "ledger_test_"
	// testNameMax bounds the part of the test name kept in the database name
	// (PostgreSQL truncates identifiers at 63 bytes).
	testNameMax = 30
)

// AdminURL returns the PostgreSQL server URL for tests: $LEDGER_TEST_DATABASE_URL, or
// DefaultAdminURL. Its role must be allowed to create databases.
func AdminURL() string {
	if u := os.Getenv("LEDGER_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// DB creates a fresh database for t, applies the migrations (pgstore.Migrate) and
// returns its URL; the database is dropped, with any connections still open to it, when
// t's cleanup runs. It calls t.Fatal with a clear message when PostgreSQL is unreachable
// or the database cannot be created or migrated.
func DB(t testing.TB) string {
	t.Helper()
	admin := AdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("PostgreSQL is not reachable at %s: %v\n"+
			"Start it, or run `eval \"$(scripts/pg-env.sh)\"` (it starts a project-local server), "+
			"or point LEDGER_TEST_DATABASE_URL at a server whose role may create databases.", redact(admin), err)
	}
	defer conn.Close(context.Background())

	name := dbName(t.Name())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("create test database %s on %s: %v", name, redact(admin), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	dbURL, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("test database URL: %v", err)
	}
	if err := pgstore.Migrate(ctx, dbURL); err != nil {
		t.Fatalf("migrate test database %s: %v", name, err)
	}
	return dbURL
}

// dbName returns a unique database name that shows which test made it.
func dbName(testName string) string {
	var b strings.Builder
	b.WriteString(dbNamePrefix)
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= len(dbNamePrefix)+testNameMax {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:]) // crypto/rand.Read never fails (Go 1.24+)
	b.WriteByte('_')
	b.WriteString(hex.EncodeToString(suffix[:]))
	return b.String()
}

// withDatabase returns the server URL admin with its database replaced by name. Both URL
// (postgres://…) and key=value forms are accepted.
func withDatabase(admin, name string) (string, error) {
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			return "", fmt.Errorf("parse %s: %w", redact(admin), err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	// In the key=value form a later keyword wins.
	return admin + " dbname=" + name, nil
}

// redact hides the password of a URL in messages.
func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
