package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
)

// Lines of the demo used by the matrix: two lines of Ngân Sơn (062) and one of Pác Nặm
// (060), all with capital available in plan year 2024.
const (
	acLine062a  = `{"program":"GNBV","year":2024,"source":"NSTW-SN","project":"DA2","unit":"062"}`
	acLine062b  = `{"program":"GNBV","year":2024,"source":"NSTW-SN","project":"DA3","unit":"062"}`
	acLine060   = `{"program":"GNBV","year":2024,"source":"NSTW-SN","project":"DA2","unit":"060"}`
	acLine062ID = "GNBV:2024:NSTW-SN:DA2:062"
)

func acLine(s string) ledger.Line {
	var l ledger.Line
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		panic(err)
	}
	return l
}

// matrixCase is one request of the matrix, sent once per principal. ok lists the
// principals that succeed (with status want); every other principal gets 401 (none,
// revoked, expired) or 403.
type matrixCase struct {
	name   string
	method string
	path   string
	body   func(who string) string
	want   int
	ok     []string
	public bool
	// anyOK accepts any answer but 401 and 403 from the principals in ok: the audit
	// routes answer 503 on a server built without their store.
	anyOK bool
}

func TestAuthorizationMatrix(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	day := ledger.MakeDate(2024, 6, 20)
	voucher := func(n string) ledger.Voucher {
		return ledger.Voucher{Office: "KBNN-T", Type: "C2-02a", Number: n, Date: day}
	}
	adv062 := a.submit(&ledger.Disburse{Line: acLine(acLine062a), Amount: 50_000_000, Kind: ledger.KindAdvance,
		EffectiveDate: day, Payee: "HTX", Voucher: voucher("setup-adv062")})
	pay062 := a.submit(&ledger.Disburse{Line: acLine(acLine062a), Amount: 50_000_000, Kind: ledger.KindPayment,
		EffectiveDate: day, Payee: "HTX", Voucher: voucher("setup-pay062")})
	pay060 := a.submit(&ledger.Disburse{Line: acLine(acLine060), Amount: 50_000_000, Kind: ledger.KindPayment,
		EffectiveDate: day, Payee: "HTX", Voucher: voucher("setup-pay060")})
	contract062 := a.submit(&ledger.SignContract{Line: acLine(acLine062a), Number: "setup-062", Contractor: "Công ty",
		Value: 1_000_000, SignedOn: day, Document: "HĐ"})

	v := func(who, kind string) string { // a voucher unique to the principal and route
		return fmt.Sprintf(`{"office":"KBNN-T","type":"C2-02a","number":"%s-%s","date":"2024-06-25"}`, kind, who)
	}
	fixed := func(s string) func(string) string { return func(string) string { return s } }
	officers062 := []string{"officer062"}
	readers := []string{"officer062", "officer060", "leader06", "leader24", "auditor", "admin"}
	in062 := []string{"officer062", "leader06", "auditor", "admin"}
	cases := []matrixCase{
		{name: "healthz", method: "GET", path: "/healthz", want: 200, public: true},
		{name: "readyz", method: "GET", path: "/readyz", want: 200, public: true},
		{name: "openapi", method: "GET", path: "/openapi.yaml", want: 200, public: true},
		{name: "metrics", method: "GET", path: "/metrics", want: 200, public: true},

		{name: "register program", method: "POST", path: "/v1/catalog/programs", want: 201, ok: []string{"admin"},
			body: func(who string) string { return `{"code":"P-` + who + `","name":"Chương trình"}` }},
		{name: "register project", method: "POST", path: "/v1/catalog/projects", want: 201, ok: []string{"admin"},
			body: func(who string) string { return `{"program":"GNBV","code":"X-` + who + `","name":"Dự án"}` }},
		{name: "register unit", method: "POST", path: "/v1/catalog/units", want: 201, ok: []string{"admin"},
			body: func(who string) string {
				return `{"code":"U-` + who + `","name":"Xã","level":"commune","parent":"062","valid_from":"2021-01-01"}`
			}},
		{name: "reorganize units", method: "POST", path: "/v1/catalog/reorganizations", want: 201, ok: []string{"admin"},
			body: func(who string) string {
				// A commune of its own, registered by the unit case above, abolished.
				return `{"date":"2025-07-01","legal_basis":"NQ","changes":[{"kind":"abolish","predecessors":["U-` + who + `"]}]}`
			}},
		{name: "register source", method: "POST", path: "/v1/catalog/sources", want: 201, ok: []string{"admin"},
			body: func(who string) string {
				return `{"code":"S-` + who + `","name":"Nguồn","budget":"central","nature":"investment"}`
			}},

		{name: "set deadline", method: "POST", path: "/v1/deadlines", want: 201, ok: []string{"admin"},
			body: fixed(`{"program":"GNBV","year":2030,"until":"2031-01-31","legal_basis":"Luật 58/2024/QH15","effective_date":"2030-01-02"}`)},
		{name: "extend deadline", method: "POST", path: "/v1/extensions", want: 201, ok: []string{"admin"},
			body: fixed(`{"program":"GNBV","year":2030,"until":"2031-12-31","legal_basis":"NQ gia hạn","effective_date":"2030-06-01"}`)},
		{name: "set target", method: "POST", path: "/v1/targets", want: 201, ok: []string{"admin"},
			body: fixed(`{"unit":"06","program":"GNBV","year":2030,"rate_bp":9500,"by":"2031-01-31","document":"NQ HĐND","effective_date":"2030-01-02"}`)},

		{name: "allocate 062", method: "POST", path: "/v1/allocations", want: 201, ok: officers062,
			body: fixed(`{"line":` + acLine062a + `,"amount":1000,"effective_date":"2024-06-21","decision":"QĐ 1"}`)},
		{name: "allocate 060", method: "POST", path: "/v1/allocations", want: 201, ok: []string{"officer060"},
			body: fixed(`{"line":` + acLine060 + `,"amount":1000,"effective_date":"2024-06-21","decision":"QĐ 1"}`)},
		{name: "transfer within 062", method: "POST", path: "/v1/transfers", want: 201, ok: officers062,
			body: fixed(`{"from":` + acLine062a + `,"to":` + acLine062b + `,"amount":1000,"kind":"reallocation","effective_date":"2024-06-21","decision":"QĐ 2"}`)},
		{name: "transfer 062 → 060", method: "POST", path: "/v1/transfers", want: 201, ok: nil,
			body: fixed(`{"from":` + acLine062a + `,"to":` + acLine060 + `,"amount":1000,"kind":"reallocation","effective_date":"2024-06-21","decision":"QĐ 3"}`)},
		{name: "carry over 062", method: "POST", path: "/v1/carryovers", want: 201, ok: officers062,
			body: fixed(`{"line":` + acLine062b + `,"amount":1000,"into_year":2025,"effective_date":"2025-01-02","decision":"QĐ 4"}`)},
		{name: "cancel 062", method: "POST", path: "/v1/cancellations", want: 201, ok: officers062,
			body: fixed(`{"line":` + acLine062a + `,"amount":1000,"effective_date":"2024-06-22","decision":"QĐ 5"}`)},
		{name: "disburse 062", method: "POST", path: "/v1/disbursements", want: 201, ok: officers062,
			body: func(who string) string {
				return `{"line":` + acLine062a + `,"amount":1000,"kind":"payment","effective_date":"2024-06-25","payee":"A","voucher":` + v(who, "d") + `}`
			}},
		{name: "settle 062 advance", method: "POST", path: "/v1/settlements", want: 201, ok: officers062,
			body: func(who string) string {
				return `{"event_id":"` + adv062.ID.String() + `","amount":1000,"effective_date":"2024-06-25","voucher":` + v(who, "s") + `}`
			}},
		{name: "reverse 062 payment", method: "POST", path: "/v1/reversals", want: 201, ok: officers062,
			body: fixed(`{"event_id":"` + pay062.ID.String() + `","amount":1000,"effective_date":"2024-06-25","reason":"sai"}`)},
		{name: "reverse 060 payment", method: "POST", path: "/v1/reversals", want: 201, ok: []string{"officer060"},
			body: fixed(`{"event_id":"` + pay060.ID.String() + `","amount":1000,"effective_date":"2024-06-25","reason":"sai"}`)},
		{name: "batch 062", method: "POST", path: "/v1/batch", want: 201, ok: officers062,
			body: fixed(`{"atomic":false,"commands":[{"type":"allocation","line":` + acLine062a + `,"amount":1000,"effective_date":"2024-06-21","decision":"QĐ 6"}]}`)},
		{name: "batch 062 and 060", method: "POST", path: "/v1/batch", want: 201, ok: nil,
			body: fixed(`{"atomic":false,"commands":[{"type":"allocation","line":` + acLine062a + `,"amount":1000,"effective_date":"2024-06-21","decision":"QĐ 7"},` +
				`{"type":"allocation","line":` + acLine060 + `,"amount":1000,"effective_date":"2024-06-21","decision":"QĐ 7"}]}`)},

		{name: "sign contract 062", method: "POST", path: "/v1/contracts", want: 201, ok: officers062,
			body: func(who string) string {
				return `{"line":` + acLine062a + `,"number":"HĐ-` + who + `","contractor":"X","value":1000,"signed_on":"2024-06-21","document":"HĐ"}`
			}},
		{name: "amend contract 062", method: "POST", path: "/v1/contract-amendments", want: 201, ok: officers062,
			body: fixed(`{"contract":"` + contract062.ID.String() + `","value":2000000,"effective_date":"2024-06-22","reason":"phụ lục"}`)},
		{name: "advance limit", method: "POST", path: "/v1/advance-limits", want: 201, ok: []string{"admin"},
			body: fixed(`{"share_bp":3000,"valid_from":"2030-01-01","legal_basis":"NĐ 99/2021/NĐ-CP"}`)},
		// A JSON body is not a statement upload (415): the case checks who may reach the route.
		{name: "reconciliation", method: "POST", path: "/v1/reconciliations", want: 201, ok: []string{"officer062", "officer060"},
			anyOK: true, body: fixed(`{}`)},
		{name: "contracts", method: "GET", path: "/v1/contracts", want: 200, ok: readers},
		{name: "contract 062", method: "GET", path: "/v1/contracts/" + contract062.ID.String(), want: 200, ok: in062},
		{name: "disbursement template", method: "GET", path: "/v1/templates/disbursements.xlsx", want: 200, ok: readers},

		{name: "head", method: "GET", path: "/v1/head", want: 200, ok: readers},
		{name: "catalog programs", method: "GET", path: "/v1/catalog/programs", want: 200, ok: readers},
		{name: "catalog projects", method: "GET", path: "/v1/catalog/projects", want: 200, ok: readers},
		{name: "catalog units", method: "GET", path: "/v1/catalog/units", want: 200, ok: readers},
		{name: "catalog sources", method: "GET", path: "/v1/catalog/sources", want: 200, ok: readers},
		{name: "lines", method: "GET", path: "/v1/lines?limit=1000", want: 200, ok: readers},
		{name: "lines of 062", method: "GET", path: "/v1/lines?unit=062", want: 200, ok: in062},
		{name: "lines of 06", method: "GET", path: "/v1/lines?unit=06", want: 200, ok: []string{"leader06", "auditor", "admin"}},
		{name: "lines of 24", method: "GET", path: "/v1/lines?unit=24", want: 200, ok: []string{"leader24", "auditor", "admin"}},
		{name: "line 062", method: "GET", path: "/v1/lines/" + acLine062ID, want: 200, ok: in062},
		{name: "line 062 events", method: "GET", path: "/v1/lines/" + acLine062ID + "/events", want: 200, ok: in062},
		{name: "events", method: "GET", path: "/v1/events?limit=1000", want: 200, ok: readers},
		{name: "progress", method: "GET", path: "/v1/progress?as_of=2024-05-31", want: 200, ok: readers},
		{name: "progress of 06", method: "GET", path: "/v1/progress?unit=06", want: 200, ok: []string{"leader06", "auditor", "admin"}},
		{name: "progress csv", method: "GET", path: "/v1/progress.csv", want: 200, ok: readers},
		{name: "progress xlsx", method: "GET", path: "/v1/progress.xlsx", want: 200, ok: readers},
		{name: "counterpart", method: "GET", path: "/v1/progress/counterpart", want: 200, ok: readers},
		// Dashboard (package dashboard): public to the bearer check, authenticated by its session cookie.
		{name: "dashboard", method: "GET", path: "/", want: 303, public: true},
		{name: "dashboard trend", method: "GET", path: "/dashboard/trend", want: 303, public: true},
		{name: "dashboard lines", method: "GET", path: "/dashboard/lines", want: 303, public: true},
		{name: "dashboard line", method: "GET", path: "/dashboard/line", want: 303, public: true},
		{name: "dashboard events", method: "GET", path: "/dashboard/events", want: 401, public: true},
		{name: "dashboard css", method: "GET", path: "/dashboard/app.css", want: 200, public: true},
		{name: "dashboard js", method: "GET", path: "/dashboard/app.js", want: 200, public: true},
		{name: "sign-in form", method: "GET", path: "/signin", want: 200, public: true},
		{name: "dashboard import", method: "GET", path: "/dashboard/import", want: 303, public: true},
		{name: "dashboard upload, no Origin", method: "POST", path: "/dashboard/import", want: 403, public: true},
		{name: "dashboard template", method: "GET", path: "/dashboard/template.xlsx", want: 303, public: true},
		{name: "sign in, no Origin", method: "POST", path: "/signin", want: 403, public: true},
		{name: "sign out, no Origin", method: "POST", path: "/signout", want: 403, public: true},
		{name: "event on 062", method: "GET", path: "/v1/events/" + pay062.ID.String(), want: 200, ok: in062},
		{name: "event on 060", method: "GET", path: "/v1/events/" + pay060.ID.String(), want: 200,
			ok: []string{"officer060", "leader06", "auditor", "admin"}},

		{name: "export", method: "GET", path: "/v1/events/export", want: 200, ok: []string{"auditor", "admin"}, anyOK: true},
		{name: "verify", method: "GET", path: "/v1/verify", want: 200, ok: []string{"auditor", "admin"}, anyOK: true},
		{name: "checkpoints", method: "GET", path: "/v1/checkpoints", want: 200, ok: readers, anyOK: true},
		{name: "checkpoint keys", method: "GET", path: "/v1/checkpoints/key", want: 200, ok: readers, anyOK: true},

		{name: "list tokens", method: "GET", path: "/v1/tokens", want: 200, ok: []string{"admin"}},
		{name: "create token", method: "POST", path: "/v1/tokens", want: 201, ok: []string{"admin"},
			body: func(who string) string { return `{"name":"t-` + who + `","role":"leader","unit":"062"}` }},
	}
	// The revocation route revokes a fresh token each time.
	throwaway := map[string]string{}
	now := time.Now()
	for _, who := range acPrincipals {
		tok := a.createToken("victim-"+who, "auditor", "", now, now.Add(time.Hour))
		st, err := a.n.store.TokenBySecret(t.Context(), tok)
		if err != nil {
			t.Fatal(err)
		}
		throwaway[who] = st.ID.String()
	}

	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.method+" "+routeOf(c.path)] = true
		for _, who := range acPrincipals {
			body := ""
			if c.body != nil {
				body = c.body(who)
			}
			want := c.want
			switch {
			case c.public || slices.Contains(c.ok, who):
			case who == "none" || who == "revoked" || who == "expired":
				want = http.StatusUnauthorized
			default:
				want = http.StatusForbidden
			}
			before := a.head()
			rec := a.do(who, c.method, c.path, body)
			if c.anyOK && want == c.want {
				if rec.Code == http.StatusUnauthorized || rec.Code == http.StatusForbidden || a.head() != before {
					t.Errorf("%s as %s: %d, want access: %.300s", c.name, who, rec.Code, rec.Body)
				}
				continue
			}
			if rec.Code != want {
				t.Errorf("%s as %s: %d, want %d: %.300s", c.name, who, rec.Code, want, rec.Body)
				continue
			}
			if want == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s as %s: 401 without WWW-Authenticate: Bearer", c.name, who)
			}
			if want >= 400 {
				var p struct{ Code string }
				_ = json.Unmarshal(rec.Body.Bytes(), &p)
				if wantCode := map[int]string{401: "unauthenticated", 403: "forbidden"}[want]; p.Code != wantCode {
					t.Errorf("%s as %s: code %q, want %q", c.name, who, p.Code, wantCode)
				}
				if got := a.head(); got != before {
					t.Errorf("%s as %s: refused, but the head moved %d → %d", c.name, who, before, got)
				}
			} else if c.method == "POST" && !strings.HasPrefix(c.path, "/v1/tokens") && !strings.HasPrefix(c.path, "/v1/catalog") {
				if got := a.head(); got != before+1 {
					t.Errorf("%s as %s: head %d → %d, want one event", c.name, who, before, got)
				}
			}
			if c.method == "GET" && want == 200 {
				checkScoped(t, a, who, c.path, rec.Body.Bytes())
			}
		}
	}
	for _, who := range acPrincipals {
		want := http.StatusForbidden
		switch who {
		case "admin":
			want = http.StatusOK
		case "none", "revoked", "expired":
			want = http.StatusUnauthorized
		}
		before := a.head()
		if rec := a.do(who, "DELETE", "/v1/tokens/"+throwaway[who], ""); rec.Code != want || a.head() != before {
			t.Errorf("revoke token as %s: %d, want %d: %s", who, rec.Code, want, rec.Body)
		}
	}
	covered["DELETE /v1/tokens/:id"] = true

	// Every route the server describes is in the matrix.
	rec := a.do("admin", "GET", "/openapi.yaml", "")
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "  /") && strings.HasSuffix(line, ":") {
			path := strings.TrimSuffix(strings.TrimSpace(line), ":")
			path = strings.NewReplacer("{line_id}", ":line_id", "{id}", ":id").Replace(path)
			found := false
			for k := range covered {
				if strings.HasSuffix(k, " "+path) {
					found = true
				}
			}
			if !found {
				t.Errorf("route %s is not in the authorization matrix", path)
			}
		}
	}
}

// routeOf maps a request path to its route pattern, for the coverage check.
func routeOf(path string) string {
	path, _, _ = strings.Cut(path, "?")
	switch {
	case strings.HasPrefix(path, "/v1/lines/") && strings.HasSuffix(path, "/events"):
		return "/v1/lines/:line_id/events"
	case strings.HasPrefix(path, "/v1/lines/"):
		return "/v1/lines/:line_id"
	case strings.HasPrefix(path, "/v1/events/") && path != "/v1/events/export":
		return "/v1/events/:id"
	case strings.HasPrefix(path, "/v1/contracts/"):
		return "/v1/contracts/:id"
	}
	return path
}

// checkScoped checks that a list answered to a scoped principal holds only what lies in
// its subtree, and something.
func checkScoped(t *testing.T, a *acNode, who, path string, body []byte) {
	t.Helper()
	scope := map[string]string{"officer062": "062", "officer060": "060", "leader06": "06", "leader24": "24"}[who]
	var page struct {
		Lines []struct {
			Line ledger.Line `json:"line"`
		} `json:"lines"`
		Events []struct {
			Type string           `json:"type"`
			Data ledger.EventData `json:"data"`
		} `json:"events"`
	}
	if scope == "" || json.Unmarshal(body, &page) != nil {
		return
	}
	a.n.balances.Read(func(st *ledger.State) {
		cat := &st.Catalog
		if strings.HasPrefix(path, "/v1/lines?") {
			if len(page.Lines) == 0 {
				t.Errorf("%s as %s: no lines", path, who)
			}
			for _, l := range page.Lines {
				if !cat.IsUnitWithin(l.Line.Unit, scope) {
					t.Errorf("%s as %s: line %s outside %s", path, who, l.Line.ID(), scope)
				}
			}
		}
		if strings.HasPrefix(path, "/v1/events") || strings.Contains(path, "/events") {
			money := 0
			for _, e := range page.Events {
				d := e.Data
				if d.Line == nil && d.From == nil && d.To == nil {
					continue
				}
				money++
				in := func(l *ledger.Line) bool { return l != nil && cat.IsUnitWithin(l.Unit, scope) }
				if !in(d.Line) && !in(d.From) && !in(d.To) {
					t.Errorf("%s as %s: a %s event outside %s", path, who, e.Type, scope)
				}
			}
			if money == 0 && !strings.HasPrefix(path, "/v1/events/") {
				t.Errorf("%s as %s: no money events", path, who)
			}
		}
	})
}
