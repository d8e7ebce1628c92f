package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test vectors of docs/hash-chain.md live between these markers. The test writes
// them from the code (-update) and otherwise checks the document against the code, and
// the events against testdata/canonical.golden, so the specification, the golden file
// and the encoder cannot drift apart.
const (
	vectorsBegin = "<!-- test vectors: begin (go test ./ledger -run TestHashChainDocVectors -update) -->"
	vectorsEnd   = "<!-- test vectors: end -->"
	// vectorHexWidth is the number of hex digits per line of a vector's canonical bytes.
	vectorHexWidth = 64
)

// vectorPositions picks events of sampleEvents for the document: a catalog event with
// Vietnamese text, emoji and quotes in metadata; an allocation; a disbursement with a
// voucher; and the last one, whose metadata is empty ({}).
var vectorPositions = []int64{1, 6, 10, 13}

// vectorKeySeed derives the Ed25519 key of the checkpoint vector: bytes 0x00..0x1f. Never
// use it for anything else.
func vectorKeySeed() []byte {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = byte(i)
	}
	return seed
}

// vectorSignedAt is the signing time of the checkpoint vector.
var vectorSignedAt = time.Date(2024, 6, 1, 0, 0, 0, 1000, time.UTC)

func hexLines(b []byte) string {
	h := hex.EncodeToString(b)
	var s strings.Builder
	for len(h) > vectorHexWidth {
		s.WriteString(h[:vectorHexWidth])
		s.WriteByte('\n')
		h = h[vectorHexWidth:]
	}
	s.WriteString(h)
	return s.String()
}

// docVectors renders the vectors block of docs/hash-chain.md.
func docVectors(t *testing.T) string {
	t.Helper()
	events := sampleEvents()
	var b strings.Builder
	b.WriteString(vectorsBegin + "\n\n")
	for _, pos := range vectorPositions {
		e := events[pos-1]
		canon := AppendCanonical(nil, e)
		fmt.Fprintf(&b, "#### Event at position %d (`%s`)\n\n", e.Position, e.Type)
		fmt.Fprintf(&b, "prev_hash (hash_%d):\n\n```\n%x\n```\n\n", e.Position-1, e.PrevHash)
		fmt.Fprintf(&b, "canonical_%d (%d bytes, ASCII):\n\n```json\n%s\n```\n\n", e.Position, len(canon), canon)
		fmt.Fprintf(&b, "the same bytes in hex:\n\n```\n%s\n```\n\n", hexLines(canon))
		fmt.Fprintf(&b, "hash_%d = SHA-256(prev_hash || canonical_%d):\n\n```\n%x\n```\n\n", e.Position, e.Position, e.Hash)
	}
	last := events[len(events)-1]
	priv := ed25519.NewKeyFromSeed(vectorKeySeed())
	pub := priv.Public().(ed25519.PublicKey)
	cp := SignCheckpoint(priv, last.Position, last.Hash, vectorSignedAt)
	if !cp.Verify(pub) {
		t.Fatal("the checkpoint vector does not verify")
	}
	fmt.Fprintf(&b, "#### Checkpoint at position %d\n\n", cp.Position)
	fmt.Fprintf(&b, "Ed25519 seed (RFC 8032 private key) `%x`,\npublic key `%x`, key id `%s`,\nsigned_at `%s` (%d Unix microseconds).\n\n",
		vectorKeySeed(), pub, cp.KeyID, cp.SignedAt.Format(time.RFC3339Nano), cp.SignedAt.UnixMicro())
	fmt.Fprintf(&b, "Signed message (%d bytes):\n\n```\n%s\n```\n\n", CheckpointMessageLen, hexLines(CheckpointMessage(cp.Position, cp.Hash, cp.SignedAt)))
	fmt.Fprintf(&b, "Signature:\n\n```\n%s\n```\n\n", hexLines(cp.Signature))
	b.WriteString(vectorsEnd)
	return b.String()
}

func TestHashChainDocVectors(t *testing.T) {
	path := filepath.Join("..", "docs", "hash-chain.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := strings.Index(string(doc), vectorsBegin), strings.Index(string(doc), vectorsEnd)
	if i < 0 || j < i {
		t.Fatalf("%s: no test vector markers", path)
	}
	want := docVectors(t)
	if *update {
		out := string(doc[:i]) + want + string(doc[j+len(vectorsEnd):])
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got := string(doc[i : j+len(vectorsEnd)]); got != want {
		t.Errorf("%s: the test vectors differ from the code; if the change is deliberate, run with -update.\n got:\n%s\n want:\n%s", path, got, want)
	}
	// Every vector event must be the one of testdata/canonical.golden, which
	// TestCanonicalGolden pins to the encoder.
	golden, err := os.ReadFile(filepath.Join("testdata", "canonical.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pos := range vectorPositions {
		e := sampleEvents()[pos-1]
		entry := fmt.Sprintf("%d %s\ncanonical %s\nhash %x\n", e.Position, e.Type, AppendCanonical(nil, e), e.Hash)
		if !strings.Contains(string(golden), entry) {
			t.Errorf("position %d of the document is not the one in testdata/canonical.golden", pos)
		}
		// And the hash is plainly SHA-256 over the two byte strings, as the document says.
		if h := sha256.Sum256(append(e.PrevHash[:], AppendCanonical(nil, e)...)); h != e.Hash {
			t.Errorf("position %d: SHA-256(prev || canonical) %x, hash %x", pos, h, e.Hash)
		}
	}
}
