package ledger

import (
	"hash/maphash"
	"sync/atomic"
)

// Size of the key filter: a Bloom filter of every idempotency key recorded, so that a
// request under a new key (nearly every request) needs no query of the store, and only a
// key the filter may hold, and the key cache does not, is looked up. 2^27 bits (16 MiB),
// 7 hashes: about 0.2 % false positives at 10 million keys, 6 % at 30 million; a false
// positive costs one lookup in that batch's query, never a wrong answer.
const (
	KeyFilterBits   = 1 << 27
	keyFilterHashes = 7
)

// keyFilter is a fixed-size Bloom filter of keys. add and mayContain are safe for
// concurrent use (atomic words): the sequencer adds the keys it commits while a loader
// adds those already stored. Until the loader has read every stored key, ready is false
// and the filter must not be used to call a key new.
type keyFilter struct {
	words []atomic.Uint64
	ready atomic.Bool
}

var keyFilterSeed = maphash.MakeSeed()

func newKeyFilter() *keyFilter { return &keyFilter{words: make([]atomic.Uint64, KeyFilterBits/64)} }

// pageWords is how many filter words one 4 KiB memory page holds.
const pageWords = 4096 / 8

// touchPages writes one word of every page of words (an atomic Or of 0 changes no bit),
// so that the kernel maps a new filter's pages in the loader that calls it rather than on
// the writer's path: otherwise each of a filter's 4,096 pages costs a page fault (a few
// microseconds on a virtual machine) to the first lookup or add that reaches it, spread
// over the first tens of thousands of requests after start.
func touchPages(words []atomic.Uint64) {
	for i := 0; i < len(words); i += pageWords {
		words[i].Or(0)
	}
}

// probes returns the two hashes whose combinations h1 + i·h2 are the key's bits.
func (f *keyFilter) probes(key string) (h1, h2 uint64) {
	h := maphash.String(keyFilterSeed, key)
	return h, (h>>32 | h<<32) | 1
}

func (f *keyFilter) add(key string) {
	h1, h2 := f.probes(key)
	for i := range uint64(keyFilterHashes) {
		bit := (h1 + i*h2) % KeyFilterBits
		f.words[bit/64].Or(1 << (bit % 64))
	}
}

// mayContain is false only for a key never added.
func (f *keyFilter) mayContain(key string) bool {
	h1, h2 := f.probes(key)
	for i := range uint64(keyFilterHashes) {
		bit := (h1 + i*h2) % KeyFilterBits
		if f.words[bit/64].Load()&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}
