package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"strconv"
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

// BenchmarkDecideApplyDisbursement measures what the write model spends on one new
// disbursement (Decide and Apply, and in the bounded mode the sequencer's check of its
// voucher against the cache and filter) after 500,000 earlier ones: the full maps
// against the bounded caches.
func BenchmarkDecideApplyDisbursement(b *testing.B) {
	const prior = 500_000
	for _, mode := range []string{"full", "bounded"} {
		b.Run(mode, func(b *testing.B) {
			st := &State{}
			if mode == "bounded" {
				st.refs = newStoredRefs(0, 0)
				st.refs.filter.ready.Store(true) // no voucher stored before: the filter rules every new one out
			}
			l, d := ln("062", "DA1"), day(2024, 5, 1)
			for _, c := range append(testCatalog(), allocate(l, MaxAmount, d)) {
				if _, err := record(st, c); err != nil {
					b.Fatal(err)
				}
			}
			n := 0
			next := func() {
				n++
				c := pay(l, 1, d, strconv.Itoa(n))
				if st.refs != nil {
					if k := c.Voucher.key(); st.refs.filter.mayContain(k) {
						if _, ok := st.refs.vouchers.get(k); !ok {
							st.refs.vouchers.put(k, false) // what lookupRefs would learn
						}
					}
				}
				if _, err := record(st, c); err != nil {
					b.Fatal(err)
				}
			}
			for range prior {
				next()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				next()
			}
		})
	}
}
