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

	"github.com/vnntp/ledger/api"
)

// Bounds of `ledger import --commands`.
const (
	submitRetries     = 8 // attempts of one stream or batch on 503 or a lost connection
	submitRetryDelay  = 500 * time.Millisecond
	submitHTTPTimeout = 2 * time.Minute // a whole batch (xlsx), or the wait for one chunk's answer
)

// SubmitConfig holds the flags of `ledger import --commands`: new commands from a JSON
// Lines file through the batch API of a running server.
type SubmitConfig struct {
	Commands string // JSONL file of batch commands ({"type": "disbursement", ...} per line)
	XLSX     string // a disbursement workbook (import_xlsx.go)
	URL      string // the server's base URL
	Token    string // an officer token
	Key      string // the stream's Idempotency-Key; "" derives it from the file's first command
}

func (s *SubmitConfig) register(fs *flag.FlagSet, c *Config, cmd string) {
	if cmd != "import" {
		return
	}
	c.str(fs, &s.Commands, "commands", "LEDGER_IMPORT_COMMANDS", "", "JSON Lines of new commands (one POST /v1/batch command per line, any number of lines) to stream to --url, instead of restoring an export")
	c.str(fs, &s.XLSX, "xlsx", "LEDGER_IMPORT_XLSX", "", "a disbursement workbook (the template of GET /v1/templates/disbursements.xlsx, filled in) to submit to --url as one atomic batch")
	c.str(fs, &s.URL, "url", "LEDGER_URL", "http://"+defaultHTTPAddr, "base URL of the server that takes the commands")
	c.str(fs, &s.Token, "token", "LEDGER_TOKEN", "", "bearer token (an officer's) for --commands")
	c.str(fs, &s.Key, "key", "LEDGER_IMPORT_KEY", "", "Idempotency-Key of the --commands stream (default: derived from the file's first command, so running a fixed file again replays what is recorded)")
}

// submitCommands streams the file s.Commands to POST /v1/batch as JSON Lines. The server
// records it in atomic chunks of api.StreamChunkCommands, each under the stream's key
// and its index, and answers a line per chunk, which moves the progress bar. A lost
// connection or a 503 sends the whole stream again under the same key: the chunks
// already recorded answer as replays, so every command is recorded exactly once. The
// default key comes from the file's first command, so the same file run again after a
// crash, or after fixing a refused line, records only what is missing.
func submitCommands(ctx context.Context, cfg *Config, stdout io.Writer) error {
	s := &cfg.Submit
	if s.Token == "" {
		return errors.New("import --commands: --token (or LEDGER_TOKEN) is required")
	}
	f, err := os.Open(s.Commands)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	lines, key, err := scanCommandsFile(f)
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if s.Key != "" {
		key = s.Key
	}
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: submitHTTPTimeout}}
	bar := newProgress(cfg.Audit.stderr(), "import (lines)")
	chunks := map[int]api.StreamChunkAnswer{} // by chunk index, as first answered
	for attempt := 1; ; attempt++ {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		done, err := postStream(ctx, hc, s, key, f, func(c api.StreamChunkAnswer) {
			if _, ok := chunks[c.Chunk]; !ok {
				chunks[c.Chunk] = c
			}
			bar.update(int64(c.LastLine), int64(lines))
		})
		var ce *chunkError
		if done || errors.As(err, &ce) && ce.status != http.StatusServiceUnavailable {
			bar.end()
			if err != nil {
				return fmt.Errorf("import: %w (the lines before it are recorded; fix the line and run again: the key %s replays them)", err, key)
			}
			break
		}
		if attempt == submitRetries || ctx.Err() != nil {
			bar.end()
			return fmt.Errorf("import: after %d attempts: %w (run again to record the rest: the key %s replays what is recorded)", attempt, err, key)
		}
		select {
		case <-time.After(submitRetryDelay * time.Duration(attempt)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var recorded, replayed int64
	for _, c := range chunks {
		if c.Replayed {
			replayed += c.Last - c.First + 1
		} else {
			recorded += c.Last - c.First + 1
		}
	}
	fmt.Fprintf(stdout, "recorded %d commands; %d were already recorded by an earlier run\n", recorded, replayed)
	return nil
}

// scanCommandsFile reads the file once: it counts its lines (for the progress bar),
// checks that every non-blank line is JSON (naming the first that is not) and derives the
// default key from the first command.
func scanCommandsFile(f io.Reader) (lines int, key string, err error) {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), api.StreamLineMaxBytes)
	for sc.Scan() {
		lines++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !json.Valid(b) {
			return 0, "", fmt.Errorf("line %d is not JSON", lines)
		}
		if key == "" {
			sum := sha256.Sum256(b)
			key = "import-" + hex.EncodeToString(sum[:])[:40]
		}
	}
	if err := sc.Err(); err != nil {
		return 0, "", fmt.Errorf("line %d: %w", lines+1, err)
	}
	if key == "" {
		return 0, "", errors.New("the file holds no command")
	}
	return lines, key, nil
}

// postStream sends body as one JSON Lines batch and reads the answer lines, calling
// chunk for each recorded chunk. done is true when the server answered the end of the
// stream; a refusal is a *chunkError naming the stream line.
func postStream(ctx context.Context, hc *http.Client, s *SubmitConfig, key string, body io.Reader, chunk func(api.StreamChunkAnswer)) (done bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/v1/batch", io.NopCloser(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return false, problemOf(resp.StatusCode, out)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 4<<10), 1<<20)
	for sc.Scan() {
		var a struct {
			api.StreamChunkAnswer
			Done  bool            `json:"done"`
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			return false, fmt.Errorf("read the answer: %w", err)
		}
		switch {
		case a.Error != nil:
			var p struct {
				Status int `json:"status"`
			}
			_ = json.Unmarshal(a.Error, &p)
			return false, problemOf(p.Status, a.Error)
		case a.Done:
			return true, nil
		default:
			chunk(a.StreamChunkAnswer)
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("read the answer: %w", err)
	}
	return false, errors.New("the answer ended before the end of the stream")
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
		Detail     string `json:"detail"`
		Field      string `json:"field"`
		StreamLine int    `json:"stream_line"`
	}
	_ = json.Unmarshal(body, &p)
	e := &chunkError{index: -1, status: status, detail: p.Detail}
	if p.Field != "" {
		e.detail = p.Field + ": " + p.Detail
	}
	if p.StreamLine > 0 {
		// The detail already begins with "line N: ".
		e.detail = p.Detail
		if p.Field != "" {
			e.detail += " (" + p.Field + ")"
		}
	}
	var i int
	if _, err := fmt.Sscanf(p.Field, "commands[%d]", &i); err == nil {
		e.index = i
	}
	return e
}
