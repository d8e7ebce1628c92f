package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"regexp"
	"testing"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
)

// csvNumber is a number cell of a CSV export: money (whole đồng, possibly negative) or a
// rate with either decimal mark. Only these may start with "-".
var csvNumber = regexp.MustCompile(`^-?[0-9]+([.,][0-9]+)?$`)

// checkCSVSafe parses a CSV export and fails on a missing (or unwanted) byte order mark
// and on any text cell that a spreadsheet would evaluate as a formula.
func checkCSVSafe(t *testing.T, what string, b []byte, wantBOM bool, mustContain ...string) {
	t.Helper()
	if got := bytes.HasPrefix(b, []byte(ledger.UTF8BOM)); got != wantBOM {
		t.Errorf("%s: BOM %v, want %v: %q", what, got, wantBOM, b[:min(len(b), 16)])
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte(ledger.UTF8BOM))))
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("%s does not parse: %v", what, err)
	}
	cells := 0
	for i, row := range rows {
		for j, c := range row {
			cells++
			if ledger.NeedsCSVNeutralising(c) && !csvNumber.MatchString(c) {
				t.Errorf("%s row %d column %d: %q is not neutralised", what, i+1, j+1, c)
			}
		}
	}
	for _, s := range mustContain {
		if !bytes.Contains(b, []byte(s)) {
			t.Errorf("%s lacks %q", what, s)
		}
	}
	t.Logf("%s: %d rows, %d cells, BOM %v", what, len(rows), cells, wantBOM)
}

// TestCSVExportsAreSafe opens every CSV export (the event log over HTTP and from `ledger
// export`, the progress report over HTTP in both languages and from `ledger report`)
// after hostile names were registered in the catalog and a hostile payee and note were
// recorded: each starts with the BOM (none with bom=false) and no cell is a formula.
func TestCSVExportsAreSafe(t *testing.T) {
	dbURL := testenv.DB(t)
	a := startACNode(t, dbURL)
	for _, w := range []struct{ who, path, body string }{
		{"admin", "/v1/catalog/programs", `{"code":"XSS","name":"=HYPERLINK(\"http://evil.example\",\"Chương trình\")"}`},
		{"admin", "/v1/catalog/projects", `{"program":"XSS","code":"P1","name":"@SUM(1+1)"}`},
		{"admin", "/v1/catalog/units", `{"code":"99991","name":"+Xã giả","level":"commune","parent":"062","valid_from":"2020-01-01"}`},
		{"officer062", "/v1/allocations", `{"line":{"program":"XSS","year":2024,"source":"NSTW-DTPT","project":"P1","unit":"99991"},
			"amount":5000000,"effective_date":"2024-03-01","decision":"-1+1/QĐ"}`},
		{"officer062", "/v1/disbursements", `{"line":{"program":"XSS","year":2024,"source":"NSTW-DTPT","project":"P1","unit":"99991"},
			"amount":3000000,"kind":"payment","effective_date":"2024-03-02","payee":"=HYPERLINK(\"http://evil.example\")","note":"-cmd|' /C calc'!A0",
			"voucher":{"office":"KBNN-NS","type":"C2-02a","number":"X1","date":"2024-03-02"}}`},
	} {
		rec := a.do(w.who, http.MethodPost, w.path, w.body)
		if rec.Code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", w.path, rec.Code, rec.Body)
		}
	}
	get := func(who, path string) []byte {
		t.Helper()
		rec := a.do(who, http.MethodGet, path, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	hostile := `'=HYPERLINK(""http://evil.example"")`
	checkCSVSafe(t, "GET /v1/events/export?format=csv", get("auditor", "/v1/events/export?format=csv"), true,
		hostile, `'-1+1/QĐ`, `'-cmd|`)
	checkCSVSafe(t, "GET /v1/events/export?format=csv&bom=false", get("auditor", "/v1/events/export?format=csv&bom=false"), false)
	for _, lang := range []string{"vi", "en"} {
		p := "/v1/progress.csv?group_by=commune,project&program=XSS&unit=062&lang=" + lang
		checkCSVSafe(t, "GET "+p, get("leader06", p), true, `'@SUM(1+1)`, `'+Xã giả`, ",2000000,")
		checkCSVSafe(t, "GET "+p+"&bom=false", get("leader06", p+"&bom=false"), false)
	}
	// Figures stay numbers: nothing is put in front of them.
	checkCSVSafe(t, "GET /v1/progress.csv (C1)", get("leader06", "/v1/progress.csv?group_by=district&"+c1Query), true, "478930000000")

	cli := func(args ...string) []byte {
		t.Helper()
		var out, errb bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), acTimeout)
		defer cancel()
		if err := run(ctx, append(args, "--database-url", dbURL, "--log-level", "error"), &out, &errb); err != nil {
			t.Fatalf("ledger %q: %v\n%s", args, err, errb.String())
		}
		return out.Bytes()
	}
	checkCSVSafe(t, "ledger export --format csv", cli("export", "--format", "csv"), true, hostile)
	checkCSVSafe(t, "ledger export --format csv --bom=false", cli("export", "--format", "csv", "--bom=false"), false)
	checkCSVSafe(t, "ledger report --format csv", cli("report", "--format", "csv", "--program", "XSS", "--unit", "062",
		"--group-by", "commune,project"), true, `'@SUM(1+1)`, `'+Xã giả`)
	checkCSVSafe(t, "ledger report --format csv --bom=false", cli("report", "--format", "csv", "--bom=false"), false)

	// The event JSON of the API writes Vietnamese as UTF-8.
	if b := get("auditor", "/v1/events?after=0&limit=50"); !bytes.Contains(b, []byte("Bắc Kạn")) || bytes.Contains(b, []byte(`\u0`)) {
		t.Errorf("event JSON escapes Vietnamese: %.300s", b)
	}
}
