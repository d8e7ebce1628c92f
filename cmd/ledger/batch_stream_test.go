package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/api"
	"github.com/vnntp/ledger/internal/testenv"
)

// streamLines returns n disbursement command lines over lines, numbered from "tag-0".
func streamLines(lines []map[string]any, n int, tag string) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf(`{"type":"disbursement","line":{"program":"GNBV","year":2024,"source":"NSTW-DTPT","project":"DA1","unit":%q},"amount":1000,"kind":"payment","effective_date":"2024-03-01","payee":"Nhà thầu","voucher":{"office":"KB01","type":"C2-02a","number":"%s-%d","date":"2024-03-01"}}`,
			lines[i%len(lines)]["unit"], tag, i)
	}
	return out
}

// postJSONLines posts body as a JSON Lines batch and returns the status and answer lines.
func postJSONLines(t *testing.T, ctx context.Context, base, key string, body io.Reader) (int, []map[string]any, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/batch", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", api.MIMEJSONLines)
	req.Header.Set("Authorization", authFor(base))
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("answer line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return resp.StatusCode, out, sc.Err()
}

// TestBatchStream posts JSON Lines to POST /v1/batch on the real server: chunks of
// api.StreamChunkCommands are recorded atomically and answered one line each; a stream
// cut by the client after its first chunk, then sent again whole under the same key,
// records every command once; a refused line is named by its number (with nothing
// stored when it is in the first chunk, and the chunks before it kept otherwise).
func TestBatchStream(t *testing.T) {
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL)
	lines := setupLines(t, s.url, 2, 1_000_000_000)
	const n = 2*api.StreamChunkCommands + 500
	cmds := streamLines(lines, n, "st")
	body := strings.Join(cmds, "\n") + "\n"
	before := headOf(t, s.url)

	// A client that dies after its first chunk was recorded.
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		_, _ = io.WriteString(pw, strings.Join(cmds[:api.StreamChunkCommands+10], "\n")+"\n")
		// Wait for the first chunk to be recorded, then cut the connection.
		for deadline := time.Now().Add(30 * time.Second); headOf(t, s.url) < before+api.StreamChunkCommands && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		pw.CloseWithError(context.Canceled)
	}()
	_, _, _ = postJSONLines(t, ctx, s.url, "stream-1", pr)
	if got := headOf(t, s.url); got != before+api.StreamChunkCommands {
		t.Fatalf("head %d after a stream cut after its first chunk; want %d", got, before+api.StreamChunkCommands)
	}

	// The whole stream again under the same key: chunk 0 is a replay, the rest is new.
	status, answer, err := postJSONLines(t, context.Background(), s.url, "stream-1", strings.NewReader(body))
	if err != nil || status != http.StatusOK || len(answer) != 4 {
		t.Fatalf("retried stream: %d %v %v", status, answer, err)
	}
	if answer[0]["replayed"] != true || answer[1]["replayed"] != false || answer[2]["last_line"] != float64(n) ||
		answer[3]["done"] != true || answer[3]["commands"] != float64(n) {
		t.Fatalf("retried stream answer: %v", answer)
	}
	if answer[0]["first"] != float64(before+1) || answer[2]["last"] != float64(before+n) {
		t.Fatalf("positions: %v; want %d..%d", answer, before+1, before+n)
	}
	if got := headOf(t, s.url); got != before+n {
		t.Fatalf("head %d after the retried stream; want %d", got, before+n)
	}
	// And again: everything is a replay.
	if _, answer, _ := postJSONLines(t, context.Background(), s.url, "stream-1", strings.NewReader(body)); len(answer) != 4 || answer[2]["replayed"] != true {
		t.Fatalf("third send: %v", answer)
	}
	if got := headOf(t, s.url); got != before+n {
		t.Fatalf("head %d after sending the stream a third time; want %d", got, before+n)
	}
	// The same key with other commands is a conflict, not a second recording.
	other := streamLines(lines, 3, "other")
	if status, answer, _ := postJSONLines(t, context.Background(), s.url, "stream-1", strings.NewReader(strings.Join(other, "\n"))); status != http.StatusConflict {
		t.Fatalf("same key, other commands: %d %v", status, answer)
	}

	// Bad input in the first chunk: a problem naming the line, nothing stored.
	bad := streamLines(lines, 5, "bad")
	bad[3] = strings.Replace(bad[3], `"amount":1000`, `"amount":-1`, 1)
	status, answer, _ = postJSONLines(t, context.Background(), s.url, "", strings.NewReader(strings.Join(bad, "\n")))
	if status != http.StatusBadRequest || len(answer) != 1 || answer[0]["stream_line"] != float64(4) || answer[0]["field"] != "amount" {
		t.Fatalf("a negative amount on line 4: %d %v", status, answer)
	}
	bad[3] = `{"type":"disbursement",`
	status, answer, _ = postJSONLines(t, context.Background(), s.url, "", strings.NewReader(strings.Join(bad, "\n")))
	if status != http.StatusBadRequest || answer[0]["stream_line"] != float64(4) {
		t.Fatalf("a cut line 4: %d %v", status, answer)
	}
	// Refused by the ledger (not enough funds) in the second chunk: the first stays.
	big := streamLines(lines, api.StreamChunkCommands+5, "big")
	big[api.StreamChunkCommands+2] = strings.Replace(big[api.StreamChunkCommands+2], `"amount":1000`, `"amount":999000000000`, 1)
	h := headOf(t, s.url)
	status, answer, _ = postJSONLines(t, context.Background(), s.url, "big-1", strings.NewReader(strings.Join(big, "\n")))
	if status != http.StatusOK || len(answer) != 2 || answer[1]["chunk"] != float64(1) {
		t.Fatalf("refused second chunk: %d %v", status, answer)
	}
	p, _ := answer[1]["error"].(map[string]any)
	if p["stream_line"] != float64(api.StreamChunkCommands+3) || p["code"] != "insufficient_funds" || p["field"] != "line" {
		t.Fatalf("refusal of line %d: %v", api.StreamChunkCommands+3, p)
	}
	if got := headOf(t, s.url); got != h+api.StreamChunkCommands {
		t.Fatalf("head %d; want the first chunk recorded: %d", got, h+api.StreamChunkCommands)
	}
	if status, _, _ := postJSONLines(t, context.Background(), s.url, "", strings.NewReader("\n\n")); status != http.StatusBadRequest {
		t.Fatalf("an empty stream: %d", status)
	}
}

// TestImportCommands streams a JSON Lines file of disbursements through the batch API
// with `ledger import --commands`, runs the same file again (every chunk answers as a
// replay: nothing is stored twice), and shows a refused line named by its number; the
// file fixed and run again records only what was missing.
func TestImportCommands(t *testing.T) {
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL)
	lines := setupLines(t, s.url, 2, 1_000_000_000)
	tok, _ := baseOfficers.Load(s.url)
	const n = 2500
	file := strings.Join(streamLines(lines, n, "imp"), "\n") + "\n"
	path := filepath.Join(t.TempDir(), "commands.jsonl")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	importFile := func(p string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"import", "--commands", p, "--url", s.url, "--token", tok.(string)}, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	before := headOf(t, s.url)
	if out, _, err := importFile(path); err != nil || !strings.Contains(out, "recorded 2500 commands; 0 were already") {
		t.Fatalf("import: %q %v", out, err)
	}
	if got := headOf(t, s.url); got != before+n {
		t.Fatalf("head %d after importing %d commands from %d", got, n, before)
	}
	if out, _, err := importFile(path); err != nil || !strings.Contains(out, "recorded 0 commands; 2500 were already") {
		t.Fatalf("second import of the same file: %q %v", out, err)
	}
	if got := headOf(t, s.url); got != before+n {
		t.Fatalf("head %d after importing the same file twice; want %d", got, before+n)
	}

	// A new file whose line 1503 is refused: lines 1–1000 are recorded, the error names
	// the line; fixed and run again, the first chunk replays and the rest is recorded.
	cmds := streamLines(lines, n, "fix")
	good := cmds[1502]
	cmds[1502] = strings.Replace(good, `"amount":1000`, `"amount":-5`, 1)
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(bad, []byte(strings.Join(cmds, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	h := headOf(t, s.url)
	if _, _, err := importFile(bad); err == nil || !strings.Contains(err.Error(), "line 1503") || !strings.Contains(err.Error(), "amount") {
		t.Fatalf("a negative amount on line 1503: %v; want the line and the field named", err)
	}
	if got := headOf(t, s.url); got != h+1000 {
		t.Fatalf("head %d after a refusal on line 1503; want the first chunk: %d", got, h+1000)
	}
	cmds[1502] = good
	if err := os.WriteFile(bad, []byte(strings.Join(cmds, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, progress, err := importFile(bad)
	if err != nil || !strings.Contains(out, "recorded 1500 commands; 1000 were already") {
		t.Fatalf("the fixed file: %q %v", out, err)
	}
	if got := headOf(t, s.url); got != h+n {
		t.Fatalf("head %d after the fixed file; want %d", got, h+n)
	}
	_ = progress
}
