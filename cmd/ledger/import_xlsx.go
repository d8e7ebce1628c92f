package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/vnntp/ledger/report"
)

// submitXLSX reads a disbursement workbook (the template of GET
// /v1/templates/disbursements.xlsx, filled in) and records its rows through the batch
// API as one atomic batch: all or nothing. A malformed row is named by row and column
// before anything is sent; a row the ledger refuses is named by its row. The batch
// carries an Idempotency-Key derived from its content, so running the same workbook
// again records nothing twice.
func submitXLSX(ctx context.Context, cfg *Config, stdout io.Writer) error {
	s := &cfg.Submit
	if s.Token == "" {
		return errors.New("import --xlsx: --token (or LEDGER_TOKEN) is required")
	}
	data, err := os.ReadFile(s.XLSX)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	cmds, rows, err := report.ParseDisbursements(data)
	if err != nil {
		return fmt.Errorf("import: %s: %w (nothing was recorded)", s.XLSX, err)
	}
	if len(cmds) == 0 {
		return fmt.Errorf("import: %s has no disbursement rows", s.XLSX)
	}
	chunk := make([]json.RawMessage, len(cmds))
	for i, c := range cmds {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		chunk[i] = append([]byte(`{"type":"disbursement",`), b[1:]...)
	}
	hc := &http.Client{Timeout: submitHTTPTimeout}
	n, replay, err := postChunk(ctx, hc, s, chunk, 0)
	if err != nil {
		var pe *chunkError
		if errors.As(err, &pe) && pe.index >= 0 && pe.index < len(rows) {
			return fmt.Errorf("import: %s row %d: %w (nothing was recorded)", s.XLSX, rows[pe.index], err)
		}
		return fmt.Errorf("import: %s: %w (nothing was recorded)", s.XLSX, err)
	}
	if replay {
		fmt.Fprintf(stdout, "the %d disbursements of %s were already recorded by an earlier run\n", n, s.XLSX)
		return nil
	}
	fmt.Fprintf(stdout, "recorded %d disbursements from %s\n", n, s.XLSX)
	return nil
}
