package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vnntp/ledger/ledger"
)

// TestDeadlines: an admin records a plan year's deadline and extends it for one line; a
// disbursement dated after its line's deadline is refused naming the line, the deadline
// and its legal basis; the extended line pays on; reversals stay allowed; bad input names
// its field; an officer may not record deadlines; the line's events show its extension.
func TestDeadlines(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	const line2 = `{"program":"GNBV","year":2024,"source":"NSTW-DTPT","project":"DA1","unit":"06"}`
	pay := func(line, date, number string) string {
		return `{"line":` + line + `,"amount":1000,"kind":"payment","effective_date":"` + date + `",` +
			`"payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"` + number + `","date":"` + date + `"}}`
	}
	// Before any deadline is recorded, a line has none.
	paid := hs.mustPost("/v1/disbursements", pay(line062, "2026-06-01", "D0"))

	hs.mustPost("/v1/deadlines", `{"program":"GNBV","year":2024,"until":"2025-01-31","legal_basis":"Luật 58/2024/QH15, Điều 72","effective_date":"2024-01-02"}`)
	rec := hs.post("/v1/disbursements", pay(line062, "2025-03-15", "D1"))
	p := checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeDeadlinePassed, "effective_date")
	if p["line"] != line062ID || p["deadline"] != "2025-01-31" || p["legal_basis"] != "Luật 58/2024/QH15, Điều 72" || p["date"] != "2025-03-15" {
		t.Errorf("deadline_passed lacks the line, deadline or legal basis: %s", rec.Body)
	}
	hs.mustPost("/v1/disbursements", pay(line062, "2025-01-31", "D2")) // the last day is allowed
	// A reversal of an earlier payment stays allowed after the deadline.
	hs.mustPost("/v1/reversals", `{"event_id":"`+paid["id"].(string)+`","amount":500,"effective_date":"2026-06-02","reason":"sai"}`)

	// Extending one line: it pays on, the other lines of the plan year do not.
	ext := hs.mustPost("/v1/extensions", `{"line":`+line062+`,"until":"2025-12-31","legal_basis":"QĐ 88/QĐ-UBND","effective_date":"2025-01-20"}`)
	if ext["type"] != string(ledger.TypeDeadlineExtended) {
		t.Fatalf("extension recorded as %v", ext["type"])
	}
	hs.mustPost("/v1/disbursements", pay(line062, "2025-03-15", "D3"))
	checkProblem(t, hs.post("/v1/disbursements", pay(line2, "2025-03-15", "D4")), http.StatusUnprocessableEntity,
		ledger.CodeDeadlinePassed, "effective_date")
	// A narrower scope (the province's subtree, investment capital) is more specific than the program's.
	hs.mustPost("/v1/deadlines", `{"program":"GNBV","year":2024,"nature":"investment","unit":"06","until":"2025-06-30","legal_basis":"NQ 111/2024/QH15","effective_date":"2025-01-25"}`)
	hs.mustPost("/v1/disbursements", pay(line2, "2025-03-15", "D5"))

	// Bad input names its field and stores nothing.
	before := hs.head()
	for _, c := range []struct{ path, body, field string }{
		{"/v1/deadlines", `{"program":"GNBV","year":2024,"until":"2023-12-31","legal_basis":"x","effective_date":"2024-01-02"}`, "until"},
		{"/v1/deadlines", `{"program":"GNBV","year":2024,"until":"2025-01-31","effective_date":"2024-01-02"}`, "legal_basis"},
		{"/v1/deadlines", `{"program":"GNBV","year":2024,"nature":"capital","until":"2025-01-31","legal_basis":"x","effective_date":"2024-01-02"}`, "nature"},
		{"/v1/extensions", `{"line":` + line062 + `,"until":"2025-06-30","legal_basis":"x","effective_date":"2025-02-01"}`, "until"},
		{"/v1/extensions", `{"line":` + line062 + `,"year":2024,"until":"2026-06-30","legal_basis":"x","effective_date":"2025-02-01"}`, "line"},
	} {
		checkProblem(t, hs.post(c.path, c.body), http.StatusBadRequest, ledger.CodeInvalidArgument, c.field)
	}
	checkProblem(t, hs.post("/v1/deadlines", `{"program":"NOPE","year":2024,"until":"2025-01-31","legal_basis":"x","effective_date":"2024-01-02"}`),
		http.StatusUnprocessableEntity, ledger.CodeUnknownReference, "program")
	// An officer does not record deadlines.
	rec = hs.post("/v1/deadlines", `{"program":"GNBV","year":2025,"until":"2026-01-31","legal_basis":"x","effective_date":"2025-01-02"}`,
		"Authorization", "Bearer "+testOfficerToken)
	checkProblem(t, rec, http.StatusForbidden, ledger.CodeForbidden, "")
	if hs.head() != before {
		t.Fatal("refused deadline commands moved the head")
	}

	// The line shows its deadline, and its events show its extension.
	if l := decodeMap(t, hs.do(http.MethodGet, "/v1/lines/"+line062ID, "")); l["deadline"] == nil ||
		l["deadline"].(map[string]any)["until"] != "2025-12-31" || l["deadline"].(map[string]any)["legal_basis"] != "QĐ 88/QĐ-UBND" {
		t.Errorf("line without its deadline: %v", l)
	}
	rec = hs.do(http.MethodGet, "/v1/lines/"+line062ID+"/events", "")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"type":"deadline.extended"`) {
		t.Errorf("line events lack the extension: %d %s", rec.Code, rec.Body)
	}
}
