package ledger

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

func TestNeutraliseCSVText(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"Ngân Sơn":                 "Ngân Sơn",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+84 912":                  "'+84 912",
		"-1+1":                     "'-1+1",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\tx":                      "'\tx",
		"\rx":                      "'\rx",
		"a=b":                      "a=b",
	} {
		if got := NeutraliseCSVText(in); got != want {
			t.Errorf("NeutraliseCSVText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestExportCSVIsSafe: a CSV export starts with the BOM and has no text cell a
// spreadsheet would evaluate, whatever the payee, note or catalog name.
func TestExportCSVIsSafe(t *testing.T) {
	var buf bytes.Buffer
	x, err := NewExporter(&buf, ExportCSV, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sampleEvents() {
		e.Data.Payee, e.Data.Note, e.Meta.Actor = "=HYPERLINK(\"http://evil\")", "@cmd", "+x (officer)"
		if err := x.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte(UTF8BOM)) {
		t.Fatalf("no BOM: %q", buf.Bytes()[:8])
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes()[len(UTF8BOM):])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows[1:] {
		for j, c := range row {
			if NeedsCSVNeutralising(c) {
				t.Errorf("row %d column %s: %q is not neutralised", i+1, ExportCSVColumns[j], c)
			}
		}
		if row[12] != `'=HYPERLINK("http://evil")` || !strings.Contains(row[21], `=HYPERLINK`) {
			t.Errorf("row %d: payee %q, data %q", i+1, row[12], row[21])
		}
	}
}
