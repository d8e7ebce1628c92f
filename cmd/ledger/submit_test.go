package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vnntp/ledger/internal/testenv"
)

// TestImportCommands submits a JSON Lines file of disbursements through the batch API
// with `ledger import --commands`, runs the same file again (every batch answers as a
// replay: nothing is stored twice), and shows a refused line named by its number.
func TestImportCommands(t *testing.T) {
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL)
	lines := setupLines(t, s.url, 2, 1_000_000_000)
	tok, _ := baseOfficers.Load(s.url)
	var file strings.Builder
	const n = 2500
	for i := range n {
		fmt.Fprintf(&file, `{"type":"disbursement","line":{"program":"GNBV","year":2024,"source":"NSTW-DTPT","project":"DA1","unit":%q},"amount":1000,"kind":"payment","effective_date":"2024-03-01","payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"imp-%d","date":"2024-03-01"}}`+"\n",
			lines[i%2]["unit"], i)
	}
	path := filepath.Join(t.TempDir(), "commands.jsonl")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	importFile := func(p string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"import", "--commands", p, "--url", s.url, "--token", tok.(string),
			"--batch-size", "1000"}, &out, &errOut)
		return out.String(), err
	}
	before := headOf(t, s.url)
	if out, err := importFile(path); err != nil || !strings.Contains(out, "recorded 2500 commands; 0 were already") {
		t.Fatalf("import: %q %v", out, err)
	}
	if got := headOf(t, s.url); got != before+n {
		t.Fatalf("head %d after importing %d commands from %d", got, n, before)
	}
	if out, err := importFile(path); err != nil || !strings.Contains(out, "recorded 0 commands; 2500 were already") {
		t.Fatalf("second import of the same file: %q %v", out, err)
	}
	if got := headOf(t, s.url); got != before+n {
		t.Fatalf("head %d after importing the same file twice; want %d", got, before+n)
	}

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	content := strings.Replace(file.String(), `"number":"imp-7"`, `"number":"imp-x7"`, 1)
	content = strings.Replace(content, `"amount":1000,"kind":"payment","effective_date":"2024-03-01","payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"imp-x7"`,
		`"amount":-5,"kind":"payment","effective_date":"2024-03-01","payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"imp-x7"`, 1)
	if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := importFile(bad); err == nil || !strings.Contains(err.Error(), "line 8") || !strings.Contains(err.Error(), "amount") {
		t.Fatalf("a negative amount on line 8: %v; want the line and the field named", err)
	}
}

func headOf(t *testing.T, base string) int64 {
	t.Helper()
	var h struct{ Position int64 }
	if err := json.Unmarshal([]byte(get(t, base+"/v1/head")), &h); err != nil {
		t.Fatal(err)
	}
	return h.Position
}
