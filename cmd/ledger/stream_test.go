package main

import (
	"testing"
	"time"

	"github.com/vnntp/ledger/internal/testenv"
)

// TestKillWriterKeepsStreamExact kills the writer with SIGKILL under load — so some
// events are committed but not yet published — and restarts it on the same NATS store:
// the stream then holds exactly the ledger, sequence == position, nothing missing or
// doubled.
func TestKillWriterKeepsStreamExact(t *testing.T) {
	dbURL := testenv.DB(t)
	natsAddr, dataDir := freeAddr(t), t.TempDir()
	args := []string{"--nats-listen", natsAddr, "--data-dir", dataDir}
	s := startServer(t, dbURL, args...)
	lines := setupLines(t, s.url, 4, 1_000_000_000_000)
	stop := make(chan struct{})
	done := make(chan []*outcome)
	go func() { done <- load(s.url, lines, 16, "n", stop) }()
	time.Sleep(streamKillAfter)
	s.kill(t)
	close(stop)
	<-done
	startServer(t, dbURL, args...)

	n := checkStreamExact(t, "nats://"+natsAddr, dbURL)
	t.Logf("stream holds positions 1..%d exactly after kill -9 and restart", n)
}
