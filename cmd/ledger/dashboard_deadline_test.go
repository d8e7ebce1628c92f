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
