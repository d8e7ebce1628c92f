package natsbus_test

import (
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/vnntp/ledger/ledger/natsbus"
)

// TestEnsureStreamPersistMode: a new stream of one replica flushes in the background;
// a stream created before in the default mode keeps it (NATS refuses to change it), so
// a server upgraded over an old stream still starts.
func TestEnsureStreamPersistMode(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	for _, existing := range []bool{false, true} {
		_, nc := inProcess(t)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		want := jetstream.AsyncPersistMode
		if existing {
			if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: natsbus.StreamName, Subjects: []string{natsbus.SubjectAll},
				Storage: jetstream.FileStorage}); err != nil {
				t.Fatal(err)
			}
			want = jetstream.DefaultPersistMode
		}
		s, err := natsbus.EnsureStream(ctx, js, natsbus.StreamConfig{})
		if err != nil {
			t.Fatalf("existing stream %v: %v", existing, err)
		}
		if got := s.CachedInfo().Config.PersistMode; got != want {
			t.Errorf("existing stream %v: persist mode %v, want %v", existing, got, want)
		}
	}
}
