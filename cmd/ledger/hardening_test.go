package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// TestTokenCreateNeedsAUnit is reproduction 5 of the second hardening round, on the
// command line: `ledger token create --role officer` without --unit used to make an
// officer of the whole country. Officer and leader tokens now need a unit; the national
// scope is asked for by name (--unit all).
func TestTokenCreateNeedsAUnit(t *testing.T) {
	dbURL := testenv.DB(t)
	ctx := context.Background()
	for _, role := range []string{"officer", "leader"} {
		err := run(ctx, []string{"token", "create", "--role", role, "--name", "x", "--database-url", dbURL}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--unit") {
			t.Errorf("%s token without --unit: %v, want an error naming --unit", role, err)
		}
	}
	var out bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--role", "officer", "--unit", "all", "--name", "Kế toán quốc gia",
		"--database-url", dbURL}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	secret := strings.SplitN(out.String(), "\n", 2)[0]
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.TokenBySecret(ctx, secret)
	if err != nil || tok.Unit != "" || !strings.Contains(out.String(), "unit") {
		t.Errorf("--unit all stored %+v %v; printed %q", tok, err, out.String())
	}
	if err := run(ctx, []string{"token", "create", "--role", "auditor", "--name", "Kiểm toán", "--database-url", dbURL},
		io.Discard, io.Discard); err != nil {
		t.Errorf("an auditor needs no unit: %v", err)
	}
}
