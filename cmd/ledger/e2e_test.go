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
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/pgstore"
)

// These end-to-end tests run the real binary against a real PostgreSQL: the process is
// killed with SIGKILL, so it must be a separate process.

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ledger-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ledger")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build ledger: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running `ledger serve` process.
type server struct {
	cmd *exec.Cmd
	url string
	log *bytes.Buffer
}

// startServer starts `ledger serve` on a free port and waits until it is ready.
func startServer(t *testing.T, dbURL string, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"serve", "--http-addr", "127.0.0.1:0", "--database-url", dbURL,
		"--data-dir", t.TempDir(), "--bootstrap-token", e2eAdminToken, "--rate-limit", "-1"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, log: &bytes.Buffer{}}
	cmd.Stderr = &lockedWriter{w: s.log}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 5 && f[0] == "ledger" && f[1] == "replica" && f[2] == "serving" {
				urls <- f[4]
			} else if len(f) >= 4 && f[0] == "ledger" && f[1] == "serving" {
				urls <- f[3]
			}
		}
	}()
	select {
	case s.url = <-urls:
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not start; log:\n%s", s.log)
	}
	if !slices.Contains(args, "--bootstrap-token") { // a caller with its own admin token makes its own officers
		ensureOfficer(t, dbURL, s.url)
	}
	return s
}

// e2eAdminToken is the bootstrap (admin) token of the servers these tests start.
const e2eAdminToken = "e2e-admin-token-0123456789"

// dbOfficers holds the officer token created in each test database (dbURL → token), and
// baseOfficers the one each running server accepts (base URL → token): post sends it for
// money writes, which admins may not make.
var dbOfficers, baseOfficers sync.Map

// ensureOfficer creates an unscoped officer token in dbURL's database once, through the
// API of the server at base, and records it for base.
func ensureOfficer(t *testing.T, dbURL, base string) {
	t.Helper()
	if tok, ok := dbOfficers.Load(dbURL); ok {
		baseOfficers.Store(base, tok)
		return
	}
	status, out, err := post(base+"/v1/tokens", "", map[string]any{"name": "e2e officer", "role": "officer"})
	tok, _ := out["token"].(string)
	if err != nil || status != http.StatusCreated || tok == "" {
		t.Fatalf("create the officer token: %d %v %v", status, out, err)
	}
	dbOfficers.Store(dbURL, tok)
	baseOfficers.Store(base, tok)
}

// getAuth sends a GET with the admin token, which reads everything.
func getAuth(url string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
	return client.Do(req)
}

// authFor is the Authorization of a request to url: the admin token for reference data,
// tokens and reads, the officer token of the server for money writes.
func authFor(url string) string {
	base, rest, _ := strings.Cut(url, "/v1/")
	if strings.HasPrefix(rest, "catalog/") || strings.HasPrefix(rest, "tokens") {
		return "Bearer " + e2eAdminToken
	}
	if tok, ok := baseOfficers.Load(base); ok {
		return "Bearer " + tok.(string)
	}
	return "Bearer " + e2eAdminToken
}

func (s *server) kill(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(os.Kill)
	_ = s.cmd.Wait()
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

var client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// post sends a JSON body and returns the status and decoded body.
func post(url, key string, body any) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", authFor(url))
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, nil
}

func mustPost(t *testing.T, url string, body any) map[string]any {
	t.Helper()
	status, out, err := post(url, "", body)
	if err != nil || status != http.StatusCreated {
		t.Fatalf("POST %s: %d %v %v", url, status, out, err)
	}
	return out
}

// setupLines registers a minimal catalog and allocates n lines of one district.
func setupLines(t *testing.T, base string, n int, amount int64) []map[string]any {
	t.Helper()
	mustPost(t, base+"/v1/catalog/programs", map[string]any{"code": "GNBV", "name": "Giảm nghèo bền vững"})
	mustPost(t, base+"/v1/catalog/projects", map[string]any{"program": "GNBV", "code": "DA1", "name": "Dự án 1"})
	mustPost(t, base+"/v1/catalog/sources", map[string]any{"code": "NSTW-DTPT", "name": "NSTW đầu tư", "budget": "central", "nature": "investment"})
	mustPost(t, base+"/v1/catalog/units", map[string]any{"code": "06", "name": "Bắc Kạn", "level": "province"})
	var lines []map[string]any
	for i := range n {
		code := fmt.Sprintf("%03d", 100+i)
		mustPost(t, base+"/v1/catalog/units", map[string]any{"code": code, "name": "Huyện " + code, "level": "district", "parent": "06"})
		line := map[string]any{"program": "GNBV", "year": 2024, "source": "NSTW-DTPT", "project": "DA1", "unit": code}
		mustPost(t, base+"/v1/allocations", map[string]any{"line": line, "amount": amount, "effective_date": "2024-01-15", "decision": "QĐ-" + code})
		lines = append(lines, line)
	}
	return lines
}

// outcome of one load request, as the checker sees it.
type outcome struct {
	key   string
	body  map[string]any
	acked string // event id when acknowledged
}

// load runs clients that each disburse 1,000 đồng at a time with an Idempotency-Key, until
// stop is closed; it returns every request with its outcome (acked or unknown).
func load(base string, lines []map[string]any, clients int, prefix string, stop <-chan struct{}) []*outcome {
	var mu sync.Mutex
	var all []*outcome
	var wg sync.WaitGroup
	var seq atomic.Int64
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				o := &outcome{key: fmt.Sprintf("%s-%d-%d", prefix, c, i), body: map[string]any{
					"line": lines[c%len(lines)], "amount": 1000, "kind": "payment", "effective_date": "2024-03-01",
					"payee": "Nhà thầu", "voucher": map[string]any{"office": "KB01", "type": "C2-02a",
						"number": fmt.Sprintf("%s-%d", prefix, n), "date": "2024-03-01"}}}
				mu.Lock()
				all = append(all, o)
				mu.Unlock()
				status, out, err := post(base+"/v1/disbursements", o.key, o.body)
				if err == nil && status == http.StatusCreated {
					o.acked, _ = out["id"].(string)
				} else if err != nil {
					return // the server is gone; the request's outcome is unknown
				}
			}
		}()
	}
	wg.Wait()
	return all
}

// checkStore reads the whole store and checks positions 1..N, the hash chain, and that
// every acknowledged event is stored exactly once; it returns the events by id.
func checkStore(t *testing.T, dbURL string, outcomes []*outcome) map[string]*ledger.Event {
	t.Helper()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	byID := map[string]*ledger.Event{}
	byKey := map[string]int{}
	var prev [32]byte
	var pos int64
	var buf []byte
	err = st.ReadFrom(ctx, 0, func(e *ledger.Event) error {
		pos++
		if e.Position != pos {
			return fmt.Errorf("position %d where %d was expected (gap)", e.Position, pos)
		}
		if e.PrevHash != prev {
			return fmt.Errorf("position %d: prev_hash does not link", e.Position)
		}
		var h [32]byte
		h, buf = ledger.ChainHash(buf, prev, e)
		if h != e.Hash {
			return fmt.Errorf("position %d: hash mismatch", e.Position)
		}
		prev = e.Hash
		byID[e.ID.String()] = e
		if k := e.Meta.IdempotencyKey; k != "" {
			byKey[k]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, n := range byKey {
		if n > 1 {
			t.Errorf("idempotency key %s stored %d times", k, n)
		}
	}
	lost := 0
	for _, o := range outcomes {
		if o.acked != "" && byID[o.acked] == nil {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged events are missing from the store", lost)
	}
	return byID
}

func TestConcurrentWritersLeaveGaplessChain(t *testing.T) {
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL)
	lines := setupLines(t, s.url, 8, 1_000_000_000_000)
	stop := make(chan struct{})
	time.AfterFunc(concurrentLoadDuration, func() { close(stop) })
	outcomes := load(s.url, lines, 64, "c", stop)
	acked := 0
	for _, o := range outcomes {
		if o.acked != "" {
			acked++
		}
	}
	byID := checkStore(t, dbURL, outcomes)
	want := acked + 4 + 8 + 8 // catalog, units, allocations
	if len(byID) != want {
		t.Errorf("store holds %d events, want %d (acknowledged %d of %d requests)", len(byID), want, acked, len(outcomes))
	}
	t.Logf("64 clients, %s: %d acknowledged disbursements, %.0f/s", concurrentLoadDuration, acked, float64(acked)/concurrentLoadDuration.Seconds())
}

func TestKillDuringLoadLosesNothing(t *testing.T) {
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL)
	lines := setupLines(t, s.url, 4, 1_000_000_000_000)
	var all []*outcome
	for cycle := range killCycles {
		stop := make(chan struct{})
		done := make(chan []*outcome)
		go func() { done <- load(s.url, lines, 16, fmt.Sprintf("k%d", cycle), stop) }()
		time.Sleep(time.Duration(300+cycle*170) * time.Millisecond) // a varied moment under load
		s.kill(t)
		close(stop)
		all = append(all, <-done...)
		s = startServer(t, dbURL)
		// Retry every request whose outcome the client does not know, with its key.
		for _, o := range all {
			if o.acked != "" {
				continue
			}
			status, out, err := post(s.url+"/v1/disbursements", o.key, o.body)
			if err != nil || status != http.StatusCreated {
				t.Fatalf("retry %s: %d %v %v", o.key, status, out, err)
			}
			o.acked, _ = out["id"].(string)
		}
	}
	byID := checkStore(t, dbURL, all)
	if want := len(all) + 4 + 4 + 4; len(byID) != want {
		t.Errorf("store holds %d events, want %d: every request exactly once", len(byID), want)
	}
	checkLiveEqualsRebuild(t, s.url, dbURL)
}

// checkLiveEqualsRebuild compares the server's line balances with a fold of the store.
func checkLiveEqualsRebuild(t *testing.T, base, dbURL string) {
	t.Helper()
	ctx := context.Background()
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rebuilt ledger.State
	if err := st.ReadFrom(ctx, 0, func(e *ledger.Event) error { rebuilt.Apply(e); return nil }); err != nil {
		t.Fatal(err)
	}
	resp, err := getAuth(base + "/v1/lines?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Lines []struct {
			ID        string `json:"id"`
			Available int64  `json:"available"`
			Disbursed int64  `json:"disbursed"`
		} `json:"lines"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Lines) != rebuilt.LineCount() {
		t.Fatalf("server shows %d lines, rebuild has %d", len(got.Lines), rebuilt.LineCount())
	}
	for _, l := range got.Lines {
		line, err := ledger.ParseLineID(l.ID)
		if err != nil {
			t.Fatal(err)
		}
		b := rebuilt.Line(line)
		if b == nil || b.Available() != l.Available || b.Disbursed != l.Disbursed {
			t.Errorf("line %s: server available %d disbursed %d, rebuild %+v", l.ID, l.Available, l.Disbursed, b)
		}
	}
}

// TestStandbyTakesOverAfterKill starts two servers on one database: the second waits for
// the writer lock and serves only once the first is gone.
func TestStandbyTakesOverAfterKill(t *testing.T) {
	dbURL := testenv.DB(t)
	primary := startServer(t, dbURL)
	setupLines(t, primary.url, 1, 1_000_000)

	standbyReady := make(chan *server, 1)
	standbyHTTP := freeAddr(t)
	go func() { standbyReady <- startServer(t, dbURL, "--http-addr", standbyHTTP) }()
	select {
	case <-standbyReady:
		t.Fatal("the standby started serving while the primary holds the writer lock")
	case <-time.After(standbyWait):
	}
	// The standby listens already: alive, not ready, writes refused.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/v1/head": 503} {
		resp, err := client.Get("http://" + standbyHTTP + path)
		if err != nil {
			t.Fatalf("standby GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("standby GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	primary.kill(t)
	var standby *server
	select {
	case standby = <-standbyReady:
	case <-time.After(60 * time.Second):
		t.Fatal("the standby did not take over after the primary was killed")
	}
	resp, err := getAuth(standby.url + "/v1/head")
	if err != nil {
		t.Fatal(err)
	}
	var head struct{ Position int64 }
	_ = json.NewDecoder(resp.Body).Decode(&head)
	resp.Body.Close()
	if head.Position != 6 {
		t.Errorf("standby head %d, want 6 (what the primary committed)", head.Position)
	}
}
