package ledger

import (
	"fmt"
	"testing"
)

// TestKeyCacheBounded: the cache never holds more than KeyCacheMax records and evicts the
// oldest first; a record put again does not take a second slot.
func TestKeyCacheBounded(t *testing.T) {
	c := newKeyCache(0)
	key := func(i int) string { return fmt.Sprintf("k%d", i) }
	for i := range KeyCacheMax + 10 {
		c.put(KeyRecord{Key: key(i), First: int64(i + 1), Last: int64(i + 1)})
		c.put(KeyRecord{Key: key(i), First: int64(i + 1), Last: int64(i + 1)})
	}
	if c.len() != KeyCacheMax {
		t.Fatalf("%d records cached, want %d", c.len(), KeyCacheMax)
	}
	for i := range 10 {
		if _, ok := c.get(key(i)); ok {
			t.Errorf("key %d of the oldest ten is still cached", i)
		}
	}
	if k, ok := c.get(key(10)); !ok || k.First != 11 {
		t.Errorf("the oldest kept key: %+v, %v", k, ok)
	}
	if _, ok := c.get(key(KeyCacheMax + 9)); !ok {
		t.Error("the newest key is not cached")
	}
}

// TestKeyFilter: a key added is always held (no false negatives); of keys never added,
// few are (false positives, at the filter's size for a small number of keys: none
// expected, a handful tolerated).
func TestKeyFilter(t *testing.T) {
	f := newKeyFilter()
	const n = 200_000
	for i := range n {
		f.add(fmt.Sprintf("officer:062:%d", i))
	}
	for i := range n {
		if !f.mayContain(fmt.Sprintf("officer:062:%d", i)) {
			t.Fatalf("key %d was added and is not held", i)
		}
	}
	fp := 0
	for i := range n {
		if f.mayContain(fmt.Sprintf("officer:063:%d", i)) {
			fp++
		}
	}
	if fp > n/1000 {
		t.Errorf("%d false positives of %d keys never added", fp, n)
	}
}
