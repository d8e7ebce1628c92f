package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/internal/testenv"
)

// TestDisbursementWorkbook: an officer downloads the template, fills two rows, imports
// it with `ledger import --xlsx`, and the two disbursements are recorded once, however
// often it runs; a malformed row is named by row and column and records nothing.
func TestDisbursementWorkbook(t *testing.T) {
	a := startACNode(t, testenv.DB(t))
	r := a.do("officer062", http.MethodGet, "/v1/templates/disbursements.xlsx", "")
	if r.Code != http.StatusOK || r.Header().Get("Content-Type") != mimeXLSXTest {
		t.Fatalf("template: %d %s", r.Code, r.Header())
	}
	f, err := excelize.OpenReader(bytes.NewReader(r.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	sheet := f.GetSheetList()[0]
	head, _ := f.GetRows(sheet)
	if len(head) == 0 || !strings.Contains(strings.Join(head[0], "|"), "Số tiền (đồng) [amount]") {
		t.Fatalf("template header: %v", head)
	}
	if dvs, _ := f.GetDataValidations(sheet); len(dvs) < 4 {
		t.Errorf("template has %d data validations, want kind, year, amount and dates", len(dvs))
	}
	fill := func(row int, amount any, number string) {
		vals := []any{"GNBV", 2024, "NSTW-SN", "DA2", "062", amount, "payment", "2024-06-20", "HTX Ngân Sơn",
			"KB-NS", "C2-02", number, "2024-06-20", "nhập từ Excel"}
		for i, v := range vals {
			cell, _ := excelize.CoordinatesToCellName(i+1, row)
			_ = f.SetCellValue(sheet, cell, v)
		}
	}
	fill(2, 1_000_000, "X-0001")
	fill(3, 2_000_000, "X-0002")
	var good bytes.Buffer
	_ = f.Write(&good)
	fill(3, "2.000.000", "X-0002")
	var bad bytes.Buffer
	_ = f.Write(&bad)
	f.Close()

	srv := httptest.NewServer(a.n.handler)
	defer srv.Close()
	dir := t.TempDir()
	_ = os.WriteFile(dir+"/good.xlsx", good.Bytes(), 0o644)
	_ = os.WriteFile(dir+"/bad.xlsx", bad.Bytes(), 0o644)
	cli := func(file string) (string, error) {
		var out bytes.Buffer
		err := run(context.Background(), []string{"import", "--xlsx", file, "--url", srv.URL,
			"--token", bearerOf(a, "officer062"), "--log-level", "error"}, &out, io.Discard)
		return out.String(), err
	}
	before := a.head()
	if _, err := cli(dir + "/bad.xlsx"); err == nil || !strings.Contains(err.Error(), "row 3, column amount") || a.head() != before {
		t.Errorf("a malformed row: %v (head %d → %d)", err, before, a.head())
	}
	if out, err := cli(dir + "/good.xlsx"); err != nil || !strings.Contains(out, "recorded 2 disbursements") || a.head() != before+2 {
		t.Fatalf("import --xlsx: %v %s (head %d → %d)", err, out, before, a.head())
	}
	if out, err := cli(dir + "/good.xlsx"); err != nil || !strings.Contains(out, "already recorded") || a.head() != before+2 {
		t.Errorf("import --xlsx again: %v %s", err, out)
	}
	ev := a.do("officer062", http.MethodGet, "/v1/lines/GNBV:2024:NSTW-SN:DA2:062/events?limit=1000", "")
	if !strings.Contains(ev.Body.String(), "X-0001") || !strings.Contains(ev.Body.String(), "X-0002") {
		t.Errorf("the line's events lack the two disbursements")
	}
}
