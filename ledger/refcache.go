package ledger

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/google/uuid"
)

// Bounded references: the sequencer's write model keeps no record of every disbursement
// and every voucher ever recorded (≈ 110 bytes an event, more than a gigabyte at ten
// million events). It keeps the recent ones in bounded caches and a Bloom filter of
// voucher fingerprints, and looks the others up in the store — a batch's worth in one
// query per kind, before it decides the batch — as it does idempotency keys
// (keycache.go). The events table is the truth and its unique index on voucher_key the
// backstop.
//
// Why a mode of State and not another type: the offline folds (verify --rules, report,
// the bench generator, tests) have no store to ask and decide against the full maps, and
// every rule of Decide must stay in one place for both. A zero State is the full fold;
// the sequencer turns the bounded mode on before its first Apply (bindRefs), and nothing
// else does. What Decide answers is the same in both modes: the sequencer looks up
// every reference of a batch the caches cannot answer for before deciding it, and Decide
// stops (invariant) on a reference it was not prepared for rather than guess.
const (
	// DisbursementCacheMax bounds the disbursement records kept in memory: the most
	// recently recorded or looked-up, which is where settlements and reversals land. At
	// about 150 bytes a record (map entry and record) this is ≈ 10 MB, up to half as much
	// again while commits follow each other (storedRefs.full).
	DisbursementCacheMax = 65_536
	// VoucherCacheMax bounds the voucher fingerprints kept in memory, recorded or known
	// not to be: ≈ 3 MB.
	VoucherCacheMax = 65_536
	// VoucherFilterBits is the size of the Bloom filter of every voucher recorded: 2^27
	// bits (16 MiB), 7 bits a voucher within one 512-bit block (one cache line's worth
	// of words, so adding or testing a voucher costs one memory access): under 0.5 %
	// false positives at 10 million vouchers. A false positive costs one lookup in that
	// batch's query, never a wrong answer.
	VoucherFilterBits   = 1 << 27
	voucherFilterHashes = 7
	voucherFilterBlock  = 512 // bits
)

// refCache is a bounded map with first-in-first-out eviction. Entries are facts that the
// write model keeps true (Apply and Revert update every cached entry they touch), so a
// cached entry is never stale; a negative fact (no such disbursement, no such voucher)
// is an entry too. While held (a batch being decided and committed), nothing is
// evicted, so that what the batch looked up stays until the batch is over; release
// trims it back to max. Only the sequencer goroutine uses it.
type refCache[K comparable, V any] struct {
	max   int
	m     map[K]V
	queue []K // keys in the order they entered; queue[start:] are those in m
	start int
	held  bool
}

func newRefCache[K comparable, V any](max int) *refCache[K, V] {
	return &refCache[K, V]{max: max, m: make(map[K]V)}
}

func (c *refCache[K, V]) get(k K) (V, bool) {
	v, ok := c.m[k]
	return v, ok
}

func (c *refCache[K, V]) put(k K, v V) {
	if _, ok := c.m[k]; !ok {
		c.queue = append(c.queue, k)
	}
	c.m[k] = v
	if !c.held {
		c.trim()
	}
}

func (c *refCache[K, V]) trim() {
	for len(c.m) > c.max {
		delete(c.m, c.queue[c.start])
		c.start++
	}
	// Compact once the evicted prefix is as long as the cache: amortised O(1) a put,
	// and the queue never holds more than twice what the cache may.
	if c.start >= c.max {
		n := copy(c.queue, c.queue[c.start:])
		clear(c.queue[n:])
		c.queue, c.start = c.queue[:n], 0
	}
}

func (c *refCache[K, V]) len() int { return len(c.m) }

// storedRefs is what a bounded write model keeps of disbursements and vouchers.
type storedRefs struct {
	// disbursements maps an event id to its record, or to nil when the store holds no
	// disbursement with that id.
	disbursements *refCache[uuid.UUID, *disbursement]
	// vouchers maps a fingerprint to whether a recorded event carries it.
	vouchers *refCache[voucherKey, bool]
	filter   *voucherFilter
}

// NewBoundedState returns an empty write model in the sequencer's bounded mode, for a
// fold that is to become a sequencer's (Sequencer.LoadFrom): a snapshot taken from it
// holds no record of each disbursement and voucher, and the fold does not hold them in
// memory either. Outside a sequencer it must not Decide (the references are not looked
// up); Apply, the snapshot codec and the read accessors work as on a zero State.
func NewBoundedState() *State { return &State{refs: newStoredRefs(0, 0)} }

func newStoredRefs(disbursements, vouchers int) *storedRefs {
	if disbursements <= 0 {
		disbursements = DisbursementCacheMax
	}
	if vouchers <= 0 {
		vouchers = VoucherCacheMax
	}
	return &storedRefs{disbursements: newRefCache[uuid.UUID, *disbursement](disbursements),
		vouchers: newRefCache[voucherKey, bool](vouchers), filter: newVoucherFilter()}
}

func (r *storedRefs) hold() { r.disbursements.held, r.vouchers.held = true, true }

// full reports whether a cache holds more than it may while held: its max, which
// release trims it back to, and half as much again. The sequencer then lets the commit
// in flight end, so that release can evict. Without the headroom a cache at its max —
// every cache, once the ledger has more disbursements than it holds — is full after any
// new one, and no commit is ever decided while the one before is appended.
func (r *storedRefs) full() bool {
	over := func(n, max int) bool { return n > max+max/2 }
	return over(r.disbursements.len(), r.disbursements.max) || over(r.vouchers.len(), r.vouchers.max)
}

func (r *storedRefs) release() {
	r.disbursements.held, r.vouchers.held = false, false
	r.disbursements.trim()
	r.vouchers.trim()
}

// voucherFilter is a fixed-size blocked Bloom filter of voucher fingerprints. add and
// mayContain are safe for concurrent use (atomic words): the sequencer adds the vouchers
// it commits while a loader adds those already stored. Until the loader has read every
// stored voucher, ready is false and the filter must not be used to call a voucher new.
type voucherFilter struct {
	words []atomic.Uint64
	ready atomic.Bool
}

func newVoucherFilter() *voucherFilter {
	return &voucherFilter{words: make([]atomic.Uint64, VoucherFilterBits/64)}
}

// probes returns the first word of k's block and the hash its bits come from. A
// fingerprint is already a cryptographic hash: its two halves need no more mixing.
func (f *voucherFilter) probes(k voucherKey) (block, h uint64) {
	h1, h2 := binary.LittleEndian.Uint64(k[:8]), binary.LittleEndian.Uint64(k[8:])
	return (h1 % (VoucherFilterBits / voucherFilterBlock)) * (voucherFilterBlock / 64), h2
}

func (f *voucherFilter) add(k voucherKey) {
	block, h := f.probes(k)
	for i := range voucherFilterHashes {
		bit := (h >> (9 * i)) % voucherFilterBlock
		f.words[block+bit/64].Or(1 << (bit % 64))
	}
}

// mayContain is false only for a fingerprint never added.
func (f *voucherFilter) mayContain(k voucherKey) bool {
	block, h := f.probes(k)
	for i := range voucherFilterHashes {
		bit := (h >> (9 * i)) % voucherFilterBlock
		if f.words[block+bit/64].Load()&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

// DisbursementRecord is what the store knows of a recorded disbursement: its event and
// the sums of the settlements and reversals recorded against it since.
type DisbursementRecord struct {
	Event             *Event
	Reversed, Settled int64
}

// voucherFingerprint returns the fingerprint of a voucher identity (Voucher.Identity),
// as the write model keeps it.
func voucherFingerprint(identity string) voucherKey {
	var buf [voucherIdentityMax]byte
	return fingerprintOf(append(buf[:0], identity...))
}
