package ledger

import "testing"

func TestHandoff(t *testing.T) {
	evs := func(from, to int64) []*Event {
		var out []*Event
		for p := from; p <= to; p++ {
			out = append(out, &Event{Position: p})
		}
		return out
	}
	positions := func(es []*Event) (out []int64) {
		for _, e := range es {
			out = append(out, e.Position)
		}
		return out
	}
	h := NewHandoff(10)
	h.Put(evs(1, 3))
	h.Put(evs(4, 5))
	if got, ok := h.Take(2); !ok || len(got) != 3 || got[0].Position != 3 {
		t.Errorf("Take(2) = %v %v; want 3..5", positions(got), ok)
	}
	if got, ok := h.Take(5); !ok || len(got) != 0 {
		t.Errorf("Take on empty = %v %v; want nothing, ok", positions(got), ok)
	}
	h.Put(evs(8, 9))
	if _, ok := h.Take(5); ok {
		t.Error("Take(5) with 8..9 held: want a gap (read the store)")
	}
	h.Put(evs(10, 15))
	h.Put(evs(16, 20)) // 11 events > max: dropped
	if _, ok := h.Take(9); ok {
		t.Error("Take after an overflow: want ok=false")
	}
	h.Put(evs(21, 22))
	if got, ok := h.Take(20); !ok || len(got) != 2 {
		t.Errorf("Take after recovering = %v %v; want 21..22", positions(got), ok)
	}
}
