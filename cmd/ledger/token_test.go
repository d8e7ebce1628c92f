package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// acBootstrap is the bootstrap (admin) token of the access-control tests.
const acBootstrap = "ac-test-bootstrap-token-0123456789"

// acTimeout bounds the setup of one access-control test.
const acTimeout = 60 * time.Second

// acNode is a whole server in-process (startNode: migrations, store, writer lock,
// sequencer, API) on a real PostgreSQL, with the demo scenario loaded and one token
// per principal of the authorization matrix.
type acNode struct {
	t    *testing.T
	n    *node
	auth map[string]string // principal → Authorization header ("" sends none)
}

// Principals of the matrix: officers of Ngân Sơn (062) and Pác Nặm (060), leaders of
// Bắc Kạn (06) and Bắc Giang (24), an auditor, the bootstrap admin, nobody, and an
// officer of 062 whose token was revoked or has expired.
var acPrincipals = []string{"officer062", "officer060", "leader06", "leader24", "auditor", "admin", "none", "revoked", "expired"}

// startACNode starts the node on dbURL with the flags of serve plus extra.
func startACNode(t *testing.T, dbURL string, extra ...string) *acNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), acTimeout)
	defer cancel()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg := newConfig(fs, "serve")
	args := append([]string{"--database-url", dbURL, "--bootstrap-token", acBootstrap, "--data-dir", t.TempDir(),
		"--log-level", "error"}, extra...)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(fs); err != nil {
		t.Fatal(err)
	}
	n, err := startNode(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	n.ready.Store(true)
	if err := loadDemo(ctx, n.seq, cfg.Logger); err != nil {
		t.Fatal(err)
	}
	a := &acNode{t: t, n: n, auth: map[string]string{"admin": "Bearer " + acBootstrap, "none": ""}}
	now := time.Now()
	for _, p := range []struct {
		name string
		role ledger.Role
		unit string
	}{
		{"officer062", ledger.RoleOfficer, "062"}, {"officer060", ledger.RoleOfficer, "060"},
		{"leader06", ledger.RoleLeader, "06"}, {"leader24", ledger.RoleLeader, "24"}, {"auditor", ledger.RoleAuditor, ""},
	} {
		a.auth[p.name] = "Bearer " + a.createToken(p.name, p.role, p.unit, now, now.Add(time.Hour))
	}
	a.auth["revoked"] = "Bearer " + a.createToken("revoked", ledger.RoleOfficer, "062", now, now.Add(time.Hour))
	tok, err := n.store.TokenBySecret(ctx, strings.TrimPrefix(a.auth["revoked"], "Bearer "))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.store.RevokeToken(ctx, tok.ID, "test", now); err != nil {
		t.Fatal(err)
	}
	a.auth["expired"] = "Bearer " + a.createToken("expired", ledger.RoleOfficer, "062", now.Add(-2*time.Hour), now.Add(-time.Hour))
	return a
}

func (a *acNode) createToken(name string, role ledger.Role, unit string, created, expires time.Time) string {
	a.t.Helper()
	_, secret, err := a.n.store.CreateToken(context.Background(),
		ledger.TokenSpec{Name: name, Role: role, Unit: unit, ExpiresAt: expires}, "test", created)
	if err != nil {
		a.t.Fatal(err)
	}
	return secret
}

// do sends a request as principal who; a body is sent as JSON.
func (a *acNode) do(who, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth := a.auth[who]; auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	// Each principal is a client of its own: the failed-authentication budget is per
	// address, and the matrix sends revoked and expired tokens by the hundred.
	req.RemoteAddr = clientAddrOf(who)
	rec := httptest.NewRecorder()
	a.n.handler.ServeHTTP(rec, req)
	return rec
}

// clientAddrOf is a documentation address (RFC 5737) of principal who's own.
func clientAddrOf(who string) string {
	h := fnv.New32a()
	h.Write([]byte(who))
	n := h.Sum32()
	return fmt.Sprintf("198.51.%d.%d:1234", n>>8&0xff, n&0xff)
}

func (a *acNode) head() int64 { return a.n.seq.Head().Position }

// submit records cmd through the sequencer directly (test setup) and returns its event.
func (a *acNode) submit(cmd ledger.Command) *ledger.Event {
	a.t.Helper()
	res, err := a.n.seq.Submit(context.Background(), &ledger.Request{Commands: []ledger.Command{cmd}, Atomic: true,
		Meta: ledger.Metadata{Actor: "test setup"}})
	if err != nil || res.Err != nil {
		a.t.Fatalf("setup %T: %v %v", cmd, err, res.Err)
	}
	return res.Events[0]
}

// appRoleURL creates a LOGIN role that is only a member of ledger_app, in the cluster of
// dbURL, dropped at cleanup, and returns dbURL with that user (docs/operations.md).
func appRoleURL(t *testing.T, dbURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), acTimeout)
	defer cancel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	role := "ledger_test_app_" + hex.EncodeToString(b)
	c, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE ROLE "+role+" LOGIN IN ROLE ledger_app"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), acTimeout)
		defer cancel()
		c, err := pgx.Connect(ctx, testenv.AdminURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
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

// TestServerRunsAsAppRole runs the whole server connected as a login role that only has
// ledger_app's grants (after the owner migrated): start-up, demo load, token management,
// writes and reads all work, and history cannot be changed through that role.
func TestServerRunsAsAppRole(t *testing.T) {
	dbURL := testenv.DB(t)
	appURL := appRoleURL(t, dbURL)
	a := startACNode(t, appURL)
	if a.head() == 0 {
		t.Fatal("the demo did not load")
	}
	rec := a.do("admin", http.MethodPost, "/v1/tokens", `{"name":"Kế toán Ngân Sơn 2","role":"officer","unit":"062"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /v1/tokens: %d %s", rec.Code, rec.Body)
	}
	var created struct{ ID, Token string }
	_ = json.Unmarshal(rec.Body.Bytes(), &created)
	a.auth["new"] = "Bearer " + created.Token
	line := `{"program":"GNBV","year":2024,"source":"NSTW-SN","project":"DA2","unit":"062"}`
	rec = a.do("new", http.MethodPost, "/v1/disbursements", `{"line":`+line+`,"amount":1000,"kind":"payment","effective_date":"2024-06-20","payee":"A","voucher":{"office":"KB","type":"C2","number":"app-1","date":"2024-06-20"}}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("disbursement as the new officer: %d %s", rec.Code, rec.Body)
	}
	var ev struct {
		Metadata map[string]string `json:"metadata"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &ev)
	if ev.Metadata["actor"] != "Kế toán Ngân Sơn 2 (officer)" {
		t.Errorf("actor %q", ev.Metadata["actor"])
	}
	for _, path := range []string{"/v1/lines/GNBV:2024:NSTW-SN:DA2:062/events", "/v1/events?limit=5", "/v1/tokens", "/v1/head"} {
		if rec := a.do("admin", http.MethodGet, path, ""); rec.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := a.do("admin", http.MethodDelete, "/v1/tokens/"+created.ID, ""); rec.Code != http.StatusOK {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := a.do("new", http.MethodGet, "/v1/head", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401 at once", rec.Code)
	}
	pool := a.n.store.Pool()
	for _, sql := range []string{"UPDATE events SET amount = 1", "DELETE FROM events", "DELETE FROM tokens",
		"UPDATE tokens SET role = 'admin'", "DELETE FROM token_audit", "CREATE TABLE x (a int)"} {
		if _, err := pool.Exec(context.Background(), sql); err == nil {
			t.Errorf("as the app role: %s succeeded", sql)
		}
	}
}

// TestTokenCommand runs `ledger token create|list|revoke` as written in the README.
func TestTokenCommand(t *testing.T) {
	dbURL := testenv.DB(t)
	startACNode(t, dbURL) // the demo's catalog: --unit must name a registered unit
	ctx := context.Background()
	var out bytes.Buffer
	args := []string{"token", "create", "--role", "officer", "--unit", "062", "--name", "Kế toán Ngân Sơn", "--expires", "720h",
		"--database-url", dbURL}
	if err := run(ctx, args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	secret := strings.SplitN(out.String(), "\n", 2)[0]
	if !strings.HasPrefix(secret, pgstore.TokenPrefix) || !strings.Contains(out.String(), "shown once") {
		t.Fatalf("create printed %q", out.String())
	}
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.TokenBySecret(ctx, secret)
	if err != nil || tok.Role != "officer" || tok.Unit != "062" || tok.ExpiresAt.Sub(tok.CreatedAt) != 720*time.Hour {
		t.Fatalf("stored %+v %v", tok, err)
	}
	out.Reset()
	if err := run(ctx, []string{"token", "list", "--database-url", dbURL}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), tok.ID.String()) || !strings.Contains(out.String(), "active") || strings.Contains(out.String(), secret) {
		t.Errorf("list printed %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"token", "revoke", tok.ID.String(), "--database-url", dbURL}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if tok, _ = st.TokenBySecret(ctx, secret); tok.RevokedAt.IsZero() {
		t.Error("not revoked")
	}
	for _, bad := range [][]string{
		{"token", "create", "--role", "boss", "--name", "x"},
		{"token", "create", "--role", "auditor", "--unit", "062", "--name", "x"},
		{"token", "create", "--role", "officer", "--name", ""},
		{"token", "create", "--role", "officer", "--name", "x", "--expires", "10000h"},
		{"token", "create", "--role", "officer", "--name", "x", "--unit", "999"},
		{"token", "revoke", "not-a-uuid"},
		{"token", "revoke"},
		{"token", "delete"},
		{"token"},
		{"serve", "unexpected"},
	} {
		if err := run(ctx, append(bad, "--database-url", dbURL), io.Discard, io.Discard); err == nil {
			t.Errorf("%q succeeded", bad)
		}
	}
	if err := run(ctx, []string{"serve", "--bootstrap-token", "short", "--database-url", dbURL}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "bootstrap-token") {
		t.Errorf("a short bootstrap token was accepted: %v", err)
	}
}
