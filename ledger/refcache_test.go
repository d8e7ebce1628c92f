package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// TestRefCacheEvictsOldestUnlessHeld: the cache keeps the max most recent keys, first in
// first out (an update does not make a key younger); while held it evicts nothing, and
// release trims it back to max, oldest first.
func TestRefCacheEvictsOldestUnlessHeld(t *testing.T) {
	c := newRefCache[int, bool](3)
	for i := range 5 {
		c.put(i, true)
	}
	c.put(3, false) // an update, not a new entry
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := c.get(i); ok != want {
			t.Errorf("after 5 puts into 3: key %d cached %v, want %v", i, ok, want)
		}
	}
	if v, _ := c.get(3); v {
		t.Error("an updated entry keeps its old value")
	}
	c.hold()
	for i := 5; i < 10; i++ {
		c.put(i, true)
	}
	if c.len() != 8 {
		t.Errorf("held: %d entries, want all 8", c.len())
	}
	c.release()
	for i := range 10 {
		if _, ok := c.get(i); ok != (i >= 7) {
			t.Errorf("released: key %d cached %v, want %v", i, ok, i >= 7)
		}
	}
	// Many puts: the queue is compacted and always names exactly the cached keys.
	for i := 10; i < 1000; i++ {
		c.put(i, true)
		if len(c.queue)-c.start != c.len() || len(c.queue) > 2*c.max+1 {
			t.Fatalf("after key %d: queue %d from %d for %d entries", i, len(c.queue), c.start, c.len())
		}
	}
}

func (c *refCache[K, V]) hold()    { c.held = true }
func (c *refCache[K, V]) release() { c.held = false; c.trim() }

// TestVoucherFilterHasNoFalseNegatives: every fingerprint added is reported, and few of
// those never added are.
func TestVoucherFilterHasNoFalseNegatives(t *testing.T) {
	f := newVoucherFilter()
	key := func(i int) voucherKey {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], uint64(i))
		sum := sha256.Sum256(b[:])
		return voucherKey(sum[:16])
	}
	const n = 100_000
	for i := range n {
		f.add(key(i))
	}
	positives := 0
	for i := range n {
		if !f.mayContain(key(i)) {
			t.Fatalf("fingerprint %d added and not found", i)
		}
		if f.mayContain(key(n + i)) {
			positives++
		}
	}
	// At 100,000 of the 10 million the filter is sized for, false positives are rare.
	if positives > n/1000 {
		t.Errorf("%d false positives in %d", positives, n)
	}
}
