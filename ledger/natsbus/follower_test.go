package natsbus_test

import (
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
)

// TestFollower: a replica applies every event in order; restarted with its durable name
// and position it resumes on the same consumer; a replica that bootstrapped elsewhere
// gets its consumer repositioned; a wrong hash stops the follower.
func TestFollower(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	_, nc := inProcess(t)
	l := newLedger(t)
	runRelay(t, l, nc, natsbus.RelayConfig{})
	l.disburse(ctx, 2000, 100)

	a := runFollower(t, nc, "replica-a", nil)
	waitFor(t, "replica a to apply the head", func() bool { return a.Applied() == l.head() })
	if a.Lag() != 0 {
		t.Errorf("lag %d after applying the head", a.Lag())
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	before, err := js.Consumer(ctx, natsbus.StreamName, "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	l.disburse(ctx, 1000, 10)

	a2 := runFollower(t, nc, "replica-a", a.events[len(a.events)-1])
	waitFor(t, "replica a to resume", func() bool { return a2.Applied() == l.head() })
	after, err := js.Consumer(ctx, natsbus.StreamName, "replica-a")
	if err != nil {
		t.Fatal(err)
	}
	if !after.CachedInfo().Created.Equal(before.CachedInfo().Created) {
		t.Error("the durable consumer was recreated instead of resumed")
	}
	if err := a2.stop(); err != nil {
		t.Fatal(err)
	}
	all := l.events(ctx)
	checkApplied(t, append(a.events, a2.events...), all, 0)

	// Replica b bootstraps from PostgreSQL up to 1000, then follows; the existing
	// consumer of replica a's name stands elsewhere and is repositioned.
	b := runFollower(t, nc, "replica-a", all[999])
	waitFor(t, "replica b to apply the head", func() bool { return b.Applied() == l.head() })
	checkApplied(t, b.events, all, 1000)

	c := runFollower(t, nc, "replica-c", &ledger.Event{Position: 10}) // hash of position 10 is not zero
	if err := c.stopped(t); !errors.Is(err, natsbus.ErrChainBroken) {
		t.Errorf("follower with a wrong hash: %v, want ErrChainBroken", err)
	}
}

// checkApplied checks that got is want[after:], in order.
func checkApplied(t *testing.T, got, want []*ledger.Event, after int) {
	t.Helper()
	want = want[after:]
	if len(got) != len(want) {
		t.Fatalf("applied %d events, want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.Position != want[i].Position || e.ID != want[i].ID || e.Hash != want[i].Hash {
			t.Fatalf("applied #%d: position %d, want %d", i, e.Position, want[i].Position)
		}
	}
}
