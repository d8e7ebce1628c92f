package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/report"
)

// TestDashboardDeadlines: once an admin records the deadline of the demo's 2024 capital,
// the overview lists the biggest balances whose deadline is near (days left, legal
// basis), in Vietnamese and English, and after the deadline shows the lapsing capital,
// equal to the progress report's `lapsing`.
func TestDashboardDeadlines(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	rec := a.do("admin", http.MethodPost, "/v1/deadlines",
		`{"program":"GNBV","year":2024,"until":"2024-06-30","legal_basis":"NQ 111/2024/QH15","effective_date":"2024-01-02"}`)
	if rec.Code != http.StatusCreated {
		t.Fatalf("POST /v1/deadlines: %d %s", rec.Code, rec.Body)
	}
	province := a.signIn(bearerOf(a, "leader06"))

	body := a.page(province, "/?as_of=2024-05-31").Body.String()
	for _, w := range []string{`id="deadlines"`, "Sắp hết thời hạn giải ngân", "30/06/2024", "NQ 111/2024/QH15", `<td data-k="days-left">30</td>`} {
		if !strings.Contains(body, w) {
			t.Errorf("overview vi as of 31/05/2024: no %q", w)
		}
	}
	if strings.Contains(body, `data-k="lapsing"`) {
		t.Error("overview as of 31/05/2024 shows lapsing capital before the deadline")
	}
	if !strings.Contains(a.page(province, "/?as_of=2024-05-31&lang=en").Body.String(), "Disbursement deadlines coming up") {
		t.Error("overview en: no near-deadline panel")
	}

	rec = a.do("leader06", http.MethodGet, "/v1/progress?unit=06&year=2024&as_of=2024-07-15", "")
	var r struct {
		Total struct{ Available, Lapsing int64 }
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil || rec.Code != 200 {
		t.Fatalf("progress: %d %s", rec.Code, rec.Body)
	}
	if r.Total.Lapsing <= 0 || r.Total.Lapsing != r.Total.Available {
		t.Fatalf("2024 capital as of 15/07/2024, past its deadline: available %d, lapsing %d", r.Total.Available, r.Total.Lapsing)
	}
	body = a.page(province, "/?as_of=2024-07-15&lang=en").Body.String()
	if !strings.Contains(body, "Capital past its deadline") || !strings.Contains(body, `data-k="lapsing">`+report.FormatAmount(r.Total.Lapsing, report.LangEN)) {
		t.Errorf("overview en as of 15/07/2024 lacks the lapsing card of %d đồng", r.Total.Lapsing)
	}
}

// TestDashboardTargets: recorded targets reach the progress report (target in force,
// expected rate, on track or behind), the overview says on track or behind, and the
// trend draws each target as a point at its date — never a line over earlier months.
func TestDashboardTargets(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	for _, body := range []string{
		`{"unit":"06","program":"GNBV","year":2024,"rate_bp":3000,"by":"2024-06-30","document":"KH 12/KH-UBND","effective_date":"2024-01-10"}`,
		`{"unit":"06","program":"GNBV","year":2024,"rate_bp":9500,"by":"2025-01-31","document":"NQ 25/NQ-HĐND","effective_date":"2024-01-10"}`,
	} {
		if rec := a.do("admin", http.MethodPost, "/v1/targets", body); rec.Code != http.StatusCreated {
			t.Fatalf("POST /v1/targets: %d %s", rec.Code, rec.Body)
		}
	}
	// Bad input names its field.
	for field, body := range map[string]string{
		"rate_bp": `{"unit":"06","program":"GNBV","year":2024,"rate_bp":10001,"by":"2024-06-30","document":"x","effective_date":"2024-01-10"}`,
		"by":      `{"unit":"06","program":"GNBV","year":2024,"rate_bp":9000,"document":"x","effective_date":"2024-01-10"}`,
	} {
		rec := a.do("admin", http.MethodPost, "/v1/targets", body)
		var p struct{ Code, Field string }
		if json.Unmarshal(rec.Body.Bytes(), &p); rec.Code != http.StatusBadRequest || p.Field != field {
			t.Errorf("target with a bad %s: %d %s", field, rec.Code, rec.Body)
		}
	}

	// Bắc Kạn's 2024 capital as of 31/05/2024: 16.96 %; 0 % on 1 January to 30 % on 30/06
	// expects 30 × 151 / 181 = 25.02 % by then: behind.
	rec := a.do("leader06", http.MethodGet, "/v1/progress?unit=06&program=GNBV&year=2024&as_of=2024-05-31", "")
	if !strings.Contains(rec.Body.String(), `"target":{"rate_percent":30.00,"by":"2024-06-30","document":"KH 12/KH-UBND","expected_percent":25.02,"on_track":false}`) {
		t.Errorf("progress lacks the target in force: %s", rec.Body)
	}
	province := a.signIn(bearerOf(a, "leader06"))
	body := a.page(province, "/?as_of=2024-05-31&year=2024").Body.String()
	if !strings.Contains(body, `data-k="target-verdict">chậm so với mục tiêu<`) {
		t.Errorf("overview does not say behind target: %.3000s", body)
	}
	if !strings.Contains(a.page(province, "/?as_of=2024-05-31&year=2024&lang=en").Body.String(), `data-k="target-verdict">behind target<`) {
		t.Error("overview en does not say behind target")
	}
	body = a.page(province, "/dashboard/trend?as_of=2024-12-31&year=2024").Body.String()
	if !strings.Contains(body, `<circle class="target"`) || strings.Contains(body, `<line class="target"`) ||
		!strings.Contains(body, "30,00% (30/06/2024)") {
		t.Errorf("trend does not draw the target as a point at its date: %.4000s", body)
	}
	if strings.Count(body, `<circle class="target"`) != 1 {
		t.Error("the target dated after the months shown (31/01/2025) is drawn")
	}
	if !strings.Contains(a.page(province, "/dashboard/trend?as_of=2024-12-31").Body.String(), `id="pick-year"`) {
		t.Error("the trend of every year does not ask for a plan year to show the targets")
	}
}
