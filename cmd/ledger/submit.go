package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Bounds of `ledger import --commands`.
const (
	submitBatchDefault = 1000     // commands per POST /v1/batch
	submitBatchMax     = 10_000   // the API's BatchMaxCommands
	submitLineMax      = 64 << 10 // one command line (the API's single-body limit)
	submitRetries      = 8        // attempts of one chunk on 503 or a lost connection
	submitRetryDelay   = 500 * time.Millisecond
	submitHTTPTimeout  = 2 * time.Minute
)

// SubmitConfig holds the flags of `ledger import --commands`: new commands from a JSON
// Lines file through the batch API of a running server.
type SubmitConfig struct {
	Commands  string // JSONL file of batch commands ({"type": "disbursement", ...} per line)
	XLSX      string // a disbursement workbook (import_xlsx.go)
	URL       string // the server's base URL
	Token     string // an officer token
	BatchSize int
}

func (s *SubmitConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	if cmd != "import" {
		return
	}
	c.str(fs, &s.Commands, "commands", "LEDGER_IMPORT_COMMANDS", "", "JSON Lines of new commands (one POST /v1/batch command per line) to submit to --url, instead of restoring an export")
	c.str(fs, &s.XLSX, "xlsx", "LEDGER_IMPORT_XLSX", "", "a disbursement workbook (the template of GET /v1/templates/disbursements.xlsx, filled in) to submit to --url as one atomic batch")
	c.str(fs, &s.URL, "url", "LEDGER_URL", "http://"+defaultHTTPAddr, "base URL of the server that takes the commands")
	c.str(fs, &s.Token, "token", "LEDGER_TOKEN", "", "bearer token (an officer's) for --commands")
	fs.IntVar(&s.BatchSize, "batch-size", submitBatchDefault, "commands per atomic batch (at most 10000)")
}

// submitCommands sends the commands of s.Commands in atomic batches. Each batch carries
// an Idempotency-Key derived from its bytes and its index, so running the same file
// again — after a crash, a timeout or a refused batch fixed in the file — records every
// command exactly once: batches already recorded answer as replays.
func submitCommands(ctx context.Context, cfg *Config, stdout io.Writer) error {
	s := &cfg.Submit
	if s.Token == "" {
		return errors.New("import --commands: --token (or LEDGER_TOKEN) is required")
	}
	if s.BatchSize < 1 || s.BatchSize > submitBatchMax {
		return fmt.Errorf("import: --batch-size must be 1 to %d", submitBatchMax)
	}
	f, err := os.Open(s.Commands)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	hc := &http.Client{Timeout: submitHTTPTimeout}
	bar := newProgress(cfg.Audit.stderr(), "import")
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), submitLineMax)
	var chunk []json.RawMessage
	var lines []int // the file line of each command of chunk
	var recorded, replayed, line int
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		n, replay, err := postChunk(ctx, hc, s, chunk, recorded+replayed)
		if err != nil {
			var pe *chunkError
			if errors.As(err, &pe) && pe.index >= 0 && pe.index < len(lines) {
				return fmt.Errorf("line %d: %w", lines[pe.index], err)
			}
			return fmt.Errorf("lines %d–%d: %w", lines[0], lines[len(lines)-1], err)
		}
		if replay {
			replayed += n
		} else {
			recorded += n
		}
		bar.update(int64(recorded+replayed), 0)
		chunk, lines = chunk[:0], lines[:0]
		return nil
	}
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !json.Valid(b) {
			return fmt.Errorf("import: line %d is not JSON", line)
		}
		chunk = append(chunk, json.RawMessage(bytes.Clone(b)))
		lines = append(lines, line)
		if len(chunk) == s.BatchSize {
			if err := flush(); err != nil {
				return fmt.Errorf("import: %w (the batches before it are recorded; fix the line and run the same file again)", err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("import: line %d: %w", line+1, err)
	}
	if err := flush(); err != nil {
		return fmt.Errorf("import: %w (the batches before it are recorded; fix the line and run the same file again)", err)
	}
	bar.end()
	fmt.Fprintf(stdout, "recorded %d commands; %d were already recorded by an earlier run\n", recorded, replayed)
	return nil
}

// chunkError is a refused batch: the problem the server answered, and the index of the
// command it names (-1 when none).
type chunkError struct {
	index  int
	status int
	detail string
}

func (e *chunkError) Error() string { return fmt.Sprintf("refused (%d): %s", e.status, e.detail) }

// postChunk posts one atomic batch and returns how many events it recorded and whether
// it was a replay. It retries on 503 and lost connections with the same key.
func postChunk(ctx context.Context, hc *http.Client, s *SubmitConfig, chunk []json.RawMessage, offset int) (int, bool, error) {
	body, err := json.Marshal(map[string]any{"atomic": true, "commands": chunk})
	if err != nil {
		return 0, false, err
	}
	h := sha256.New()
	h.Write([]byte(strconv.Itoa(offset)))
	h.Write(body)
	key := "import-" + hex.EncodeToString(h.Sum(nil))[:40]
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/batch", bytes.NewReader(body))
		if err != nil {
			return 0, false, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("Idempotency-Key", key)
		resp, err := hc.Do(req)
		if err == nil {
			out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusCreated:
				var r struct {
					Events []json.RawMessage `json:"events"`
				}
				if err := json.Unmarshal(out, &r); err != nil {
					return 0, false, fmt.Errorf("read the answer: %w", err)
				}
				return len(r.Events), resp.Header.Get("Idempotent-Replayed") == "true", nil
			case resp.StatusCode != http.StatusServiceUnavailable:
				return 0, false, problemOf(resp.StatusCode, out)
			}
			err = problemOf(resp.StatusCode, out)
		}
		if attempt == submitRetries || ctx.Err() != nil {
			return 0, false, fmt.Errorf("after %d attempts: %w", attempt, err)
		}
		select {
		case <-time.After(submitRetryDelay * time.Duration(attempt)):
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}

// problemOf turns an RFC 9457 answer into a chunkError naming the command index.
func problemOf(status int, body []byte) error {
	var p struct {
		Detail string `json:"detail"`
		Field  string `json:"field"`
	}
	_ = json.Unmarshal(body, &p)
	e := &chunkError{index: -1, status: status, detail: p.Detail}
	if p.Field != "" {
		e.detail = p.Field + ": " + p.Detail
	}
	var i int
	if _, err := fmt.Sscanf(p.Field, "commands[%d]", &i); err == nil {
		e.index = i
	}
	return e
}
