package main

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
	"github.com/vnntp/ledger/ledger/pgstore"
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

	ctx := context.Background()
	st, err := pgstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var ids []string
	if err := st.ReadFrom(ctx, 0, func(e *ledger.Event) error { ids = append(ids, e.ID.String()); return nil }); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitFor(t, replicaConverge, func() bool {
		str, err := js.Stream(ctx, natsbus.StreamName)
		if err != nil {
			return false
		}
		info, err := str.Info(ctx)
		return err == nil && int(info.State.LastSeq) == len(ids)
	})
	cons, err := js.OrderedConsumer(ctx, natsbus.StreamName, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ids); {
		batch, err := cons.Fetch(len(ids)-i, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			md, _ := m.Metadata()
			if int(md.Sequence.Stream) != i+1 || m.Headers().Get(jetstream.MsgIDHeader) != ids[i] {
				t.Fatalf("stream sequence %d holds %s; position %d is %s", md.Sequence.Stream,
					m.Headers().Get(jetstream.MsgIDHeader), i+1, ids[i])
			}
			i, n = i+1, n+1
		}
		if n == 0 {
			t.Fatalf("stream ends at %d; the ledger has %d events", i, len(ids))
		}
	}
	t.Logf("stream holds positions 1..%d exactly after kill -9 and restart", len(ids))
}
