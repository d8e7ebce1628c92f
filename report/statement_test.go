package report

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/vnntp/ledger/ledger"
)

var testPeriod = StatementPeriod{Office: "KB-TN", From: ledger.MakeDate(2026, 2, 1), To: ledger.MakeDate(2026, 6, 30)}

const goodStatement = "office,type,number,date,amount,description\n" +
	"KB-TN,C2-03,000123,2026-02-20,1500000000,Tạm ứng\n" +
	"KB-TN,C2-02,000245,10/04/2026,2000500000,Thanh toán\n"

func TestParseStatement(t *testing.T) {
	es, err := ParseStatement([]byte("\ufeff"+goodStatement+"\n"), testPeriod)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[1].Row != 3 || es[1].Date != ledger.MakeDate(2026, 4, 10) || es[1].Amount != 2_000_500_000 || es[0].Description != "Tạm ứng" {
		t.Errorf("entries: %+v", es)
	}
	// Vietnamese headers, in another order.
	vi := "Số tiền,Số chứng từ,Loại chứng từ,Mã KBNN,Ngày chứng từ\n1500000000,000123,C2-03,KB-TN,20/02/2026\n"
	if es, err := ParseStatement([]byte(vi), testPeriod); err != nil || len(es) != 1 || es[0].Number != "000123" {
		t.Errorf("Vietnamese headers: %+v %v", es, err)
	}
}

// TestHostileStatements: every malformed file is refused with the row and the column.
func TestHostileStatements(t *testing.T) {
	head := "office,type,number,date,amount\n"
	for _, tc := range []struct {
		name, file string
		row        int
		col        string
		detail     string
	}{
		{"empty file", "", 0, "", "empty"},
		{"unknown column", "office,type,number,date,amount,payee\nKB-TN,C2,1,2026-02-20,1,x\n", 1, "F", "not a statement column"},
		{"missing column", "office,type,number,date\nKB-TN,C2,1,2026-02-20\n", 1, "amount", "missing"},
		{"column twice", "office,type,number,date,amount,amount\n", 1, "F", "twice"},
		{"Vietnamese number format", head + "KB-TN,C2,1,2026-02-20,1.500.000.000\n", 2, "amount", "without separators"},
		{"English number format", head + "KB-TN,C2,1,2026-02-20,\"1,500,000,000\"\n", 2, "amount", "without separators"},
		{"decimal amount", head + "KB-TN,C2,1,2026-02-20,1500.5\n", 2, "amount", "without separators"},
		{"negative amount", head + "KB-TN,C2,1,2026-02-20,-5\n", 2, "amount", "not a whole number"},
		{"zero amount", head + "KB-TN,C2,1,2026-02-20,0\n", 2, "amount", "more than 0"},
		{"huge amount", head + "KB-TN,C2,1,2026-02-20,99999999999999999999\n", 2, "amount", "beyond"},
		{"text amount", head + "KB-TN,C2,1,2026-02-20,một tỷ\n", 2, "amount", "not a whole number"},
		{"formula", head + "KB-TN,C2,1,2026-02-20,=1000+500\n", 2, "amount", "formula"},
		{"formula in text", "office,type,number,date,amount,description\nKB-TN,C2,1,2026-02-20,5,\"=HYPERLINK(\"\"x\"\")\"\n", 2, "description", "formula"},
		{"bad date", head + "KB-TN,C2,1,2026-02-30,5\n", 2, "date", "not a date"},
		{"date outside the period", head + "KB-TN,C2,1,2026-07-01,5\n", 2, "date", "outside the period"},
		{"another office", head + "KB-HN,C2,1,2026-02-20,5\n", 2, "office", "office"},
		{"space in number", head + "KB-TN,C2,00 1,2026-02-20,5\n", 2, "number", "printable ASCII"},
		{"empty type", head + "KB-TN,,1,2026-02-20,5\n", 2, "type", "empty"},
		{"voucher twice", head + "KB-TN,C2,1,2026-02-20,5\nKB-TN,C2,1,2026-02-21,6\n", 3, "number", "row 2"},
		{"value past the header", head + "KB-TN,C2,1,2026-02-20,5,extra\n", 2, "F", "beyond the header"},
		{"bad quoting", head + "KB-TN,\"C2,1,2026-02-20,5\n", 2, "", "malformed CSV"},
		{"not UTF-8 (Windows-1258)", head + "KB-TN,C2,1,2026-02-20,5\nKB-TN,C2,2,2026-02-20,5,T\xe1m \xf9ng\n", 3, "", "not UTF-8"},
		{"header only", "", 0, "", "empty"},
		{"binary", "PK\x03\x04garbage", 0, "", "XLSX"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseStatement([]byte(tc.file), testPeriod)
			var se *StatementError
			if !errors.As(err, &se) {
				t.Fatalf("got %v; want a StatementError", err)
			}
			if se.Row != tc.row || se.Column != tc.col || !strings.Contains(se.Message, tc.detail) {
				t.Errorf("got row %d column %q: %v; want row %d column %q mentioning %q", se.Row, se.Column, err, tc.row, tc.col, tc.detail)
			}
			if le := se.AsLedgerError(); le.Code != ledger.CodeInvalidArgument || le.Field != "statement" {
				t.Errorf("as a ledger error: %+v", le)
			}
		})
	}
}

// TestXLSXStatement reads an XLSX statement (numbers and date cells) and refuses one
// with a formula, naming its cell.
func TestXLSXStatement(t *testing.T) {
	build := func(formula bool) []byte {
		f := excelize.NewFile()
		defer f.Close()
		for i, h := range []string{"office", "type", "number", "date", "amount"} {
			cell, _ := excelize.CoordinatesToCellName(i+1, 1)
			_ = f.SetCellStr("Sheet1", cell, h)
		}
		_ = f.SetCellStr("Sheet1", "A2", "KB-TN")
		_ = f.SetCellStr("Sheet1", "B2", "C2-03")
		_ = f.SetCellStr("Sheet1", "C2", "000123")
		_ = f.SetCellValue("Sheet1", "D2", time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC))
		style, _ := f.NewStyle(&excelize.Style{NumFmt: 3})
		_ = f.SetCellInt("Sheet1", "E2", 1_500_000_000)
		_ = f.SetCellStyle("Sheet1", "E2", "E2", style)
		if formula {
			_ = f.SetCellFormula("Sheet1", "E2", "=1000000000+500000000")
		}
		var b bytes.Buffer
		_ = f.Write(&b)
		return b.Bytes()
	}
	es, err := ParseStatement(build(false), testPeriod)
	if err != nil || len(es) != 1 || es[0].Amount != 1_500_000_000 || es[0].Date != ledger.MakeDate(2026, 2, 20) {
		t.Fatalf("XLSX statement: %+v %v", es, err)
	}
	_, err = ParseStatement(build(true), testPeriod)
	var se *StatementError
	if !errors.As(err, &se) || se.Row != 2 || se.Column != "E" || !strings.Contains(se.Message, "formula") {
		t.Errorf("XLSX with a formula: %v", err)
	}
}

// TestLargeStatement reads 100,000 rows, as CSV and as XLSX, within bounds of time and
// memory (docs/reconciliation.md records the figures), and refuses one row too many.
func TestLargeStatement(t *testing.T) {
	const rows = 100_000
	var csvb bytes.Buffer
	csvb.WriteString("office,type,number,date,amount,description\n")
	for i := range rows {
		fmt.Fprintf(&csvb, "KB-TN,C2-02,%06d,2026-%02d-%02d,%d,Chi thường xuyên\n", i, 2+i%5, 1+i%28, 1+i)
	}
	f := excelize.NewFile()
	sw, _ := f.NewStreamWriter("Sheet1")
	_ = sw.SetRow("A1", []any{"office", "type", "number", "date", "amount"})
	for i := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		_ = sw.SetRow(cell, []any{"KB-TN", "C2-02", fmt.Sprintf("%06d", i), fmt.Sprintf("2026-%02d-%02d", 2+i%5, 1+i%28), int64(1 + i)})
	}
	_ = sw.Flush()
	var xb bytes.Buffer
	_ = f.Write(&xb)
	f.Close()
	for _, file := range []struct {
		name string
		data []byte
	}{{"CSV", csvb.Bytes()}, {"XLSX", xb.Bytes()}} {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		peak := make(chan uint64)
		stop := make(chan struct{})
		go func() { // the largest heap in use while parsing, sampled
			var m runtime.MemStats
			var top uint64
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				runtime.ReadMemStats(&m)
				top = max(top, m.HeapInuse)
				select {
				case <-stop:
					peak <- top
					return
				case <-tick.C:
				}
			}
		}()
		start := time.Now()
		es, err := ParseStatement(file.data, testPeriod)
		took := time.Since(start)
		close(stop)
		top := (<-peak - before.HeapInuse) >> 20
		runtime.ReadMemStats(&after)
		if err != nil || len(es) != rows {
			t.Fatalf("%s: %d entries, %v", file.name, len(es), err)
		}
		alloc := (after.TotalAlloc - before.TotalAlloc) >> 20
		t.Logf("%s statement of %d rows (%d KiB): parsed in %v, %d MiB allocated, heap in use at most %d MiB above the start",
			file.name, rows, len(file.data)>>10, took, alloc, top)
		if took > 30*time.Second || top > 512 {
			t.Errorf("%s: %v and %d MiB for %d rows", file.name, took, alloc, rows)
		}
		_ = ledger.Reconcile(es, nil)
	}
	var over bytes.Buffer
	over.WriteString("office,type,number,date,amount\n")
	for i := range ledger.ReconcileRowsMax + 1 {
		fmt.Fprintf(&over, "KB-TN,C2,%d,2026-03-01,1\n", i)
	}
	_, err := ParseStatement(over.Bytes(), testPeriod)
	var se *StatementError
	if !errors.As(err, &se) || se.Row != ledger.ReconcileRowsMax+2 || !strings.Contains(se.Message, "more than") {
		t.Errorf("a statement of %d rows: %v", ledger.ReconcileRowsMax+1, err)
	}
}
