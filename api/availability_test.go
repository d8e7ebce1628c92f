package api

import (
	"net/http"
	"testing"

	"github.com/vnntp/ledger/ledger"
)

// TestBackDatedCommandsKeepEveryDateCovered is rule 2 through HTTP, the example of the
// issue that brought it: allocate 1,000,000 dated 2025-05-01, then a payment dated
// 2025-01-15 and a cancellation dated 2025-01-10 — both refused, each naming the first
// date the line would be negative on, though the line holds 1,000,000 when they come.
func TestBackDatedCommandsKeepEveryDateCovered(t *testing.T) {
	hs := newHarness(t)
	hs.seed()
	const line = `{"program":"GNBV","year":2025,"source":"NSTW-DTPT","project":"DA1","unit":"062"}`
	hs.mustPost("/v1/allocations", `{"line":`+line+`,"amount":1000000,"effective_date":"2025-05-01","decision":"QĐ 10"}`)
	before := hs.head()

	rec := hs.post("/v1/disbursements", `{"line":`+line+`,"amount":300000,"kind":"payment","effective_date":"2025-01-15",`+
		`"payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"R2-1","date":"2025-01-15"}}`)
	p := checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "line")
	if p["date"] != "2025-01-15" || p["available"] != float64(0) || p["requested"] != float64(300000) {
		t.Errorf("back-dated payment: %s", rec.Body)
	}
	rec = hs.post("/v1/cancellations", `{"line":`+line+`,"amount":500000,"effective_date":"2025-01-10","decision":"QĐ 11"}`)
	p = checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "line")
	if p["date"] != "2025-01-10" || p["available"] != float64(0) {
		t.Errorf("back-dated cancellation: %s", rec.Body)
	}
	if hs.head() != before {
		t.Fatal("a refused back-dated command moved the head")
	}

	// Dated on or after the allocation the same payment is accepted; a cancellation
	// dated before a later payment may take only what that payment leaves.
	hs.mustPost("/v1/disbursements", `{"line":`+line+`,"amount":300000,"kind":"payment","effective_date":"2025-06-15",`+
		`"payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"R2-2","date":"2025-06-15"}}`)
	rec = hs.post("/v1/cancellations", `{"line":`+line+`,"amount":800000,"effective_date":"2025-05-02","decision":"QĐ 12"}`)
	p = checkProblem(t, rec, http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "line")
	if p["date"] != "2025-06-15" || p["available"] != float64(700000) {
		t.Errorf("cancellation before a later payment: %s", rec.Body)
	}
	hs.mustPost("/v1/cancellations", `{"line":`+line+`,"amount":700000,"effective_date":"2025-05-02","decision":"QĐ 12"}`)
	l := decodeMap(t, hs.do(http.MethodGet, "/v1/lines/GNBV:2025:NSTW-DTPT:DA1:062", ""))
	if l["available"] != float64(0) || l["plan"] != float64(300000) {
		t.Errorf("line after the writes: %v", l)
	}
}
