package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/vnntp/ledger/dashboard"
	"github.com/vnntp/ledger/internal/storetest"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
)

// TestGuessedTokensDoNotLockOutValidTokens is reproduction 1 of the second hardening
// round: a client sending random bearer tokens from one address used to make every valid
// token from that address 429 (and a proxy or NAT made that everyone). Now the valid
// token is checked first and limited only by its own budget; the guesser gets 429.
func TestGuessedTokensDoNotLockOutValidTokens(t *testing.T) {
	clock := &fakeClock{t: time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)}
	tokens := newMemTokens()
	tokens.put("ldg_valid-leader", "valid", ledger.RoleAuditor, "", clock.t.Add(time.Hour))
	s := New(Config{Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}, Tokens: tokens,
		BootstrapToken: testAdminToken, Now: clock.now})
	s.Mount(dashboard.New(dashboard.Config{API: s, Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}}))
	h := s.Handler()
	limited := 0
	for i := range 2 * DefaultAuthFailuresBurst {
		rec := serveAs(h, "ldg_guess-"+uuid.NewString(), "GET", "/v1/head")
		switch rec.Code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("guess %d: %d %s", i, rec.Code, rec.Body)
		}
		// The same address's valid tokens pass all the while, uncached (a new one) or not.
		if rec := serveAs(h, "ldg_valid-leader", "GET", "/v1/head"); rec.Code != http.StatusOK {
			t.Fatalf("valid token after guess %d: %d %s", i, rec.Code, rec.Body)
		}
		if i%50 == 0 {
			fresh := fmt.Sprintf("ldg_fresh-%d", i)
			tokens.put(fresh, "fresh", ledger.RoleLeader, "062", clock.t.Add(time.Hour))
			if rec := serveAs(h, fresh, "GET", "/v1/head"); rec.Code != http.StatusOK {
				t.Fatalf("a valid token never seen before, after guess %d: %d %s", i, rec.Code, rec.Body)
			}
		}
		if rec := serveAs(h, testAdminToken, "GET", "/v1/head"); rec.Code != http.StatusOK {
			t.Fatalf("bootstrap token after guess %d: %d", i, rec.Code)
		}
	}
	if limited < DefaultAuthFailuresBurst/2 {
		t.Errorf("%d of %d guesses were answered 429; the guesser must be limited", limited, 2*DefaultAuthFailuresBurst)
	}
	// The dashboard's sign-in meets the same rule: a valid token signs in.
	form := strings.NewReader("token=ldg_valid-leader&lang=en")
	req := httptest.NewRequest(http.MethodPost, "/signin", form)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://example.com")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Errorf("sign-in with a valid token from the guessing address: %d %s", rec.Code, rec.Body)
	}
}

// TestSlowAnonymousBodiesDoNotTakeEverySlot is reproduction 2: sockets posting the
// sign-in form one byte at a time, with a forged matching Origin, used to hold every
// in-flight slot, and every admin request got 503. Now anonymous routes have their own
// share of slots and a short read timeout.
func TestSlowAnonymousBodiesDoNotTakeEverySlot(t *testing.T) {
	const concurrentMax, slowSockets = 32, 40
	s := New(Config{Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{},
		Tokens: newMemTokens(), BootstrapToken: testAdminToken, Limits: Limits{ConcurrentMax: concurrentMax, RatePerSecond: -1}})
	s.Mount(dashboard.New(dashboard.Config{API: s, Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}}))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	var wg sync.WaitGroup
	stop := make(chan struct{})
	cut := make(chan time.Duration, slowSockets)
	for range slowSockets {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /signin HTTP/1.1\r\nHost: %s\r\nOrigin: http://%s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\nt", host, host)
		wg.Go(func() {
			start := time.Now()
			go func() { _, _ = io.Copy(io.Discard, bufio.NewReader(conn)); cut <- time.Since(start) }()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte("o")); err != nil {
						return
					}
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond) // every slow request is in its handler
	deadline := time.Now().Add(3 * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/head", nil)
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("admin request %d while anonymous bodies trickle in: %d", n, res.StatusCode)
		}
		n++
		time.Sleep(50 * time.Millisecond)
	}
	// The slow uploads are cut after AnonymousReadTimeout, not left to trickle.
	select {
	case d := <-cut:
		if d > AnonymousReadTimeout+3*time.Second {
			t.Errorf("a slow sign-in was cut after %v, want about %v", d, AnonymousReadTimeout)
		}
	case <-time.After(AnonymousReadTimeout + 5*time.Second):
		t.Errorf("no slow sign-in was cut within %v", AnonymousReadTimeout+5*time.Second)
	}
	close(stop)
	wg.Wait()
}

// TestLiveStreamsCappedPerPrincipal is reproduction 6: 64 live-update streams of one
// leader used to leave every other user 503.
func TestLiveStreamsCappedPerPrincipal(t *testing.T) {
	tokens := newMemTokens()
	tokens.put("ldg_greedy-leader", "greedy", ledger.RoleLeader, "062", time.Now().Add(time.Hour))
	tokens.put("ldg_other-leader", "other", ledger.RoleLeader, "060", time.Now().Add(time.Hour))
	s := New(Config{Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{},
		Tokens: tokens, Limits: Limits{RatePerSecond: -1}})
	s.Mount(dashboard.New(dashboard.Config{API: s, Writer: fakeWriter{}, Events: &storetest.MemStore{}, Balances: &projections.Balances{}}))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	open := func(secret string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/dashboard/events", nil)
		req.AddCookie(&http.Cookie{Name: "ledger_session", Value: secret})
		return http.DefaultClient.Do(req)
	}
	ok := 0
	for range 64 {
		res, err := open("ldg_greedy-leader")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if res.StatusCode == http.StatusOK {
			ok++
		}
	}
	if ok == 0 || ok > 8 {
		t.Errorf("one leader opened %d of 64 streams", ok)
	}
	res, err := open("ldg_other-leader")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("another leader's stream while the first holds its share: %d", res.StatusCode)
	}
}

// TestIdempotencyKeysScopedByPrincipal is reproduction 4: an officer of 062 using the
// README's naming ("qd-123-2024") made the legitimate request of an officer of 060 with
// that key a 409, and learned which keys others used. Keys are now namespaced by role and
// unit: the other district's request is recorded, and each officer's retry replays its
// own event.
func TestIdempotencyKeysScopedByPrincipal(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	officer := func(unit string) string {
		rec := hs.do("POST", "/v1/tokens", `{"name":"Kế toán `+unit+`","role":"officer","unit":"`+unit+`"}`)
		if rec.Code != http.StatusCreated {
			t.Fatalf("create officer of %s: %d %s", unit, rec.Code, rec.Body)
		}
		return "Bearer " + decodeMap(t, rec)["token"].(string)
	}
	o062, o060, o062b := officer("062"), officer("060"), officer("062")
	body062 := `{"line":` + line062 + `,"amount":100,"effective_date":"2024-02-01","decision":"QĐ 123"}`
	body060 := `{"line":` + line060DA3 + `,"amount":200,"effective_date":"2024-02-01","decision":"QĐ 123"}`
	const key = "qd-123-2024"
	first := hs.do("POST", "/v1/allocations", body062, "Authorization", o062, "Idempotency-Key", key)
	if first.Code != http.StatusCreated {
		t.Fatalf("officer of 062: %d %s", first.Code, first.Body)
	}
	other := hs.do("POST", "/v1/allocations", body060, "Authorization", o060, "Idempotency-Key", key)
	if other.Code != http.StatusCreated || other.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("officer of 060 with the same key: %d %s, want 201 and a new event", other.Code, other.Body)
	}
	if decodeMap(t, other)["id"] == decodeMap(t, first)["id"] {
		t.Fatal("the 060 officer was answered with the 062 officer's event")
	}
	// Another token of the same office shares the namespace: its retry replays.
	again := hs.do("POST", "/v1/allocations", body062, "Authorization", o062b, "Idempotency-Key", key)
	if again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" ||
		decodeMap(t, again)["id"] != decodeMap(t, first)["id"] {
		t.Errorf("retry from the same office: %d replayed=%q %s", again.Code, again.Header().Get("Idempotent-Replayed"), again.Body)
	}
	// The same key with another body is still a conflict within a namespace.
	conflict := hs.do("POST", "/v1/allocations", strings.Replace(body062, `"amount":100`, `"amount":101`, 1),
		"Authorization", o062, "Idempotency-Key", key)
	checkProblem(t, conflict, http.StatusConflict, ledger.CodeIdempotencyConflict, "")
	// The metadata records the key as the client sent it.
	ev := decodeMap(t, other)
	if md, _ := ev["metadata"].(map[string]any); md["idempotency_key"] != key {
		t.Errorf("metadata %v, want idempotency_key %q", ev["metadata"], key)
	}
}

// TestTokensNeedAUnit is reproduction 5 through the API: POST /v1/tokens
// {"role":"officer"} without a unit used to give an officer of the whole country.
func TestTokensNeedAUnit(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	for _, role := range []string{"officer", "leader"} {
		rec := hs.do("POST", "/v1/tokens", `{"name":"x","role":"`+role+`"}`)
		checkProblem(t, rec, http.StatusBadRequest, ledger.CodeInvalidArgument, "unit")
	}
	rec := hs.do("POST", "/v1/tokens", `{"name":"Kế toán quốc gia","role":"officer","unit":"all"}`)
	if rec.Code != http.StatusCreated || decodeMap(t, rec)["unit"] != nil {
		t.Errorf(`"unit":"all": %d %s, want 201 and unit null (every unit)`, rec.Code, rec.Body)
	}
	if rec := hs.do("POST", "/v1/tokens", `{"name":"Kiểm toán","role":"auditor"}`); rec.Code != http.StatusCreated {
		t.Errorf("auditor without a unit: %d %s", rec.Code, rec.Body)
	}
	if rec := hs.do("POST", "/v1/tokens", `{"name":"Kiểm toán","role":"auditor","unit":"all"}`); rec.Code != http.StatusCreated {
		t.Errorf(`auditor with "unit":"all": %d %s`, rec.Code, rec.Body)
	}
}

// TestVoucherSpellingsAreOneVoucher is reproduction 7: voucher numbers were compared as
// exact strings, so "000123" and "123", "a-1" and "A-1" were accepted as different
// vouchers. They are one voucher now (ledger.Voucher.Identity); what was entered is kept.
func TestVoucherSpellingsAreOneVoucher(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	for _, p := range [][2]string{{"000123", "123"}, {"a-1", "A-1"}, {"0012/KB-TT", "12/kb-tt"}} {
		first := hs.post("/v1/disbursements", disbursement(line062, 10, p[0]))
		if first.Code != http.StatusCreated {
			t.Fatalf("voucher %q: %d %s", p[0], first.Code, first.Body)
		}
		if !strings.Contains(first.Body.String(), `"number":"`+p[0]+`"`) {
			t.Errorf("the event does not keep the voucher as entered: %s", first.Body)
		}
		again := hs.post("/v1/disbursements", disbursement(line062, 10, p[1]))
		checkProblem(t, again, http.StatusBadRequest, ledger.CodeInvalidArgument, "voucher")
	}
	// The office is folded too: the voucher of another office stays another voucher.
	other := strings.Replace(disbursement(line062, 10, "123"), `"office":"KB01"`, `"office":"KB02"`, 1)
	if rec := hs.post("/v1/disbursements", other); rec.Code != http.StatusCreated {
		t.Errorf("the same number at another office: %d %s", rec.Code, rec.Body)
	}
	lower := strings.Replace(disbursement(line062, 10, "123"), `"office":"KB01"`, `"office":"kb02"`, 1)
	checkProblem(t, hs.post("/v1/disbursements", lower), http.StatusBadRequest, ledger.CodeInvalidArgument, "voucher")
}

// TestAccessEventsOnlyForUnscopedReaders: the token events of the hash chain say who
// holds which token; a principal held to a unit subtree does not see them in the event
// list, as it cannot list tokens.
func TestAccessEventsOnlyForUnscopedReaders(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	rec := hs.do("POST", "/v1/tokens", `{"name":"Lãnh đạo 062","role":"leader","unit":"062"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	leader := "Bearer " + decodeMap(t, rec)["token"].(string)
	admin := hs.do("GET", "/v1/events?limit=1000", "", "Authorization", "Bearer "+testAdminToken)
	if admin.Code != http.StatusOK || !strings.Contains(admin.Body.String(), `"access.token_created"`) {
		t.Fatalf("the admin's event list: %d, want the access event", admin.Code)
	}
	scoped := hs.do("GET", "/v1/events?limit=1000", "", "Authorization", leader)
	if scoped.Code != http.StatusOK || strings.Contains(scoped.Body.String(), "access.token") {
		t.Errorf("a leader's event list shows access events: %d", scoped.Code)
	}
}
