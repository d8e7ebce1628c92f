package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/testenv"
)

// registerSecondProgram registers the README's second program (NTM, project ND1,
// source NSTW-DTPT-B, commune Bộc Bố under Pác Nặm) and allocates 5 billion to Pác Nặm
// on 10/06/2024, as the README's catalog and money examples do.
func registerSecondProgram(t *testing.T, a *acNode) {
	t.Helper()
	line := `{"program":"NTM","year":2024,"source":"NSTW-DTPT-B","project":"ND1","unit":"060"}`
	for _, w := range []struct{ who, path, body string }{
		{"admin", "/v1/catalog/programs", `{"code":"NTM","name":"Xây dựng nông thôn mới 2021–2025"}`},
		{"admin", "/v1/catalog/projects", `{"program":"NTM","code":"ND1","name":"Nội dung 1"}`},
		{"admin", "/v1/catalog/sources", `{"code":"NSTW-DTPT-B","name":"NSTW đầu tư (đợt 2)","budget":"central","nature":"investment"}`},
		{"admin", "/v1/catalog/units", `{"code":"01876","name":"Xã Bộc Bố","level":"commune","parent":"060","valid_from":"2020-01-01"}`},
		{"officer060", "/v1/allocations", `{"line":` + line + `,"amount":5000000000,"effective_date":"2024-06-10","decision":"123/QĐ-UBND"}`},
	} {
		if rec := a.do(w.who, http.MethodPost, w.path, w.body); rec.Code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", w.path, rec.Code, rec.Body)
		}
	}
}

// dataKey reads the text of the element with data-k="key" from a page.
func dataKey(body, key string) string {
	m := regexp.MustCompile(`data-k="` + regexp.QuoteMeta(key) + `">([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestDashboardSeveralPrograms: after the README registers a second program, every page
// still renders for an admin and a leader (no 400 "program is required"), the selector
// offers the programs, the default is the most recent program with capital in scope at
// the as-of date, and the drill-down shows the rate the overview shows.
func TestDashboardSeveralPrograms(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	registerSecondProgram(t, a)
	now := time.Now()
	leader := a.signIn(bearerOf(a, "leader06"))
	admin := a.signIn(acBootstrap)
	bacGiang := a.signIn(a.createToken("Lãnh đạo Bắc Giang", "leader", "24", now, now.Add(time.Hour)))
	for name, ck := range map[string]*http.Cookie{"leader06": leader, "admin": admin, "leader24": bacGiang} {
		for _, path := range []string{"/", "/?as_of=2024-05-31", "/dashboard/trend", "/dashboard/lines",
			"/?basis=execution_year", "/dashboard/lines?project=DA2", "/?lang=en"} {
			rec := a.page(ck, path)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `<option value="NTM"`) ||
				strings.Contains(rec.Body.String(), "mọi chương trình") {
				t.Errorf("%s GET %s: %d (selector without NTM, or with every program): %.300s", name, path, rec.Code, rec.Body)
			}
		}
	}
	// The default program: NTM where it has capital at the date, GNBV before it had any.
	for _, c := range []struct {
		ck      *http.Cookie
		path    string
		program string
	}{
		{leader, "/?as_of=2024-05-31", "GNBV"}, {leader, "/?as_of=2024-06-30", "NTM"}, {admin, "/", "NTM"}, {bacGiang, "/", "GNBV"},
	} {
		body := a.page(c.ck, c.path).Body.String()
		if !strings.Contains(body, `<option value="`+c.program+`" selected>`) {
			t.Errorf("GET %s: default program is not %s", c.path, c.program)
		}
	}
	if got := dataKey(a.page(leader, "/?as_of=2024-05-31").Body.String(), "total-rate"); got != "62,95%" {
		t.Errorf("Bắc Kạn's GNBV rate as of 31/05/2024: %q", got)
	}
	// Every unit's bar on the overview leads to lines whose total is the bar's rate.
	body := a.page(leader, "/?as_of=2024-05-31&program=GNBV").Body.String()
	bars := regexp.MustCompile(`<li data-key="([^"]+)"><a href="([^"]+)"><span class="name">[^<]*</span><span class="rate" data-k="rate">([^<]*)<`).
		FindAllStringSubmatch(body, -1)
	if len(bars) < 3 {
		t.Fatalf("overview bars: %d", len(bars))
	}
	for _, b := range bars {
		href := strings.ReplaceAll(b[2], "&amp;", "&")
		if got := dataKey(a.page(leader, href).Body.String(), "total-rate"); got != b[3] {
			t.Errorf("bar %s: %s on the overview, %s on its drill-down %s", b[1], b[3], got, href)
		}
	}
}
