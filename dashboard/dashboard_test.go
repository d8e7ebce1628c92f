package dashboard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/projections"
	"github.com/vnntp/ledger/report"
)

// The dashboard's pure parts. The pages themselves are tested against PostgreSQL with the
// demo data in cmd/ledger/dashboard_test.go, and in Chromium.

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]projections.Rate{"95": 9500, "95,5": 9550, "95.25": 9525, "0": 0, "200": 20000, " 80 % ": 8000} {
		if got, ok := parsePercent(in); !ok || got != want {
			t.Errorf("parsePercent(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "201", "95.555", "abc", "1e2", ".5", "9999"} {
		if _, ok := parsePercent(in); ok {
			t.Errorf("parsePercent(%q) accepted", in)
		}
	}
}

func TestMonthEnds(t *testing.T) {
	got := monthEnds(ledger.MakeDate(2023, time.November, 1), ledger.MakeDate(2024, time.February, 15))
	want := []ledger.Date{ledger.MakeDate(2023, 11, 30), ledger.MakeDate(2023, 12, 31), ledger.MakeDate(2024, 1, 31), ledger.MakeDate(2024, 2, 15)}
	if len(got) != len(want) {
		t.Fatalf("monthEnds = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("monthEnds[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if n := len(monthEnds(ledger.MakeDate(1990, 1, 1), ledger.MakeDate(2024, 5, 31))); n != trendMonthsMax {
		t.Errorf("35 years give %d months, want the bound %d", n, trendMonthsMax)
	}
}

func TestNiceStep(t *testing.T) {
	for v, want := range map[int64]int64{1: 1, 3: 5, 11: 20, 21: 25, 26: 50, 190_200_000_000: 200_000_000_000} {
		if got := niceStep(v); got != want {
			t.Errorf("niceStep(%d) = %d, want %d", v, got, want)
		}
	}
}

func TestTrendSVG(t *testing.T) {
	pts := []trendPoint{{ledger.MakeDate(2024, 1, 31), 100 * report.DongPerBillion, 10 * report.DongPerBillion},
		{ledger.MakeDate(2024, 2, 29), 120 * report.DongPerBillion, 40 * report.DongPerBillion}}
	target := []targetMark{{Date: ledger.MakeDate(2024, 2, 15), Rate: 9000, Amount: 90 * report.DongPerBillion}}
	svg := string(trendSVG(pts, target, report.LangVI))
	for _, want := range []string{`<svg class="trend"`, `class="plan"`, `class="disbursed"`, `class="target"`, "Mục tiêu 90,00%", "02/2024", "tỷ đồng"} {
		if !strings.Contains(svg, want) {
			t.Errorf("trend SVG lacks %q", want)
		}
	}
	if strings.Contains(string(trendSVG(pts, nil, report.LangEN)), `class="target"`) {
		t.Error("a target drawn without a target")
	}
	// A target is a point at its date, never a line across the months.
	if strings.Contains(svg, `<line class="target"`) || !strings.Contains(svg, `<circle class="target"`) {
		t.Errorf("the target is not a point: %s", svg)
	}
	if strings.Contains(string(trendSVG(pts, []targetMark{{Date: ledger.MakeDate(2025, 1, 31), Rate: 9500, Amount: 1}}, report.LangVI)), `class="target"`) {
		t.Error("a target dated after the months shown is drawn")
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, "style=") {
		t.Error("the SVG has a script or an inline style, which the CSP refuses")
	}
}

func TestSameOrigin(t *testing.T) {
	for origin, want := range map[string]bool{"http://ledger.test": true, "https://ledger.test": true, "": false, "null": false,
		"http://evil.test": false, "http://ledger.test.evil.test": false, "ftp://ledger.test": false} {
		r := httptest.NewRequest(http.MethodPost, "http://ledger.test/signin", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if got := sameOrigin(r); got != want {
			t.Errorf("sameOrigin(Origin %q) = %v, want %v", origin, got, want)
		}
	}
	for site, want := range map[string]bool{"same-origin": true, "same-site": false, "cross-site": false, "none": false} {
		r := httptest.NewRequest(http.MethodPost, "http://ledger.test/signin", nil)
		r.Header.Set("Origin", "null")
		r.Header.Set("Sec-Fetch-Site", site)
		if got := sameOrigin(r); got != want {
			t.Errorf("sameOrigin(Origin null, Sec-Fetch-Site %s) = %v, want %v", site, got, want)
		}
	}
}

func TestDashStateRoundTrip(t *testing.T) {
	q := "as_of=2024-05-31&basis=execution_year&lang=en&program=GNBV&source=NSTW-SN&target=95&year=2024"
	st, err := parseDashState(mustQuery(t, q))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.query(); got != "?"+q {
		t.Errorf("state %q comes back as %q", q, got)
	}
	if got := (dashState{}).query(); got != "" {
		t.Errorf("the default state has a query: %q", got)
	}
	for _, bad := range []string{"as_of=2024-13-01", "basis=x", "year=abc", "target=500", "other=1", "year=1&year=2"} {
		if _, err := parseDashState(mustQuery(t, bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func mustQuery(t *testing.T, q string) map[string][]string {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/?"+q, nil)
	return r.URL.Query()
}

// knowsNoToken is the API of a server without tokens: it refuses every one.
type knowsNoToken struct{}

func (knowsNoToken) Authenticate(echo.Context, string) (*ledger.Principal, error) {
	return nil, &ledger.Error{Code: ledger.CodeUnauthenticated, Message: "unknown access token"}
}

func (knowsNoToken) Problem(err error) (int, string) {
	return http.StatusInternalServerError, err.Error()
}

// An empty ledger's projections are always up to date.
func (knowsNoToken) AwaitBalances(echo.Context) error { return nil }
func (knowsNoToken) AwaitProgress(echo.Context) error { return nil }

// emptyLedger is a ledger without events.
type emptyLedger struct{}

func (emptyLedger) Head() ledger.Head { return ledger.Head{} }

func (emptyLedger) LineEvents(context.Context, string, int64, int) ([]*ledger.Event, error) {
	return nil, nil
}

// emptyServer serves the dashboard's routes over an empty ledger that knows no token.
type emptyServer struct{ e *echo.Echo }

func newEmptyServer() *emptyServer {
	d := New(Config{API: knowsNoToken{}, Writer: emptyLedger{}, Events: emptyLedger{}, Balances: &projections.Balances{}})
	e := echo.New()
	d.Routes(func(method, path string, h echo.HandlerFunc) { e.Add(method, path, h) })
	return &emptyServer{e}
}

func (s *emptyServer) get(path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// TestDashboardAssetsAndSignin runs the embedded files and the sign-in form through a
// server (no data needed): versioned assets are cached, the form renders in both
// languages, and no page carries an inline script. The whole server, with the API's
// middleware and real tokens, is tested in cmd/ledger/dashboard_test.go.
func TestDashboardAssetsAndSignin(t *testing.T) {
	hs := newEmptyServer()
	for path, a := range dashAssets {
		rec := hs.get(path + "?v=" + a.version)
		if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || rec.Body.Len() != len(a.body) {
			t.Errorf("GET %s: %d %q", path, rec.Code, rec.Header().Get("Cache-Control"))
		}
	}
	for lang, want := range map[string]string{"vi": "Mã truy cập", "en": "Access token"} {
		rec := hs.get("/signin?lang=" + lang)
		body := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, want) || !strings.Contains(body, `<html lang="`+lang+`">`) {
			t.Errorf("GET /signin?lang=%s: %d %.200s", lang, rec.Code, body)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
			t.Errorf("GET /signin?lang=%s has inline script or style", lang)
		}
	}
	if rec := hs.get("/"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/signin" {
		t.Errorf("GET / without a session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestParseAsOf(t *testing.T) {
	for in, want := range map[string]string{"2024-05-31": "2024-05-31", "31/05/2024": "2024-05-31", "1/6/2024": "2024-06-01"} {
		if d, err := parseAsOf(in); err != nil || d.String() != want {
			t.Errorf("parseAsOf(%q) = %v, %v; want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"31/02/2024", "2024/05/31", "31-05-2024", "x"} {
		if _, err := parseAsOf(bad); err == nil {
			t.Errorf("parseAsOf(%q) accepted", bad)
		}
	}
}
