package api

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vnntp/ledger/dashboard"
	"github.com/vnntp/ledger/internal/storetest"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// fakeClock is a settable clock for rate limits and token expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func serveAs(h http.Handler, secret, method, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestRateLimitPerToken holds one token to its budget while another keeps succeeding,
// and refills the first with time.
func TestRateLimitPerToken(t *testing.T) {
	clock := &fakeClock{t: time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)}
	tokens := newMemTokens()
	tokens.put("ldg_noisy", "noisy", ledger.RoleAuditor, "", clock.t.Add(time.Hour))
	tokens.put("ldg_quiet", "quiet", ledger.RoleAuditor, "", clock.t.Add(time.Hour))
	h := New(Config{Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}, Tokens: tokens,
		Now: clock.now, Limits: Limits{RatePerSecond: 10, RateBurst: 20}}).Handler()
	for i := range 20 {
		if rec := serveAs(h, "ldg_noisy", "GET", "/v1/head"); rec.Code != 200 {
			t.Fatalf("request %d within the burst: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := serveAs(h, "ldg_noisy", "GET", "/v1/head")
	checkProblem(t, rec, http.StatusTooManyRequests, ledger.CodeRateLimited, "")
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q", rec.Header().Get("Retry-After"))
	}
	for i := range 15 {
		if rec := serveAs(h, "ldg_quiet", "GET", "/v1/head"); rec.Code != 200 {
			t.Fatalf("the other token, request %d: %d", i, rec.Code)
		}
		if rec := serveAs(h, "ldg_noisy", "GET", "/v1/head"); rec.Code != 429 {
			t.Fatalf("the noisy token got %d while over its budget", rec.Code)
		}
	}
	clock.add(time.Second) // 10 tokens back
	ok := 0
	for range 15 {
		if serveAs(h, "ldg_noisy", "GET", "/v1/head").Code == 200 {
			ok++
		}
	}
	if ok != 10 {
		t.Errorf("after 1 s at 10/s: %d requests passed, want 10", ok)
	}
	// Public routes are not charged.
	for range 50 {
		if rec := serveAs(h, "", "GET", "/healthz"); rec.Code != 200 {
			t.Fatalf("healthz: %d", rec.Code)
		}
	}
}

// TestConcurrencyLimit fills the semaphore with writes held in the writer and checks that
// the next request is refused at once with 503 and Retry-After, and that probes pass.
func TestConcurrencyLimit(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	w := fakeWriter{func(ctx context.Context, _ *ledger.Request) (*ledger.Result, error) {
		entered <- struct{}{}
		<-release
		return nil, context.Canceled
	}}
	h := New(Config{Writer: w, Events: &storetest.MemStore{}, Balances: &projections.Balances{}, Tokens: newMemTokens(),
		Limits: Limits{ConcurrentMax: 2, RatePerSecond: -1}}).Handler()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			req := httptest.NewRequest("POST", "/v1/allocations", strings.NewReader(`{"line":`+line062+`,"amount":5,"effective_date":"2024-01-15","decision":"QĐ"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testOfficerToken)
			h.ServeHTTP(httptest.NewRecorder(), req)
		})
	}
	for range 2 {
		select {
		case <-entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the writes did not reach the writer")
		}
	}
	rec := serveAs(h, testOfficerToken, "GET", "/v1/head")
	checkProblem(t, rec, http.StatusServiceUnavailable, ledger.CodeUnavailable, "")
	if rec.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if rec := serveAs(h, "", "GET", "/healthz"); rec.Code != 200 {
		t.Errorf("healthz while full: %d", rec.Code)
	}
	close(release)
	wg.Wait()
	if rec := serveAs(h, testOfficerToken, "GET", "/v1/head"); rec.Code != 200 {
		t.Errorf("after the writes: %d", rec.Code)
	}
}

// TestSecureHeadersAndNoTokenInLogs checks the browser headers on answers of every kind,
// and that neither the token nor the Authorization header reaches the log, even when a
// handler panics.
func TestSecureHeadersAndNoTokenInLogs(t *testing.T) {
	var logBuf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedBuf{mu: &mu, b: &logBuf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := fakeWriter{func(context.Context, *ledger.Request) (*ledger.Result, error) { panic("boom") }}
	h := New(Config{Writer: w, Events: &storetest.MemStore{}, Balances: &projections.Balances{}, Tokens: newMemTokens(),
		BootstrapToken: testAdminToken, Logger: logger}).Handler()
	for _, c := range []struct {
		secret, method, path string
		status               int
	}{
		{"", "GET", "/healthz", 200},
		{"", "GET", "/v1/head", 401},
		{testAdminToken, "GET", "/v1/head", 200},
		{testAdminToken, "GET", "/v1/nothing", 404},
		{testAdminToken, "POST", "/v1/allocations", 403},
		{testOfficerToken, "GET", "/v1/tokens", 403},
		{"ldg_wrong", "GET", "/v1/head", 401},
	} {
		rec := serveAs(h, c.secret, c.method, c.path)
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
		}
		for _, kv := range secureHeaders {
			if rec.Header().Get(kv[0]) != kv[1] {
				t.Errorf("%s %s: %s = %q", c.method, c.path, kv[0], rec.Header().Get(kv[0]))
			}
		}
		if strings.HasPrefix(c.path, "/v1/") && rec.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", c.method, c.path, rec.Header().Get("Cache-Control"))
		}
	}
	req := httptest.NewRequest("POST", "/v1/allocations", strings.NewReader(`{"line":`+line062+`,"amount":5,"effective_date":"2024-01-15","decision":"QĐ"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testOfficerToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 500 {
		t.Fatalf("panic: %d", rec.Code)
	}
	mu.Lock()
	logged := logBuf.String()
	mu.Unlock()
	if !strings.Contains(logged, "panic") {
		t.Fatalf("the panic was not logged: %s", logged)
	}
	for _, secret := range []string{testOfficerToken, testAdminToken, "ldg_wrong", "Bearer", "Authorization"} {
		if strings.Contains(logged, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logged)
		}
	}
}

type lockedBuf struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestEveryRouteHasAPolicy keeps routePolicies complete: a route without an entry is
// refused to everyone, so a new route must say who may call it. The server is wired as
// cmd/ledger wires it, with the dashboard's pages mounted.
func TestEveryRouteHasAPolicy(t *testing.T) {
	s := newWiredServer()
	for _, r := range s.echo.Routes() {
		if _, ok := s.policies[r.Method+" "+r.Path]; !ok {
			t.Errorf("route %s %s has no entry in routePolicies (api/auth_policy.go) and is not a mounted page", r.Method, r.Path)
		}
		// Path and body can never disagree: a route with a path parameter takes no body.
		if strings.Contains(r.Path, ":") && r.Method != http.MethodGet && r.Method != http.MethodDelete {
			t.Errorf("route %s %s has a path parameter and a body; check that they agree, then relax this test", r.Method, r.Path)
		}
	}
	for k := range routePolicies {
		if !s.registered[k] {
			t.Errorf("routePolicies names %s, which is not served", k)
		}
	}
}

// newWiredServer returns a server over empty models with the dashboard mounted, as
// cmd/ledger wires it.
func newWiredServer() *Server {
	s := New(Config{Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}})
	s.Mount(dashboard.New(dashboard.Config{API: s, Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}}))
	return s
}

// TestTokenLifecycle creates a scoped token through the API, uses it, revokes it (at once
// effective here), and checks expiry and the cache of lookups.
func TestTokenLifecycle(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	rec := hs.do("POST", "/v1/tokens", `{"name":"Lãnh đạo 062","role":"leader","unit":"062","expires_at":"`+
		time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	tok := decodeMap(t, rec)
	secret, id := tok["token"].(string), tok["id"].(string)
	if tok["unit"] != "062" || tok["role"] != "leader" || tok["revoked_at"] != nil {
		t.Errorf("created %v", tok)
	}
	as := func(path string) *httptest.ResponseRecorder {
		return hs.do("GET", path, "", "Authorization", "Bearer "+secret)
	}
	if rec := as("/v1/lines/" + line062ID); rec.Code != 200 {
		t.Errorf("leader reads its line: %d %s", rec.Code, rec.Body)
	}
	if rec := as("/v1/lines?unit=06"); rec.Code != 403 {
		t.Errorf("leader of 062 filters by its province: %d, want 403", rec.Code)
	}
	list := hs.do("GET", "/v1/tokens", "")
	if list.Code != 200 || strings.Contains(list.Body.String(), secret) || !strings.Contains(list.Body.String(), id) {
		t.Errorf("list: %d %s", list.Code, list.Body)
	}
	if rec := hs.do("DELETE", "/v1/tokens/"+id, ""); rec.Code != 200 || decodeMap(t, rec)["revoked_at"] == nil {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	rec = as("/v1/head")
	checkProblem(t, rec, http.StatusUnauthorized, ledger.CodeUnauthenticated, "")
	if !strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate %q", rec.Header().Get("WWW-Authenticate"))
	}
	if rec := hs.do("POST", "/v1/tokens", `{"name":"x","role":"auditor","unit":"062"}`); rec.Code != 400 {
		t.Errorf("auditor with a unit: %d", rec.Code)
	}
	if rec := hs.do("POST", "/v1/tokens", `{"name":"x","role":"leader","expires_at":"2999-01-01T00:00:00Z"}`); rec.Code != 400 {
		t.Errorf("token for a thousand years: %d", rec.Code)
	}
}

// TestExpiryAndCache: a token stops working at its expiry, and lookups are cached for
// tokenCacheTTL.
func TestExpiryAndCache(t *testing.T) {
	clock := &fakeClock{t: time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)}
	tokens := newMemTokens()
	tokens.put("ldg_short", "short", ledger.RoleAuditor, "", clock.t.Add(time.Minute))
	h := New(Config{Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}, Tokens: tokens,
		Now: clock.now}).Handler()
	for range 5 {
		if rec := serveAs(h, "ldg_short", "GET", "/v1/head"); rec.Code != 200 {
			t.Fatalf("%d", rec.Code)
		}
	}
	if tokens.lookup != 1 {
		t.Errorf("%d store lookups for 5 requests within the cache TTL, want 1", tokens.lookup)
	}
	clock.add(time.Minute)
	rec := serveAs(h, "ldg_short", "GET", "/v1/head")
	checkProblem(t, rec, http.StatusUnauthorized, ledger.CodeUnauthenticated, "")
	if !strings.Contains(rec.Body.String(), "expired") {
		t.Errorf("detail: %s", rec.Body)
	}
}
