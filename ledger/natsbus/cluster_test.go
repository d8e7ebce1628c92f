package natsbus_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/ledger/natsbus"
)

// Size of the cluster test.
const (
	clusterNodes = 3
	// clusterEvents is how many events the cluster test writes: about 10 s on the 2-core
	// development machine, most of it the ack timeout and the new leader's election.
	clusterEvents = 100_000
	// clusterEventsRace replaces it under the race detector.
	clusterEventsRace = 20_000
	// clusterName names the test cluster.
	clusterName = "ledger-test"
)

// clusterNode is one server of a JetStream cluster on loopback.
type clusterNode struct {
	name        string
	dir         string
	clusterPort int
	routes      string
	srv         *server.Server
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (n *clusterNode) start(t testing.TB) {
	t.Helper()
	opts := &server.Options{
		ServerName: n.name, Host: "127.0.0.1", Port: server.RANDOM_PORT, NoSigs: true, NoLog: true,
		JetStream: true, StoreDir: n.dir,
		Cluster: server.ClusterOpts{Name: clusterName, Host: "127.0.0.1", Port: n.clusterPort},
		Routes:  server.RoutesFromStr(n.routes),
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(waitTimeout) {
		t.Fatalf("server %s not ready", n.name)
	}
	n.srv = s
}

func (n *clusterNode) shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
}

// startCluster starts a JetStream cluster of clusterNodes servers, all routed to each
// other on fixed loopback ports so that a node restarts where it was.
func startCluster(t testing.TB) []*clusterNode {
	t.Helper()
	nodes := make([]*clusterNode, clusterNodes)
	var routes []string
	for i := range nodes {
		nodes[i] = &clusterNode{name: fmt.Sprintf("n%d", i+1), dir: t.TempDir(), clusterPort: freePort(t)}
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", nodes[i].clusterPort))
	}
	for _, n := range nodes {
		n.routes = strings.Join(routes, ",")
		n.start(t)
		t.Cleanup(n.shutdown)
	}
	return nodes
}

// TestRelayCluster: a three-node cluster, stream replicas 3; the stream leader is shut
// down midway and restarted; the stream ends up with 1..N, each == position, once.
func TestRelayCluster(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	begin := time.Now()
	events := clusterEvents
	if raceEnabled {
		events = clusterEventsRace
	}
	nodes := startCluster(t)
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.srv.ClientURL())
	}
	nc := dial(t, strings.Join(urls, ","))
	l := newLedger(t)
	r := runRelay(t, l, nc, natsbus.RelayConfig{Stream: natsbus.StreamConfig{Replicas: clusterNodes}})
	l.disburse(ctx, events/2, requestCommands)
	waitFor(t, "a quarter of the events on the stream", func() bool { return r.Published() > int64(events/4) })

	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	var leader string
	waitFor(t, "the stream leader", func() bool {
		s, err := js.Stream(ctx, natsbus.StreamName)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		if err != nil || info.Cluster == nil {
			return false
		}
		leader = info.Cluster.Leader
		return leader != ""
	})
	var down *clusterNode
	for _, n := range nodes {
		if n.name == leader {
			down = n
		}
	}
	t.Logf("shutting down the stream leader %s at published %d", leader, r.Published())
	down.shutdown()
	l.disburse(ctx, events/4, requestCommands)
	down.start(t)
	l.disburse(ctx, events/4, requestCommands)
	waitPublished(t, r, l)
	written := time.Since(begin)

	// Every replica current again.
	waitFor(t, "all stream replicas current", func() bool {
		s, err := js.Stream(ctx, natsbus.StreamName)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		if err != nil || info.Cluster == nil || len(info.Cluster.Replicas) != clusterNodes-1 {
			return false
		}
		for _, p := range info.Cluster.Replicas {
			if !p.Current {
				return false
			}
		}
		return true
	})
	checkStream(t, nc, l)
	t.Logf("cluster: %d events written and published in %s; total %s", l.head(), written.Round(time.Millisecond),
		time.Since(begin).Round(time.Millisecond))
}
