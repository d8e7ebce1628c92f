package snapcodec

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestRoundTrip(t *testing.T) {
	var e Encoder
	u := uuid.New()
	now := time.Date(2026, 1, 31, 7, 0, 0, 123, time.UTC)
	e.Section("head")
	e.Varint(-42)
	e.Uvarint(1 << 40)
	e.Int(7)
	e.Bool(true)
	e.String("Thái Nguyên")
	e.Bytes32([32]byte{1, 2, 3})
	e.UUID(u)
	e.Time(now)
	e.Time(time.Time{})
	e.Len(3)

	d := NewDecoder(e.Bytes())
	d.Section("head")
	if v := d.Varint(); v != -42 {
		t.Errorf("Varint = %d", v)
	}
	if v := d.Uvarint(); v != 1<<40 {
		t.Errorf("Uvarint = %d", v)
	}
	if v := d.Int(); v != 7 {
		t.Errorf("Int = %d", v)
	}
	if !d.Bool() {
		t.Error("Bool = false")
	}
	if s := d.String(); s != "Thái Nguyên" {
		t.Errorf("String = %q", s)
	}
	if h := d.Bytes32(); h != [32]byte{1, 2, 3} {
		t.Errorf("Bytes32 = %x", h)
	}
	if got := d.UUID(); got != u {
		t.Errorf("UUID = %s", got)
	}
	if got := d.Time(); !got.Equal(now) {
		t.Errorf("Time = %s", got)
	}
	if got := d.Time(); !got.IsZero() {
		t.Errorf("zero Time = %s", got)
	}
	// A length beyond the input is refused, not allocated.
	if n := d.Len(); n != 0 || !errors.Is(d.Err(), ErrCorrupt) {
		t.Errorf("Len beyond the input = %d, %v", n, d.Err())
	}
}

func TestDecoderStopsAtTheFirstError(t *testing.T) {
	var e Encoder
	e.Section("lines")
	e.Varint(5)
	d := NewDecoder(e.Bytes())
	d.Section("catalog")
	if v := d.Varint(); v != 0 || d.Err() == nil {
		t.Fatalf("read after a wrong section = %d, %v", v, d.Err())
	}
	d = NewDecoder(append(e.Bytes(), 0))
	d.Section("lines")
	d.Varint()
	if err := d.Done(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Done with a byte left = %v", err)
	}
	d = NewDecoder(e.Bytes()[:3])
	d.Section("lines")
	if d.Err() == nil {
		t.Fatal("truncated input decoded without error")
	}
}

func TestFingerprintFollowsTheLayout(t *testing.T) {
	type node struct {
		Next *node
		V    int64
	}
	type a struct {
		N node
		M map[string][]int
	}
	type b struct {
		N node
		M map[string][]int32
	}
	if first, again := Fingerprint(a{}), Fingerprint(a{}); first != again {
		t.Fatal("fingerprint is not stable")
	}
	if Fingerprint(a{}) == Fingerprint(b{}) {
		t.Fatal("a field's type changed and the fingerprint did not")
	}
}
