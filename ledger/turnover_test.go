package ledger

import (
	"math"
	"testing"
)

// TestTurnoverAtTheEdge: a ledger may reach TurnoverMax exactly, never pass it; the
// 128-bit count stays exact beyond it (a ledger recorded before the rule) and back.
func TestTurnoverAtTheEdge(t *testing.T) {
	var tv turnover
	tv.add(TurnoverMax - MaxAmount)
	if !tv.within(MaxAmount) {
		t.Fatal("a command reaching TurnoverMax exactly was refused")
	}
	tv.add(MaxAmount)
	if tv.within(1) {
		t.Fatal("a command passing TurnoverMax by 1 was accepted")
	}
	for range 3 {
		tv.add(math.MaxInt64) // beyond int64: carried into the high word
	}
	if tv.within(1) || tv.hi == 0 {
		t.Fatalf("beyond TurnoverMax: %+v", tv)
	}
	for range 3 {
		tv.sub(math.MaxInt64)
	}
	tv.sub(MaxAmount)
	if tv != (turnover{lo: uint64(TurnoverMax - MaxAmount)}) || !tv.within(MaxAmount) {
		t.Fatalf("after reverting: %+v", tv)
	}
}
