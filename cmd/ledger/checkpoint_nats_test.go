package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vnntp/ledger/internal/testenv"
	"github.com/vnntp/ledger/ledger"
	"github.com/vnntp/ledger/ledger/natsbus"
)

// TestCheckpointsPublishedOnNATS runs a writer that signs a checkpoint every 5 events:
// the checkpoints reach the CHECKPOINTS stream off the database, and each verifies with
// the public key the API serves.
func TestCheckpointsPublishedOnNATS(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "signing-key.pem")
	if _, err := generateKey(keyFile); err != nil {
		t.Fatal(err)
	}
	natsAddr := freeAddr(t)
	s := startServer(t, testenv.DB(t), "--nats-listen", natsAddr, "--signing-key", keyFile,
		"--checkpoint-every", "5", "--checkpoint-interval", "200ms")
	setupLines(t, s.url, 3, 1_000_000) // 10 events, and the officer token's access.token_created

	var keys struct {
		Items []struct {
			KeyID     string `json:"key_id"`
			PublicKey string `json:"public_key"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(get(t, s.url+"/v1/checkpoints/key")), &keys); err != nil || len(keys.Items) != 1 {
		t.Fatalf("checkpoint keys: %+v %v", keys, err)
	}
	pub, _ := base64.StdEncoding.DecodeString(keys.Items[0].PublicKey)

	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	var got []ledger.Checkpoint
	waitFor(t, replicaConverge, func() bool {
		cons, err := js.OrderedConsumer(ctx, natsbus.CheckpointStream, jetstream.OrderedConsumerConfig{})
		if err != nil {
			return false
		}
		batch, err := cons.Fetch(100, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return false
		}
		got = got[:0]
		for m := range batch.Messages() {
			var j struct {
				Position  int64     `json:"position"`
				Hash      string    `json:"hash"`
				SignedAt  time.Time `json:"signed_at"`
				KeyID     string    `json:"key_id"`
				Signature string    `json:"signature"`
			}
			if err := json.Unmarshal(m.Data(), &j); err != nil {
				t.Fatalf("checkpoint message %s: %v", m.Data(), err)
			}
			cp := ledger.Checkpoint{Position: j.Position, SignedAt: j.SignedAt, KeyID: j.KeyID}
			h, _ := hex.DecodeString(j.Hash)
			copy(cp.Hash[:], h)
			cp.Signature, _ = hex.DecodeString(j.Signature)
			got = append(got, cp)
		}
		return len(got) > 0 && got[len(got)-1].Position == 11
	})
	for _, cp := range got {
		if !cp.Verify(ed25519.PublicKey(pub)) || cp.KeyID != keys.Items[0].KeyID {
			t.Errorf("checkpoint at %d from NATS does not verify with the served key", cp.Position)
		}
	}
	t.Logf("%d checkpoints on NATS, the last at position %d", len(got), got[len(got)-1].Position)
}
