package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/testenv"
)

// TestReplicaFollowsTheWriter runs a writer whose embedded NATS listens on loopback and a
// `serve --replica` following it: the replica converges to the writer's head and answers
// reads with the same bytes at the same position; it refuses writes.
func TestReplicaFollowsTheWriter(t *testing.T) {
	dbURL := testenv.DB(t)
	natsAddr := freeAddr(t)
	writer := startServer(t, dbURL, "--nats-listen", natsAddr)
	lines := setupLines(t, writer.url, 2, 1_000_000_000)
	replica := startServer(t, dbURL, "--replica", "--nats-url", "nats://"+natsAddr, "--replica-name", "r1")

	// Writes after the replica started reach it through the stream.
	stop := make(chan struct{})
	time.AfterFunc(replicaLoad, func() { close(stop) })
	load(writer.url, lines, 4, "r", stop)

	want := get(t, writer.url+"/v1/head")
	waitFor(t, replicaConverge, func() bool { return get(t, replica.url+"/v1/head") == want })
	for _, path := range []string{"/v1/lines?limit=1000", "/v1/catalog/units", "/v1/events?after=5&limit=50",
		"/v1/progress?group_by=district,project&as_of=2024-06-30", "/v1/progress?group_by=district&at=10"} {
		if w, r := get(t, writer.url+path), get(t, replica.url+path); w != r {
			t.Errorf("GET %s differs:\nwriter  %s\nreplica %s", path, w, r)
		}
	}
	status, out, err := post(replica.url+"/v1/allocations", "", map[string]any{"line": lines[0], "amount": 1,
		"effective_date": "2024-01-15", "decision": "QĐ-r"})
	if err != nil || status != http.StatusServiceUnavailable {
		t.Errorf("a write to the replica answered %d %v %v; want 503", status, out, err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := getAuth(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached within %s", d)
		}
		time.Sleep(pollInterval)
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprintf("127.0.0.1:%d", ln.Addr().(*net.TCPAddr).Port)
}
