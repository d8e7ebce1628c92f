package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger/pgstore"
	"github.com/vnntp/ledger/report"
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

// TestReportSumsCannotWrap is reproduction 3: 2,046 allocations of 2^53 đồng to two lines
// of Ngân Sơn (each line's own total stays within int64) used to make /v1/progress for
// Bắc Kạn show a negative plan, the counterpart check pass and the dashboard a negative
// figure. The writer now refuses the allocation that would take the ledger's turnover
// beyond ledger.TurnoverMax, so every sum stays exact; the SQL read model agrees.
func TestReportSumsCannotWrap(t *testing.T) {
	a := startACNode(t, testenv.DB(t), "--rate-limit", "-1")
	const allocations, amount = 2046, int64(1) << 53
	before := progressTotal(t, a)
	accepted, refused := int64(0), 0
	for i := range allocations {
		line := acLine062a
		if i%2 == 1 {
			line = acLine062b
		}
		rec := a.do("officer062", http.MethodPost, "/v1/allocations",
			fmt.Sprintf(`{"line":%s,"amount":%d,"effective_date":"2024-06-01","decision":"QĐ %d"}`, line, amount, i))
		switch rec.Code {
		case http.StatusCreated:
			if refused > 0 {
				t.Fatalf("allocation %d accepted after a refusal", i)
			}
			accepted++
		case http.StatusBadRequest:
			if !strings.Contains(rec.Body.String(), `"field":"amount"`) || !strings.Contains(rec.Body.String(), "turnover") {
				t.Fatalf("allocation %d: %s", i, rec.Body)
			}
			refused++
		default:
			t.Fatalf("allocation %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	if refused == 0 {
		t.Fatalf("all %d allocations of 2^53 were accepted", allocations)
	}
	plan := progressTotal(t, a)
	if want := before + accepted*amount; plan != want || plan <= 0 {
		t.Errorf("/v1/progress plan %d, want %d (%d allocations accepted, %d refused)", plan, want, accepted, refused)
	}
	// The counterpart check, the SQL read model and the dashboard show the same sums.
	rec := a.do("leader06", http.MethodGet, "/v1/progress/counterpart?province=06&program=GNBV&from_year=2024&to_year=2024", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("counterpart: %d %s", rec.Code, rec.Body)
	}
	var cp struct {
		Provinces []struct {
			Central, Counterpart, Required int64
			Pass                           bool
		} `json:"provinces"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cp); err != nil {
		t.Fatal(err)
	}
	for _, p := range cp.Provinces {
		if p.Central < 0 || p.Counterpart < 0 || p.Required < 0 {
			t.Errorf("counterpart figures went negative: %+v", p)
		}
	}
	waitReadModel(t, a)
	var sqlPlan string
	if err := a.n.store.Pool().QueryRow(context.Background(),
		`SELECT sum(plan_delta)::text FROM read.line_progress WHERE province = '06'`).Scan(&sqlPlan); err != nil {
		t.Fatal(err)
	}
	if sqlPlan != strconv.FormatInt(plan, 10) {
		t.Errorf("read model plan %s, API %d", sqlPlan, plan)
	}
	req := httptest.NewRequest(http.MethodGet, "/?lang=en", nil)
	req.AddCookie(&http.Cookie{Name: "ledger_session", Value: strings.TrimPrefix(a.auth["leader06"], "Bearer ")})
	page := httptest.NewRecorder()
	a.n.handler.ServeHTTP(page, req)
	if page.Code != http.StatusOK || !strings.Contains(page.Body.String(), report.FormatAmount(plan, report.LangEN)) {
		t.Errorf("dashboard overview: %d, want the plan %s shown", page.Code, report.FormatAmount(plan, report.LangEN))
	}
}

// progressTotal is the plan of Bắc Kạn (06) in GET /v1/progress, as its leader reads it.
func progressTotal(t *testing.T, a *acNode) int64 {
	t.Helper()
	rec := a.do("leader06", http.MethodGet, "/v1/progress?unit=06", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("progress: %d %s", rec.Code, rec.Body)
	}
	var p struct {
		Total struct{ Plan int64 } `json:"total"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p.Total.Plan
}

// waitReadModel waits until the read-model tables hold the writer's head.
func waitReadModel(t *testing.T, a *acNode) {
	t.Helper()
	head := a.head()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var pos int64
		if err := a.n.store.Pool().QueryRow(context.Background(), `SELECT position FROM read.checkpoint`).Scan(&pos); err == nil && pos >= head {
			return
		}
		time.Sleep(pollInterval)
	}
	t.Fatalf("the read model did not reach position %d", head)
}

// TestTokenEventsInTheChain: the creation and revocation of a token are events of the
// hash chain, without the secret — through the API, through `ledger token` while a
// writer runs (it is notified and records them) and while none runs (the command
// records them itself) — and the chain still verifies, with `ledger verify` and with
// tools/verify_chain.py.
func TestTokenEventsInTheChain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// No writer: `ledger token create` appends the event itself, and the chain verifies.
	quiet := testenv.DB(t)
	var out bytes.Buffer
	if err := run(ctx, []string{"token", "create", "--role", "admin", "--name", "Quản trị", "--database-url", quiet}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "# recorded in the hash chain") {
		t.Fatalf("create without a writer printed %q", out.String())
	}
	out.Reset()
	if err := run(ctx, []string{"verify", "--database-url", quiet}, &out, io.Discard); err != nil || !strings.Contains(out.String(), "1 event") {
		t.Fatalf("ledger verify after a token created without a writer: %v %q", err, out.String())
	}

	dbURL := testenv.DB(t)
	a := startACNode(t, dbURL)
	// A token created with the writer running, by `ledger token create`.
	out.Reset()
	if err := run(ctx, []string{"token", "create", "--role", "auditor", "--name", "Kiểm toán", "--database-url", dbURL}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "# the running writer records it") {
		t.Fatalf("create with a writer running printed %q", out.String())
	}
	cliSecret := strings.SplitN(out.String(), "\n", 2)[0]
	events := func() []map[string]any {
		rec := a.do("auditor", http.MethodGet, "/v1/events?limit=1000", "")
		if rec.Code != http.StatusOK {
			t.Fatalf("events: %d %s", rec.Code, rec.Body)
		}
		var page struct {
			Events []map[string]any `json:"events"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Fatal(err)
		}
		return page.Events
	}
	find := func(typ, id string) map[string]any {
		for _, e := range events() {
			data, _ := e["data"].(map[string]any)
			tok, _ := data["token"].(map[string]any)
			if e["type"] == typ && tok["id"] == id {
				return e
			}
		}
		return nil
	}
	wait := func(typ, id string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for find(typ, id) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("the running writer did not record %s of %s", typ, id)
			}
			time.Sleep(pollInterval)
		}
	}
	// Through the API: recorded before the answer.
	rec := a.do("admin", http.MethodPost, "/v1/tokens", `{"name":"Lãnh đạo Ngân Sơn","role":"leader","unit":"062"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	var created struct{ ID, Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &created); err != nil {
		t.Fatal(err)
	}
	e := find("access.token_created", created.ID)
	if e == nil {
		t.Fatalf("no access.token_created event for %s", created.ID)
	}
	raw, _ := json.Marshal(e)
	hash := pgstore.HashToken(created.Token)
	if strings.Contains(string(raw), created.Token) || strings.Contains(string(raw), fmt.Sprintf("%x", hash[:])) ||
		!strings.Contains(string(raw), `"role":"leader"`) || !strings.Contains(string(raw), `"actor":"bootstrap (admin)"`) {
		t.Errorf("the event %s", raw)
	}
	if rec := a.do("admin", http.MethodDelete, "/v1/tokens/"+created.ID, ""); rec.Code != http.StatusOK {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if find("access.token_revoked", created.ID) == nil {
		t.Fatalf("no access.token_revoked event for %s", created.ID)
	}
	// The token `ledger token create` made while the writer ran, and its revocation.
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cliTok, err := st.TokenBySecret(ctx, cliSecret)
	if err != nil {
		t.Fatal(err)
	}
	wait("access.token_created", cliTok.ID.String())
	out.Reset()
	if err := run(ctx, []string{"token", "revoke", cliTok.ID.String(), "--database-url", dbURL}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "the running writer records it") {
		t.Errorf("revoke with a writer running printed %q", out.String())
	}
	wait("access.token_revoked", cliTok.ID.String())
	n := 0
	for _, e := range events() {
		if strings.HasPrefix(e["type"].(string), "access.") {
			n++
		}
	}
	// Every entry of token_audit (the tokens the test setup stored directly included:
	// the notification recorded them too) is in the chain exactly once.
	var audit int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM token_audit`).Scan(&audit); err != nil {
		t.Fatal(err)
	}
	if n != audit {
		t.Errorf("%d access events, want one per token_audit entry: %d", n, audit)
	}
	// The chain verifies, in Go and in Python.
	out.Reset()
	if err := run(ctx, []string{"verify", "--database-url", dbURL}, &out, io.Discard); err != nil {
		t.Fatalf("ledger verify: %v %s", err, out.String())
	}
	export := filepath.Join(t.TempDir(), "ledger.jsonl")
	if err := run(ctx, []string{"export", "--database-url", dbURL, "--out", export}, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if py, err := pythonVerdict(ctx, export); err != nil {
		t.Fatalf("verify_chain.py: %s %v", py, err)
	}
}
