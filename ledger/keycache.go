package ledger

// KeyCacheMax bounds the idempotency key records the sequencer keeps in memory: the
// most recently recorded or looked-up keys, which is where retries land. Older keys live
// in the store only (idempotency_keys, whose primary key is the backstop) and are looked
// up there, a whole batch's worth in one query, when a request names a key the cache does
// not hold. At about 200 bytes a record this is ≈ 13 MB, whatever the number of events.
const KeyCacheMax = 65_536

// keyCache is a bounded map of key records with first-in-first-out eviction: a ring of
// the keys in the order they entered, the oldest overwritten when the ring is full. Key
// records never change once stored, so a cached record is never stale; the cache holds
// no negative entries (a key not cached may still be recorded, and is looked up).
// Only the sequencer goroutine uses it.
type keyCache struct {
	max  int
	recs map[string]KeyRecord
	ring []string
	next int // index in ring of the slot to overwrite next, once the ring is full
}

func newKeyCache(max int) *keyCache {
	if max <= 0 {
		max = KeyCacheMax
	}
	return &keyCache{max: max, recs: make(map[string]KeyRecord)}
}

func (c *keyCache) get(key string) (KeyRecord, bool) {
	k, ok := c.recs[key]
	return k, ok
}

func (c *keyCache) put(k KeyRecord) {
	if _, ok := c.recs[k.Key]; ok {
		return // the same record: a key is recorded once
	}
	if len(c.ring) < c.max {
		c.ring = append(c.ring, k.Key)
	} else {
		delete(c.recs, c.ring[c.next])
		c.ring[c.next] = k.Key
		c.next = (c.next + 1) % c.max
	}
	c.recs[k.Key] = k
}

func (c *keyCache) len() int { return len(c.recs) }
