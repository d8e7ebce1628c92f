package pgstore_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// appRoleURL creates a LOGIN role that is a member of ledger_app (and nothing else) in
// the cluster of dbURL, dropped at cleanup, and returns dbURL with that user: the way
// docs/operations.md tells operators to run the server.
func appRoleURL(t *testing.T, dbURL string) string {
	t.Helper()
	ctx := testContext(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "ledger_test_app_" + hex.EncodeToString(b)
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE ROLE "+role+" LOGIN IN ROLE ledger_app"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, testenv.AdminURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		// The test database is dropped after this cleanup (cleanups run last-in first-out,
		// and it was created first), so close this role's connections before dropping it.
		_, _ = c.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
		if _, err := c.Exec(ctx, "DROP ROLE IF EXISTS "+role); err != nil {
			t.Errorf("drop role %s: %v", role, err)
		}
	})
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// TestTokensAsAppRole creates, finds, lists and revokes tokens connected as a login role
// that has only ledger_app's grants, and checks that the audit log records each change
// and that neither table can be rewritten.
func TestTokensAsAppRole(t *testing.T) {
	t.Parallel()
	_, dbURL := open(t)
	ctx := testContext(t)
	st, err := pgstore.Open(ctx, appRoleURL(t, dbURL))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	tok, secret, err := st.CreateToken(ctx, ledger.TokenSpec{Name: "Kế toán Ngân Sơn", Role: "officer", Unit: "062",
		ExpiresAt: now.Add(time.Hour)}, "bootstrap (admin)", now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, pgstore.TokenPrefix) || len(secret) != len(pgstore.TokenPrefix)+43 {
		t.Errorf("secret %q: want ldg_ and 43 base64url characters", secret)
	}
	got, err := st.TokenBySecret(ctx, secret)
	if err != nil || got.ID != tok.ID || got.Unit != "062" || got.Role != "officer" || !got.RevokedAt.IsZero() {
		t.Fatalf("TokenBySecret: %+v %v", got, err)
	}
	if _, err := st.TokenBySecret(ctx, secret+"x"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown secret: %v, want ErrNotFound", err)
	}
	_, _, err = st.CreateToken(ctx, ledger.TokenSpec{Name: "auditor", Role: "auditor", Unit: "062", ExpiresAt: now.Add(time.Hour)}, "x", now)
	if err == nil {
		t.Error("an auditor token held to a unit was stored")
	}
	r1, err := st.RevokeToken(ctx, tok.ID, "bootstrap (admin)", now.Add(time.Second))
	if err != nil || r1.RevokedAt.IsZero() {
		t.Fatalf("revoke: %+v %v", r1, err)
	}
	r2, err := st.RevokeToken(ctx, tok.ID, "someone else", now.Add(time.Minute))
	if err != nil || !r2.RevokedAt.Equal(r1.RevokedAt) {
		t.Errorf("second revoke changed revoked_at: %v → %v (%v)", r1.RevokedAt, r2.RevokedAt, err)
	}
	if _, err := st.RevokeToken(ctx, uuid.New(), "x", now); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	ts, err := st.Tokens(ctx)
	if err != nil || len(ts) != 1 || ts[0].RevokedAt.IsZero() {
		t.Errorf("Tokens: %+v %v", ts, err)
	}

	// The audit log: created and revoked, once each.
	rows, err := st.Pool().Query(ctx, "SELECT action || ' by ' || actor FROM token_audit ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	actions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || strings.Join(actions, "; ") != "created by bootstrap (admin); revoked by bootstrap (admin)" {
		t.Errorf("token_audit: %q %v", actions, err)
	}

	// Neither the application role nor the owner can rewrite history.
	owner, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	for _, sql := range []string{
		"UPDATE tokens SET revoked_at = NULL",
		"UPDATE tokens SET role = 'admin'",
		"UPDATE tokens SET expires_at = expires_at + interval '1 year'",
		"DELETE FROM tokens",
		"TRUNCATE tokens CASCADE",
		"UPDATE token_audit SET actor = 'nobody'",
		"DELETE FROM token_audit",
		"TRUNCATE token_audit",
	} {
		if _, err := st.Pool().Exec(ctx, sql); err == nil {
			t.Errorf("as ledger_app: %s succeeded", sql)
		}
		if _, err := owner.Exec(ctx, sql); err == nil {
			t.Errorf("as owner: %s succeeded", sql)
		}
	}
}
