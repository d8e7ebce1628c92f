package ledger

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/vnntp/ledger/ledger/snapcodec"
)

// snapshotFingerprint pins the layout of State. When TestSnapshotLayout fails, a field
// was added, removed, renamed or retyped somewhere under State: write it in
// EncodeSnapshot and read it in DecodeSnapshot (ledger/snapshot.go), check that
// TestSnapshotRoundTrip covers it, and only then set this constant to the new value.
const snapshotFingerprint = "9560fbe9012ec675f6601d4309ed9c0b98e0ef9fe7044c6240053c43eb14d117"

func TestSnapshotLayout(t *testing.T) {
	h := SnapshotFingerprint()
	if got := hex.EncodeToString(h[:]); got != snapshotFingerprint {
		t.Fatalf("the layout of ledger.State changed (fingerprint %s, pinned %s): encode and decode the new or "+
			"changed fields in State.EncodeSnapshot and State.DecodeSnapshot (ledger/snapshot.go), then update "+
			"snapshotFingerprint in ledger/snapshot_test.go", got, snapshotFingerprint)
	}
}

// CheckSnapshotRoundTrip is checkSnapshotRoundTrip for the external tests, which fold
// ledgertest.SampleHistory (an import cycle for this package's own tests).
var CheckSnapshotRoundTrip = checkSnapshotRoundTrip

// checkSnapshotRoundTrip folds events[:k] for several cuts k into a State in the mode
// linesOnly, encodes it, decodes it into a fresh State and requires the same bytes again,
// an equal State (reflect.DeepEqual) sharing what the fold shares, and the same decisions;
// then it folds events[k:] into both and requires the same bytes and an equal State.
func checkSnapshotRoundTrip(t *testing.T, events []*Event, linesOnly bool) {
	t.Helper()
	cuts := []int{0, 1, len(events) / 3, len(events) / 2, len(events) - 1, len(events)}
	for _, k := range cuts {
		if k < 0 || k > len(events) {
			continue
		}
		orig := &State{LinesOnly: linesOnly}
		for _, e := range events[:k] {
			orig.Apply(e)
		}
		snap := encodeState(orig)
		dec := decodeState(t, snap)
		if again := encodeState(dec); !bytes.Equal(again, snap) {
			t.Fatalf("cut %d: the decoded state encodes to other bytes (%d, not %d)", k, len(again), len(snap))
		}
		requireSameState(t, fmt.Sprintf("cut %d, decoded", k), orig, dec)
		if !linesOnly {
			requireSameDecisions(t, fmt.Sprintf("cut %d", k), events[:k], orig, dec)
		}
		for _, e := range events[k:] {
			orig.Apply(e)
			dec.Apply(e)
		}
		if a, b := encodeState(orig), encodeState(dec); !bytes.Equal(a, b) {
			t.Fatalf("cut %d: after the tail, the snapshot's state encodes to other bytes than the fold's", k)
		}
		requireSameState(t, fmt.Sprintf("cut %d, after the tail", k), orig, dec)
		if !linesOnly {
			requireSameDecisions(t, fmt.Sprintf("cut %d, after the tail", k), events, orig, dec)
		}
	}
}

func encodeState(s *State) []byte {
	var e snapcodec.Encoder
	s.EncodeSnapshot(&e)
	return e.Bytes()
}

func decodeState(t *testing.T, b []byte) *State {
	t.Helper()
	var s State
	d := snapcodec.NewDecoder(b)
	if err := s.DecodeSnapshot(d); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if err := d.Done(); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return &s
}

// requireSameState requires got equal to want and sharing what a fold shares: each
// disbursement's and contract's line is the state's own line, each contractOf entry one
// of the state's contracts.
func requireSameState(t *testing.T, what string, want, got *State) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s: the states differ:\n%s", what, strings.Join(diffState(want, got), "\n"))
	}
	for id, d := range got.disbursements {
		if d.line != got.lines[d.line.Line] {
			t.Fatalf("%s: disbursement %s does not share its line with the state", what, id)
		}
	}
	for id, k := range got.contracts {
		if k.line != nil && k.line != got.lines[k.line.Line] {
			t.Fatalf("%s: contract %s does not share its line with the state", what, id)
		}
	}
	for id, k := range got.contractOf {
		if got.contracts[k.id] != k {
			t.Fatalf("%s: disbursement %s does not share its contract with the state", what, id)
		}
	}
}

// requireSameDecisions decides on both states commands that read what the snapshot
// holds beside the balances: a reversal and a settlement of the first and the last
// disbursement, a duplicate voucher, an over-spend back-dated to the first disbursement's
// date, a contract disbursement beyond its value, a second creation of a token.
func requireSameDecisions(t *testing.T, what string, events []*Event, want, got *State) {
	t.Helper()
	var cmds []Command
	var paid []*Event
	for _, e := range events {
		switch e.Type {
		case TypeDisbursed:
			paid = append(paid, e)
		case TypeContractSigned:
			cmds = append(cmds, &Disburse{Line: *e.Data.Line, Amount: e.Data.Amount + 1, Kind: KindAdvance,
				EffectiveDate: e.EffectiveDate, Payee: "X", Voucher: vch("contract-over", e.EffectiveDate), Contract: e.ID})
		case TypeTokenCreated:
			cmds = append(cmds, &RecordTokenCreated{Token: *e.Data.Token, EffectiveDate: e.EffectiveDate})
		}
	}
	if len(paid) > 0 {
		for _, e := range []*Event{paid[0], paid[len(paid)-1]} {
			d := e.EffectiveDate
			cmds = append(cmds,
				&Reverse{EventID: e.ID, Amount: 1, EffectiveDate: d, Reason: "sai"},
				&Reverse{EventID: e.ID, Amount: e.Data.Amount, EffectiveDate: d, Reason: "sai"},
				&SettleAdvance{EventID: e.ID, Amount: 1, EffectiveDate: d, Voucher: vch("settle-snap", d)},
				&Disburse{Line: *e.Data.Line, Amount: 1, Kind: KindPayment, EffectiveDate: d, Payee: "X", Voucher: *e.Data.Voucher})
			if b := want.Line(*e.Data.Line); b != nil {
				cmds = append(cmds, &Disburse{Line: *e.Data.Line, Amount: b.Available() + 1, Kind: KindPayment,
					EffectiveDate: d, Payee: "X", Voucher: vch("over", d)},
					&Disburse{Line: *e.Data.Line, Amount: max(1, b.Available()), Kind: KindPayment,
						EffectiveDate: d, Payee: "X", Voucher: vch("all", d)})
			}
		}
	}
	for _, c := range cmds {
		t1, d1, data1, err1 := want.Decide(c)
		t2, d2, data2, err2 := got.Decide(c)
		if t1 != t2 || d1 != d2 || !reflect.DeepEqual(data1, data2) || !reflect.DeepEqual(err1, err2) {
			t.Fatalf("%s: %T decided %s %s %v on the fold, %s %s %v on the snapshot", what, c, t1, d1, err1, t2, d2, err2)
		}
	}
}

// randomHistory returns the fixture catalog and n random accepted events after it
// (every event type, TestRevertRestoresState).
func randomHistory(t *testing.T, seed uint64, n int) []*Event {
	t.Helper()
	st, base := given(t)
	return append(base, randomAccepted(t, rand.New(rand.NewPCG(seed, 0x5a47)), st, n)...)
}

func TestSnapshotRoundTrip(t *testing.T) {
	seen := map[EventType]bool{}
	for seed := uint64(1); seed <= 12; seed++ {
		events := randomHistory(t, seed, 150)
		for _, e := range events {
			seen[e.Type] = true
		}
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			checkSnapshotRoundTrip(t, events, false)
			checkSnapshotRoundTrip(t, events, true)
		})
	}
	for _, typ := range EventTypes {
		if !seen[typ] {
			t.Errorf("no random history holds a %s event", typ)
		}
	}
	t.Run("availability at head only", func(t *testing.T) {
		events := randomHistory(t, 99, 100)
		st := &State{AvailabilityAtHeadOnly: true}
		for _, e := range events {
			st.Apply(e)
		}
		snap := encodeState(st)
		dec := decodeState(t, snap)
		requireSameState(t, "head only", st, dec)
		if !bytes.Equal(encodeState(dec), snap) {
			t.Fatal("a state checking availability at the head only encodes to other bytes after a round trip")
		}
	})
	t.Run("zero state", func(t *testing.T) {
		var zero State
		requireSameState(t, "zero", &zero, decodeState(t, encodeState(&zero)))
	})
	t.Run("bounded", func(t *testing.T) {
		// The sequencer's bounded write model: its caches hold what was looked up when,
		// so they are not written; two folds with other cache sizes, one of them
		// decoded and folded on, write the same bytes.
		events := randomHistory(t, 7, 150)
		small, large := &State{refs: newStoredRefs(2, 2)}, NewBoundedState()
		for _, e := range events[:100] {
			small.Apply(e)
			large.Apply(e)
		}
		snap := encodeState(small)
		if !bytes.Equal(encodeState(large), snap) {
			t.Fatal("two bounded folds with other cache sizes encode to other bytes")
		}
		dec := decodeState(t, snap)
		if dec.refs == nil || dec.disbursements != nil || dec.vouchers != nil || dec.refs.disbursements.len() != 0 {
			t.Fatal("a bounded state decodes to a full one, or with cached records")
		}
		for _, e := range events[100:] {
			small.Apply(e)
			dec.Apply(e)
		}
		if !bytes.Equal(encodeState(dec), encodeState(small)) {
			t.Fatal("after the tail, the decoded bounded state encodes to other bytes than the fold's")
		}
		full := &State{}
		for _, e := range events {
			full.Apply(e)
		}
		if d := diffRefs(full, small.refs); len(d) > 0 {
			t.Fatalf("the bounded fold's caches contradict the full fold:\n%s", strings.Join(d, "\n"))
		}
	})
}

// TestSnapshotAfterRevert: a batch applied and reverted leaves the state a fresh fold
// leaves (TestRevertRestoresState), so its snapshot is the fold's, byte for byte.
func TestSnapshotAfterRevert(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x7e7))
		st, base := given(t)
		tail := randomAccepted(t, rng, st, 120)
		all := append(base, tail...)
		k := len(base) + len(tail)/2
		for j := len(all) - 1; j >= k; j-- {
			st.Revert(all[j], all[j-1].RecordedAt)
		}
		fold := &State{}
		for _, e := range all[:k] {
			fold.Apply(e)
		}
		if !bytes.Equal(encodeState(st), encodeState(fold)) {
			t.Fatalf("seed %d: the reverted state's snapshot differs from the fold's", seed)
		}
	}
}

// TestSnapshotCorrupt: a truncated snapshot is refused, and a changed byte is refused or
// decodes to some state, never a panic.
func TestSnapshotCorrupt(t *testing.T) {
	st := &State{}
	for _, e := range randomHistory(t, 3, 200) {
		st.Apply(e)
	}
	snap := encodeState(st)
	decode := func(b []byte) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
				t.Errorf("decoding a corrupt snapshot panicked: %v", r)
			}
		}()
		var s State
		d := snapcodec.NewDecoder(b)
		if err := s.DecodeSnapshot(d); err != nil {
			return err
		}
		if err := d.Done(); err != nil {
			return err
		}
		encodeState(&s) // a state that decoded must encode
		return nil
	}
	for n := 0; n < len(snap); n += 1 + n/200 {
		if err := decode(snap[:n]); err == nil {
			t.Fatalf("the first %d of %d bytes decoded without error", n, len(snap))
		}
	}
	accepted, refused := 0, 0
	rng := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < len(snap); i += 1 + rng.IntN(5) {
		b := bytes.Clone(snap)
		b[i] ^= byte(1 + rng.IntN(255))
		if decode(b) == nil {
			accepted++
		} else {
			refused++
		}
	}
	t.Logf("%d bytes: %d flips refused, %d decoded to another valid state", len(snap), refused, accepted)
	if refused == 0 {
		t.Fatal("no flipped byte was refused")
	}
}

// FuzzDecodeSnapshot: no input makes DecodeSnapshot panic, and a state it accepts
// encodes to bytes it decodes again to the same bytes.
func FuzzDecodeSnapshot(f *testing.F) {
	l := ln("062", "DA1")
	st, _ := given(f, allocate(l, 1_000_000, day(2024, 1, 2)), pay(l, 1000, day(2024, 2, 1), "1"),
		advance(l, 5000, day(2024, 3, 1), "2"), &CarryOver{Line: l, Amount: 100, IntoYear: 2025, EffectiveDate: day(2024, 12, 1), Decision: "QĐ"})
	f.Add(encodeState(st))
	f.Add(encodeState(&State{}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s State
		if s.DecodeSnapshot(snapcodec.NewDecoder(b)) != nil {
			return
		}
		once := encodeState(&s)
		if again := encodeState(decodeState(t, once)); !bytes.Equal(once, again) {
			t.Fatal("an accepted snapshot does not round-trip after one encoding")
		}
	})
}

// nationalHistory returns about n events of the shape of `make bench` (cmd/ledger,
// bench_gen.go): the fixture catalog, 63 provinces of 10 districts, a line per district,
// project and source, allocated once, then mostly payments (a tenth of them advances,
// some settled or reversed), some top-ups and cancellations, dated through the year.
func nationalHistory(tb testing.TB, n int) []*Event {
	st, events := given(tb)
	rng := rand.New(rand.NewPCG(11, 1))
	add := func(c Command) *Event {
		e, err := record(st, c)
		if err != nil {
			return nil
		}
		events = append(events, e)
		return e
	}
	var lines []Line
	for p := range 63 {
		pid := "P" + strconv.Itoa(10+p)
		add(&RegisterUnit{Unit{ID: pid, Code: pid, Name: "Tỉnh " + pid, Level: LevelProvince}})
		for d := range 10 {
			did := pid + strconv.Itoa(100+d)
			add(&RegisterUnit{Unit{ID: did, Code: did, Name: "Huyện " + did, Level: LevelDistrict, Parent: pid}})
			for _, proj := range []string{"DA1", "DA3"} {
				for _, src := range []string{srcInv, srcRec} {
					lines = append(lines, lnY(2024, src, proj, did))
				}
			}
		}
	}
	from := day(2024, 1, 1)
	for _, l := range lines {
		add(allocate(l, 1_000_000_000_000_000, from))
	}
	var advances []uuid.UUID
	start := from.Time()
	for i := 0; len(events) < n; i++ {
		d := DateOf(start.AddDate(0, 0, 1+i*364/n))
		l := lines[rng.IntN(len(lines))]
		amount := 1 + rng.Int64N(50_000_000)
		var c Command
		switch k := rng.IntN(100); {
		case k < 2:
			c = &Cancel{Line: l, Amount: amount, EffectiveDate: d, Decision: "QĐ-H" + strconv.Itoa(i)}
		case k < 7:
			c = allocate(l, amount*100, d)
		case k < 9 && len(advances) > 0:
			c = &SettleAdvance{EventID: advances[rng.IntN(len(advances))], Amount: 1 + amount/100, EffectiveDate: day(2024, 12, 31),
				Voucher: vch("s"+strconv.Itoa(i), day(2024, 12, 31))}
		case k < 10 && len(advances) > 0:
			c = &Reverse{EventID: advances[rng.IntN(len(advances))], Amount: 1 + amount/100, EffectiveDate: day(2024, 12, 31), Reason: "sai"}
		default:
			kind := KindPayment
			if k < 20 {
				kind = KindAdvance
			}
			c = &Disburse{Line: l, Amount: amount, Kind: kind, EffectiveDate: d, Payee: "Nhà thầu", Voucher: vch("g"+strconv.Itoa(i), d)}
		}
		if e := add(c); e != nil && e.Type == TypeDisbursed && e.Data.IsAdvance() {
			advances = append(advances, e.ID)
		}
	}
	return events
}

// BenchmarkStateSnapshot measures the snapshot of a write model folded from 200,000
// events: bytes and nanoseconds per event to encode and to decode.
func BenchmarkStateSnapshot(b *testing.B) {
	const events = 200_000
	history := nationalHistory(b, events)
	st := &State{}
	for _, e := range history {
		st.Apply(e)
	}
	snap := encodeState(st)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		var e snapcodec.Encoder
		for b.Loop() {
			e = snapcodec.Encoder{}
			st.EncodeSnapshot(&e)
		}
		b.ReportMetric(float64(len(e.Bytes()))/float64(len(history)), "bytes/event")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(history)), "ns/event")
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var s State
			if err := s.DecodeSnapshot(snapcodec.NewDecoder(snap)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(history)), "ns/event")
	})
}

// TestSnapshotSize logs the snapshot of the national-shape history at a size the test
// suite affords; BenchmarkStateSnapshot has the 200,000-event figures.
func TestSnapshotSize(t *testing.T) {
	history := nationalHistory(t, 20_000)
	st := &State{}
	for _, e := range history {
		st.Apply(e)
	}
	begin := time.Now()
	snap := encodeState(st)
	enc := time.Since(begin)
	begin = time.Now()
	dec := decodeState(t, snap)
	t.Logf("%d events, %d lines, %d disbursements: %d bytes (%.1f bytes/event), encode %v, decode %v",
		len(history), st.LineCount(), len(st.disbursements), len(snap), float64(len(snap))/float64(len(history)), enc, time.Since(begin))
	requireSameState(t, "national", st, dec)
}
