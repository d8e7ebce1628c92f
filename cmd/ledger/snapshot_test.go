package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/checker"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
)

// snapshotKillCycles bounds the kills of TestKillDuringSnapshotRestartsClean: it stops
// earlier once enough of them landed while a snapshot was being taken.
const (
	snapshotKillCycles = 8
	snapshotKillsWant  = 2
)

// TestKillDuringSnapshotRestartsClean takes snapshots every few hundred events under
// load and kills the server with SIGKILL the moment it starts one, then restarts it:
// every request must be stored exactly once, the restarted server's projections equal
// a rebuild (the checker), every stored snapshot equal a replay from the first event,
// and a server started from the newest snapshot answer as one started from scratch.
func TestKillDuringSnapshotRestartsClean(t *testing.T) {
	dbURL := testenv.DB(t)
	args := []string{"--snapshot-every", "300"}
	s := startServer(t, dbURL, args...)
	c, rec := newChecker(s.url)
	ctx := context.Background()
	lines, err := checker.Setup(ctx, rec, c, "setup", 4, 1_000_000_000_000)
	if err != nil {
		t.Fatal(err)
	}
	// killUnderLoad kills the server under load once its log says want, restarts it and
	// retries what is unknown; it reports whether the kill came before "snapshot taken".
	killUnderLoad := func(prefix, want string) bool {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			checker.Load(ctx, rec, c, checker.LoadConfig{Lines: lines, Clients: 8, Prefix: prefix, Stop: stop, QuitOnError: true})
			close(done)
		}()
		log := awaitLog(t, s, want, 60*time.Second)
		s.kill(t)
		close(stop)
		<-done
		before := !strings.Contains(s.log.String()[len(log):], "snapshot taken")
		s = startServer(t, dbURL, args...)
		c.SetBase(s.url)
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := rec.RetryUnknown(rctx, c)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		return before
	}
	landed := 0
	for cycle := 0; cycle < snapshotKillCycles && landed < snapshotKillsWant; cycle++ {
		if killUnderLoad(fmt.Sprintf("s%d", cycle), "taking a snapshot") {
			landed++ // killed before the snapshot was stored
		}
	}
	// Then once a snapshot is stored: the restart loads it.
	killUnderLoad("after", "snapshot taken")
	t.Logf("%d kills landed while a snapshot was being taken", landed)
	if landed == 0 {
		t.Errorf("no kill landed while a snapshot was being taken in %d cycles", snapshotKillCycles)
	}
	rep := mustCheck(t, dbURL, c, rec)
	if rep.Unknown != 0 || rep.Failed != 0 {
		t.Errorf("after retries every request is acknowledged: %s", rep)
	}
	if !strings.Contains(s.log.String(), "snapshot loaded") {
		t.Errorf("the last restart did not load a snapshot; log:\n%s", s.log)
	}
	reads := readAll(t, s.url, lines)
	s.kill(t)

	var out bytes.Buffer
	if err := run(ctx, []string{"snapshot", "verify", "--database-url", dbURL}, &out, io.Discard); err != nil {
		t.Fatalf("snapshot verify: %v\n%s", err, out.String())
	}
	if strings.Count(out.String(), ": ok (") == 0 {
		t.Fatalf("snapshot verify checked nothing:\n%s", out.String())
	}
	scratch := startServer(t, dbURL, "--from-scratch")
	if strings.Contains(scratch.log.String(), "snapshot loaded") {
		t.Error("--from-scratch loaded a snapshot")
	}
	if got := readAll(t, scratch.url, lines); got != reads {
		t.Errorf("a server started from scratch answers otherwise than one started from a snapshot:\nfrom scratch:  %s\nfrom snapshot: %s", got, reads)
	}
}

// awaitLog waits until the server's log holds want after what it held on entry, and
// returns the log up to and including it.
func awaitLog(t *testing.T, s *server, want string, limit time.Duration) string {
	t.Helper()
	from := len(s.log.String())
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if l := s.log.String(); len(l) > from {
			if i := strings.Index(l[from:], want); i >= 0 {
				return l[:from+i+len(want)]
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("the server did not log %q in %s; log:\n%s", want, limit, s.log)
	return ""
}

// readAll returns what the server at base answers to the reads of every line, the lines
// list at the head and at a past position, and a progress report.
func readAll(t *testing.T, base string, lines []ledger.Line) string {
	t.Helper()
	var b strings.Builder
	paths := []string{"/v1/lines?limit=100", "/v1/lines?at=50&limit=100", "/v1/head",
		"/v1/progress?group_by=project&program=" + lines[0].Program}
	for _, l := range lines {
		paths = append(paths, "/v1/lines/"+l.ID())
	}
	for _, p := range paths {
		resp, err := getAuth(base + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, resp.StatusCode, body)
		}
		fmt.Fprintf(&b, "%s %s\n", p, body)
	}
	return b.String()
}
