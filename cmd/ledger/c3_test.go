package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
)

// C3 lines of docs/domain.md §6 as line JSON.
const (
	c3PacNamLine     = `{"program":"GNBV","year":2025,"source":"NSTW-DTPT","project":"DA1.TDA1","unit":"060"}`
	c3XuanLaLine     = `{"program":"GNBV","year":2025,"source":"NSTW-SN","project":"DA2","unit":"01873"}`
	c3ThaiNguyenLine = `{"program":"GNBV","year":2025,"source":"NSTW-DTPT","project":"DA1.TDA1","unit":"19-2025"}`
)

// rowByKey returns the row of r keyed key (the first dimension), failing t when none is.
func rowByKey(t *testing.T, what string, r progressReport, key string) progressRow {
	t.Helper()
	for _, row := range r.Rows {
		if len(row.Key) > 0 && row.Key[0] == key {
			return row
		}
	}
	t.Fatalf("%s: no row %q in %+v", what, key, r.Rows)
	return progressRow{}
}

// wantRefused posts body to path as who and checks the status, code and field of the
// refusal, and that nothing was recorded.
func wantRefused(t *testing.T, a *acNode, who, path, body string, status int, code, field string) string {
	t.Helper()
	head := a.head()
	rec := a.do(who, http.MethodPost, path, body)
	var p struct{ Code, Field, Detail string }
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != status || p.Code != code || p.Field != field {
		t.Errorf("POST %s as %s: %d %s field %q, want %d %s field %q: %s", path, who, rec.Code, p.Code, p.Field,
			status, code, field, rec.Body)
	}
	if a.head() != head {
		t.Errorf("POST %s: refused, yet the head moved from %d to %d", path, head, a.head())
	}
	return p.Detail
}

// TestC3 checks every figure and refusal of scenario C3 (the 2025 reorganisation) that
// does not depend on deadlines, through the HTTP API on the demo.
func TestC3(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	now := time.Now()
	for _, p := range []struct {
		name string
		role ledger.Role
		unit string
	}{
		{"officerTN", ledger.RoleOfficer, demo.UnitThaiNguyen}, {"leaderTN", ledger.RoleLeader, demo.UnitThaiNguyen},
		{"officer", ledger.RoleOfficer, ""},
	} {
		a.auth[p.name] = "Bearer " + a.createToken(p.name, p.role, p.unit, now, now.Add(time.Hour))
	}

	// As recorded on 30/06/2025: Pác Nặm by district of Bắc Kạn, Xuân La by commune.
	// (Pác Nặm's subtree also holds Xuân La's recurrent line: its own line is the
	// investment one.)
	r, body := getReport(t, a, "auditor", "/v1/progress?group_by=district&unit=06&source=NSTW-DTPT&year=2025&as_of=2025-06-30")
	checkFigures(t, "Pác Nặm 30/06/2025", rowByKey(t, "by district", r, "060").progressAmounts, 10_000_000_000, 4_000_000_000, "40.00")
	if strings.Contains(string(body), `"units"`) {
		t.Errorf("a report as recorded names its view, so its bytes changed: %s", body)
	}
	r, _ = getReport(t, a, "auditor", "/v1/progress?group_by=commune&unit=060&year=2025&as_of=2025-06-30&units=recorded")
	checkFigures(t, "Xuân La 30/06/2025", rowByKey(t, "by commune", r, "01873").progressAmounts, 1_200_000_000, 500_000_000, "41.67")
	checkFigures(t, "Pác Nặm's own line 30/06/2025", rowByKey(t, "by commune", r, "060").progressAmounts, 10_000_000_000, 4_000_000_000, "40.00")

	// As recorded on 31/12/2025, by province: the handovers moved capital between provinces.
	const yearEnd = "&year=2025&as_of=2025-12-31"
	r, _ = getReport(t, a, "auditor", "/v1/progress?group_by=province"+yearEnd)
	checkFigures(t, "Bắc Kạn 31/12/2025", rowByKey(t, "recorded", r, "06").progressAmounts, 4_500_000_000, 4_500_000_000, "100.00")
	checkFigures(t, "new Thái Nguyên 31/12/2025", rowByKey(t, "recorded", r, demo.UnitThaiNguyen).progressAmounts,
		6_700_000_000, 5_600_000_000, "83.58")
	checkFigures(t, "total 31/12/2025", r.Total.progressAmounts, 11_200_000_000, 10_100_000_000, "90.18")

	// Restated onto today's units: one province, the handovers internal.
	r, body = getReport(t, a, "auditor", "/v1/progress?group_by=province&units=current"+yearEnd)
	if len(r.Rows) != 1 {
		t.Errorf("restated by province: %+v, want one row", r.Rows)
	}
	checkFigures(t, "new Thái Nguyên restated", rowByKey(t, "restated", r, demo.UnitThaiNguyen).progressAmounts,
		11_200_000_000, 10_100_000_000, "90.18")
	checkFigures(t, "total restated", r.Total.progressAmounts, 11_200_000_000, 10_100_000_000, "90.18")
	if !strings.Contains(string(body), `"units":"current"`) {
		t.Errorf("a restated report does not name its view: %s", body)
	}
	r, _ = getReport(t, a, "leaderTN", "/v1/progress?group_by=commune&units=current"+yearEnd)
	checkFigures(t, "new Thái Nguyên's own lines", rowByKey(t, "by commune", r, demo.UnitThaiNguyen).progressAmounts,
		10_000_000_000, 9_000_000_000, "90.00")
	checkFigures(t, "new Nghiên Loan", rowByKey(t, "by commune", r, demo.UnitNghienLoanNew).progressAmounts,
		1_200_000_000, 1_100_000_000, "91.67")
	// No district level on 31/12/2025 in the restated view; before 1/7/2025 there is.
	detail := ""
	rec := a.do("auditor", http.MethodGet, "/v1/progress?group_by=district&units=current"+yearEnd, "")
	var p struct{ Field, Detail string }
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	detail = p.Detail
	if rec.Code != 400 || p.Field != "group_by" || !strings.Contains(detail, "province, commune") {
		t.Errorf("restated by district on 31/12/2025: %d %s", rec.Code, rec.Body)
	}
	getReport(t, a, "auditor", "/v1/progress?group_by=district&units=current&year=2025&as_of=2025-06-30")
	wantProblem(t, a, "auditor", "/v1/progress?units=today", 400, "units")

	// 30/06/2026: the same total in either view.
	for _, view := range []string{"recorded", "current"} {
		r, _ = getReport(t, a, "auditor", "/v1/progress?year=2025&as_of=2026-06-30&units="+view)
		checkFigures(t, "total 30/06/2026 "+view, r.Total.progressAmounts, 11_200_000_000, 10_900_000_000, "97.32")
	}

	// Exports and the counterpart check name the restated view.
	rec = a.do("auditor", http.MethodGet, "/v1/progress.csv?group_by=province&units=current&lang=en"+yearEnd, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "current units") || !strings.Contains(rec.Body.String(), demo.UnitThaiNguyen) {
		t.Errorf("restated CSV: %d %s", rec.Code, rec.Body)
	}
	rec = a.do("auditor", http.MethodGet, "/v1/progress.xlsx?group_by=province&units=current&lang=vi"+yearEnd, "")
	if rec.Code != 200 {
		t.Fatalf("restated XLSX: %d %s", rec.Code, rec.Body)
	}
	book, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	sheet, err := book.GetRows(book.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	if cells := fmt.Sprint(sheet); !strings.Contains(cells, "theo đơn vị hiện hành") || !strings.Contains(cells, demo.UnitThaiNguyen) {
		t.Errorf("restated XLSX does not name its view: %s", cells)
	}
	rec = a.do("auditor", http.MethodGet, "/v1/progress.csv?group_by=province&lang=en"+yearEnd, "")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), "current units") {
		t.Errorf("CSV as recorded: %d %s", rec.Code, rec.Body)
	}
	rec = a.do("auditor", http.MethodGet, "/v1/progress/counterpart?units=current&from_year=2025&to_year=2025&as_of=2025-12-31", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"units":"current"`) || !strings.Contains(rec.Body.String(), demo.UnitThaiNguyen) {
		t.Errorf("restated counterpart: %d %s", rec.Code, rec.Body)
	}
	// The lines list: restated, a predecessor's line is under its successor.
	rec = a.do("auditor", http.MethodGet, "/v1/lines?year=2025&unit="+demo.UnitThaiNguyen+"&units=current", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"GNBV:2025:NSTW-DTPT:DA1.TDA1:060"`) ||
		!strings.Contains(rec.Body.String(), `"current_unit":"`+demo.UnitNghienLoanNew+`"`) {
		t.Errorf("restated lines: %d %s", rec.Code, rec.Body)
	}

	// The catalog shows the reorganisation.
	rec = a.do("auditor", http.MethodGet, "/v1/catalog/units", "")
	var units struct {
		Items []struct {
			ID                       string
			ValidTo                  *string `json:"valid_to"`
			Predecessors, Successors []struct{ From, To string }
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &units); err != nil {
		t.Fatal(err)
	}
	for _, u := range units.Items {
		switch u.ID {
		case "060":
			if u.ValidTo == nil || *u.ValidTo != "2025-06-30" || len(u.Successors) != 1 || u.Successors[0].To != demo.UnitThaiNguyen {
				t.Errorf("Pác Nặm in the catalog: %+v", u)
			}
		case demo.UnitNghienLoanNew:
			if len(u.Predecessors) != 2 {
				t.Errorf("new Nghiên Loan in the catalog: %+v", u)
			}
		}
	}

	// Refusals of C3, nothing stored.
	detail = wantRefused(t, a, "officer", "/v1/disbursements", `{"line":`+c3XuanLaLine+`,"amount":10000000,"kind":"payment",
		"effective_date":"2025-08-01","payee":"HTX","voucher":{"office":"KBNN-TN","type":"C2-02a","number":"c3-closed","date":"2025-08-01"}}`,
		422, ledger.CodeUnitClosed, "line.unit")
	if !strings.Contains(detail, "01873") || !strings.Contains(detail, "2025-06-30") {
		t.Errorf("unit_closed does not name the unit and its end: %q", detail)
	}
	rec = a.do("officer", http.MethodPost, "/v1/batch", `{"atomic":true,"commands":[{"type":"allocation","line":`+c3ThaiNguyenLine+
		`,"amount":1,"effective_date":"2025-08-01","decision":"QĐ"},{"type":"disbursement","line":`+c3XuanLaLine+
		`,"amount":1,"kind":"payment","effective_date":"2025-08-01","payee":"HTX","voucher":{"office":"KBNN-TN","type":"C2-02a","number":"c3-batch","date":"2025-08-01"}}]}`)
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), `"unit":"01873"`) || !strings.Contains(rec.Body.String(), `"valid_to":"2025-06-30"`) ||
		!strings.Contains(rec.Body.String(), `"field":"commands[1].line.unit"`) {
		t.Errorf("unit_closed in a batch: %d %s", rec.Code, rec.Body)
	}
	handover := func(from, to string, amount int64) string {
		return fmt.Sprintf(`{"from":%s,"to":%s,"amount":%d,"kind":"handover","effective_date":"2025-07-01","decision":"Biên bản bàn giao"}`,
			from, to, amount)
	}
	wantRefused(t, a, "officer", "/v1/transfers", handover(c3PacNamLine, c3ThaiNguyenLine, 1), 422, ledger.CodeInsufficientFunds, "from")
	wantRefused(t, a, "officer", "/v1/transfers", handover(c3PacNamLine, strings.Replace(c3PacNamLine, `"060"`, `"01882-2025"`, 1), 1),
		400, ledger.CodeInvalidArgument, "to.unit")
	otherProject := strings.Replace(strings.Replace(c3XuanLaLine, `"01873"`, `"01882-2025"`, 1), `"DA2"`, `"DA3"`, 1)
	wantRefused(t, a, "officer", "/v1/transfers", handover(c3XuanLaLine, otherProject, 1), 400, ledger.CodeInvalidArgument, "to.project")
	// A handover before the reorganisation's date: the successor is not valid yet.
	wantRefused(t, a, "officer", "/v1/transfers", strings.Replace(handover(c3PacNamLine, c3ThaiNguyenLine, 1), "2025-07-01", "2025-06-30", 1),
		422, ledger.CodeUnknownReference, "to.unit")

	// Reorganisations: a unit closed twice, in one request or again; an unknown
	// predecessor; a successor not valid on the date; a cycle.
	reorg := func(changes string) string {
		return `{"date":"2025-07-01","legal_basis":"NQ 1683/NQ-UBTVQH15","changes":` + changes + `}`
	}
	const path = "/v1/catalog/reorganizations"
	wantRefused(t, a, "admin", path, reorg(`[{"kind":"merge","predecessors":["01873"],"successors":["01882-2025"]}]`),
		400, ledger.CodeInvalidArgument, "changes[0].predecessors[0]")
	wantRefused(t, a, "admin", path, reorg(`[{"kind":"merge","predecessors":["07429","07429"],"successors":["01882-2025"]}]`),
		400, ledger.CodeInvalidArgument, "changes[0].predecessors[1]")
	wantRefused(t, a, "admin", path, reorg(`[{"kind":"merge","predecessors":["nowhere"],"successors":["01882-2025"]}]`),
		422, ledger.CodeUnknownReference, "changes[0].predecessors[0]")
	// Two communes of today's Thái Nguyên, one from 2026: from 1/7/2025 a commune hangs
	// under a province; a district may no longer be registered.
	for _, u := range []string{
		`{"id":"X-2025","code":"01999","name":"Xã X","level":"commune","parent":"19-2025","valid_from":"2025-07-01"}`,
		`{"id":"Y-2026","code":"01998","name":"Xã Y","level":"commune","parent":"19-2025","valid_from":"2026-01-01"}`,
	} {
		if rec := a.do("admin", http.MethodPost, "/v1/catalog/units", u); rec.Code != 201 {
			t.Fatalf("register %s: %d %s", u, rec.Code, rec.Body)
		}
	}
	wantRefused(t, a, "admin", "/v1/catalog/units", `{"id":"Z","code":"01997","name":"Xã Z","level":"commune","parent":"060","valid_from":"2025-07-01"}`,
		400, ledger.CodeInvalidArgument, "parent")
	wantRefused(t, a, "admin", "/v1/catalog/units", `{"id":"H","code":"999","name":"Huyện H","level":"district","parent":"19-2025","valid_from":"2025-07-01"}`,
		400, ledger.CodeInvalidArgument, "level")
	later := func(body string) string { return strings.Replace(body, "2025-07-01", "2025-09-01", 1) }
	wantRefused(t, a, "admin", path, later(reorg(`[{"kind":"merge","predecessors":["X-2025"],"successors":["Y-2026"]}]`)),
		400, ledger.CodeInvalidArgument, "changes[0].successors[0]")
	wantRefused(t, a, "admin", path, later(reorg(`[{"kind":"rename","predecessors":["X-2025"],"successors":["01882-2025"]},{"kind":"rename","predecessors":["01882-2025"],"successors":["X-2025"]}]`)),
		400, ledger.CodeInvalidArgument, "changes[0].successors[0]")
	wantRefused(t, a, "admin", path, reorg(`[{"kind":"split","predecessors":["07429"],"successors":["07408","07387"]}]`),
		400, ledger.CodeInvalidArgument, "changes[0].history")
	wantRefused(t, a, "officer", path, reorg(`[{"kind":"merge","predecessors":["07429"],"successors":["01882-2025"]}]`),
		403, ledger.CodeForbidden, "")

	// Scopes: the successor reads its predecessors' history and hands their capital
	// over (refused here only because none is left); the closed unit reads its history
	// and cannot write after its end.
	r, _ = getReport(t, a, "officerTN", "/v1/progress?unit=060&source=NSTW-DTPT&year=2025&as_of=2025-06-30")
	checkFigures(t, "Pác Nặm read by new Thái Nguyên", r.Total.progressAmounts, 10_000_000_000, 4_000_000_000, "40.00")
	if rec := a.do("officerTN", http.MethodGet, "/v1/lines?unit=060&year=2025", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), ":060") {
		t.Errorf("new Thái Nguyên reads Pác Nặm's lines: %d %s", rec.Code, rec.Body)
	}
	wantRefused(t, a, "officerTN", "/v1/transfers", handover(c3PacNamLine, c3ThaiNguyenLine, 1), 422, ledger.CodeInsufficientFunds, "from")
	r, _ = getReport(t, a, "officer060", "/v1/progress?source=NSTW-DTPT&year=2025&as_of=2025-06-30")
	checkFigures(t, "Pác Nặm read by itself", r.Total.progressAmounts, 10_000_000_000, 4_000_000_000, "40.00")
	wantRefused(t, a, "officer060", "/v1/disbursements", `{"line":`+c3PacNamLine+`,"amount":1,"kind":"payment",
		"effective_date":"2025-07-02","payee":"HTX","voucher":{"office":"KBNN-BK","type":"C3-01","number":"c3-after","date":"2025-07-02"}}`,
		422, ledger.CodeUnitClosed, "line.unit")
	wantRefused(t, a, "officer060", "/v1/transfers", handover(c3PacNamLine, c3ThaiNguyenLine, 1), 403, ledger.CodeForbidden, "to")
}

// TestC3Deadlines checks the deadline steps of scenario C3 through the HTTP API on the
// demo: the payment after the 31/01/2026 deadline and the back-dated payment are refused
// (the demo's load asserts it too), the same commands sent again are refused with their
// codes, and as of 30/06/2026 the 100,000,000 left on new Nghiên Loan's line is lapsing
// while new Thái Nguyên's extended line is not.
func TestC3Deadlines(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	now := time.Now()
	a.auth["officer"] = "Bearer " + a.createToken("officer", ledger.RoleOfficer, "", now, now.Add(time.Hour))

	nghienLoan := `{"program":"GNBV","year":2025,"source":"NSTW-SN","project":"DA2","unit":"` + demo.UnitNghienLoanNew + `"}`
	detail := wantRefused(t, a, "officer", "/v1/disbursements", `{"line":`+nghienLoan+`,"amount":100000000,"kind":"payment",
		"effective_date":"2026-03-15","payee":"HTX Nghiên Loan","voucher":{"office":"KBNN-TN","type":"C2-02b","number":"T-1","date":"2026-03-15"}}`,
		http.StatusUnprocessableEntity, ledger.CodeDeadlinePassed, "effective_date")
	if !strings.Contains(detail, "2026-01-31") || !strings.Contains(detail, "58/2024/QH15") {
		t.Errorf("deadline_passed names neither the deadline nor its legal basis: %s", detail)
	}
	pacNam := `{"program":"GNBV","year":2025,"source":"NSTW-DTPT","project":"DA1.TDA1","unit":"060"}`
	detail = wantRefused(t, a, "officer", "/v1/disbursements", `{"line":`+pacNam+`,"amount":1000000000,"kind":"payment",
		"effective_date":"2025-02-05","payee":"BQL huyện Pác Nặm","voucher":{"office":"KBNN-BK","type":"C2-02a","number":"T-2","date":"2025-02-05"}}`,
		http.StatusUnprocessableEntity, ledger.CodeInsufficientFunds, "line")
	if !strings.Contains(detail, "2025-02-05") {
		t.Errorf("the back-dated payment's refusal does not name the date it would go negative: %s", detail)
	}

	r, _ := getReport(t, a, "auditor", "/v1/progress?group_by=commune&unit="+demo.UnitThaiNguyen+"&year=2025&as_of=2026-06-30")
	var lapsing struct {
		Rows []struct {
			Key     []string `json:"key"`
			Lapsing int64    `json:"lapsing"`
		} `json:"rows"`
		Total struct {
			Lapsing int64 `json:"lapsing"`
		} `json:"total"`
	}
	rec := a.do("auditor", http.MethodGet, "/v1/progress?group_by=commune&unit="+demo.UnitThaiNguyen+"&year=2025&as_of=2026-06-30", "")
	if err := json.Unmarshal(rec.Body.Bytes(), &lapsing); err != nil {
		t.Fatal(err)
	}
	for _, row := range lapsing.Rows {
		want := int64(0)
		if row.Key[0] == demo.UnitNghienLoanNew {
			want = 100_000_000
		}
		if row.Lapsing != want {
			t.Errorf("lapsing on %s as of 30/06/2026: %d, want %d", row.Key[0], row.Lapsing, want)
		}
	}
	if lapsing.Total.Lapsing != 100_000_000 || len(r.Rows) == 0 {
		t.Errorf("lapsing in new Thái Nguyên as of 30/06/2026: %d, want 100000000 (%d rows)", lapsing.Total.Lapsing, len(r.Rows))
	}
}
