package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
)

// Demo figures of docs/domain.md §7.
const (
	bacKanPlan      = 760_800_000_000
	bacKanDisbursed = 478_930_000_000
	c1Query         = "as_of=2024-05-31&unit=06&program=GNBV"
	// readModelWaitMax bounds how long a test waits for the read-model writer.
	readModelWaitMax = 30 * time.Second
)

type progressAmounts struct {
	Plan      int64    `json:"plan"`
	Disbursed int64    `json:"disbursed"`
	Available int64    `json:"available"`
	Rate      *float64 `json:"rate_percent"`
}

type progressRow struct {
	Key  []string `json:"key"`
	Name []string `json:"name"`
	progressAmounts
	Own       *progressAmounts `json:"own"`
	CarriedIn *progressAmounts `json:"carried_in"`
}

type progressReport struct {
	AsOf     *string       `json:"as_of"`
	Position int64         `json:"position"`
	HeadHash string        `json:"head_hash"`
	Rows     []progressRow `json:"rows"`
	Total    progressRow   `json:"total"`
}

// getReport GETs path as who and decodes the report; it fails unless the answer is 200.
func getReport(t *testing.T, a *acNode, who, path string) (progressReport, []byte) {
	t.Helper()
	rec := a.do(who, http.MethodGet, path, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s as %s: %d %s", path, who, rec.Code, rec.Body)
	}
	var r progressReport
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return r, rec.Body.Bytes()
}

func checkFigures(t *testing.T, what string, a progressAmounts, plan, disbursed int64, rate string) {
	t.Helper()
	got := "null"
	if a.Rate != nil {
		got = strconv.FormatFloat(*a.Rate, 'f', 2, 64)
	}
	if a.Plan != plan || a.Disbursed != disbursed || a.Available != plan-disbursed || got != rate {
		t.Errorf("%s: %d / %d (available %d) = %s, want %d / %d = %s", what, a.Disbursed, a.Plan, a.Available, got,
			disbursed, plan, rate)
	}
}

// wantProblem checks that a request is refused with status and the field named.
func wantProblem(t *testing.T, a *acNode, who, path string, status int, field string) {
	t.Helper()
	rec := a.do(who, http.MethodGet, path, "")
	var p struct{ Code, Field string }
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != status || p.Field != field {
		t.Errorf("GET %s as %s: %d field %q, want %d field %q: %s", path, who, rec.Code, p.Field, status, field, rec.Body)
	}
}

func TestProgressAPI(t *testing.T) {
	a := startACNode(t, testenv.DB(t))

	// The published Bắc Kạn figure, 478.93 of 760.80 billion đồng on 31 May 2024.
	r, body := getReport(t, a, "admin", "/v1/progress?group_by=province&as_of=2024-05-31&unit=06")
	if len(r.Rows) != 1 || !slices.Equal(r.Rows[0].Key, []string{"06"}) {
		t.Fatalf("rows %+v, want one for 06", r.Rows)
	}
	checkFigures(t, "Bắc Kạn", r.Rows[0].progressAmounts, bacKanPlan, bacKanDisbursed, "62.95")
	if !bytes.Contains(body, []byte(`"rate_percent":62.95`)) || r.Position != a.head() || len(r.HeadHash) != 64 {
		t.Errorf("report JSON: %s", body)
	}

	// District × project: the rows add up to the province.
	r, _ = getReport(t, a, "auditor", "/v1/progress?group_by=district,project&"+c1Query)
	var plan, disb int64
	for _, row := range r.Rows {
		plan, disb = plan+row.Plan, disb+row.Disbursed
	}
	if plan != bacKanPlan || disb != bacKanDisbursed || len(r.Rows) < 4 {
		t.Errorf("district × project: %d rows summing to %d / %d", len(r.Rows), disb, plan)
	}
	checkFigures(t, "district × project total", r.Total.progressAmounts, bacKanPlan, bacKanDisbursed, "62.95")

	// C2, Lạng Giang, execution year 2023: carried-in 2022 capital and own 2023 capital.
	r, _ = getReport(t, a, "leader24", "/v1/progress?basis=execution_year&year=2023&unit=217&as_of=2023-12-31")
	checkFigures(t, "C2 combined", r.Total.progressAmounts, 5_890_000_000, 4_100_000_000, "69.61")
	if r.Total.Own == nil || r.Total.CarriedIn == nil {
		t.Fatalf("C2: no own or carried_in parts: %+v", r.Total)
	}
	checkFigures(t, "C2 own", *r.Total.Own, 4_478_000_000, 2_800_000_000, "62.53")
	checkFigures(t, "C2 carried in", *r.Total.CarriedIn, 1_412_000_000, 1_300_000_000, "92.07")

	// The counterpart check of Bắc Kạn, 2022–2024.
	rec := a.do("leader06", http.MethodGet, "/v1/progress/counterpart?program=GNBV&from_year=2022&to_year=2024&as_of=2024-05-31", "")
	var cp struct {
		Position int64
		Rows     []struct {
			Province                       string
			Counterpart, Central, Required int64
			Rate                           float64 `json:"rate_percent"`
			Pass                           bool
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &cp); err != nil || rec.Code != 200 || len(cp.Rows) != 1 {
		t.Fatalf("counterpart: %d %s", rec.Code, rec.Body)
	}
	if row := cp.Rows[0]; row.Province != "06" || row.Counterpart != 22_160_000_000 || row.Central != 738_640_000_000 ||
		row.Required != 22_159_200_000 || !row.Pass || row.Rate != 3.00 {
		t.Errorf("counterpart of Bắc Kạn: %+v", row)
	}

	// Bitemporal: Dương Đức (07408) before the reversal, after it, after the re-payment.
	var reversal *ledger.Event
	if err := a.n.store.ReadFrom(t.Context(), 0, func(e *ledger.Event) error {
		if e.Type == ledger.TypeReversed && e.Data.Line != nil && e.Data.Line.Unit == "07408" {
			reversal = e
		}
		return nil
	}); err != nil || reversal == nil {
		t.Fatalf("no reversal on Dương Đức in the demo (%v)", err)
	}
	duongDuc := "/v1/progress?unit=07408&as_of=2023-12-31"
	for _, c := range []struct {
		at   string
		want int64
	}{
		{fmt.Sprint(reversal.Position - 1), 120_000_000},
		{fmt.Sprint(reversal.Position), 108_000_000},
		{"", 120_000_000},
	} {
		path := duongDuc
		if c.at != "" {
			path += "&at=" + c.at
		}
		if r, _ := getReport(t, a, "auditor", path); r.Total.Disbursed != c.want {
			t.Errorf("Dương Đức at %q: disbursed %d, want %d", c.at, r.Total.Disbursed, c.want)
		}
	}
	// known_at resolves to the last position recorded by then.
	atRev := fmt.Sprintf("%s&at=%d", duongDuc, reversal.Position)
	_, want := getReport(t, a, "auditor", atRev)
	known := url.QueryEscape(reversal.RecordedAt.Format(time.RFC3339Nano))
	if r, _ := getReport(t, a, "auditor", duongDuc+"&known_at="+known); r.Position < reversal.Position {
		t.Errorf("known_at %s: position %d, want ≥ %d", reversal.RecordedAt, r.Position, reversal.Position)
	}
	// The same request with the same at gives the same bytes after more writes. (The
	// payment is dated after its 2024 line was funded: rule 2 refuses one dated before.)
	a.submit(&ledger.Disburse{Line: acLine(acLine062a), Amount: 1_000, Kind: ledger.KindPayment,
		EffectiveDate: ledger.MakeDate(2024, 6, 1), Payee: "HTX", Voucher: ledger.Voucher{Office: "KB", Type: "C2",
			Number: "bitemporal", Date: ledger.MakeDate(2024, 6, 1)}})
	if _, again := getReport(t, a, "auditor", atRev); !bytes.Equal(again, want) {
		t.Errorf("same at, other bytes:\n%s\n%s", want, again)
	}

	// Refusals name the parameter.
	wantProblem(t, a, "admin", fmt.Sprintf("/v1/progress?at=%d", a.head()+1), 400, "at")
	wantProblem(t, a, "admin", "/v1/progress?unti=06", 400, "unti")
	wantProblem(t, a, "admin", "/v1/progress?group_by=county", 400, "group_by")
	wantProblem(t, a, "admin", "/v1/progress?as_of=31/05/2024", 400, "as_of")
	wantProblem(t, a, "admin", "/v1/progress?known_at=2000-01-01T00:00:00Z", 400, "known_at")
	wantProblem(t, a, "admin", "/v1/progress?known_at=yesterday", 400, "known_at")
	wantProblem(t, a, "admin", "/v1/progress?at=1&known_at=2000-01-01T00:00:00Z", 400, "known_at")
	wantProblem(t, a, "admin", "/v1/progress.csv?lang=fr", 400, "lang")

	// Scope: a leader of Bắc Giang may not ask for Bắc Kạn; without a unit, a leader gets
	// its own subtree and an officer of Ngân Sơn only Ngân Sơn.
	wantProblem(t, a, "leader24", "/v1/progress?unit=06", 403, "unit")
	wantProblem(t, a, "officer060", "/v1/progress?unit=062", 403, "unit")
	wantProblem(t, a, "leader24", "/v1/progress/counterpart?province=06", 403, "province")
	wantProblem(t, a, "leader24", "/v1/progress.csv?unit=06", 403, "unit")
	_, mine := getReport(t, a, "leader06", "/v1/progress?as_of=2024-05-31&program=GNBV")
	if _, all := getReport(t, a, "admin", "/v1/progress?as_of=2024-05-31&program=GNBV&unit=06"); !bytes.Equal(mine, all) {
		t.Errorf("leader06 without unit:\n%s\nwant the report of unit 06:\n%s", mine, all)
	}
	r, _ = getReport(t, a, "officer062", "/v1/progress?group_by=district&as_of=2024-05-31")
	if len(r.Rows) != 1 || r.Rows[0].Key[0] != "062" {
		t.Errorf("officer062 by district: %+v", r.Rows)
	}

	// Readiness shows the projection's lag.
	rec = a.do("none", http.MethodGet, "/readyz", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"progress_lag":0`) {
		t.Errorf("readyz: %d %s", rec.Code, rec.Body)
	}
}

// sheetRows finds the column-name row (starting with first) and returns it with the
// rows after it.
func sheetRows(t *testing.T, rows [][]string, first string) (header []string, body [][]string) {
	t.Helper()
	for i, r := range rows {
		if len(r) > 0 && r[0] == first {
			return r, rows[i+1:]
		}
	}
	t.Fatalf("no row starting %q in %q", first, rows)
	return nil, nil
}

func TestProgressCSVAndXLSX(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	q := "?group_by=district&" + c1Query
	for _, c := range []struct{ lang, code, plan, total, rate string }{
		{"vi", "Mã huyện", "Kế hoạch vốn", "Tổng cộng", "62,95"},
		{"en", "District code", "Plan", "Total", "62.95"},
	} {
		rec := a.do("leader06", http.MethodGet, "/v1/progress.csv"+q+"&lang="+c.lang, "")
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("CSV %s: %d %s", c.lang, rec.Code, rec.Body)
		}
		cr := csv.NewReader(rec.Body)
		cr.FieldsPerRecord = -1
		rows, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("CSV %s does not parse: %v", c.lang, err)
		}
		header, body := sheetRows(t, rows, c.code)
		total := body[len(body)-1]
		i := slices.Index(header, c.plan)
		if i < 0 || total[0] != c.total || total[i] != "760800000000" || total[i+1] != "478930000000" || total[i+3] != c.rate {
			t.Errorf("CSV %s: header %q total %q", c.lang, header, total)
		}
		if !slices.ContainsFunc(rows, func(r []string) bool {
			return len(r) == 2 && r[1] == strconv.FormatInt(a.head(), 10)
		}) {
			t.Errorf("CSV %s: the header block does not name the position %d: %q", c.lang, a.head(), rows[:8])
		}

		rec = a.do("leader06", http.MethodGet, "/v1/progress.xlsx"+q+"&lang="+c.lang, "")
		if rec.Code != 200 {
			t.Fatalf("XLSX %s: %d %s", c.lang, rec.Code, rec.Body)
		}
		f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatalf("XLSX %s does not open: %v", c.lang, err)
		}
		xrows, err := f.GetRows(f.GetSheetList()[0], excelize.Options{RawCellValue: true})
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		header, body = sheetRows(t, xrows, c.code)
		total = body[len(body)-1]
		if i := slices.Index(header, c.plan); i < 0 || total[0] != c.total || total[i] != "760800000000" ||
			total[i+1] != "478930000000" || total[i+3] != "62.95" {
			t.Errorf("XLSX %s: header %q total %q", c.lang, header, total)
		}
	}
}

// TestReadModelEqualsAPI checks that the read-model tables, summed in SQL, give the
// figures of the API, and that `ledger replay` rebuilds them to the same.
func TestReadModelEqualsAPI(t *testing.T) {
	dbURL := testenv.DB(t)
	a := startACNode(t, dbURL)
	head := a.head()
	deadline := time.Now().Add(readModelWaitMax)
	for a.n.readModel.Position() != head {
		if time.Now().After(deadline) {
			t.Fatalf("read model at %d after %s, head %d", a.n.readModel.Position(), readModelWaitMax, head)
		}
		time.Sleep(20 * time.Millisecond)
	}
	check := func(when string) {
		r, _ := getReport(t, a, "auditor", "/v1/progress?group_by=district&"+c1Query)
		rows, err := a.n.store.Pool().Query(t.Context(), `
			SELECT coalesce(district, unit), sum(plan_delta), sum(disbursed_delta) FROM read.line_progress
			WHERE province = '06' AND program = 'GNBV' AND effective_date <= '2024-05-31'
			GROUP BY 1 HAVING sum(plan_delta) <> 0 OR sum(disbursed_delta) <> 0 ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var got []progressAmounts
		var keys []string
		for rows.Next() {
			var k string
			var p, d int64
			if err := rows.Scan(&k, &p, &d); err != nil {
				t.Fatal(err)
			}
			keys, got = append(keys, k), append(got, progressAmounts{Plan: p, Disbursed: d})
		}
		rows.Close()
		if len(got) != len(r.Rows) {
			t.Fatalf("%s: read model has %d districts %v, the API %d", when, len(got), keys, len(r.Rows))
		}
		for i, row := range r.Rows {
			if keys[i] != row.Key[0] || got[i].Plan != row.Plan || got[i].Disbursed != row.Disbursed {
				t.Errorf("%s: district %s: read model %d / %d, API %s %d / %d", when, keys[i], got[i].Disbursed, got[i].Plan,
					row.Key[0], row.Disbursed, row.Plan)
			}
		}
	}
	check("live")
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"replay", "--database-url", dbURL, "--log-level", "error"}, &out, &errb); err != nil {
		t.Fatalf("ledger replay: %v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("%d events to position %d", head, head)) {
		t.Errorf("ledger replay printed %q", out.String())
	}
	t.Logf("ledger replay: %s", strings.TrimSpace(out.String()))
	check("after ledger replay")
}

func TestReportCommand(t *testing.T) {
	dbURL := testenv.DB(t)
	a := startACNode(t, dbURL)
	report := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), acTimeout)
		defer cancel()
		start := time.Now()
		err := run(ctx, append([]string{"report", "--database-url", dbURL, "--log-level", "error"}, args...), &out, &errb)
		if err != nil {
			t.Fatalf("ledger report %q: %v\n%s", args, err, errb.String())
		}
		t.Logf("ledger report %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
		return out.String()
	}
	vi := report("--unit", "06", "--as-of", "2024-05-31", "--group-by", "province", "--program", "GNBV")
	if !strings.Contains(vi, "62,95") || !strings.Contains(vi, "760.800.000.000") || !strings.Contains(vi, "478.930.000.000") ||
		!strings.Contains(vi, "Tỷ lệ giải ngân (%)") {
		t.Errorf("ledger report (vi):\n%s", vi)
	}
	en := report("--unit", "06", "--as-of", "2024-05-31", "--lang", "en", "--progress")
	if !strings.Contains(en, "62.95") || !strings.Contains(en, "760,800,000,000") || !strings.Contains(en, "Rate (%)") {
		t.Errorf("ledger report (en):\n%s", en)
	}
	// Every line of the table has the same width up to its last column.
	lines := strings.Split(strings.TrimSpace(vi[strings.Index(vi, "Mã tỉnh"):]), "\n")
	if len(lines) != 3 || len([]rune(lines[0])) != len([]rune(lines[1])) {
		t.Errorf("table not aligned:\n%s", strings.Join(lines, "\n"))
	}

	// JSON is the API's report, byte for byte.
	js := report("--format", "json", "--unit", "06", "--as-of", "2024-05-31", "--group-by", "district,project",
		"--program", "GNBV", "--at", fmt.Sprint(a.head()))
	_, api := getReport(t, a, "auditor", fmt.Sprintf("/v1/progress?group_by=district,project&%s&at=%d", c1Query, a.head()))
	if js != string(api)+"\n" {
		t.Errorf("ledger report --format json differs from the API:\n%s\n%s", js, api)
	}

	csvOut := report("--format", "csv", "--basis", "execution_year", "--year", "2023", "--unit", "217", "--as-of", "2023-12-31", "--lang", "en")
	if !strings.Contains(csvOut, "Total,5890000000,4100000000,1790000000,69.61,4478000000,2800000000,62.53,1412000000,1300000000,92.07") {
		t.Errorf("ledger report --format csv (C2):\n%s", csvOut)
	}
	cp := report("--counterpart", "--unit", "06", "--from-year", "2022", "--to-year", "2024", "--as-of", "2024-05-31", "--program", "GNBV")
	if !strings.Contains(cp, "22.159.200.000") || !strings.Contains(cp, "3,00") || !strings.Contains(cp, "đạt") {
		t.Errorf("ledger report --counterpart:\n%s", cp)
	}

	// C3 restated onto today's units, as the API gives it.
	restated := report("--format", "json", "--group-by", "province", "--year", "2025", "--as-of", "2025-12-31", "--units", "current",
		"--at", fmt.Sprint(a.head()))
	_, api = getReport(t, a, "auditor", fmt.Sprintf("/v1/progress?group_by=province&year=2025&as_of=2025-12-31&units=current&at=%d", a.head()))
	if restated != string(api)+"\n" || !strings.Contains(restated, `"rate_percent":90.18`) {
		t.Errorf("ledger report --units current differs from the API:\n%s\n%s", restated, api)
	}

	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"report", "--database-url", dbURL, "--format", "xml", "--as-of", "31/05"}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "format") || !strings.Contains(err.Error(), "as-of") {
		t.Errorf("bad flags: %v", err)
	}
}
