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
