package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
)

// The dashboard's tests: handlers through httptest against a real node with the demo
// data (rendering, scope, languages, cookie flags, CSRF, live updates), and one run of
// the whole dashboard in headless Chromium.

// dashTimeout bounds one dashboard test's browser or stream work. The browser walk takes
// under a minute on an idle 2-core machine and went past 90 s on a loaded one: the bound
// catches a hang, not a slow machine.
const dashTimeout = 3 * time.Minute

// readAttempts and readRetryPause bound how often the browser test reads a node again when
// the live feed reloaded the page under it.
const (
	readAttempts   = 5
	readRetryPause = 100 * time.Millisecond
)

// chromiumPath is the browser the browser test drives (Debian package chromium; .ci/run
// installs it).
const chromiumPath = "/usr/bin/chromium"

// signIn posts the sign-in form with token and returns the session cookie.
func (a *acNode) signIn(token string) *http.Cookie {
	a.t.Helper()
	rec := a.postForm("/signin", url.Values{"token": {token}}, "http://example.com")
	if rec.Code != http.StatusSeeOther {
		a.t.Fatalf("POST /signin: %d %.300s", rec.Code, rec.Body)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == "ledger_session" {
			return c
		}
	}
	a.t.Fatal("POST /signin set no session cookie")
	return nil
}

func (a *acNode) postForm(path string, form url.Values, origin string) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	rec := httptest.NewRecorder()
	a.n.handler.ServeHTTP(rec, req)
	return rec
}

// page gets path with the session cookie ck (nil: none).
func (a *acNode) page(ck *http.Cookie, path string) *httptest.ResponseRecorder {
	a.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if ck != nil {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	a.n.handler.ServeHTTP(rec, req)
	return rec
}

func bearerOf(a *acNode, who string) string { return strings.TrimPrefix(a.auth[who], "Bearer ") }

func TestDashboardSignin(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	tok := bearerOf(a, "leader06")

	rec := a.postForm("/signin", url.Values{"token": {tok}, "lang": {"en"}}, "http://example.com")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/?lang=en" {
		t.Fatalf("sign-in: %d, Location %q", rec.Code, rec.Header().Get("Location"))
	}
	raw := rec.Header().Get("Set-Cookie")
	for _, want := range []string{"ledger_session=", "Path=/", "HttpOnly", "SameSite=Strict", "Max-Age="} {
		if !strings.Contains(raw, want) {
			t.Errorf("Set-Cookie %q lacks %s", raw, want)
		}
	}
	if strings.Contains(raw, "Secure") {
		t.Errorf("Set-Cookie over plain HTTP is Secure (the browser would drop it): %q", raw)
	}
	if strings.Contains(rec.Header().Get("Location"), tok) {
		t.Error("the token is in the redirect")
	}

	// Over TLS the cookie is Secure.
	req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://example.com")
	req.TLS = &tls.ConnectionState{}
	tlsRec := httptest.NewRecorder()
	a.n.handler.ServeHTTP(tlsRec, req)
	if c := tlsRec.Header().Get("Set-Cookie"); tlsRec.Code != http.StatusSeeOther || !strings.Contains(c, "Secure") {
		t.Errorf("sign-in over TLS: %d, Set-Cookie %q lacks Secure", tlsRec.Code, c)
	}

	// CSRF: a POST without Origin, or from another site, is refused and sets nothing.
	for _, origin := range []string{"", "http://evil.example", "null"} {
		rec := a.postForm("/signin", url.Values{"token": {tok}}, origin)
		if rec.Code != http.StatusForbidden || rec.Header().Get("Set-Cookie") != "" || !strings.Contains(rec.Body.String(), `"code":"forbidden"`) {
			t.Errorf("sign-in with Origin %q: %d, Set-Cookie %q", origin, rec.Code, rec.Header().Get("Set-Cookie"))
		}
		rec = a.postForm("/signout", nil, origin)
		if rec.Code != http.StatusForbidden {
			t.Errorf("sign-out with Origin %q: %d", origin, rec.Code)
		}
	}

	// A bad, revoked or expired token shows the form again, 401, without a cookie.
	for _, bad := range []string{"ldg_nonsense", bearerOf(a, "revoked"), bearerOf(a, "expired")} {
		rec := a.postForm("/signin", url.Values{"token": {bad}}, "http://example.com")
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("Set-Cookie") != "" ||
			!strings.Contains(rec.Body.String(), "Mã truy cập không hợp lệ") {
			t.Errorf("sign-in with a bad token: %d, Set-Cookie %q", rec.Code, rec.Header().Get("Set-Cookie"))
		}
	}

	// Without a session every page sends the browser to the sign-in form; the event
	// stream answers 401.
	for _, path := range []string{"/", "/?lang=en", "/dashboard/trend", "/dashboard/lines?unit=062", "/dashboard/line?id=GNBV:2024:NSTW-SN:DA2:062"} {
		rec := a.page(nil, path)
		if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/signin") {
			t.Errorf("GET %s without a session: %d → %q", path, rec.Code, rec.Header().Get("Location"))
		}
	}
	if rec := a.page(nil, "/dashboard/events"); rec.Code != http.StatusUnauthorized {
		t.Errorf("event stream without a session: %d", rec.Code)
	}
	if rec := a.page(&http.Cookie{Name: "ledger_session", Value: bearerOf(a, "revoked")}, "/"); rec.Code != http.StatusSeeOther {
		t.Errorf("a revoked token's cookie: %d", rec.Code)
	}
	// The token is refused in a URL, as everywhere.
	if rec := a.page(nil, "/?token="+tok); rec.Code != http.StatusBadRequest {
		t.Errorf("token in the URL: %d", rec.Code)
	}

	// Sign-out clears the cookie.
	rec = a.postForm("/signout", url.Values{"lang": {"en"}}, "http://example.com")
	if c := rec.Header().Get("Set-Cookie"); rec.Code != http.StatusSeeOther || !strings.Contains(c, "Max-Age=0") {
		t.Errorf("sign-out: %d, Set-Cookie %q", rec.Code, c)
	}
}

func TestDashboardPages(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	province := a.signIn(bearerOf(a, "leader06"))
	now := time.Now()
	pacNam := a.signIn(a.createToken("Lãnh đạo Pác Nặm", "leader", "060", now, now.Add(time.Hour)))
	admin := a.signIn(acBootstrap)
	thaiNguyen := a.signIn(a.createToken("Lãnh đạo tỉnh Thái Nguyên", "leader", "19-2025", now, now.Add(time.Hour)))

	type check struct {
		ck       *http.Cookie
		path     string
		status   int
		want     []string
		wantNot  []string
		headerOK func(http.Header) bool
	}
	checks := []check{
		{ck: province, path: "/?as_of=2024-05-31", status: 200,
			want: []string{`<html lang="vi">`, "62,95%", "760,80 tỷ đồng", "478,93 tỷ đồng", "31/05/2024",
				"Ngân Sơn", "Pác Nặm", "Kiểm tra vốn đối ứng", `class="matrix"`, "<svg class=\"bar\""},
			wantNot: []string{"Bắc Giang", "Lạng Giang", "<script>"}},
		{ck: province, path: "/?as_of=2024-05-31&lang=en", status: 200,
			want:    []string{`<html lang="en">`, "62.95%", "760.80 billion VND", "478.93 billion VND", "2024-05-31", "Counterpart funds check"},
			wantNot: []string{"62,95%", "tỷ đồng"}},
		{ck: province, path: "/?as_of=2024-06-30", status: 200, want: []string{"486,43 tỷ đồng"}},
		{ck: pacNam, path: "/?as_of=2024-05-31", status: 200, want: []string{"Pác Nặm", "232,18 tỷ đồng", "Xuân La"},
			wantNot: []string{"Ngân Sơn", "Ba Bể", "760,80"}},
		{ck: admin, path: "/?as_of=2024-05-31", status: 200, want: []string{"Bắc Kạn", "Bắc Giang", "62,95%", "Toàn bộ sổ cái"}},
		{ck: province, path: "/dashboard/trend?as_of=2024-05-31", status: 200,
			want: []string{`<svg class="trend"`, "05/2024", "Sổ cái chưa ghi sự kiện mục tiêu nào", "478,93 tỷ đồng"}, wantNot: []string{`class="target"`}},
		{ck: province, path: "/dashboard/trend?as_of=2024-05-31&target=95&lang=en", status: 200,
			want: []string{`class="target"`, "Target 95.00%", "2024-05"}},
		{ck: province, path: "/dashboard/lines?unit=062&year=2024", status: 200,
			want: []string{"GNBV:2024:NSTW-SN:DA2:062", "id=GNBV%3A2024%3ANSTW-SN%3ADA2%3A062"}, wantNot: []string{":060<"}},
		// The drill-down at the overview's controls: Ngân Sơn as of 31/05/2024 is 64,56 %
		// there and here (not its 65,93 % at the head).
		{ck: province, path: "/dashboard/lines?unit=062&as_of=2024-05-31&program=GNBV", status: 200,
			want: []string{`data-k="total-rate">64,56%`, "31/05/2024"}, wantNot: []string{"65,93%"}},
		{ck: province, path: "/dashboard/line?id=GNBV:2024:NSTW-SN:DA2:062&as_of=2024-05-31", status: 200,
			want: []string{"fx-plan-up", "fx-spent", "31/05/2024"}},
		{ck: province, path: "/dashboard/lines?project=DA2&program=GNBV", status: 200, want: []string{"GNBV:2022:NSTW-SN:DA2:060", "GNBV:2024:NSTW-SN:DA2:062"}},
		{ck: province, path: "/dashboard/line?id=GNBV:2024:NSTW-SN:DA2:062", status: 200,
			want: []string{"Giao vốn", "Giải ngân", "Còn lại sau sự kiện"}},
		{ck: pacNam, path: "/dashboard/lines?unit=062", status: 403},
		{ck: pacNam, path: "/dashboard/line?id=GNBV:2024:NSTW-SN:DA2:062", status: 403},
		{ck: province, path: "/dashboard/lines?unit=217", status: 403},
		{ck: province, path: "/?as_of=2024-02-30", status: 400, want: []string{"as_of"}, wantNot: []string{"data-position", "data-live"}},
		// The basis chosen alone takes the as-of date's year: never a 400 for a page the
		// controls lead to.
		{ck: province, path: "/?basis=execution_year&as_of=2023-12-31", status: 200,
			want: []string{`name="year" min="2000" max="2100" value="2023"`, "data-position"}},
		{ck: province, path: "/?nonsense=1", status: 400},
		// C3: new Thái Nguyên restated onto today's units, by commune, and its predecessors' lines.
		{ck: thaiNguyen, path: "/?as_of=2025-12-31&year=2025&units=current", status: 200,
			want: []string{"90,18%", "11,20 tỷ đồng", "Xã Nghiên Loan", "91,67%", "đơn vị hiện hành", `<option value="current" selected>`,
				"Tỷ lệ giải ngân theo đơn vị (xã)"}},
		{ck: thaiNguyen, path: "/?as_of=2025-12-31&year=2025", status: 200, want: []string{"83,58%", "như đã ghi sổ"}},
		{ck: thaiNguyen, path: "/dashboard/trend?as_of=2025-12-31&year=2025&units=current&lang=en", status: 200,
			want: []string{`<svg class="trend"`, "current units"}},
		{ck: thaiNguyen, path: "/dashboard/lines?unit=19-2025&year=2025&units=current&program=GNBV", status: 200,
			want: []string{"GNBV:2025:NSTW-DTPT:DA1.TDA1:060", "GNBV:2025:NSTW-SN:DA2:01873", "GNBV:2025:NSTW-SN:DA2:01882-2025"}},
		{ck: thaiNguyen, path: "/dashboard/lines?unit=060&year=2025&program=GNBV", status: 200, want: []string{"GNBV:2025:NSTW-DTPT:DA1.TDA1:060"},
			wantNot: []string{":19-2025<"}},
		{ck: thaiNguyen, path: "/dashboard/line?id=GNBV:2025:NSTW-DTPT:DA1.TDA1:060", status: 200, want: []string{"Điều chuyển"}},
		{ck: thaiNguyen, path: "/dashboard/lines?unit=062", status: 200},
		{ck: pacNam, path: "/dashboard/lines?unit=19-2025", status: 403},
		{ck: admin, path: "/?units=later", status: 400, want: []string{"units"}},
		{ck: province, path: "/dashboard/app.css?v=stale", status: 200, want: []string{"@media print"},
			headerOK: func(h http.Header) bool { return h.Get("Cache-Control") == "no-cache" }},
	}
	for _, c := range checks {
		rec := a.page(c.ck, c.path)
		body := rec.Body.String()
		if rec.Code != c.status {
			t.Errorf("GET %s: %d, want %d: %.400s", c.path, rec.Code, c.status, body)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q", c.path, w)
			}
		}
		for _, w := range c.wantNot {
			if strings.Contains(body, w) {
				t.Errorf("GET %s: shows %q", c.path, w)
			}
		}
		h := rec.Header()
		if strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("GET %s: Cache-Control %q, CSP %q", c.path, h.Get("Cache-Control"), h.Get("Content-Security-Policy"))
			}
			if strings.Contains(body, bearerOf(a, "leader06")) || strings.Contains(body, acBootstrap) {
				t.Errorf("GET %s: the page shows a token", c.path)
			}
		}
		if c.headerOK != nil && !c.headerOK(h) {
			t.Errorf("GET %s: headers %v", c.path, h)
		}
	}
	// The overview is compressed for a client that takes gzip.
	req := httptest.NewRequest(http.MethodGet, "/?as_of=2024-05-31", nil)
	req.AddCookie(province)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	a.n.handler.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Errorf("overview with Accept-Encoding gzip: Content-Encoding %q", rec.Header().Get("Content-Encoding"))
	}
	t.Logf("overview: %d bytes, %d gzipped", len(a.page(province, "/?as_of=2024-05-31").Body.Bytes()), rec.Body.Len())
}

// TestDashboardLiveEvents: the event stream says the head's position at once, and again
// within a few seconds of a commit.
func TestDashboardLiveEvents(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	ck := a.signIn(bearerOf(a, "leader06"))
	srv := httptest.NewServer(a.n.handler)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), dashTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/dashboard/events", nil)
	req.AddCookie(ck)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("event stream: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	next := func() string { // the data of the next head event
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				return d
			}
		}
		t.Fatalf("event stream ended: %v", sc.Err())
		return ""
	}
	first := next()
	if want := a.head(); first != itoa(want) {
		t.Fatalf("first head event %q, want %d", first, want)
	}
	day := ledger.MakeDate(2024, 6, 20)
	a.submit(&ledger.Disburse{Line: acLine(acLine062a), Amount: 1_000_000, Kind: ledger.KindPayment, EffectiveDate: day,
		Payee: "HTX", Voucher: ledger.Voucher{Office: "KBNN-T", Type: "C2-02a", Number: "live-1", Date: day}})
	if got, want := next(), itoa(a.head()); got != want {
		t.Fatalf("head event after a commit: %q, want %s", got, want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestDashboardBrowser drives the dashboard in headless Chromium: sign in as a leader of
// Bắc Kạn, read the rate in both languages, change the as-of date, drill down to a line
// and its events, then sign in as a leader of Pác Nặm and see Pác Nặm only. With
// LEDGER_UPDATE_SCREENSHOTS=1 it writes the screenshots of docs/screenshots/. It fails,
// never skips, without Chromium.
// Browser test settings: the forced error page and how long it is watched; the phone's
// screen (an iPhone 12–15) and the least height of chart text on it.
const (
	forcedErrorQuery = "as_of=2024-02-30"
	errorWatch       = 10 * time.Second
	phoneWidth       = 390
	phoneHeight      = 844
	phoneTextMinPx   = 9
)

func TestDashboardBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install -y chromium; .ci/run installs it): %v", chromiumPath, err)
	}
	a := startACNode(t, testenv.DB(t))
	registerSecondProgram(t, a) // as the README's catalog example does
	now := time.Now()
	leader06 := a.createToken("Lãnh đạo tỉnh Bắc Kạn", "leader", "06", now, now.Add(time.Hour))
	leader060 := a.createToken("Lãnh đạo huyện Pác Nặm", "leader", "060", now, now.Add(time.Hour))
	// Loads of the forced error page, counted by the server.
	var errorLoads atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && strings.Contains(r.URL.RawQuery, forcedErrorQuery) {
			errorLoads.Add(1)
		}
		a.n.handler.ServeHTTP(w, r)
	}))
	defer srv.Close()

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("hide-scrollbars", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancelCtx := chromedp.NewContext(actx)
	defer cancelCtx()
	// The first run starts the browser and must not carry a timeout (it would stop the
	// browser); the steps after it are bounded.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(bctx, dashTimeout)
	defer cancel()

	shots := map[string][]byte{}
	shot := func(name string) {
		t.Helper()
		b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		shots[name] = b
	}
	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			// Keep what the browser showed, to see why.
			sctx, cancel := context.WithTimeout(bctx, 5*time.Second)
			defer cancel()
			if b, serr := chromedp.Run(sctx, chromedp.FullScreenshot(100)); serr == nil {
				p := filepath.Join(os.TempDir(), "dashboard-failure.png")
				if os.WriteFile(p, b, 0o644) == nil {
					t.Logf("the browser's page at the failure: %s", p)
				}
			}
			t.Fatalf("%s: %v", step, err)
		}
	}
	// again runs read until it succeeds. A page the live feed reloads between finding a
	// node and reading it loses the node ("No node with given id found") or the script's
	// context ("Cannot find context with specified id"): read it again from the new page.
	again := func(what string, read func() error) {
		t.Helper()
		for attempt := 0; ; attempt++ {
			err := read()
			if err == nil {
				return
			}
			reloaded := strings.Contains(err.Error(), "No node with given id") || strings.Contains(err.Error(), "Cannot find context with specified id")
			if attempt == readAttempts-1 || !reloaded {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(readRetryPause)
		}
	}
	text := func(sel string) string {
		t.Helper()
		var s string
		again("read "+sel, func() (err error) {
			s, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
			return err
		})
		return strings.TrimSpace(s)
	}
	signIn := func(token string) {
		t.Helper()
		run("sign in", chromedp.Navigate(srv.URL+"/signin"), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#signin")),
			chromedp.WaitVisible(chromedp.CSS(`[data-k="total-rate"]`)))
	}

	signIn(leader06)
	run("overview vi", chromedp.Navigate(srv.URL+"/?as_of=2024-05-31"), chromedp.WaitVisible(chromedp.CSS("#matrix")))
	if got := text(`[data-k="total-rate"]`); got != "62,95%" {
		t.Errorf("Bắc Kạn's rate as of 31/05/2024 in Vietnamese: %q, want 62,95%%", got)
	}
	if got := text(`[data-k="scope"]`); !strings.Contains(got, "Bắc Kạn") {
		t.Errorf("scope %q, want Bắc Kạn", got)
	}
	shot("overview-vi")

	run("switch to English", chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"]`)))
	if got := text(`[data-k="total-rate"]`); got != "62.95%" {
		t.Errorf("Bắc Kạn's rate as of 2024-05-31 in English: %q, want 62.95%%", got)
	}
	if got := text(`[data-k="as-of"]`); got != "2024-05-31" {
		t.Errorf("as-of in English: %q", got)
	}
	shot("overview-en")

	run("change the as-of date", chromedp.SetValue(chromedp.CSS("#as_of"), "2023-12-31"), chromedp.Click(chromedp.CSS("#apply")),
		chromedp.WaitVisible(chromedp.Search(`//b[@data-k="as-of"][text()="2023-12-31"]`)))
	if got := text(`[data-k="total-rate"]`); got == "62.95%" || !strings.HasSuffix(got, "%") {
		t.Errorf("rate as of 2023-12-31: %q, want another rate than 62.95%%", got)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(loc, "as_of=2023-12-31") || !strings.Contains(loc, "lang=en") || strings.Contains(loc, "year=") {
		t.Errorf("the URL does not carry the state alone: %s", loc)
	}

	run("back to Vietnamese, 31/05/2024", chromedp.Navigate(srv.URL+"/?as_of=2024-05-31"), chromedp.WaitVisible(chromedp.CSS("#by-unit")))
	barRate := text(`#by-unit li[data-key="062"] [data-k="rate"]`)
	run("drill down to Ngân Sơn", chromedp.Click(chromedp.CSS(`#by-unit li[data-key="062"] a`)), chromedp.WaitVisible(chromedp.CSS("#lines")))
	if got := text("h1"); !strings.Contains(got, "Ngân Sơn") {
		t.Errorf("drill-down heading %q, want Ngân Sơn", got)
	}
	// The figure clicked is the figure shown: same as-of date, basis, year, program, source.
	if got := text(`[data-k="total-rate"]`); got != barRate || got != "64,56%" {
		t.Errorf("Ngân Sơn: %s on the overview, %s on the drill-down; want 64,56%% on both", barRate, got)
	}
	shot("drilldown")
	run("open a line", chromedp.Click(chromedp.CSS(`a.line-link[href*="2024%3ANSTW-SN%3ADA2%3A062"]`)), chromedp.WaitVisible(chromedp.CSS("#events")))
	if got := text(`[data-k="line"]`); !strings.HasSuffix(got, ":DA2:062") {
		t.Errorf("line page of %q", got)
	}
	if got := text("#events tbody"); !strings.Contains(got, "Giao vốn") || !strings.Contains(got, "Giải ngân") {
		t.Errorf("line events: %.300s", got)
	}
	shot("line-events")

	run("trend", chromedp.Navigate(srv.URL+"/dashboard/trend?as_of=2024-05-31&target=90"), chromedp.WaitVisible(chromedp.CSS("svg.trend")))
	shot("trend")

	// A forced error page is shown once: it does not follow the live feed, so events
	// committed meanwhile do not reload it.
	errorLoads.Store(0)
	run("forced error page", chromedp.Navigate(srv.URL+"/?"+forcedErrorQuery), chromedp.WaitVisible(chromedp.CSS("section.error")))
	for i := range 3 {
		day := ledger.MakeDate(2024, 7, 1+i)
		a.submit(&ledger.Disburse{Line: acLine(acLine062a), Amount: 1_000, Kind: ledger.KindPayment, EffectiveDate: day,
			Payee: "HTX", Voucher: ledger.Voucher{Office: "KBNN-T", Type: "C2-02a", Number: "err-" + itoa(int64(i)), Date: day}})
	}
	run("watch the error page for 10 s", chromedp.Sleep(errorWatch))
	if n := errorLoads.Load(); n != 1 {
		t.Errorf("the error page loaded %d times in %s, want once", n, errorWatch)
	}

	// On a phone the scope's rate comes first, above the controls and within the screen.
	run("phone", chromedp.EmulateViewport(phoneWidth, phoneHeight, chromedp.EmulateMobile),
		chromedp.Navigate(srv.URL+"/?as_of=2024-05-31"), chromedp.WaitVisible(chromedp.CSS("#matrix")))
	number := func(expr string) float64 {
		t.Helper()
		var v float64
		again("evaluate "+expr, func() (err error) {
			v, err = chromedp.Run(ctx, chromedp.Evaluate[float64](expr))
			return err
		})
		return v
	}
	rateTop := number(`document.querySelector(".card.rate").getBoundingClientRect().top`)
	controlsTop := number(`document.querySelector("form.controls").getBoundingClientRect().top`)
	t.Logf("phone: rate at %.0f px, controls at %.0f px", rateTop, controlsTop)
	if rateTop > controlsTop || rateTop > phoneHeight/2 {
		t.Errorf("phone: the rate is at %.0f px, the controls at %.0f px; want the rate first, in the upper half", rateTop, controlsTop)
	}
	shot("phone")
	run("phone trend", chromedp.Navigate(srv.URL+"/dashboard/trend?as_of=2024-05-31&target=90"), chromedp.WaitVisible(chromedp.CSS("svg.trend")))
	labelPx := number(`document.querySelector("svg.trend .xlabel").getBoundingClientRect().height`)
	t.Logf("phone: trend month labels %.1f px high", labelPx)
	if labelPx < phoneTextMinPx {
		t.Errorf("phone: the trend's month labels are %.1f px high, want at least %d", labelPx, phoneTextMinPx)
	}
	shot("trend-phone")
	run("desktop again", chromedp.EmulateViewport(1280, 900))

	// Deadlines and targets recorded by an admin, seen by the province's leader (after the
	// July 2024 payments above, which the deadline would refuse): the overview's near-deadline panel and
	// target verdict, and the trend's target drawn as a point at its date.
	for path, body := range map[string]string{
		"/v1/deadlines": `{"program":"GNBV","year":2024,"until":"2024-06-30","legal_basis":"NQ 111/2024/QH15","effective_date":"2024-01-02"}`,
		"/v1/targets":   `{"unit":"06","program":"GNBV","year":2024,"rate_bp":3000,"by":"2024-06-30","document":"KH 12/KH-UBND","effective_date":"2024-01-10"}`,
	} {
		if rec := a.do("admin", http.MethodPost, path, body); rec.Code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	run("overview with deadlines and a target", chromedp.Navigate(srv.URL+"/?as_of=2024-05-31&year=2024&program=GNBV"),
		chromedp.WaitVisible(chromedp.CSS("#deadlines")))
	if got := text(`[data-k="target-verdict"]`); got != "chậm so với mục tiêu" {
		t.Errorf("target verdict %q, want behind (chậm so với mục tiêu)", got)
	}
	if got := text("#deadlines tbody"); !strings.Contains(got, "30/06/2024") || !strings.Contains(got, "NQ 111/2024/QH15") {
		t.Errorf("near-deadline panel: %.300s", got)
	}
	shot("overview-deadlines")
	run("trend with a target point", chromedp.Navigate(srv.URL+"/dashboard/trend?as_of=2024-12-31&year=2024&program=GNBV"),
		chromedp.WaitVisible(chromedp.CSS("svg.trend circle.target")))
	shot("trend-target")

	// An admin sees the overview, the trend and a drill-down too.
	run("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	signIn(acBootstrap)
	run("admin overview", chromedp.Navigate(srv.URL+"/?as_of=2024-05-31"), chromedp.WaitVisible(chromedp.CSS("#matrix")))
	adminBar := text(`#by-unit li[data-key="06"] [data-k="rate"]`)
	run("admin drill-down", chromedp.Click(chromedp.CSS(`#by-unit li[data-key="06"] a`)), chromedp.WaitVisible(chromedp.CSS("#lines")))
	if got := text(`[data-k="total-rate"]`); got != adminBar || got != "62,95%" {
		t.Errorf("admin: Bắc Kạn %s on the overview, %s on the drill-down", adminBar, got)
	}
	run("admin trend", chromedp.Navigate(srv.URL+"/dashboard/trend"), chromedp.WaitVisible(chromedp.CSS("svg.trend")))
	run("admin overview today", chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-k="total-rate"]`)))
	shot("admin")

	run("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	signIn(leader060)
	run("overview of Pác Nặm", chromedp.Navigate(srv.URL+"/?as_of=2024-05-31"), chromedp.WaitVisible(chromedp.CSS("#matrix")))
	body := text("main")
	if !strings.Contains(body, "Pác Nặm") || strings.Contains(body, "Ngân Sơn") || strings.Contains(body, "Ba Bể") {
		t.Errorf("a leader of Pác Nặm sees more than Pác Nặm: %.500s", body)
	}
	if got := text(`[data-k="scope"]`); !strings.Contains(got, "Pác Nặm") {
		t.Errorf("scope %q, want Pác Nặm", got)
	}

	// C3, the 2025 reorganisation: the view of units switches between the provinces as
	// recorded and today's, in both languages. The program is named: by then the second
	// program registered above has capital, and it would be the default.
	run("sign out of Pác Nặm", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	signIn(a.createToken("Kiểm toán nhà nước", "auditor", "", now, now.Add(time.Hour)))
	rateOf := func(key string) string {
		t.Helper()
		return text(`#by-unit li[data-key="` + key + `"] [data-k="rate"]`)
	}
	run("C3 as recorded", chromedp.Navigate(srv.URL+"/?as_of=2025-12-31&year=2025&program=GNBV"), chromedp.WaitVisible(chromedp.CSS("#by-unit")))
	if got := text(`[data-k="units"]`); got != "như đã ghi sổ (đơn vị cũ)" {
		t.Errorf("view of units as recorded: %q", got)
	}
	if bk, tn, total := rateOf("06"), rateOf(demo.UnitThaiNguyen), text(`[data-k="total-rate"]`); bk != "100,00%" || tn != "83,58%" || total != "90,18%" {
		t.Errorf("C3 as recorded on 31/12/2025: Bắc Kạn %q, Thái Nguyên %q, total %q; want 100,00%%, 83,58%%, 90,18%%", bk, tn, total)
	}
	shot("units-recorded")
	run("switch to today's units", chromedp.SetValue(chromedp.CSS("#units"), "current"), chromedp.Click(chromedp.CSS("#apply")),
		chromedp.WaitVisible(chromedp.Search(`//b[@data-k="units"][starts-with(text(), "đơn vị hiện hành")]`)))
	if tn, total := rateOf(demo.UnitThaiNguyen), text(`[data-k="total-rate"]`); tn != "90,18%" || total != "90,18%" {
		t.Errorf("C3 restated: Thái Nguyên %q, total %q; want 90,18%%", tn, total)
	}
	if n := number(`document.querySelectorAll('#by-unit li[data-key="06"]').length`); n != 0 {
		t.Errorf("restated, Bắc Kạn still has %.0f rows", n)
	}
	shot("units-current")
	run("restated in English", chromedp.Click(chromedp.CSS("#lang-switch")), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"]`)))
	if got, tn := text(`[data-k="units"]`), rateOf(demo.UnitThaiNguyen); !strings.HasPrefix(got, "current units") || tn != "90.18%" {
		t.Errorf("restated in English: view %q, Thái Nguyên %q", got, tn)
	}
	run("back to as recorded in English", chromedp.SetValue(chromedp.CSS("#units"), "recorded"), chromedp.Click(chromedp.CSS("#apply")),
		chromedp.WaitVisible(chromedp.Search(`//b[@data-k="units"][starts-with(text(), "as recorded")]`)))
	if bk, tn := rateOf("06"), rateOf(demo.UnitThaiNguyen); bk != "100.00%" || tn != "83.58%" {
		t.Errorf("C3 as recorded in English: Bắc Kạn %q, Thái Nguyên %q", bk, tn)
	}
	run("sign out of the auditor", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#token")))
	signIn(a.createToken("Lãnh đạo tỉnh Thái Nguyên", "leader", demo.UnitThaiNguyen, now, now.Add(time.Hour)))
	run("new Thái Nguyên by commune, restated", chromedp.Navigate(srv.URL+"/?as_of=2025-12-31&year=2025&units=current&program=GNBV"),
		chromedp.WaitVisible(chromedp.CSS("#by-unit")))
	if own, nl := rateOf(demo.UnitThaiNguyen), rateOf(demo.UnitNghienLoanNew); own != "90,00%" || nl != "91,67%" {
		t.Errorf("new Thái Nguyên restated by commune: its own lines %q, new Nghiên Loan %q; want 90,00%%, 91,67%%", own, nl)
	}

	for name, b := range shots {
		if len(b) < 8 || string(b[1:4]) != "PNG" {
			t.Errorf("screenshot %s is not a PNG (%d bytes)", name, len(b))
		}
	}
	if os.Getenv("LEDGER_UPDATE_SCREENSHOTS") == "1" {
		dir := filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range shots {
			if err := os.WriteFile(filepath.Join(dir, "dashboard-"+name+".png"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
