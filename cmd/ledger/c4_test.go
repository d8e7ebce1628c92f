package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/demo"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
)

// C4 of these tests is the demo's: the 2026–2035 program and new Thái Nguyên.
const (
	c4Program  = demo.C4Program
	c4Province = demo.UnitThaiNguyen
)

// loadC4OverHTTP gives the test an officer of the whole country and returns the ids of
// the demo's C4 events the checks refer to ("c4/contract"), read back over HTTP. The
// demo has loaded C4 through the command path, every refusal checked (demo.Load).
func loadC4OverHTTP(t *testing.T, a *acNode) map[string]string {
	t.Helper()
	now := time.Now()
	a.auth["officer"] = "Bearer " + a.createToken("c4 officer", ledger.RoleOfficer, "", now, now.Add(time.Hour))
	rec := a.do("auditor", http.MethodGet, "/v1/contracts?line="+demo.C4Line(c4Province, c4Program).ID(), "")
	var list struct {
		Items []struct {
			ID     string `json:"id"`
			Number string `json:"number"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/contracts: %d %s (%v)", rec.Code, rec.Body, err)
	}
	ids := map[string]string{}
	for _, c := range list.Items {
		if c.Number == "01/2026/HĐXD" {
			ids["c4/contract"] = c.ID
		}
	}
	if ids["c4/contract"] == "" {
		t.Fatalf("the demo's C4 contract is not listed: %s", rec.Body)
	}
	return ids
}

// TestC4OverHTTP checks every figure of scenario C4 through the HTTP API on a real
// PostgreSQL: the refusals advance_limit and contract_exceeded with their codes, and as
// of 30/06/2026 plan 8.00 bn, committed 5.00 bn (62.50 %), disbursed 3.50 bn (43.75 %),
// outstanding advances 0.50 bn aged 130 days; the contract and its events.
func TestC4OverHTTP(t *testing.T) {
	dbURL := testenv.DB(t)
	a := startACNode(t, dbURL)
	ids := loadC4OverHTTP(t, a)
	checkC4Reconciliation(t, a)

	// The advance refusal names the contract, the limit and the outstanding amount.
	l := demo.C4Line(c4Province, c4Program)
	over := fmt.Sprintf(`{"line":{"program":%q,"year":2026,"source":%q,"project":%q,"unit":%q},"amount":100000000,"kind":"advance",`+
		`"effective_date":"2026-05-01","payee":"X","voucher":{"office":"KB-TN","type":"C2-03","number":"000999","date":"2026-05-01"},"contract":%q}`,
		l.Program, l.Source, l.Project, l.Unit, ids["c4/contract"])
	// 1.5 bn advanced, 1.0 bn settled: 0.5 bn outstanding; 0.1 bn more is within 1.5 bn.
	if rec := a.do("officer", http.MethodPost, "/v1/disbursements", over); rec.Code != http.StatusCreated {
		t.Fatalf("advance within the limit after the settlement: %d %s", rec.Code, rec.Body)
	}
	big := strings.Replace(strings.Replace(over, "100000000", "1000000000", 1), "000999", "000998", 1)
	rec := a.do("officer", http.MethodPost, "/v1/disbursements", big)
	var p struct{ Code, Detail, Field string }
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != http.StatusUnprocessableEntity || p.Code != ledger.CodeAdvanceLimit || p.Field != "amount" ||
		!strings.Contains(p.Detail, ids["c4/contract"]) || !strings.Contains(p.Detail, "1500000000") || !strings.Contains(p.Detail, "600000000 outstanding") {
		t.Errorf("advance above the limit: %d %s", rec.Code, rec.Body)
	}

	type row struct {
		Plan                int64
		Disbursed           int64
		Rate                *json.Number `json:"rate_percent"`
		Committed           int64
		CommitmentRate      *json.Number     `json:"commitment_rate_percent"`
		AdvancesOutstanding int64            `json:"advances_outstanding"`
		OldestDays          *int64           `json:"advances_oldest_days"`
		ByAge               map[string]int64 `json:"advances_by_age"`
	}
	var rep struct {
		Total row
		Rows  []row
	}
	// As of 30/06/2026 at the position of the scenario (before the extra advance above).
	at := a.head() - 1
	r := a.do("auditor", http.MethodGet, fmt.Sprintf("/v1/progress?program=%s&unit=%s&as_of=2026-06-30&at=%d", c4Program, c4Province, at), "")
	if r.Code != http.StatusOK {
		t.Fatalf("progress: %d %s", r.Code, r.Body)
	}
	if err := json.Unmarshal(r.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	tot := rep.Total
	if tot.Plan != 8_000_000_000 || tot.Committed != 5_000_000_000 || tot.CommitmentRate == nil || *tot.CommitmentRate != "62.50" ||
		tot.Disbursed != 3_500_000_000 || tot.Rate == nil || *tot.Rate != "43.75" || tot.AdvancesOutstanding != 500_000_000 ||
		tot.OldestDays == nil || *tot.OldestDays != 130 || tot.ByAge["days_91_180"] != 500_000_000 {
		t.Errorf("C4 as of 30/06/2026: %s", r.Body)
	}
	t.Logf("C4 progress: %s", r.Body)

	// The same figures as CSV and in `ledger report`.
	r = a.do("auditor", http.MethodGet, fmt.Sprintf("/v1/progress.csv?program=%s&unit=%s&as_of=2026-06-30&at=%d&lang=en", c4Program, c4Province, at), "")
	if csvBody := r.Body.String(); r.Code != http.StatusOK || !strings.Contains(csvBody, "Committed (contracts),Commitment rate (%),Advances outstanding,Oldest advance (days)") ||
		!strings.Contains(csvBody, "8000000000,3500000000,4500000000,43.75,5000000000,62.50,500000000,130,0,0,500000000,0") {
		t.Errorf("progress.csv: %d %s", r.Code, csvBody)
	}
	var cliOut bytes.Buffer
	if err := run(context.Background(), []string{"report", "--database-url", dbURL, "--program", c4Program, "--unit", c4Province,
		"--as-of", "2026-06-30", "--lang", "en", "--log-level", "error"}, &cliOut, io.Discard); err != nil ||
		!strings.Contains(cliOut.String(), "Commitment rate (%)") || !strings.Contains(cliOut.String(), "62.50") {
		t.Errorf("ledger report: %v\n%s", err, cliOut.String())
	}

	// The drill-down: the contract with its figures and its events.
	r = a.do("auditor", http.MethodGet, "/v1/contracts/"+ids["c4/contract"], "")
	var k struct {
		Number              string
		Value, Disbursed    int64
		AdvancesOutstanding int64 `json:"advances_outstanding"`
		Events              []struct{ Type string }
	}
	if err := json.Unmarshal(r.Body.Bytes(), &k); err != nil || r.Code != http.StatusOK {
		t.Fatalf("GET contract: %d %s", r.Code, r.Body)
	}
	var types []string
	for _, e := range k.Events {
		types = append(types, e.Type)
	}
	if k.Number != "01/2026/HĐXD" || k.Value != 5_000_000_000 || k.Disbursed != 3_600_000_000 || k.AdvancesOutstanding != 600_000_000 ||
		strings.Join(types, " ") != "contract.signed funds.disbursed funds.disbursed advance.settled funds.disbursed" {
		t.Errorf("contract: %s", r.Body)
	}
	if r := a.do("officer062", http.MethodGet, "/v1/contracts/"+ids["c4/contract"], ""); r.Code != http.StatusForbidden {
		t.Errorf("contract outside the officer's subtree: %d %s", r.Code, r.Body)
	}
	if r := a.do("officer062", http.MethodPost, "/v1/advance-limits", `{"share_bp":1000,"valid_from":"2026-01-01","legal_basis":"x"}`); r.Code != http.StatusForbidden {
		t.Errorf("an officer setting an advance limit: %d %s", r.Code, r.Body)
	}
	// The leader's dashboard: the commitments panel, in both languages, linking to the
	// unit's lines, whose page lists the contract events.
	ck := a.signIn(strings.TrimPrefix(a.auth["admin"], "Bearer "))
	for _, c := range []struct {
		path string
		want []string
	}{
		{fmt.Sprintf("/?program=%s&as_of=2026-06-30&lang=en", c4Program), []string{"Commitments and outstanding advances", "62.50%", "130", "500.00 million VND"}},
		{fmt.Sprintf("/?program=%s&as_of=2026-06-30", c4Program), []string{"Cam kết chi và dư ứng", "62,50%", "5,00 tỷ đồng"}},
		{"/dashboard/line?id=" + l.ID(), []string{"Ký hợp đồng", "Giải ngân"}},
	} {
		r := a.page(ck, c.path)
		for _, w := range c.want {
			if r.Code != http.StatusOK || !strings.Contains(r.Body.String(), w) {
				t.Errorf("dashboard %s: %d, %q missing", c.path, r.Code, w)
			}
		}
	}
	if r := a.page(ck, "/?program=GNBV&as_of=2024-05-31"); r.Code != http.StatusOK || strings.Contains(r.Body.String(), "Cam kết chi") {
		t.Errorf("the demo's GNBV page: %d, or it shows a commitments panel (GNBV has no contract)", r.Code)
	}

	// The chain, with the typed columns of the new event types, verifies.
	if r := a.do("auditor", http.MethodGet, "/v1/verify", ""); r.Code != http.StatusOK || !strings.Contains(r.Body.String(), `"ok":true`) {
		t.Errorf("verify: %d %.500s", r.Code, r.Body)
	}
	// Reports without contracts keep their shape: the demo's C1 report has no contract field.
	r = a.do("auditor", http.MethodGet, "/v1/progress?program=GNBV&unit=06&as_of=2024-05-31&at=100", "")
	if strings.Contains(r.Body.String(), "committed") {
		t.Errorf("a report before the first contract carries contract figures: %s", r.Body)
	}
}

// upload posts a multipart form to path as who: the statement file and the fields.
func (a *acNode) upload(who, path string, statement []byte, fields ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	return a.uploadKeyed(who, path, "", statement, fields...)
}

// uploadKeyed is upload with an Idempotency-Key ("" for none).
func (a *acNode) uploadKeyed(who, path, key string, statement []byte, fields ...string) *httptest.ResponseRecorder {
	a.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = mw.WriteField(fields[i], fields[i+1])
	}
	if statement != nil {
		fw, _ := mw.CreateFormFile("statement", "statement")
		_, _ = fw.Write(statement)
	}
	_ = mw.Close()
	req := httptest.NewRequest(http.MethodPost, path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", a.auth[who])
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	req.RemoteAddr = clientAddrOf(who)
	rec := httptest.NewRecorder()
	a.n.handler.ServeHTTP(rec, req)
	return rec
}

// checkC4Reconciliation reconciles the sample statement of C4: 1 matched (the advance
// 000123), 1 amount difference of 500,000 (the payment 000245), 1 in the Treasury only
// (000301), 1 in the ledger only (the settlement 000246); the reconciliation is recorded
// as an event, the report downloads as XLSX, and a malformed file records nothing.
func checkC4Reconciliation(t *testing.T, a *acNode) {
	t.Helper()
	period := []string{"office", demo.C4Office, "from", "2026-02-01", "to", "2026-06-30"}
	head := a.head()
	rec := a.upload("officer", "/v1/reconciliations", demo.C4Statement, period...)
	if rec.Code != http.StatusCreated {
		t.Fatalf("reconciliation: %d %s", rec.Code, rec.Body)
	}
	var out struct {
		Event struct {
			Type string
			Data struct {
				Reconciliation map[string]any
			}
		}
		Counts            map[string]int
		AmountDifferences []struct {
			Number           string
			AmountDifference int64 `json:"amount_difference"`
		} `json:"amount_differences"`
		TreasuryOnly []struct{ Number string } `json:"treasury_only"`
		LedgerOnly   []struct{ Number string } `json:"ledger_only"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	c := out.Counts
	if c["matched"] != 1 || c["amount_differences"] != 1 || c["date_differences"] != 0 || c["treasury_only"] != 1 || c["ledger_only"] != 1 ||
		len(out.AmountDifferences) != 1 || out.AmountDifferences[0].AmountDifference != 500_000 || out.AmountDifferences[0].Number != "000245" ||
		out.TreasuryOnly[0].Number != "000301" || out.LedgerOnly[0].Number != "000246" {
		t.Errorf("C4 reconciliation: %s", rec.Body)
	}
	sum := sha256.Sum256(demo.C4Statement)
	r := out.Event.Data.Reconciliation
	if out.Event.Type != "reconciliation.completed" || r["file_sha256"] != hex.EncodeToString(sum[:]) || r["office"] != demo.C4Office ||
		r["matched"] != float64(1) || r["ledger_position"] != float64(head) || a.head() != head+1 {
		t.Errorf("the reconciliation event: %+v (head %d → %d)", out.Event, head, a.head())
	}
	t.Logf("C4 reconciliation counts: %v", c)

	// The same statement as XLSX, downloaded as XLSX.
	x := a.upload("officer", "/v1/reconciliations", c4StatementXLSX(t), append(period, "format", "xlsx", "lang", "en")...)
	if x.Code != http.StatusCreated || x.Header().Get("Content-Type") != mimeXLSXTest {
		t.Fatalf("reconciliation as XLSX: %d %s", x.Code, x.Header())
	}
	f, err := excelize.OpenReader(bytes.NewReader(x.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("Reconciliation")
	var found bool
	for _, row := range rows {
		if len(row) > 7 && row[0] == "Amount difference" && row[2] == "000245" && row[7] == "500,000" {
			found = true
		}
	}
	if !found {
		t.Errorf("the XLSX report has no amount difference of 500,000 on 000245: %v", rows)
	}

	// A malformed statement: an error naming the row and the column, nothing recorded.
	head = a.head()
	bad := bytes.Replace(demo.C4Statement, []byte("2000500000"), []byte("2.000.500.000"), 1)
	rec = a.upload("officer", "/v1/reconciliations", bad, period...)
	var p struct{ Code, Field, Detail string }
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != http.StatusBadRequest || p.Field != "statement" || !strings.Contains(p.Detail, "row 3, column amount") || a.head() != head {
		t.Errorf("malformed statement: %d %s (head %d → %d)", rec.Code, rec.Body, head, a.head())
	}
	if rec := a.upload("officer", "/v1/reconciliations", demo.C4Statement, "office", "KB-XX", "from", "2026-02-01", "to", "2026-06-30"); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "row 2, column office") || a.head() != head {
		t.Errorf("statement of another office: %d %s", rec.Code, rec.Body)
	}
	for _, h := range []struct {
		name, file, detail string
	}{
		{"wrong columns", "office,type,so,date,amount\n", "row 1, column C"},
		{"formula", "office,type,number,date,amount\nKB-TN,C2-02,1,2026-03-01,=2*3\n", "formula"},
		{"non-UTF-8", "office,type,number,date,amount,description\nKB-TN,C2-02,1,2026-03-01,5,T\xe1m \xf9ng\n", "not UTF-8"},
		{"English separators", "office,type,number,date,amount\nKB-TN,C2-02,1,2026-03-01,\"1,500\"\n", "without separators"},
	} {
		rec := a.upload("officer", "/v1/reconciliations", []byte(h.file), period...)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), h.detail) || !strings.Contains(rec.Body.String(), `"field":"statement"`) || a.head() != head {
			t.Errorf("hostile statement (%s): %d %s", h.name, rec.Code, rec.Body)
		}
	}
	if rec := a.upload("officer", "/v1/reconciliations", nil, period...); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"field":"statement"`) {
		t.Errorf("no statement: %d %s", rec.Code, rec.Body)
	}
	if rec := a.do("officer", http.MethodPost, "/v1/reconciliations", "{}"); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("a JSON body: %d %s", rec.Code, rec.Body)
	}
	if rec := a.upload("auditor", "/v1/reconciliations", demo.C4Statement, period...); rec.Code != http.StatusForbidden {
		t.Errorf("an auditor recording a reconciliation: %d", rec.Code)
	}

	// The CLI: a malformed file is named before anything is sent; the sample reconciles,
	// is recorded once however often it runs, and saves the XLSX report.
	srv := httptest.NewServer(a.n.handler)
	defer srv.Close()
	dir := t.TempDir()
	badFile, goodFile, xlsxFile := dir+"/bad.csv", dir+"/c4.csv", dir+"/c4.xlsx"
	_ = os.WriteFile(badFile, bad, 0o644)
	_ = os.WriteFile(goodFile, demo.C4Statement, 0o644)
	cli := func(file string, extra ...string) (string, error) {
		var out bytes.Buffer
		args := append([]string{"reconcile", "--statement", file, "--office", demo.C4Office, "--from", "2026-02-01", "--to", "2026-06-30",
			"--url", srv.URL, "--token", strings.TrimPrefix(a.auth["officer"], "Bearer ")}, extra...)
		err := run(context.Background(), args, &out, io.Discard)
		return out.String(), err
	}
	head = a.head()
	if _, err := cli(badFile); err == nil || !strings.Contains(err.Error(), "row 3, column amount") || a.head() != head {
		t.Errorf("ledger reconcile of a malformed file: %v", err)
	}
	out1, err := cli(goodFile, "--xlsx", xlsxFile, "--lang", "en")
	if err != nil || !strings.Contains(out1, "matched 1, amount differences 1, date differences 0, Treasury only 1, ledger only 1") ||
		!strings.Contains(out1, "difference 500,000") {
		t.Errorf("ledger reconcile: %v\n%s", err, out1)
	}
	if _, err := cli(goodFile); err != nil || a.head() != head+1 {
		t.Errorf("ledger reconcile run twice: %v; head %d → %d, want one event", err, head, a.head())
	}
	if wb, err := excelize.OpenFile(xlsxFile); err != nil {
		t.Errorf("the saved XLSX: %v", err)
	} else {
		wb.Close()
	}
	t.Logf("ledger reconcile:\n%s", out1)
}

const mimeXLSXTest = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// c4StatementXLSX is the sample statement as an XLSX workbook, amounts as numbers and
// dates as date cells, as a spreadsheet saves them.
func c4StatementXLSX(t *testing.T) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	recs, err := csv.NewReader(bytes.NewReader(demo.C4Statement)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	dateStyle, _ := f.NewStyle(&excelize.Style{NumFmt: 14})
	for i, rec := range recs {
		for j, v := range rec {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			switch {
			case i > 0 && j == 4:
				n, _ := strconv.ParseInt(v, 10, 64)
				_ = f.SetCellInt("Sheet1", cell, n)
			case i > 0 && j == 3:
				d, _ := time.Parse("2006-01-02", v)
				_ = f.SetCellValue("Sheet1", cell, d)
				_ = f.SetCellStyle("Sheet1", cell, cell, dateStyle)
			default:
				_ = f.SetCellStr("Sheet1", cell, v)
			}
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestReconciliationKeysScopedByPrincipal: an Idempotency-Key on a reconciliation is the
// sender's, like every write's: an officer of another scope sending the same key
// records a reconciliation of its own (no replay of another's, no conflict), and the
// same sender's retry is a replay.
func TestReconciliationKeysScopedByPrincipal(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	now := time.Now()
	a.auth["officer"] = "Bearer " + a.createToken("c4 officer", ledger.RoleOfficer, "", now, now.Add(time.Hour))
	a.auth["officerTN"] = "Bearer " + a.createToken("officer TN", ledger.RoleOfficer, c4Province, now, now.Add(time.Hour))
	period := []string{"office", demo.C4Office, "from", "2026-02-01", "to", "2026-06-30"}
	const key = "doi-chieu-06-2026"
	first := a.uploadKeyed("officer", "/v1/reconciliations", key, demo.C4Statement, period...)
	if first.Code != http.StatusCreated || first.Header().Get("Idempotent-Replayed") != "" {
		t.Fatalf("first reconciliation: %d %s", first.Code, first.Body)
	}
	head := a.head()
	other := a.uploadKeyed("officerTN", "/v1/reconciliations", key, append([]byte(nil), demo.C4Statement...), append(period, "note", "another office's own")...)
	if other.Code != http.StatusCreated || other.Header().Get("Idempotent-Replayed") != "" || a.head() != head+1 {
		t.Errorf("the same key from another scope: %d replayed=%q head %d→%d: %s", other.Code,
			other.Header().Get("Idempotent-Replayed"), head, a.head(), other.Body)
	}
	again := a.uploadKeyed("officer", "/v1/reconciliations", key, demo.C4Statement, period...)
	if again.Code != http.StatusCreated || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Errorf("the sender's retry: %d replayed=%q: %s", again.Code, again.Header().Get("Idempotent-Replayed"), again.Body)
	}
}
