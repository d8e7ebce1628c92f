package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/vnntp/ledger/internal/testenv"
)

// TestHostileInput sends malformed, oversized, mistyped and smuggled requests, each with
// a valid token unless the case is about the token, to the whole server on a real
// PostgreSQL: each gets its 4xx with a problem body, nothing is stored, nothing panics.
func TestHostileInput(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	officer := strings.TrimPrefix(a.auth["officer062"], "Bearer ")
	line := acLine062a
	alloc := func(amount string) string {
		return `{"line":` + line + `,"amount":` + amount + `,"effective_date":"2024-06-21","decision":"QĐ"}`
	}
	big := `{"line":` + line + `,"amount":1,"effective_date":"2024-06-21","decision":"QĐ","note":"` + strings.Repeat("x", 70<<10) + `"}`
	deep := strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000)
	type hc struct {
		name    string
		method  string
		path    string
		body    string
		headers []string // name, value pairs; "Authorization" "" removes it
		status  int
		code    string
	}
	json := "application/json"
	cases := []hc{
		{"no token", "POST", "/v1/allocations", alloc("1"), []string{"Authorization", ""}, 401, "unauthenticated"},
		{"basic auth", "POST", "/v1/allocations", alloc("1"), []string{"Authorization", "Basic dXNlcjpwYXNz"}, 401, "unauthenticated"},
		{"bearer without token", "POST", "/v1/allocations", alloc("1"), []string{"Authorization", "Bearer "}, 401, "unauthenticated"},
		{"unknown token", "POST", "/v1/allocations", alloc("1"), []string{"Authorization", "Bearer ldg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 401, "unauthenticated"},
		{"token with control char", "POST", "/v1/allocations", alloc("1"), []string{"Authorization", "Bearer " + officer + "\x01"}, 401, "unauthenticated"},
		{"huge token", "GET", "/v1/head", "", []string{"Authorization", "Bearer " + strings.Repeat("a", 4096)}, 401, "unauthenticated"},
		{"token in query", "GET", "/v1/head?access_token=" + officer, "", []string{"Authorization", ""}, 400, "invalid_argument"},
		{"token-looking query value", "GET", "/v1/lines?unit=" + officer, "", nil, 400, "invalid_argument"},
		{"token in path", "GET", "/v1/events/" + officer, "", nil, 400, "invalid_argument"},
		{"api_key param", "GET", "/v1/head?api_key=x", "", nil, 400, "invalid_argument"},
		{"query on a write", "POST", "/v1/allocations?unit=062", alloc("1"), nil, 400, "invalid_argument"},
		{"control char in query", "GET", "/v1/lines?unit=06%0A2", "", nil, 400, "invalid_argument"},
		{"NUL in query", "GET", "/v1/lines?unit=%00", "", nil, 400, "invalid_argument"},
		{"bad escape in query", "GET", "/v1/lines?unit=%zz", "", nil, 400, "invalid_argument"},
		{"semicolon in query", "GET", "/v1/lines?unit=062;year=2024", "", nil, 400, "invalid_argument"},
		{"invalid UTF-8 in query", "GET", "/v1/lines?unit=%ff", "", nil, 400, "invalid_argument"},
		{"unknown query param", "GET", "/v1/lines?unti=062", "", nil, 400, "invalid_argument"},
		{"repeated query param", "GET", "/v1/lines?unit=062&unit=060", "", nil, 400, "invalid_argument"},
		{"limit too large", "GET", "/v1/events?limit=100000", "", nil, 400, "invalid_argument"},
		{"negative after", "GET", "/v1/events?after=-1", "", nil, 400, "invalid_argument"},
		{"body on GET", "GET", "/v1/head", `{"x":1}`, nil, 400, "invalid_argument"},
		{"body on DELETE", "DELETE", "/v1/tokens/00000000-0000-0000-0000-000000000000", `{"id":"x"}`, []string{"Authorization", "Bearer " + acBootstrap}, 400, "invalid_argument"},
		{"bad line id", "GET", "/v1/lines/not-a-line", "", nil, 400, "invalid_argument"},
		{"bad event id", "GET", "/v1/events/123", "", nil, 400, "invalid_argument"},
		{"no content type", "POST", "/v1/allocations", alloc("1"), []string{"Content-Type", ""}, 415, "invalid_argument"},
		{"text/plain", "POST", "/v1/allocations", alloc("1"), []string{"Content-Type", "text/plain"}, 415, "invalid_argument"},
		{"latin-1 charset", "POST", "/v1/allocations", alloc("1"), []string{"Content-Type", "application/json; charset=latin1"}, 415, "invalid_argument"},
		{"gzip body", "POST", "/v1/allocations", alloc("1"), []string{"Content-Encoding", "gzip"}, 415, "invalid_argument"},
		{"oversized body", "POST", "/v1/allocations", big, nil, 413, "payload_too_large"},
		{"empty body", "POST", "/v1/allocations", "", []string{"Content-Type", json}, 400, "invalid_argument"},
		{"not JSON", "POST", "/v1/allocations", "line=062", nil, 400, "invalid_argument"},
		{"JSON array", "POST", "/v1/allocations", "[1,2]", nil, 400, "invalid_argument"},
		{"deep nesting", "POST", "/v1/allocations", deep, nil, 400, "invalid_argument"},
		{"trailing data", "POST", "/v1/allocations", alloc("1") + `{}`, nil, 400, "invalid_argument"},
		{"unknown field", "POST", "/v1/allocations", `{"line":` + line + `,"amount":1,"effective_date":"2024-06-21","decision":"QĐ","actor":"admin"}`, nil, 400, "invalid_argument"},
		{"duplicate key (smuggled line)", "POST", "/v1/allocations", `{"line":` + line + `,"amount":1,"effective_date":"2024-06-21","decision":"QĐ","line":` + acLine060 + `}`, nil, 400, "invalid_argument"},
		{"amount as string", "POST", "/v1/allocations", alloc(`"1"`), nil, 400, "invalid_argument"},
		{"amount fraction", "POST", "/v1/allocations", alloc("1.5"), nil, 400, "invalid_argument"},
		{"amount exponent", "POST", "/v1/allocations", alloc("1e3"), nil, 400, "invalid_argument"},
		{"amount negative", "POST", "/v1/allocations", alloc("-5"), nil, 400, "invalid_argument"},
		{"amount zero", "POST", "/v1/allocations", alloc("0"), nil, 400, "invalid_argument"},
		{"amount beyond 2^53", "POST", "/v1/allocations", alloc("9007199254740993"), nil, 400, "invalid_argument"},
		{"amount overflow", "POST", "/v1/allocations", alloc("99999999999999999999999"), nil, 400, "invalid_argument"},
		{"bad date", "POST", "/v1/allocations", `{"line":` + line + `,"amount":1,"effective_date":"2024-02-30","decision":"QĐ"}`, nil, 400, "invalid_argument"},
		{"line as string", "POST", "/v1/allocations", `{"line":"GNBV:2024:NSTW-SN:DA2:062","amount":1,"effective_date":"2024-06-21","decision":"QĐ"}`, nil, 400, "invalid_argument"},
		{"unit with control char", "POST", "/v1/allocations", strings.Replace(alloc("1"), `"062"`, `"06\u00002"`, 1), nil, 400, "invalid_argument"},
		{"invalid UTF-8 in body", "POST", "/v1/allocations", strings.Replace(alloc("1"), "QĐ", "Q\xff", 1), nil, 400, "invalid_argument"},
		{"out-of-scope line", "POST", "/v1/allocations", `{"line":` + acLine060 + `,"amount":1,"effective_date":"2024-06-21","decision":"QĐ"}`, nil, 403, "forbidden"},
		{"unknown unit", "POST", "/v1/allocations", strings.Replace(alloc("1"), `"062"`, `"999"`, 1), nil, 403, "forbidden"},
		{"duplicate idempotency key header", "POST", "/v1/allocations", alloc("1"), []string{"Idempotency-Key", "a", "Idempotency-Key", "b"}, 400, "invalid_argument"},
		{"idempotency key with space", "POST", "/v1/allocations", alloc("1"), []string{"Idempotency-Key", "a b"}, 400, "invalid_argument"},
		{"batch too many commands", "POST", "/v1/batch", `{"commands":[` + strings.TrimSuffix(strings.Repeat(`{"type":"allocation"},`, 10_001), ",") + `]}`, nil, 413, "payload_too_large"},
		{"batch unknown type", "POST", "/v1/batch", `{"commands":[{"type":"grant","line":` + line + `}]}`, nil, 400, "invalid_argument"},
		{"batch catalog command", "POST", "/v1/batch", `{"commands":[{"type":"program","code":"X","name":"X"}]}`, nil, 400, "invalid_argument"},
		{"batch empty", "POST", "/v1/batch", `{"commands":[]}`, nil, 400, "invalid_argument"},
		{"batch smuggles 060", "POST", "/v1/batch", `{"atomic":false,"commands":[{"type":"allocation","line":` + line + `,"amount":1,"effective_date":"2024-06-21","decision":"QĐ"},{"type":"allocation","line":` + acLine060 + `,"amount":1,"effective_date":"2024-06-21","decision":"QĐ"}]}`, nil, 403, "forbidden"},
		{"reversal of unknown event", "POST", "/v1/reversals", `{"event_id":"00000000-0000-7000-8000-000000000000","amount":1,"effective_date":"2024-06-21","reason":"x"}`, nil, 422, "unknown_reference"},
		{"officer creates a token", "POST", "/v1/tokens", `{"name":"me","role":"admin"}`, nil, 403, "forbidden"},
		{"token with unknown role", "POST", "/v1/tokens", `{"name":"x","role":"root"}`, []string{"Authorization", "Bearer " + acBootstrap}, 400, "invalid_argument"},
		{"token with unknown unit", "POST", "/v1/tokens", `{"name":"x","role":"leader","unit":"999"}`, []string{"Authorization", "Bearer " + acBootstrap}, 422, "unknown_reference"},
		{"token expiring in the past", "POST", "/v1/tokens", `{"name":"x","role":"leader","expires_at":"2020-01-01T00:00:00Z"}`, []string{"Authorization", "Bearer " + acBootstrap}, 400, "invalid_argument"},
		{"token name with newline", "POST", "/v1/tokens", `{"name":"x\nactor: admin","role":"leader"}`, []string{"Authorization", "Bearer " + acBootstrap}, 400, "invalid_argument"},
		{"revoke unknown token", "DELETE", "/v1/tokens/00000000-0000-0000-0000-000000000000", "", []string{"Authorization", "Bearer " + acBootstrap}, 404, "not_found"},
		{"method not allowed", "PUT", "/v1/allocations", "", nil, 405, "invalid_argument"},
		{"unknown route", "GET", "/v1/admin", "", nil, 404, "not_found"},
		{"path traversal", "GET", "/v1/lines/..%2F..%2Fetc%2Fpasswd", "", nil, 400, "invalid_argument"},
	}
	headBefore := a.head()
	tokensBefore := countTokens(t, a)
	for _, c := range cases {
		req := httptest.NewRequest(c.method, "/", nil)
		if c.body != "" {
			req = httptest.NewRequest(c.method, "/", strings.NewReader(c.body))
			req.Header.Set("Content-Type", json)
		}
		req.URL.Path, req.URL.RawPath, req.URL.RawQuery = "", "", ""
		req.RequestURI = c.path
		u, _ := req.URL.Parse(c.path)
		req.URL = u
		req.Header.Set("Authorization", "Bearer "+officer)
		for i := 0; i+1 < len(c.headers); i += 2 {
			if c.headers[i+1] == "" {
				req.Header.Del(c.headers[i])
				continue
			}
			if i > 0 && c.headers[i] == c.headers[i-2] {
				req.Header.Add(c.headers[i], c.headers[i+1])
				continue
			}
			req.Header.Set(c.headers[i], c.headers[i+1])
		}
		rec := httptest.NewRecorder()
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", c.name, r)
				}
			}()
			a.n.handler.ServeHTTP(rec, req)
		}()
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), `"code":"`+c.code+`"`) {
			t.Errorf("%s: %d %.200s, want %d %s", c.name, rec.Code, rec.Body, c.status, c.code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no secure headers on the refusal", c.name)
		}
	}
	if got := a.head(); got != headBefore {
		t.Errorf("hostile requests moved the head %d → %d", headBefore, got)
	}
	if got := countTokens(t, a); got != tokensBefore {
		t.Errorf("hostile requests created tokens: %d → %d", tokensBefore, got)
	}
	t.Logf("%d hostile requests refused", len(cases))
}

func countTokens(t *testing.T, a *acNode) int {
	t.Helper()
	ts, err := a.n.store.Tokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return len(ts)
}
