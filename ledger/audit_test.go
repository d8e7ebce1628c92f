package ledger

import (
	"bytes"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"
)

// verifyAll feeds events to a fresh verifier of the whole chain and returns its first
// finding, nil when the chain is intact.
func verifyAll(events []*Event, cps []Checkpoint, keys map[string]ed25519.PublicKey) *Finding {
	v := NewVerifier(1, GenesisHash, 0, cps, keys)
	for _, e := range events {
		if v.Add(e) != nil {
			break
		}
	}
	_ = v.Finish()
	return v.Report().Finding
}

func copyEvents(events []*Event) []*Event {
	out := make([]*Event, len(events))
	for i, e := range events {
		c := *e
		out[i] = &c
	}
	return out
}

// rechain recomputes every hash from position from on, as a forger who knows the format
// would.
func rechain(events []*Event, from int) {
	for i := from - 1; i < len(events); i++ {
		if i > 0 {
			events[i].PrevHash = events[i-1].Hash
		}
		events[i].Hash, _ = ChainHash(nil, events[i].PrevHash, events[i])
	}
}

func TestVerifierFindsTheFirstBadPosition(t *testing.T) {
	key := ed25519.NewKeyFromSeed(vectorKeySeed())
	keys := map[string]ed25519.PublicKey{KeyID(key.Public().(ed25519.PublicKey)): key.Public().(ed25519.PublicKey)}
	signedAt := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	checkpointAt := func(events []*Event, pos int64) []Checkpoint {
		return []Checkpoint{SignCheckpoint(key, pos, events[pos-1].Hash, signedAt)}
	}
	cases := []struct {
		name    string
		tamper  func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint)
		wantPos int64
		want    string // "" means intact
	}{
		{"clean", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) { return ev, cps }, 0, ""},
		{"amount changed", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) {
			ev[6].Data.Amount++
			return ev, cps
		}, 7, FindingHashMismatch},
		{"row deleted", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) {
			return append(ev[:4], ev[5:]...), cps
		}, 5, FindingMissingPosition},
		{"tail cut below a checkpoint", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) {
			return ev[:10], cps
		}, 11, FindingMissingPosition},
		{"row inserted at the end", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) {
			extra := *ev[12]
			extra.Position = 14
			return append(ev, &extra), cps
		}, 14, FindingBrokenLink},
		{"two rows swapped", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) {
			ev[2], ev[3] = ev[3], ev[2]
			ev[2].Position, ev[3].Position = 3, 4
			return ev, cps
		}, 3, FindingBrokenLink},
		{"tail rewritten with recomputed hashes", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) {
			ev[8].Data.Amount = 2
			rechain(ev, 9)
			return ev, cps
		}, 12, FindingCheckpointMismatch},
		{"signature forged", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) {
			cps[0].Signature = bytes.Clone(cps[0].Signature)
			cps[0].Signature[0] ^= 1
			return ev, cps
		}, 12, FindingBadSignature},
		{"checkpoint re-signed with an unregistered key", func(ev []*Event, cps []Checkpoint) ([]*Event, []Checkpoint) {
			_, other, _ := ed25519.GenerateKey(nil)
			cps[0] = SignCheckpoint(other, 12, ev[11].Hash, signedAt)
			return ev, cps
		}, 12, FindingBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev := copyEvents(sampleEvents())
			ev, cps := tc.tamper(ev, checkpointAt(ev, 12))
			f := verifyAll(ev, cps, keys)
			switch {
			case tc.want == "" && f != nil:
				t.Fatalf("false alarm: %v", f)
			case tc.want != "" && f == nil:
				t.Fatalf("not detected")
			case tc.want != "" && (f.Kind != tc.want || f.Position != tc.wantPos):
				t.Fatalf("got %v, want %s at position %d", f, tc.want, tc.wantPos)
			}
		})
	}
}

func TestVerifierRange(t *testing.T) {
	ev := sampleEvents()
	v := NewVerifier(5, ev[3].Hash, 8, nil, nil)
	for _, e := range ev[4:8] {
		if err := v.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Finish(); err != nil {
		t.Fatal(err)
	}
	if r := v.Report(); !r.OK || r.First != 5 || r.Last != 8 || r.Events != 4 {
		t.Fatalf("report %+v", r)
	}
	// A range that ends beyond the chain names the first missing position.
	v = NewVerifier(12, ev[10].Hash, 20, nil, nil)
	for _, e := range ev[11:] {
		_ = v.Add(e)
	}
	if err := v.Finish(); err == nil || !strings.Contains(err.Error(), "position 14: missing_position") {
		t.Fatalf("Finish = %v", err)
	}
}

func TestCheckpointMessageLayout(t *testing.T) {
	var h [32]byte
	for i := range h {
		h[i] = byte(0xa0 + i)
	}
	at := time.Unix(0, 0).Add(-time.Microsecond) // negative: two's complement
	m := CheckpointMessage(0x0102030405060708, h, at)
	if len(m) != CheckpointMessageLen || CheckpointMessageLen != 69 {
		t.Fatalf("message has %d bytes, constant %d", len(m), CheckpointMessageLen)
	}
	if string(m[:21]) != "ledger-checkpoint-v1\n" || !bytes.Equal(m[21:29], []byte{1, 2, 3, 4, 5, 6, 7, 8}) ||
		!bytes.Equal(m[29:61], h[:]) || !bytes.Equal(m[61:], bytes.Repeat([]byte{0xff}, 8)) {
		t.Fatalf("message %x", m)
	}
}

func TestSigningKeyFileRoundTrip(t *testing.T) {
	key := ed25519.NewKeyFromSeed(vectorKeySeed())
	pemBytes, err := MarshalSigningKey(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseSigningKey(pemBytes)
	if err != nil || !got.Equal(key) {
		t.Fatalf("round trip: %v", err)
	}
	for _, bad := range []string{"", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "garbage"} {
		if _, err := ParseSigningKey([]byte(bad)); err == nil {
			t.Errorf("ParseSigningKey(%q) accepted", bad)
		}
	}
}

func TestCheckpointDue(t *testing.T) {
	t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		head, last int64
		after      time.Duration
		want       bool
	}{
		{100, 100, time.Hour, false}, // nothing new
		{199, 100, time.Second, false},
		{200, 100, time.Second, true}, // every 100
		{101, 100, time.Minute, true}, // interval
	} {
		if got := CheckpointDue(tc.head, tc.last, t0, t0.Add(tc.after), 100, time.Minute); got != tc.want {
			t.Errorf("CheckpointDue(%d, %d, +%s) = %v", tc.head, tc.last, tc.after, got)
		}
	}
}

func TestExporterAndReadJSONL(t *testing.T) {
	var buf bytes.Buffer
	x, err := NewExporter(&buf, ExportJSONL, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range sampleEvents() {
		if err := x.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	var back []*Event
	if err := ReadJSONL(&buf, func(e *Event) error { back = append(back, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if f := verifyAll(back, nil, nil); f != nil || len(back) != len(sampleEvents()) {
		t.Fatalf("read back %d events: %v", len(back), f)
	}
	if err := ReadJSONL(strings.NewReader("{\"position\":1}\nnot json\n"), func(*Event) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad export: %v", err)
	}
	if _, err := NewExporter(&buf, "xml", true); Code(err) != CodeInvalidArgument {
		t.Fatalf("format xml: %v", err)
	}
	buf.Reset()
	x, _ = NewExporter(&buf, ExportCSV, false)
	_ = x.Write(sampleEvents()[9])
	_ = x.Flush()
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 2 || !slices.Equal(rows[0], ExportCSVColumns) || rows[1][0] != "10" || rows[1][7] != "9007199254740992" ||
		rows[1][17] != tricky[3] || rows[1][24] != hex.EncodeToString(sampleEvents()[9].Hash[:]) {
		t.Fatalf("csv: %v\n%q", err, rows)
	}
}
