package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// Kinds of verification findings. They are shown to auditors and returned by
// GET /v1/verify: never rename one.
const (
	// FindingHashMismatch: the event's stored hash is not SHA-256(prev_hash || canonical
	// bytes of its stored content), or its content does not decode.
	FindingHashMismatch = "hash_mismatch"
	// FindingBrokenLink: the event's prev_hash is not the hash of the event before it.
	FindingBrokenLink = "broken_link"
	// FindingMissingPosition: a position between the first and the last (or a signed
	// checkpoint's position) has no event.
	FindingMissingPosition = "missing_position"
	// FindingBadSignature: a checkpoint's signature does not verify with its key, or its
	// key is not registered.
	FindingBadSignature = "bad_signature"
	// FindingCheckpointMismatch: a validly signed checkpoint names another hash than the
	// chain has at its position: the chain was rewritten at or before that position.
	FindingCheckpointMismatch = "checkpoint_mismatch"
	// FindingColumnMismatch: a typed column that auditors sum with SQL (amount, line,
	// counter_line, original_id, voucher_*) disagrees with the hashed data.
	FindingColumnMismatch = "column_mismatch"
)

// Finding is the first problem a verification found. It is an error.
type Finding struct {
	Position int64  `json:"position"`
	Kind     string `json:"kind"`
	Detail   string `json:"detail"`
}

func (f *Finding) Error() string {
	return fmt.Sprintf("position %d: %s: %s", f.Position, f.Kind, f.Detail)
}

// GenesisHash is hash_0, the prev_hash of the event at position 1: 32 zero bytes.
var GenesisHash [32]byte

// Verifier checks a stretch of the hash chain, fed its events in position order, and the
// signed checkpoints inside that stretch. The zero value is not usable: call NewVerifier.
// It is not safe for concurrent use. It stops at the first finding: every later call of
// Add returns the same finding.
type Verifier struct {
	first       int64
	next        int64    // the position the next event must have
	prev        [32]byte // the hash the next event's prev_hash must equal
	last        int64    // the last position of the stretch; 0 means the end of the chain
	checkpoints []Checkpoint
	keys        map[string]ed25519.PublicKey
	buf         []byte
	events      int64
	checked     int
	finding     *Finding
}

// NewVerifier returns a Verifier of the chain from position first, whose predecessor has
// hash prev (GenesisHash when first is 1), up to position last inclusive (0: to the end).
// checkpoints must be sorted by position; those outside first..last are ignored. keys
// maps key ids (KeyID) to the public keys that may have signed them.
func NewVerifier(first int64, prev [32]byte, last int64, checkpoints []Checkpoint, keys map[string]ed25519.PublicKey) *Verifier {
	invariant(first >= 1, "a chain starts at position 1")
	v := &Verifier{first: first, next: first, prev: prev, last: last, keys: keys}
	for _, cp := range checkpoints {
		if cp.Position >= first && (last == 0 || cp.Position <= last) {
			v.checkpoints = append(v.checkpoints, cp)
		}
	}
	return v
}

// Add checks e, the next event of the stretch: its position, its link to the event
// before it, its hash, and the checkpoints signed at its position. It returns the first
// finding (*Finding) and keeps returning it.
func (v *Verifier) Add(e *Event) error {
	if v.finding != nil {
		return v.finding
	}
	switch {
	case e.Position > v.next:
		return v.fail(v.next, FindingMissingPosition, fmt.Sprintf("no event at position %d; the next one is at %d", v.next, e.Position))
	case e.Position < v.next:
		return v.fail(v.next, FindingMissingPosition, fmt.Sprintf("expected position %d, read %d again (positions out of order)", v.next, e.Position))
	case e.PrevHash != v.prev:
		return v.fail(e.Position, FindingBrokenLink, fmt.Sprintf("prev_hash %x is not the hash %x of position %d", e.PrevHash, v.prev, e.Position-1))
	}
	var h [32]byte
	h, v.buf = ChainHash(v.buf, e.PrevHash, e)
	if h != e.Hash {
		return v.fail(e.Position, FindingHashMismatch, fmt.Sprintf("stored hash %x, content hashes to %x", e.Hash, h))
	}
	for len(v.checkpoints) > 0 && v.checkpoints[0].Position == e.Position {
		if err := v.checkpoint(&v.checkpoints[0], e.Hash); err != nil {
			return err
		}
		v.checkpoints = v.checkpoints[1:]
	}
	v.prev = e.Hash
	v.next++
	v.events++
	return nil
}

// Fail records a finding that the caller found about the event at position (for example
// a typed column that disagrees with its data) unless an earlier one was recorded; it
// returns the verifier's first finding.
func (v *Verifier) Fail(position int64, kind, detail string) error {
	if v.finding != nil {
		return v.finding
	}
	return v.fail(position, kind, detail)
}

func (v *Verifier) fail(position int64, kind, detail string) error {
	v.finding = &Finding{Position: position, Kind: kind, Detail: detail}
	return v.finding
}

func (v *Verifier) checkpoint(cp *Checkpoint, chainHash [32]byte) error {
	pub, ok := v.keys[cp.KeyID]
	if !ok {
		return v.fail(cp.Position, FindingBadSignature, fmt.Sprintf("checkpoint signed with key %s, which is not registered", cp.KeyID))
	}
	if !cp.Verify(pub) {
		return v.fail(cp.Position, FindingBadSignature, fmt.Sprintf("checkpoint signature of %s does not verify with key %s", cp.SignedAt.UTC().Format(time.RFC3339Nano), cp.KeyID))
	}
	if cp.Hash != chainHash {
		return v.fail(cp.Position, FindingCheckpointMismatch, fmt.Sprintf("checkpoint signed at %s names hash %x, the chain has %x: history at or before this position was rewritten",
			cp.SignedAt.UTC().Format(time.RFC3339), cp.Hash, chainHash))
	}
	v.checked++
	return nil
}

// Finish ends the stretch: it reports a missing position when the stretch was to end at
// a position that was never read, or when a signed checkpoint lies beyond the last event
// (the tail of the chain was cut off). It returns the verifier's first finding.
func (v *Verifier) Finish() error {
	if v.finding != nil {
		return v.finding
	}
	if v.last != 0 && v.next <= v.last {
		return v.fail(v.next, FindingMissingPosition, fmt.Sprintf("the chain ends at position %d, before %d", v.next-1, v.last))
	}
	if len(v.checkpoints) > 0 {
		cp := v.checkpoints[0]
		return v.fail(v.next, FindingMissingPosition, fmt.Sprintf("the chain ends at position %d but a checkpoint was signed at position %d on %s: events were removed",
			v.next-1, cp.Position, cp.SignedAt.UTC().Format(time.RFC3339)))
	}
	return nil
}

// Report returns what the verifier has seen so far.
func (v *Verifier) Report() VerifyReport {
	r := VerifyReport{First: v.first, Events: v.events, Last: v.next - 1, LastHash: hex.EncodeToString(v.prev[:]), Checkpoints: v.checked, OK: v.finding == nil}
	if v.finding != nil {
		f := *v.finding
		r.Finding = &f
	}
	return r
}

// VerifyReport is the outcome of a verification, as `ledger verify` prints it and
// GET /v1/verify returns it.
type VerifyReport struct {
	OK          bool     `json:"ok"`
	First       int64    `json:"first"`     // the first position checked
	Last        int64    `json:"last"`      // the last position checked and found good
	LastHash    string   `json:"last_hash"` // its hash, hex
	Events      int64    `json:"events"`    // events checked and found good
	Checkpoints int      `json:"checkpoints"`
	Finding     *Finding `json:"finding,omitempty"` // the first problem, nil when OK
}

// VerifyOptions selects what a verification reads.
type VerifyOptions struct {
	// From is the first position to check; 0 or 1 means the start of the chain.
	From int64
	// To is the last position to check; 0 means the head.
	To int64
	// Progress, when set, is called now and then with the last position checked and the
	// last position to check; it must be quick.
	Progress func(done, last int64)
}

// Checkpoint is a signed statement that the chain had hash Hash at position Position at
// time SignedAt. Copies kept off the database host let an auditor detect a rewrite of
// history even when every hash was recomputed.
type Checkpoint struct {
	Position  int64
	Hash      [32]byte
	SignedAt  time.Time // UTC, microsecond precision
	KeyID     string
	Signature []byte
}

// MarshalJSON renders a checkpoint as the API and NATS show it: position, hash and
// signature in hex, signed_at, key_id.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Position  int64     `json:"position"`
		Hash      string    `json:"hash"`
		SignedAt  time.Time `json:"signed_at"`
		KeyID     string    `json:"key_id"`
		Signature string    `json:"signature"`
	}{c.Position, hex.EncodeToString(c.Hash[:]), c.SignedAt, c.KeyID, hex.EncodeToString(c.Signature)})
}

// checkpointDomain opens every signed checkpoint message, so that a signature made for
// anything else can never pass for a checkpoint (docs/hash-chain.md).
const checkpointDomain = "ledger-checkpoint-v1\n"

// CheckpointMessageLen is the length of a signed checkpoint message.
const CheckpointMessageLen = len(checkpointDomain) + 8 + 32 + 8

// CheckpointMessage returns the bytes a checkpoint signs: "ledger-checkpoint-v1\n",
// position as 8 bytes big-endian, the 32-byte hash, and the signing time as Unix
// microseconds, 8 bytes big-endian (two's complement).
func CheckpointMessage(position int64, hash [32]byte, signedAt time.Time) []byte {
	b := make([]byte, 0, CheckpointMessageLen)
	b = append(b, checkpointDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(position))
	b = append(b, hash[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(signedAt.UnixMicro()))
}

// SignCheckpoint signs (position, hash, signedAt truncated to the microsecond) with key.
func SignCheckpoint(key ed25519.PrivateKey, position int64, hash [32]byte, signedAt time.Time) Checkpoint {
	at := signedAt.UTC().Truncate(time.Microsecond)
	pub := key.Public().(ed25519.PublicKey)
	return Checkpoint{Position: position, Hash: hash, SignedAt: at, KeyID: KeyID(pub),
		Signature: ed25519.Sign(key, CheckpointMessage(position, hash, at))}
}

// Verify reports whether cp's signature is valid for pub.
func (cp *Checkpoint) Verify(pub ed25519.PublicKey) bool {
	if len(pub) != ed25519.PublicKeySize || len(cp.Signature) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, CheckpointMessage(cp.Position, cp.Hash, cp.SignedAt), cp.Signature)
}

// KeyID names a public key: the first 8 bytes of SHA-256(pub), 16 hex digits.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// SigningKey is a registered checkpoint public key. Keys are never removed, so that
// checkpoints signed before a rotation stay verifiable.
type SigningKey struct {
	KeyID     string
	PublicKey ed25519.PublicKey
	CreatedAt time.Time
}

// CheckpointDue reports whether a checkpoint should be signed at head: when it is past
// the last checkpoint and either every events have been recorded since, or interval has
// passed since the last one was signed. Every ≤ 0 or interval ≤ 0 disables that trigger.
func CheckpointDue(head, lastPosition int64, lastSigned, now time.Time, every int64, interval time.Duration) bool {
	if head <= lastPosition {
		return false
	}
	return (every > 0 && head-lastPosition >= every) || (interval > 0 && now.Sub(lastSigned) >= interval)
}

// Next returns the position the next event must have.
func (v *Verifier) Next() int64 { return v.next }
