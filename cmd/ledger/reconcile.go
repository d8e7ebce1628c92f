package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/report"
)

// reconcileHTTPTimeout bounds one upload of `ledger reconcile` (a 100,000-row statement
// is compared and recorded in seconds).
const reconcileHTTPTimeout = 5 * time.Minute

// ReconcileConfig holds the flags of `ledger reconcile`: a Treasury statement compared
// with the ledger through POST /v1/reconciliations of a running server, which records
// the reconciliation.
type ReconcileConfig struct {
	Statement, Office, From, To string
	URL, Token                  string
	XLSX                        string // write the report as XLSX to this file
	Lang, Note                  string
}

func (r *ReconcileConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	if cmd != "reconcile" {
		return
	}
	c.str(fs, &r.Statement, "statement", "LEDGER_RECONCILE_STATEMENT", "", "the Treasury statement, CSV (UTF-8) or XLSX (docs/reconciliation.md)")
	c.str(fs, &r.Office, "office", "LEDGER_RECONCILE_OFFICE", "", "Treasury office code the statement is for")
	c.str(fs, &r.From, "from", "LEDGER_RECONCILE_FROM", "", "first day of the period (YYYY-MM-DD)")
	c.str(fs, &r.To, "to", "LEDGER_RECONCILE_TO", "", "last day of the period (YYYY-MM-DD)")
	c.str(fs, &r.URL, "url", "LEDGER_URL", "http://"+defaultHTTPAddr, "base URL of the server")
	c.str(fs, &r.Token, "token", "LEDGER_TOKEN", "", "bearer token (an officer's)")
	c.str(fs, &r.XLSX, "xlsx", "LEDGER_RECONCILE_XLSX", "", "also write the report as an XLSX workbook to this file")
	c.str(fs, &r.Lang, "lang", "LEDGER_LANG", "vi", "language of the XLSX report: vi or en")
	c.str(fs, &r.Note, "note", "LEDGER_RECONCILE_NOTE", "", "a note recorded with the reconciliation")
}

// reconcileCmd checks the statement locally (the same checks as the server, so a
// malformed file is named by row and column before anything is sent), uploads it, prints
// the comparison and, with --xlsx, saves the workbook. The upload carries an
// Idempotency-Key derived from the statement and the period: running it again answers
// the reconciliation already recorded instead of recording another.
func reconcileCmd(ctx context.Context, cfg *Config, stdout io.Writer) error {
	r := &cfg.Reconcile
	var missing []string
	for _, f := range []struct{ v, name string }{{r.Statement, "--statement"}, {r.Office, "--office"}, {r.From, "--from"},
		{r.To, "--to"}, {r.Token, "--token (or LEDGER_TOKEN)"}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("reconcile: %s required", strings.Join(missing, ", "))
	}
	if _, ok := report.ParseLang(r.Lang); !ok {
		return fmt.Errorf("reconcile: --lang must be vi or en, got %q", r.Lang)
	}
	p := report.StatementPeriod{Office: r.Office}
	var err error
	if p.From, err = ledger.ParseDate(r.From, "--from"); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if p.To, err = ledger.ParseDate(r.To, "--to"); err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	info, err := os.Stat(r.Statement)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if info.Size() > report.StatementBytesMax {
		return fmt.Errorf("reconcile: %s is larger than %d bytes", r.Statement, report.StatementBytesMax)
	}
	data, err := os.ReadFile(r.Statement)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	if _, err := report.ParseStatement(data, p); err != nil {
		return fmt.Errorf("reconcile: %s: %w (nothing was recorded)", r.Statement, err)
	}
	sum := sha256.Sum256(append(append([]byte(nil), data...), "\n"+r.Office+"\n"+r.From+"\n"+r.To+"\n"+r.Note...))
	key := "reconcile-" + hex.EncodeToString(sum[:16])
	hc := &http.Client{Timeout: reconcileHTTPTimeout}

	body, err := postStatement(ctx, hc, r, key, data, "json")
	if err != nil {
		return err
	}
	var out struct {
		Event struct {
			ID       string `json:"id"`
			Position int64  `json:"position"`
		} `json:"event"`
		FileSHA256     string         `json:"file_sha256"`
		LedgerPosition int64          `json:"ledger_position"`
		Counts         map[string]int `json:"counts"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("reconcile: the server's answer: %w", err)
	}
	var lists map[string]json.RawMessage
	_ = json.Unmarshal(body, &lists)
	c := out.Counts
	fmt.Fprintf(stdout, "reconciled office %s, %s to %s: statement %s (%d rows) against ledger position %d; recorded as event %s at position %d\n",
		r.Office, r.From, r.To, out.FileSHA256, c["statement_rows"], out.LedgerPosition, out.Event.ID, out.Event.Position)
	fmt.Fprintf(stdout, "matched %d, amount differences %d, date differences %d, Treasury only %d, ledger only %d\n",
		c["matched"], c["amount_differences"], c["date_differences"], c["treasury_only"], c["ledger_only"])
	for _, name := range []string{"amount_differences", "date_differences", "treasury_only", "ledger_only"} {
		var items []struct {
			Type, Number string
			Treasury     *struct {
				Row    int
				Date   ledger.Date
				Amount int64
			}
			Ledger *struct {
				EventType string `json:"event_type"`
				Date      ledger.Date
				Amount    int64
			}
			Difference *int64 `json:"amount_difference"`
		}
		_ = json.Unmarshal(lists[name], &items)
		for _, it := range items {
			line := fmt.Sprintf("%-18s %s %s", strings.ReplaceAll(name, "_", " "), it.Type, it.Number)
			if t := it.Treasury; t != nil {
				line += fmt.Sprintf("  Treasury %s on %s (row %d)", report.FormatDong(t.Amount, report.LangEN), t.Date, t.Row)
			}
			if l := it.Ledger; l != nil {
				line += fmt.Sprintf("  ledger %s on %s (%s)", report.FormatDong(l.Amount, report.LangEN), l.Date, l.EventType)
			}
			if it.Difference != nil {
				line += "  difference " + report.FormatDong(*it.Difference, report.LangEN)
			}
			fmt.Fprintln(stdout, line)
		}
	}
	if r.XLSX != "" {
		// The same key: the server answers the reconciliation just recorded, as XLSX.
		wb, err := postStatement(ctx, hc, r, key, data, "xlsx")
		if err != nil {
			return err
		}
		if err := os.WriteFile(r.XLSX, wb, 0o644); err != nil {
			return fmt.Errorf("reconcile: %w", err)
		}
		fmt.Fprintf(stdout, "report written to %s\n", r.XLSX)
	}
	return nil
}

// postStatement uploads the statement and returns the answer's body, or the server's
// problem as an error.
func postStatement(ctx context.Context, hc *http.Client, r *ReconcileConfig, key string, data []byte, format string) ([]byte, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range [][2]string{{"office", r.Office}, {"from", r.From}, {"to", r.To}, {"note", r.Note}, {"format", format}, {"lang", r.Lang}} {
		if f[1] != "" {
			_ = mw.WriteField(f[0], f[1])
		}
	}
	fw, _ := mw.CreateFormFile("statement", "statement")
	_, _ = fw.Write(data)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(r.URL, "/")+"/v1/reconciliations", &body)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+r.Token)
	req.Header.Set("Idempotency-Key", key)
	res, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w (run it again: the Idempotency-Key records it once)", err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	if res.StatusCode != http.StatusCreated {
		var p struct{ Code, Field, Detail string }
		if json.Unmarshal(b, &p) == nil && p.Code != "" {
			return nil, fmt.Errorf("reconcile: refused (%d %s): %s: %s", res.StatusCode, p.Code, p.Field, p.Detail)
		}
		return nil, errors.New("reconcile: refused: " + res.Status)
	}
	return b, nil
}
