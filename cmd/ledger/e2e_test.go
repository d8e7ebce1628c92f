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
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/checker"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
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
	status, out, err := post(base+"/v1/tokens", "", map[string]any{"name": "e2e officer", "role": "officer", "unit": "all"})
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

// outcome is one recorded request of a load (see internal/checker).
type outcome = checker.Request

// newChecker returns a checker client of the server at base, with the tokens post uses,
// and an empty recorder.
func newChecker(base string) (*checker.Client, *checker.Recorder) {
	c := checker.NewClient(base, client, nil)
	c.Auth = func(path string) string { return authFor(c.Base() + path) }
	return c, &checker.Recorder{}
}

// linesOf converts setupLines' lines to ledger lines.
func linesOf(lines []map[string]any) []ledger.Line {
	out := make([]ledger.Line, len(lines))
	for i, l := range lines {
		out[i] = ledger.Line{Program: l["program"].(string), Year: l["year"].(int), Source: l["source"].(string),
			Project: l["project"].(string), Unit: l["unit"].(string)}
	}
	return out
}

// load runs clients that each disburse 1,000 đồng at a time with an Idempotency-Key, until
// stop is closed or the server stops answering; it returns every request with its outcome.
func load(base string, lines []map[string]any, clients int, prefix string, stop <-chan struct{}) []*outcome {
	c, rec := newChecker(base)
	checker.Load(context.Background(), rec, c, checker.LoadConfig{Lines: linesOf(lines), Clients: clients, Prefix: prefix,
		Stop: stop, QuitOnError: true})
	return rec.Requests()
}

// mustCheck runs the checker over the store and, when c is not nil, the live server; it
// fails the test on any finding and returns the report.
func mustCheck(t *testing.T, dbURL string, c *checker.Client, rec *checker.Recorder) *checker.Report {
	t.Helper()
	rep, err := checker.CheckAll(context.Background(), dbURL, c, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Error(err)
	}
	t.Log(rep)
	return rep
}

func TestConcurrentWritersLeaveGaplessChain(t *testing.T) {
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL)
	lines := setupLines(t, s.url, 8, 1_000_000_000_000)
	c, rec := newChecker(s.url)
	stop := make(chan struct{})
	time.AfterFunc(concurrentLoadDuration, func() { close(stop) })
	checker.Load(context.Background(), rec, c, checker.LoadConfig{Lines: linesOf(lines), Clients: 64, Prefix: "c", Stop: stop})
	rep := mustCheck(t, dbURL, c, rec)
	if rep.Unknown != 0 || rep.Failed != 0 {
		t.Errorf("with no fault every request is acknowledged: %s", rep)
	}
	if want := int64(4 + 8 + 8); rep.Keyless != want { // catalog, units, allocations
		t.Errorf("%d events without key, want the %d of the set-up", rep.Keyless, want)
	}
	t.Logf("64 clients, %s: %d acknowledged disbursements, %.0f/s", concurrentLoadDuration, rep.Acked, float64(rep.Acked)/concurrentLoadDuration.Seconds())
}

func TestKillDuringLoadLosesNothing(t *testing.T) {
	killDuringLoad(t, killCycles)
}

// killDuringLoad kills the server with SIGKILL at a varied moment under load, cycles
// times, restarts it and retries every request whose outcome is unknown with its key;
// then the checker must find every request stored exactly once and the restarted
// server's projections equal to a rebuild.
func killDuringLoad(t *testing.T, cycles int) {
	dbURL := testenv.DB(t)
	s := startServer(t, dbURL)
	c, rec := newChecker(s.url)
	ctx := context.Background()
	lines, err := checker.Setup(ctx, rec, c, "setup", 4, 1_000_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var recovery []time.Duration
	for cycle := range cycles {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			checker.Load(ctx, rec, c, checker.LoadConfig{Lines: lines, Clients: 16, Prefix: fmt.Sprintf("k%d", cycle), Stop: stop, QuitOnError: true})
			close(done)
		}()
		time.Sleep(time.Duration(300+(cycle%7)*170) * time.Millisecond) // a varied moment under load
		s.kill(t)
		close(stop)
		<-done
		t0 := time.Now()
		s = startServer(t, dbURL)
		recovery = append(recovery, time.Since(t0))
		c.SetBase(s.url)
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := rec.RetryUnknown(rctx, c)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	rep := mustCheck(t, dbURL, c, rec)
	if rep.Unknown != 0 || rep.Failed != 0 || rep.Keyless != 0 {
		t.Errorf("after retries every request is acknowledged: %s", rep)
	}
	slices.Sort(recovery)
	t.Logf("%d kill cycles: restart to serving p50 %s, max %s", cycles, recovery[len(recovery)/2].Round(time.Millisecond),
		recovery[len(recovery)-1].Round(time.Millisecond))
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
	// 6 events of setupLines and the access.token_created of its officer token.
	if head.Position != 7 {
		t.Errorf("standby head %d, want 7 (what the primary committed)", head.Position)
	}
}
