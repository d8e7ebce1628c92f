// Package snapcodec is the binary form of snapshots (docs/design.md, snapshots): an
// Encoder that appends values to a byte slice and a Decoder that reads them back in the
// same order. Integers are varints, strings and byte slices are length-prefixed, and a
// collection is its length followed by its items; there are no field names, so the
// writer and the reader of a type must list its fields in the same order.
//
// The encoding of a value must be deterministic: a map is written in sorted key order,
// so that two folds of the same events give the same bytes, which is how a snapshot is
// compared with a replay from scratch.
//
// The Decoder's error is sticky: after the first error every read returns the zero
// value, and Err reports the first error. A decoder never allocates more than the input
// can hold: a length larger than the bytes left is an error.
package snapcodec

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Encoder appends values to its buffer. The zero Encoder is ready to use.
type Encoder struct{ buf []byte }

// Grow makes room for n more bytes: an encoder that knows about how much it will write
// (the previous snapshot's size) copies its buffer once instead of at every doubling.
func (e *Encoder) Grow(n int) { e.buf = slices.Grow(e.buf, n) }

// Bytes returns the encoded values.
func (e *Encoder) Bytes() []byte { return e.buf }

// Uvarint appends v.
func (e *Encoder) Uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }

// Varint appends v (zig-zag).
func (e *Encoder) Varint(v int64) { e.buf = binary.AppendVarint(e.buf, v) }

// Int appends v.
func (e *Encoder) Int(v int) { e.Varint(int64(v)) }

// Len appends a collection's length.
func (e *Encoder) Len(n int) { e.Uvarint(uint64(n)) }

// Bool appends v as one byte.
func (e *Encoder) Bool(v bool) {
	b := byte(0)
	if v {
		b = 1
	}
	e.buf = append(e.buf, b)
}

// String appends s, length first.
func (e *Encoder) String(s string) {
	e.Len(len(s))
	e.buf = append(e.buf, s...)
}

// Bytes32 appends a hash.
func (e *Encoder) Bytes32(b [32]byte) { e.buf = append(e.buf, b[:]...) }

// UUID appends u.
func (e *Encoder) UUID(u uuid.UUID) { e.buf = append(e.buf, u[:]...) }

// Time appends t as Unix nanoseconds, UTC: the ledger's times are UTC.
func (e *Encoder) Time(t time.Time) {
	e.Bool(t.IsZero())
	if !t.IsZero() {
		e.Varint(t.UnixNano())
	}
}

// Section appends a name that the reader checks (Decoder.Section): a reader that is out
// of step with the writer stops there with an error naming the section, instead of
// reading garbage on.
func (e *Encoder) Section(name string) { e.String(name) }

// ErrCorrupt is the error of a Decoder whose input ends early or holds a bad value.
var ErrCorrupt = errors.New("snapshot data is corrupt")

// Decoder reads values from b in the order an Encoder wrote them.
type Decoder struct {
	b   []byte
	err error
}

// NewDecoder returns a decoder of b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error met, or nil.
func (d *Decoder) Err() error { return d.err }

// Fail records err (wrapped with ErrCorrupt) unless an error is already recorded. A
// type's decoder calls it for a value it cannot accept.
func (d *Decoder) Fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
}

// Done returns the first error, or an error when bytes are left unread.
func (d *Decoder) Done() error {
	if d.err == nil && len(d.b) > 0 {
		d.Fail("%d bytes left after the last value", len(d.b))
	}
	return d.err
}

// Uvarint reads a value Encoder.Uvarint wrote.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.Fail("bad unsigned varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Varint reads a value Encoder.Varint wrote.
func (d *Decoder) Varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.Fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// Int reads a value Encoder.Int wrote.
func (d *Decoder) Int() int {
	v := d.Varint()
	if v < math.MinInt || v > math.MaxInt {
		d.Fail("int %d out of range", v)
		return 0
	}
	return int(v)
}

// Len reads a collection's length, which cannot exceed the bytes left (every item takes
// at least one byte, except in collections of empty values, which snapshots have none
// of): a corrupt length cannot make the caller allocate without bound.
func (d *Decoder) Len() int {
	v := d.Uvarint()
	if v > uint64(len(d.b)) {
		d.Fail("length %d beyond the %d bytes left", v, len(d.b))
		return 0
	}
	return int(v)
}

// Bool reads a value Encoder.Bool wrote.
func (d *Decoder) Bool() bool {
	b := d.take(1)
	if b == nil {
		return false
	}
	if b[0] > 1 {
		d.Fail("bad bool %d", b[0])
	}
	return b[0] == 1
}

// String reads a value Encoder.String wrote.
func (d *Decoder) String() string {
	n := d.Len()
	return string(d.take(n))
}

// Bytes32 reads a value Encoder.Bytes32 wrote.
func (d *Decoder) Bytes32() (h [32]byte) {
	copy(h[:], d.take(32))
	return h
}

// UUID reads a value Encoder.UUID wrote.
func (d *Decoder) UUID() (u uuid.UUID) {
	copy(u[:], d.take(16))
	return u
}

// Time reads a value Encoder.Time wrote.
func (d *Decoder) Time() time.Time {
	if d.Bool() {
		return time.Time{}
	}
	return time.Unix(0, d.Varint()).UTC()
}

// Section reads a name Encoder.Section wrote and fails unless it is name.
func (d *Decoder) Section(name string) {
	if got := d.String(); d.err == nil && got != name {
		d.Fail("section %q where %q was expected", got, name)
	}
}

func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.Fail("%d bytes wanted, %d left", n, len(d.b))
		return nil
	}
	b := d.b[:n:n]
	d.b = d.b[n:]
	return b
}

// SortedKeys returns m's keys in the order less gives: an encoder writes a map in this
// order, so that its bytes do not depend on Go's map iteration order.
func SortedKeys[K comparable, V any](m map[K]V, less func(a, b K) bool) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return less(keys[i], keys[j]) })
	return keys
}

// Fingerprint is a hash of the layout of the types of values: every field's name and
// type, recursively. A snapshot records the fingerprint of the types it was taken from;
// a build whose types differ (a field added, renamed or retyped) does not load it, even
// when its author forgot to change the format version.
func Fingerprint(values ...any) [32]byte {
	var sb strings.Builder
	seen := map[reflect.Type]bool{}
	for _, v := range values {
		describe(&sb, reflect.TypeOf(v), seen)
		sb.WriteByte(';')
	}
	return sha256.Sum256([]byte(sb.String()))
}

func describe(sb *strings.Builder, t reflect.Type, seen map[reflect.Type]bool) {
	if t.Name() != "" {
		sb.WriteString(t.PkgPath() + "." + t.Name())
		if seen[t] {
			return
		}
		seen[t] = true
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		sb.WriteString(t.Kind().String() + "(")
		describe(sb, t.Elem(), seen)
		sb.WriteString(")")
	case reflect.Array:
		fmt.Fprintf(sb, "[%d](", t.Len())
		describe(sb, t.Elem(), seen)
		sb.WriteString(")")
	case reflect.Map:
		sb.WriteString("map(")
		describe(sb, t.Key(), seen)
		sb.WriteString(",")
		describe(sb, t.Elem(), seen)
		sb.WriteString(")")
	case reflect.Struct:
		sb.WriteString("{")
		for i := range t.NumField() {
			f := t.Field(i)
			sb.WriteString(f.Name + ":")
			describe(sb, f.Type, seen)
			sb.WriteString(",")
		}
		sb.WriteString("}")
	default:
		sb.WriteString(t.Kind().String())
	}
}
